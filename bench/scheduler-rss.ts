/**
 * The `rss-growth` case of the scheduler benchmark (bench/scheduler.bench.ts runs it): resident memory of
 * the scheduling core after 2,000,000 short jobs have run to completion, divided by what it was after
 * 200,000, with a 10 s retention (target ≤ 1.2: memory is flat once retention keeps pace). The run is the
 * soak of the scheduler's tests (src/scheduler/sim/soak.ts): 1,000 simulated nodes of 8 cores, one-core
 * jobs of 1 s arriving at 90 % of the fleet's rate, on the virtual clock. `--quick`: 400,000 jobs, ÷ 40,000.
 *
 * It runs in a fresh process of its own (this file, run directly): the benchmark's other cases leave a
 * large heap behind, which would hide growth.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { arrivalRate, runSoak } from '../src/scheduler/sim/soak.js';
import type { BenchContext } from './lib/index.js';

/** The retention the issue names: a job leaves 10 s after it ended (no count bound, so age alone decides). */
const RETENTION = { maxAgeMs: 10_000, maxEndedPerTenant: 1_000_000_000, keyWindowMs: 60_000 };
const NODES = 1000;

interface Measured {
  readonly rssEarly: number;
  readonly rssEnd: number;
  readonly maxLive: number;
  readonly wallSeconds: number;
}

function rssAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('rss-growth needs --expose-gc');
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().rss;
}

/** The soak itself (in the child): progress on stderr, the result as one JSON line on stdout. */
async function measure(jobs: number): Promise<Measured> {
  let rssEarly: number | undefined;
  let rssEnd: number | undefined;
  const started = performance.now();
  const report = await runSoak({
    jobs,
    nodes: NODES,
    retention: RETENTION,
    checkpointEvery: jobs / 10,
    onCheckpoint: (at) => {
      const rss = rssAfterGc();
      process.stderr.write(`  ${at.ended} ended, ${at.live} live, ${at.retired} retired: rss ${(rss / 2 ** 20).toFixed(0)} MiB\n`);
      rssEarly ??= rss;
      if (at.ended >= jobs) rssEnd = rss;
    },
  });
  if (report.failed > 0 || report.overcommits > 0) throw new Error(`${report.failed} jobs failed, ${report.overcommits} over-commitments`);
  if (rssEarly === undefined || rssEnd === undefined) throw new Error('rss-growth: a checkpoint is missing');
  return { rssEarly, rssEnd, maxLive: report.maxLive, wallSeconds: (performance.now() - started) / 1000 };
}

export async function rssGrowthCase(ctx: BenchContext): Promise<void> {
  const jobs = ctx.quick ? 400_000 : 2_000_000;
  ctx.log(`rss-growth: ${jobs} jobs through ${NODES} nodes, ${arrivalRate(NODES)} jobs/s simulated, retention ${RETENTION.maxAgeMs / 1000} s, in a fresh process`);
  const child = spawn(process.execPath, ['--import=tsx', '--expose-gc', fileURLToPath(import.meta.url), String(jobs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => ctx.log(chunk.toString().trimEnd()));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (status !== 0) throw new Error(`rss-growth: the soak process exited with ${status}`);
  const m = JSON.parse(out.trim().split('\n').pop()!) as Measured;
  ctx.log(`rss-growth: ${m.wallSeconds.toFixed(0)} s wall, at most ${m.maxLive} live jobs; rss ${(m.rssEarly / 2 ** 20).toFixed(0)} → ${(m.rssEnd / 2 ** 20).toFixed(0)} MiB`);
  ctx.record({ id: 'rss-growth', unit: '×', samples: [m.rssEnd / m.rssEarly] });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  measure(Number(process.argv[2])).then(
    (m) => process.stdout.write(`${JSON.stringify(m)}\n`),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
