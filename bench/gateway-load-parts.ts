/**
 * What the load generator's orders share (bench/gateway-load.ts runs them, bench/e2e-run-load.ts holds the
 * run-to-the-end ones): the client library as built, jobs cut into frames, the check of every ack, and the
 * open-loop pacing sleep.
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

export type ClientModule = typeof import('../src/client/index.js');
type SubmitResult = import('../src/client/index.js').SubmitResult;

/** Replies are awaited up to this long: a frame of 1,000 jobs behind a deep queue can take seconds. */
export const REQUEST_TIMEOUT_MS = 120_000;

/** The client library as compiled in dist/ (what a user runs). */
export async function clientModule(): Promise<ClientModule> {
  const file = fileURLToPath(new URL('../dist/client/index.js', import.meta.url));
  if (!existsSync(file)) throw new Error(`${file} is missing; run \`npm run build\` first`);
  return (await import(file)) as ClientModule;
}

/** `jobs` in frames of `batch`, in order. */
export function inFrames<T>(jobs: readonly T[], batch: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < jobs.length; i += batch) out.push(jobs.slice(i, i + batch));
  return out;
}

/** Every result ok, new and distinct, else a thrown error naming the first that is not. */
export class AckCheck {
  readonly #ids = new Set<string>();
  last = '';
  add(results: readonly SubmitResult[], expected: number): void {
    if (results.length !== expected) throw new Error(`${results.length} results for ${expected} jobs`);
    for (const r of results) {
      if (!r.ok) throw new Error(`a job was refused: ${r.code}: ${r.message}`);
      if (r.existing) throw new Error(`job ${r.job} came back as existing: a key was reused`);
      if (this.#ids.has(r.job)) throw new Error(`job id ${r.job} was given twice`);
      this.#ids.add(r.job);
      this.last = r.job;
    }
  }
  get size(): number {
    return this.#ids.size;
  }
  has(job: string): boolean {
    return this.#ids.has(job);
  }
}

/** Resolves at `t` (performance.now() time), at once if it is past. */
export function sleepUntil(t: number): Promise<void> {
  const ms = t - performance.now();
  return ms > 0.5 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
