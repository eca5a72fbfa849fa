/**
 * End to end over real sockets: jobs per second durably acknowledged by a real `muster server` (the built
 * CLI in its own process, embedded store in a temporary folder), driven by the client library from a load
 * generator in a third process (bench/gateway-load.ts). Submit only: with no nodes the jobs stay pending.
 *
 * Cases, in run order:
 * - `e2e-batch-1` (baseline): one job per frame, 2,000 frames in flight.
 * - `e2e-batch-100`, `e2e-batch-1000`: frames of 100 and 1,000 jobs, about 8,000 jobs in flight
 *   (target for e2e-batch-1000: ≥ 100,000 jobs/s).
 * - `ack-p50`, `ack-p99`: the ack latency of a frame of 1,000 jobs, sent open-loop at half the measured
 *   e2e-batch-1000 rate (target p99 ≤ 10 ms). Each sample is one round's quantile.
 *
 * Each throughput case runs on a fresh server: one warm-up sample, then the measured ones, all on that
 * server, at most `MAX_JOBS_PER_SERVER` jobs in all. Each latency round runs on a fresh server too. The
 * server's token-bucket rate limit is lifted (config `limits`): this measures the path, not the limiter.
 *
 * `MUSTER_BENCH_CPU_PROF=DIR` runs the servers under `node --cpu-prof` with their profiles written to DIR
 * (open them in Chrome DevTools, or sum self time per function) to see where the server's time goes.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServerProcess } from '../test/client/server-process.js';
import type { LoadAnswer, LoadOrder } from './gateway-load.js';
import type { BenchContext } from './lib/index.js';
import { median, quantile } from './lib/index.js';

/**
 * Jobs one server takes over a case: with no nodes every job stays pending (a few KiB each in the server
 * today), so this bounds the server's memory at about a gigabyte.
 */
const MAX_JOBS_PER_SERVER = 200_000;

/** Jobs in flight in the closed-loop cases: enough to keep the server's group commit full. */
const JOBS_IN_FLIGHT = 8_000;

/** Most frames in flight (the batch-1 case): a client with more is better off batching. */
const MAX_WINDOW = 2_000;

/** Frame size of the latency rounds, as in e2e-batch-1000. */
const PACED_BATCH = 1_000;

/** Jobs sent to warm up each latency round's fresh server before it is measured (unpaced). */
const PACED_WARMUP_JOBS = 10_000;

interface ThroughputCase {
  readonly batch: number;
  /** Jobs per sample (full run, quick run). */
  readonly jobs: readonly [number, number];
}

const THROUGHPUT_CASES: readonly ThroughputCase[] = [
  { batch: 1, jobs: [10_000, 2_000] },
  { batch: 100, jobs: [30_000, 10_000] },
  { batch: 1_000, jobs: [30_000, 20_000] },
];

/** The load generator process: orders in, answers out, over IPC. */
class LoadGenerator {
  readonly #child: ChildProcess;
  readonly #ready: Promise<void>;
  #pending: ((answer: LoadAnswer) => void) | undefined;

  constructor() {
    const file = fileURLToPath(new URL('./gateway-load.ts', import.meta.url));
    this.#child = fork(file, [], { execArgv: ['--import=tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#ready = new Promise((resolve, reject) => {
      this.#child.once('message', () => resolve());
      this.#child.once('exit', (code) => reject(new Error(`the load generator exited (${code})`)));
    });
    this.#child.on('message', (answer: LoadAnswer) => {
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.(answer);
    });
  }

  async run<K extends LoadOrder['kind']>(order: Extract<LoadOrder, { kind: K }>): Promise<Extract<LoadAnswer, { kind: K }>> {
    await this.#ready;
    const answer = await new Promise<LoadAnswer>((resolve) => {
      this.#pending = resolve;
      this.#child.send(order);
    });
    if (answer.kind === 'failed') throw new Error(`load generator: ${answer.message}`);
    if (answer.kind !== order.kind) throw new Error(`load generator answered ${answer.kind} to ${order.kind}`);
    return answer as Extract<LoadAnswer, { kind: K }>;
  }

  stop(): void {
    this.#child.disconnect();
  }
}

