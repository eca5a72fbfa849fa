/**
 * Jobs per second durably acknowledged by a real `muster server` (the built CLI in its own process), driven
 * over WebSockets by the load generator (bench/load-generator.ts, bench/gateway-load.ts) in closed loop:
 * one warm-up sample, then the measured ones, all on one server. Submit only: with no nodes the jobs stay
 * pending. The server's token-bucket rate limit is lifted (config `limits`): this measures the path, not the
 * limiter. Shared by the gateway's end-to-end cases (bench/gateway-accept.ts) and the failover benchmark's
 * embedded-versus-etcd comparison (bench/failover-e2e.ts), so both measure with the same workload and client.
 *
 * `MUSTER_BENCH_CPU_PROF=DIR` runs the servers under `node --cpu-prof` with their profiles written to DIR
 * (open them in Chrome DevTools, or sum self time per function) to see where the server's time goes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServerProcess } from '../test/client/server-process.js';
import type { LoadGenerator } from './load-generator.js';
import type { BenchContext } from './lib/index.js';
import { cpuSeconds, percentOfCore } from './lib/index.js';

/**
 * Jobs one server takes over a case: with no nodes every job stays pending (a few KiB each in the server
 * today), so this bounds the server's memory at about a gigabyte.
 */
export const MAX_JOBS_PER_SERVER = 200_000;

/** Jobs in flight in the closed-loop cases: enough to keep the server's group commit full. */
export const JOBS_IN_FLIGHT = 8_000;

/** Most frames in flight (the batch-1 case): a client with more is better off batching. */
export const MAX_WINDOW = 2_000;

/** Frames kept in flight for frames of `batch` jobs: about `JOBS_IN_FLIGHT` jobs, at most `MAX_WINDOW` frames. */
export function framesInFlight(batch: number): number {
  return Math.min(MAX_WINDOW, Math.max(1, Math.ceil(JOBS_IN_FLIGHT / batch)));
}

/**
 * A fresh `muster server` in `scratch/label` with the rate limit lifted; profiled when MUSTER_BENCH_CPU_PROF
 * is set. `args`: more `muster server` arguments (e.g. `--etcd URL`: a replica on etcd instead of the
 * embedded store; it is ready once it leads).
 */
export async function freshServer(scratch: string, label: string, args: readonly string[] = []): Promise<ServerProcess> {
  const config = join(scratch, `${label}.yaml`);
  writeFileSync(config, 'limits:\n  ratePerSecond: 1000000000\n  rateBurst: 1000000000\n');
  const profile = process.env['MUSTER_BENCH_CPU_PROF'];
  return ServerProcess.start({
    dir: join(scratch, label),
    args: ['--config', config, ...args],
    ...(profile ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profile}`, `--cpu-prof-name=server-${label}.cpuprofile`] } : {}),
  });
}

/** Measured samples per throughput case (full run, quick run), each after one warm-up on the same server. */
export function throughputSampleCount(quick: boolean): number {
  return quick ? 3 : 5;
}

export interface ThroughputRun {
  /** The case's id, for the log lines (`accept-batch-1000`). */
  readonly label: string;
  readonly batch: number;
  /** Jobs per sample. */
  readonly jobs: number;
  /** A fresh seed per order: every job's idempotency key is unique to its order. */
  readonly seed: () => number;
}

/** Another process whose CPU is printed beside the server's (an etcd member the server writes to). */
export interface WatchedProcess {
  readonly name: string;
  readonly pid: number | undefined;
}

/**
 * One order of `run.jobs` jobs in frames of `run.batch` against `server`: sample `index` (0 is the warm-up)
 * of a case. Resolves with its jobs per second, once the load generator has checked every ack (ok, new,
 * distinct). Logs the server's CPU beside it (and that of the `watched` processes).
 */
export async function throughputSample(ctx: BenchContext, load: LoadGenerator, server: ServerProcess, run: ThroughputRun, index: number, watched: readonly WatchedProcess[] = []): Promise<number> {
  const processes = [{ name: 'server', pid: server.pid }, ...watched];
  const before = processes.map((p) => cpuSeconds(p.pid));
  const answer = await load.run({ kind: 'throughput', url: server.url, token: server.token, batch: run.batch, total: run.jobs, window: framesInFlight(run.batch), seed: run.seed() });
  const used = processes.map((p, i) => `${p.name} ${percentOfCore((cpuSeconds(p.pid) ?? NaN) - (before[i] ?? NaN), answer.seconds)}`);
  ctx.log(
    `${run.label} ${index === 0 ? 'warm-up' : `sample ${index}`}: ${answer.jobs} jobs in ${answer.seconds.toFixed(2)} s (last ${answer.lastJob}); ` +
      `cpu: ${used.join(', ')}, load generator ${percentOfCore(answer.cpuSeconds, answer.seconds)} of one core`,
  );
  return answer.jobs / answer.seconds;
}

/** One warm-up, then `samples` measured orders on `server`: each measured sample's jobs per second. */
export async function throughputSamples(ctx: BenchContext, load: LoadGenerator, server: ServerProcess, run: ThroughputRun & { readonly samples: number }): Promise<number[]> {
  checkJobBudget(run.label, run.samples, run.jobs);
  const rates: number[] = [];
  for (let s = 0; s <= run.samples; s++) {
    const rate = await throughputSample(ctx, load, server, run, s);
    if (s > 0) rates.push(rate);
  }
  return rates;
}

/** Throws unless one warm-up and `samples` orders of `jobs` stay within one server's `MAX_JOBS_PER_SERVER`. */
export function checkJobBudget(label: string, samples: number, jobs: number): void {
  if ((samples + 1) * jobs > MAX_JOBS_PER_SERVER) throw new Error(`${label}: ${(samples + 1) * jobs} jobs is past ${MAX_JOBS_PER_SERVER} per server`);
}
