/**
 * The ledger of a run-to-the-end order (bench/e2e-run-load.ts): what the watch has told of each job, and
 * the check that every job submitted was placed, started and ended exactly once, on attempt 1, succeeded
 * (none lost, none run twice), and that no other job showed up.
 */
import { performance } from 'node:perf_hooks';
import type { JobEvent } from '../src/client/index.js';

/** The acks of the order, as the ledger reads them. */
export interface AckedJobs {
  readonly size: number;
  has(job: string): boolean;
}

/** What the watch has told of one job. */
export interface JobTrace {
  placed: number;
  started: number;
  taskEnded: number;
  ended: number;
  /** The `at` of each event of the job's life (the last of its kind). */
  submittedAt: number;
  placedAt: number;
  startedAt: number;
  endedAt: number;
  /** The first event that should not have happened (another attempt, an outcome other than succeeded). */
  wrong: string | undefined;
}

/**
 * The events of one order's jobs, by job. `ended` resolves (with the performance.now() of its receipt) once
 * `expected` distinct jobs have ended; `verify` then checks each job's history against its ack.
 */
export class RunLedger {
  readonly #jobs = new Map<string, JobTrace>();
  readonly #expected: number;
  #endedJobs = 0;
  #events = 0;
  #resolve!: (at: number) => void;
  readonly ended: Promise<number>;

  constructor(expected: number) {
    this.#expected = expected;
    this.ended = new Promise((resolve) => (this.#resolve = resolve));
  }

  event(e: JobEvent): void {
    this.#events++;
    let t = this.#jobs.get(e.job);
    if (!t) {
      t = { placed: 0, started: 0, taskEnded: 0, ended: 0, submittedAt: NaN, placedAt: NaN, startedAt: NaN, endedAt: NaN, wrong: undefined };
      this.#jobs.set(e.job, t);
    }
    if (e.attempt !== undefined && e.attempt !== 1) t.wrong ??= `${e.type} of attempt ${e.attempt}`;
    switch (e.type) {
      case 'submitted':
        t.submittedAt = e.at;
        break;
      case 'placed':
        t.placed++;
        t.placedAt = e.at;
        break;
      case 'started':
        t.started++;
        t.startedAt = e.at;
        break;
      case 'task-ended':
        t.taskEnded++;
        if (e.outcome !== 'succeeded') t.wrong ??= `task-ended ${e.outcome} (${e.reason ?? 'no reason'})`;
        break;
      case 'ended':
        t.ended++;
        t.endedAt = e.at;
        if (e.outcome !== 'succeeded') t.wrong ??= `ended ${e.outcome} (${e.reason ?? 'no reason'})`;
        if (t.ended === 1 && ++this.#endedJobs === this.#expected) this.#resolve(performance.now());
        break;
      default:
        break;
    }
  }

  /** Where the order stands, for a failure message. */
  progress(): string {
    let placed = 0;
    let started = 0;
    for (const t of this.#jobs.values()) {
      if (t.placed > 0) placed++;
      if (t.started > 0) started++;
    }
    return `${this.#events} events: ${this.#jobs.size} jobs seen, ${placed} placed, ${started} started, ${this.#endedJobs} ended of ${this.#expected}`;
  }

  /** Throws unless the jobs seen are exactly the acked ones and each ran once, to success. */
  verify(acks: AckedJobs): void {
    if (acks.size !== this.#expected) throw new Error(`${acks.size} jobs acknowledged of ${this.#expected}`);
    for (const [job, t] of this.#jobs) {
      if (!acks.has(job)) throw new Error(`events for job ${job}, which this order did not submit`);
      if (t.wrong !== undefined) throw new Error(`job ${job}: ${t.wrong}`);
      if (t.placed !== 1 || t.started !== 1 || t.taskEnded !== 1 || t.ended !== 1) {
        throw new Error(`job ${job}: placed ${t.placed}, started ${t.started}, task-ended ${t.taskEnded}, ended ${t.ended} times (each should be once)`);
      }
    }
    if (this.#jobs.size !== this.#expected) throw new Error(`events for ${this.#jobs.size} jobs of ${this.#expected}`);
  }

  trace(job: string): JobTrace | undefined {
    return this.#jobs.get(job);
  }
}
