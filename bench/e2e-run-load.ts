/**
 * The load generator's run-to-the-end orders (sent by bench/e2e-run.ts, run in the load generator process
 * by bench/gateway-load.ts). Jobs go in with one client; their events come back on a watch held by a
 * second client (a WebSocket of its own, so events never queue behind acks on the submitting one). Every
 * job must come back from its submission `ok` and new, then have exactly one `placed`, one `started`, one
 * `task-ended` and one `ended`, all of attempt 1 and `succeeded`: none lost, none run twice.
 *
 * - `run`: `total` jobs in frames of `batch`, `window` frames in flight (closed loop, as the accept cases);
 *   answers with the seconds from the first frame sent to the receipt here of the last job's `ended` event.
 * - `run-paced`: one frame of `batch` jobs every `batch / jobsPerSecond` seconds for `durationMs` (open loop);
 *   answers, per job, the milliseconds from when its frame was due to the `at` of its `started` event (the
 *   server records it when the agent reports the attempt started), and each step of the way: due →
 *   `submitted` (durable) → `placed` (dispatched) → `started` → `ended`.
 *   `at` is the server's `Date.now()`; the due time is turned into this process's `Date.now()` as the frame's
 *   ack comes in. Both are the one wall clock (CLOCK_REALTIME) of the machine that runs both processes, read
 *   at 1 ms resolution: no clock of another machine is compared.
 *
 * The jobs are one short task each, with a distinct argument per job (as the accept cases'): `muster sim`
 * runs a command that is not `sleep N`, with no `MUSTER_SIM_DURATION`, for no time at all, so what is
 * measured is the control plane's round trip, not the jobs.
 */
import { performance } from 'node:perf_hooks';
import { RunLedger } from './e2e-run-ledger.js';
import { AckCheck, inFrames, REQUEST_TIMEOUT_MS, submitClosedLoop, submitPaced } from './gateway-load-parts.js';
import type { ClientModule, ClosedLoop, OpenLoop } from './gateway-load-parts.js';

/** The queue every run job goes to (made by the first job; the watch follows it). */
export const RUN_QUEUE = 'e2e-run';

export interface RunOrder extends ClosedLoop {
  readonly kind: 'run';
  /** Past this, waiting for the jobs' ends is a failure that says how far they got. */
  readonly deadlineMs: number;
}

export interface RunPacedOrder extends OpenLoop {
  readonly kind: 'run-paced';
  readonly deadlineMs: number;
}

export interface RunAnswer {
  readonly kind: 'run';
  readonly jobs: number;
  /** First frame sent to the last job's `ended` received. */
  readonly seconds: number;
  /** First frame sent to the last ack. */
  readonly ackSeconds: number;
  readonly lastJob: string;
  /** This process's CPU over `seconds`. */
  readonly cpuSeconds: number;
}

/** The steps of a job's life, each to the event it is named after from the one before (`submitted`: from due). */
export const RUN_STEPS = ['submitted', 'placed', 'started', 'ended'] as const;
export type RunStep = (typeof RUN_STEPS)[number];

export interface RunPacedAnswer {
  readonly kind: 'run-paced';
  readonly jobs: number;
  /** Per job: its frame's due time to its `started` event's `at`. */
  readonly startLatenciesMs: readonly number[];
  /** Per job, each step of its life: the `at` of one event to the next (the first from its frame's due time). */
  readonly stepsMs: Readonly<Record<RunStep, readonly number[]>>;
  /** The latest a frame was sent after it was due. */
  readonly maxLateMs: number;
}

/** `count` one-task jobs, each with its own name, key (unique to `seed`) and argument. */
export function runJobs(count: number, seed: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `run-${seed}-${i}`,
    queue: RUN_QUEUE,
    idempotencyKey: `run-${seed}:${i}`,
    tasks: [{ resources: { cpu: '250m', memory: '256Mi' }, command: ['/usr/bin/true', `--shard=${i}`] }],
  }));
}

type Client = ReturnType<ClientModule['createClient']>;

/** A submitting client and a watching one, the watch confirmed before anything is submitted. */
class RunSession {
  readonly submitter: Client;
  readonly #watcher: Client;
  readonly ledger: RunLedger;
  #following: Promise<void> = Promise.resolve();