/**
 * CPU seconds (user + system, every thread) a process has used so far, from /proc (Linux); undefined
 * elsewhere. Printed beside each sample to show which side is saturated.
 */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command name (which may hold spaces): state is the 3rd field, utime and stime the 14th and 15th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** A fresh `muster server` with the rate limit lifted; profiled when MUSTER_BENCH_CPU_PROF is set. */
async function freshServer(scratch: string, label: string): Promise<ServerProcess> {
  const config = join(scratch, `${label}.yaml`);
  writeFileSync(config, 'limits:\n  ratePerSecond: 1000000000\n  rateBurst: 1000000000\n');
  const profile = process.env['MUSTER_BENCH_CPU_PROF'];
  return ServerProcess.start({
    dir: join(scratch, label),
    args: ['--config', config],
    ...(profile ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profile}`, `--cpu-prof-name=server-${label}.cpuprofile`] } : {}),
  });
}

function percent(cpu: number, seconds: number): string {
  return Number.isFinite(cpu) ? `${Math.round((100 * cpu) / seconds)}%` : '?';
}

export async function endToEndCases(ctx: BenchContext): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'muster-bench-e2e-'));
  const load = new LoadGenerator();
  const samples = ctx.quick ? 3 : 5;
  ctx.env({ e2eServer: 'muster server (dist) in its own process, embedded store', e2eClient: 'src/client (dist) in a separate load-generator process' });
  ctx.config({ e2eSamples: samples, jobsInFlight: JOBS_IN_FLIGHT, maxWindow: MAX_WINDOW, maxJobsPerServer: MAX_JOBS_PER_SERVER });
  try {
    let seed = 1_000;
    const rates = new Map<number, number[]>();
    for (const c of THROUGHPUT_CASES) {
      const jobs = c.jobs[ctx.quick ? 1 : 0];
      if ((samples + 1) * jobs > MAX_JOBS_PER_SERVER) throw new Error(`e2e-batch-${c.batch}: ${(samples + 1) * jobs} jobs is past ${MAX_JOBS_PER_SERVER} per server`);
      const window = Math.min(MAX_WINDOW, Math.max(1, Math.ceil(JOBS_IN_FLIGHT / c.batch)));
      const server = await freshServer(scratch, `batch-${c.batch}`);
      const caseRates: number[] = [];
      try {
        for (let s = 0; s <= samples; s++) {
          const serverCpu = cpuSeconds(server.pid);
          const answer = await load.run({ kind: 'throughput', url: server.url, token: server.token, batch: c.batch, total: jobs, window, seed: seed++ });
          const serverUsed = (cpuSeconds(server.pid) ?? NaN) - (serverCpu ?? NaN);
          if (s > 0) caseRates.push(answer.jobs / answer.seconds);
          ctx.log(
            `e2e-batch-${c.batch} ${s === 0 ? 'warm-up' : `sample ${s}`}: ${answer.jobs} jobs in ${answer.seconds.toFixed(2)} s (last ${answer.lastJob}); ` +
              `cpu: server ${percent(serverUsed, answer.seconds)}, load generator ${percent(answer.cpuSeconds, answer.seconds)} of one core`,
          );
        }
      } finally {
        await server.stop();
      }
      rates.set(c.batch, caseRates);
      ctx.config({ [`e2eBatch${c.batch}`]: { jobsPerSample: jobs, framesInFlight: window } });
      ctx.record({ id: `e2e-batch-${c.batch}`, unit: 'jobs/s', samples: caseRates, ...(c.batch !== 1 ? { baseline: 'e2e-batch-1' } : {}) });
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
