/**
 * Running a part of a benchmark in a fresh process of its own: a case that measures memory or event-loop
 * pauses must not inherit the heap an earlier case left behind. The child is the same module run directly
 * (`--import=tsx --expose-gc`); it reports progress on stderr (passed to `ctx.log`) and its result as the
 * last line of stdout, in JSON.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchContext } from './benchmark.js';

/** Runs `moduleUrl` in a fresh Node process with `args` and resolves with the JSON of its last stdout line. */
export async function inFreshProcess<T>(ctx: BenchContext, moduleUrl: string, args: readonly string[]): Promise<T> {
  const child = spawn(process.execPath, ['--import=tsx', '--expose-gc', fileURLToPath(moduleUrl), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => ctx.log(chunk.toString().trimEnd()));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (status !== 0) throw new Error(`${fileURLToPath(moduleUrl)}: the fresh process exited with ${status}`);
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

/** In the child: whether `moduleUrl` is the module this process was started with. */
export function isFreshProcessOf(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && moduleUrl === pathToFileURL(process.argv[1]).href;
}

/** In the child: runs `measure` and prints its result as the last line of stdout (exit 1 on a throw). */
export function reportFromFreshProcess<T>(measure: () => Promise<T>): void {
  measure().then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