  constructor(lib: ClientModule, order: { readonly url: string; readonly token: string; readonly batch: number }, expected: number) {
    const options = { endpoints: order.url, token: order.token, requestTimeoutMs: REQUEST_TIMEOUT_MS };
    this.submitter = lib.createClient({ ...options, batch: { maxJobs: order.batch, windowMs: 0 } });
    this.#watcher = lib.createClient(options);
    this.ledger = new RunLedger(expected);
  }

  async open(): Promise<void> {
    await Promise.all([this.submitter.connect(), this.#watcher.connect()]);
    // The buffer holds a whole order's events: the ledger keeps up, but a slow turn must not end the watch.
    const watch = this.#watcher.watch({ queue: RUN_QUEUE }, { maxBuffered: 10_000_000 });
    this.#following = (async () => {
      for await (const e of watch) this.ledger.event(e);
    })();
    this.#following.catch(() => undefined);
    await watch.ready;
  }

  /** performance.now() at the receipt of the last job's `ended`; fails after `deadlineMs` saying how far it got. */
  async ended(deadlineMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the jobs had not all ended after ${deadlineMs} ms: ${this.ledger.progress()}`)), deadlineMs);
    });
    const watchEnded = this.#following.then(() => {
      throw new Error(`the watch ended first: ${this.ledger.progress()}`);
    });
    try {
      return await Promise.race([this.ledger.ended, late, watchEnded]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.submitter.close(), this.#watcher.close()]);
  }
}

export async function runToEnd(lib: ClientModule, order: RunOrder): Promise<RunAnswer> {
  const work = inFrames(runJobs(order.total, order.seed), order.batch);
  const session = new RunSession(lib, order, order.total);
  try {
    await session.open();
    const check = new AckCheck();
    const cpu = process.cpuUsage();
    const start = await submitClosedLoop((jobs) => session.submitter.submit(jobs), work, order.window, check);
    const acked = performance.now();
    const end = await session.ended(order.deadlineMs);
    const used = process.cpuUsage(cpu);
    session.ledger.verify(check);
    return { kind: 'run', jobs: check.size, seconds: (end - start) / 1000, ackSeconds: (acked - start) / 1000, lastJob: check.last, cpuSeconds: (used.user + used.system) / 1e6 };
  } finally {
    await session.close();
  }
}

export async function runPaced(lib: ClientModule, order: RunPacedOrder): Promise<RunPacedAnswer> {
  const intervalMs = (order.batch / order.jobsPerSecond) * 1000;
  const count = Math.max(1, Math.floor(order.durationMs / intervalMs));
  const work = inFrames(runJobs(count * order.batch, order.seed), order.batch);
  const session = new RunSession(lib, order, count * order.batch);
  try {
    await session.open();
    const check = new AckCheck();
    /** Per frame: when it was due, on the wall clock (Date.now()), read as its ack comes in. */
    const dueWall = new Array<number>(count);
    const frameOf = new Map<string, number>();
    const maxLateMs = await submitPaced((jobs) => session.submitter.submit(jobs), work, intervalMs, check, (i, results, due) => {
      dueWall[i] = Date.now() - (performance.now() - due);
      for (const r of results) if (r.ok) frameOf.set(r.job, i);
    });
    await session.ended(order.deadlineMs);
    session.ledger.verify(check);
    const startLatenciesMs: number[] = [];
    const stepsMs: Record<RunStep, number[]> = { submitted: [], placed: [], started: [], ended: [] };
    for (const [job, frame] of frameOf) {
      const t = session.ledger.trace(job)!;
      startLatenciesMs.push(t.startedAt - dueWall[frame]!);
      stepsMs.submitted.push(t.submittedAt - dueWall[frame]!);
      stepsMs.placed.push(t.placedAt - t.submittedAt);
      stepsMs.started.push(t.startedAt - t.placedAt);
      stepsMs.ended.push(t.endedAt - t.startedAt);
    }
    return { kind: 'run-paced', jobs: check.size, startLatenciesMs, stepsMs, maxLateMs };
  } finally {
    await session.close();
  }
}
