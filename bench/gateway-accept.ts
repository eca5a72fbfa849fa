/**
 * End to end over real sockets: jobs per second durably acknowledged by a real `muster server` (the built
 * CLI in its own process, embedded store in a temporary folder), driven by the client library from a load
 * generator in a third process (bench/gateway-load.ts). Submit only: with no nodes the jobs stay pending.
 *
 * Cases, in run order:
 * - `accept-batch-1` (baseline): one job per frame, 2,000 frames in flight.
 * - `accept-batch-100`, `accept-batch-1000`: frames of 100 and 1,000 jobs, about 8,000 jobs in flight
 *   (target for accept-batch-1000: ≥ 100,000 jobs/s).
 * - `ack-p50`, `ack-p99`: the ack latency of a frame of 1,000 jobs, sent open-loop at half the measured
 *   accept-batch-1000 rate (target p99 ≤ 10 ms). Each sample is one round's quantile.
 *
 * Each throughput case runs on a fresh server: one warm-up sample, then the measured ones, all on that
 * server, at most `MAX_JOBS_PER_SERVER` jobs in all. Each latency round runs on a fresh server too. The
 * server's token-bucket rate limit is lifted (config `limits`): this measures the path, not the limiter.
 *
 * `MUSTER_BENCH_CPU_PROF=DIR` runs the servers under `node --cpu-prof` with their profiles written to DIR
 * (open them in Chrome DevTools, or sum self time per function) to see where the server's time goes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoadGenerator } from './load-generator.js';
import type { BenchContext } from './lib/index.js';
import { median, quantile } from './lib/index.js';
import { JOBS_IN_FLIGHT, MAX_JOBS_PER_SERVER, MAX_WINDOW, framesInFlight, freshServer, throughputSampleCount, throughputSamples } from './submit-throughput.js';

/** Frame size of the latency rounds, as in accept-batch-1000. */
const PACED_BATCH = 1_000;

/** Jobs sent to warm up each latency round's fresh server before it is measured (unpaced). */
const PACED_WARMUP_JOBS = 10_000;

export interface ThroughputCase {
  readonly batch: number;
  /** Jobs per sample (full run, quick run). */
  readonly jobs: readonly [number, number];
}

/** The closed-loop cases; bench/failover-e2e.ts measures accept-batch-1000's again beside the etcd store. */
export const THROUGHPUT_CASES: readonly ThroughputCase[] = [
  { batch: 1, jobs: [10_000, 2_000] },
  { batch: 100, jobs: [30_000, 10_000] },
  { batch: 1_000, jobs: [30_000, 20_000] },
];

export async function acceptCases(ctx: BenchContext): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'muster-bench-accept-'));
  const load = new LoadGenerator();
  const samples = throughputSampleCount(ctx.quick);
  ctx.env({ acceptServer: 'muster server (dist) in its own process, embedded store', acceptClient: 'src/client (dist) in a separate load-generator process' });
  ctx.config({ acceptSamples: samples, jobsInFlight: JOBS_IN_FLIGHT, maxWindow: MAX_WINDOW, maxJobsPerServer: MAX_JOBS_PER_SERVER });
  try {
    let seed = 1_000;
    const rates = new Map<number, number[]>();
    for (const c of THROUGHPUT_CASES) {
      const jobs = c.jobs[ctx.quick ? 1 : 0];
      const server = await freshServer(scratch, `batch-${c.batch}`);
      let caseRates: number[];
      try {
        caseRates = await throughputSamples(ctx, load, server, { label: `accept-batch-${c.batch}`, batch: c.batch, jobs, samples, seed: () => seed++ });
      } finally {
        await server.stop();
      }
      rates.set(c.batch, caseRates);
      ctx.config({ [`acceptBatch${c.batch}`]: { jobsPerSample: jobs, framesInFlight: framesInFlight(c.batch) } });
      ctx.record({ id: `accept-batch-${c.batch}`, unit: 'jobs/s', samples: caseRates, ...(c.batch !== 1 ? { baseline: 'accept-batch-1' } : {}) });
    }

    const rate = median(rates.get(PACED_BATCH) ?? []) / 2;
    const rounds = ctx.quick ? 2 : 3;
    // Each round stays within one server's job budget.
    const durationMs = Math.min(ctx.quick ? 2_000 : 3_000, ((MAX_JOBS_PER_SERVER - PACED_WARMUP_JOBS) / rate) * 1000);
    const p50: number[] = [];
    const p99: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const server = await freshServer(scratch, `paced-${r}`);
      try {
        // A fresh server compiles its hot path on the first frames: warm it up with frames like the round's.
        await load.run({ kind: 'throughput', url: server.url, token: server.token, batch: PACED_BATCH, total: PACED_WARMUP_JOBS, window: 4, seed: seed++ });
        const answer = await load.run({ kind: 'paced', url: server.url, token: server.token, batch: PACED_BATCH, jobsPerSecond: rate, durationMs, seed: seed++ });
        p50.push(quantile(answer.latenciesMs, 0.5));
        p99.push(quantile(answer.latenciesMs, 0.99));
        ctx.log(
          `ack round ${r + 1}: ${answer.latenciesMs.length} frames of ${PACED_BATCH} at ${Math.round(rate)} jobs/s: p50 ${p50.at(-1)!.toFixed(2)} ms, p99 ${p99.at(-1)!.toFixed(2)} ms, max ${Math.max(...answer.latenciesMs).toFixed(2)} ms (sends at most ${answer.maxLateMs.toFixed(2)} ms late)`,
        );
      } finally {
        await server.stop();
      }
    }
    ctx.config({ ackJobsPerSecond: Math.round(rate), ackFrameJobs: PACED_BATCH, ackRoundMs: durationMs, ackRounds: rounds });
    ctx.record({ id: 'ack-p50', unit: 'ms', samples: p50 });
    ctx.record({ id: 'ack-p99', unit: 'ms', samples: p99 });
  } finally {
    load.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}
