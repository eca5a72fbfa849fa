/**
 * The load generator of the gateway's accept cases and of the end-to-end run cases, in a process of its
 * own (forked by bench/load-generator.ts), so the server under test shares no event loop with the client
 * that drives it.
 * It uses the client library as compiled in dist/ (what a user runs), over real WebSockets.
 *
 * Orders arrive over IPC, one at a time; each answer goes back the same way:
 * - `throughput`: submit `total` jobs in frames of `batch`, keeping `window` frames in flight (closed loop),
 *   and report the jobs durably acknowledged per second, from the first frame sent to the last ack.
 * - `paced`: send one frame of `batch` jobs every `batch / jobsPerSecond` seconds for `durationMs`
 *   (open loop: on a schedule, whatever is still in flight) and report each frame's ack latency, measured
 *   from when it was due, so a late send counts against the server and nothing hides behind a slow reply.
 * - `run`, `run-paced`: the same two shapes with jobs followed to their end through a fleet
 *   (bench/e2e-run-load.ts).
 *
 * Jobs are built before the clock starts (bench/workloads/submit-batches.ts, the same mix as the
 * decode-validate case); every one must come back `ok`, new (not `existing`), with a distinct id.
 */
import { performance } from 'node:perf_hooks';
import { runPaced, runToEnd } from './e2e-run-load.js';
import type { RunAnswer, RunOrder, RunPacedAnswer, RunPacedOrder } from './e2e-run-load.js';
import { AckCheck, clientModule, inFrames, REQUEST_TIMEOUT_MS, submitClosedLoop, submitPaced } from './gateway-load-parts.js';
import type { ClientModule, ClosedLoop, OpenLoop } from './gateway-load-parts.js';
import { writtenJobs } from './workloads/submit-batches.js';

export interface ThroughputOrder extends ClosedLoop {
  readonly kind: 'throughput';
}

export interface PacedOrder extends OpenLoop {
  readonly kind: 'paced';
}

export type LoadOrder = ThroughputOrder | PacedOrder | RunOrder | RunPacedOrder;

export type LoadAnswer =
  | { readonly kind: 'throughput'; readonly jobs: number; readonly seconds: number; readonly lastJob: string; readonly cpuSeconds: number }
  | { readonly kind: 'paced'; readonly latenciesMs: readonly number[]; readonly jobs: number; readonly lastJob: string; readonly maxLateMs: number }
  | RunAnswer
  | RunPacedAnswer
  | { readonly kind: 'failed'; readonly message: string };

/** The jobs in frames of `batch`, each job with a key unique to this order (`seed`). */
function frames(total: number, batch: number, seed: number): Record<string, unknown>[][] {
  return inFrames(writtenJobs(total, seed), batch);
}

async function throughput(lib: ClientModule, order: ThroughputOrder): Promise<LoadAnswer> {
  const work = frames(order.total, order.batch, order.seed);
  const client = lib.createClient({ endpoints: order.url, token: order.token, batch: { maxJobs: order.batch, windowMs: 0 }, requestTimeoutMs: REQUEST_TIMEOUT_MS });
  try {
    await client.connect();
    const check = new AckCheck();
    const cpu = process.cpuUsage();
    const start = await submitClosedLoop((jobs) => client.submit(jobs), work, order.window, check);
    const seconds = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    if (check.size !== order.total) throw new Error(`${check.size} distinct jobs acknowledged of ${order.total}`);
    return { kind: 'throughput', jobs: check.size, seconds, lastJob: check.last, cpuSeconds: (used.user + used.system) / 1e6 };
  } finally {
    await client.close();
  }
}

async function paced(lib: ClientModule, order: PacedOrder): Promise<LoadAnswer> {
  const intervalMs = (order.batch / order.jobsPerSecond) * 1000;
  const count = Math.max(1, Math.floor(order.durationMs / intervalMs));
  const work = frames(count * order.batch, order.batch, order.seed);
  const client = lib.createClient({ endpoints: order.url, token: order.token, batch: { maxJobs: order.batch, windowMs: 0 }, requestTimeoutMs: REQUEST_TIMEOUT_MS });
  try {
    await client.connect();
    const check = new AckCheck();
    const latencies = new Array<number>(count);
    const maxLateMs = await submitPaced((jobs) => client.submit(jobs), work, intervalMs, check, (i, _results, due) => {
      latencies[i] = performance.now() - due;
    });
    return { kind: 'paced', latenciesMs: latencies, jobs: check.size, lastJob: check.last, maxLateMs };
  } finally {
    await client.close();
  }
}

const lib = await clientModule();
process.on('message', (order: LoadOrder) => {
  const run = order.kind === 'throughput' ? throughput(lib, order) : order.kind === 'paced' ? paced(lib, order) : order.kind === 'run' ? runToEnd(lib, order) : runPaced(lib, order);
  run.then(
    (answer) => process.send?.(answer),
    (err: Error) => process.send?.({ kind: 'failed', message: err.stack ?? err.message } satisfies LoadAnswer),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ kind: 'ready' });
