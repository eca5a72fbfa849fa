/**
 * The chaos run's steady submission load: marker jobs (test/faults/marker-task.ts) submitted a few at a
 * time at a steady pace through the client library, given every replica's URL (it finds the leader, follows
 * it across failovers, and resends what a deposed leader left unanswered). It records every acknowledged
 * key → id; a submission that fails is sent again with the same keys until it is acknowledged, so when the
 * load stops every key it ever sent is acknowledged (or the stop says it is not). The key is the job's name,
 * so the final listing says which key each job came from; the design of each key is kept for the checks.
 *
 * The jobs, drawn from the run's seed: short sleeps; one in four fails its first attempt on purpose and is
 * retried once (its retry succeeds); one in ten fails with no retries left (the job ends `failed`); the rest
 * succeed but may be retried, so an unwarranted retry would happen and be seen; one in eight has two tasks.
 */
import { createClient } from '../../src/client/index.js';
import type { MusterClient } from '../../src/client/index.js';
import type { MarkerFolders, MarkerJob } from '../faults/marker-task.js';
import { markerJobSpec } from '../faults/marker-task.js';

/** A submission waits for a leader this long at most (a failover takes seconds); then it is sent again. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Reconnection backoff tops out here rather than at the client's 5 s: a new leader serves within seconds. */
const BACKOFF_MAX_MS = 500;
/** Sleeps of the marker tasks, in seconds: short, so jobs end throughout the run, some across a failover. */
const SLEEP_MIN_S = 0.3;
const SLEEP_MAX_S = 2.5;
/** The designed failure's exit code (retried once), and the exit code of jobs that fail for good. */
export const RETRIED_EXIT = 3;
export const FINAL_EXIT = 5;
/** Stopping: the batch in flight is sent again until acknowledged, for at most this long. */
const STOP_DEADLINE_MS = 60_000;

export interface LoadOptions {
  readonly endpoints: readonly string[];
  readonly token: string;
  readonly folders: MarkerFolders;
  /** Jobs a submission carries. */
  readonly batch: number;
  /** The pause between the end of one submission and the next: the load's pace, not a wait for anything. */
  readonly paceMs: number;
  readonly random: () => number;
}

export function designJob(name: string, random: () => number): MarkerJob {
  const sleepSeconds = Math.round((SLEEP_MIN_S + random() * (SLEEP_MAX_S - SLEEP_MIN_S)) * 10) / 10;
  const roll = random();
  if (roll < 0.25) return { name, sleepSeconds, exitCode: RETRIED_EXIT, retries: 1 };
  if (roll < 0.35) return { name, sleepSeconds, exitCode: FINAL_EXIT, retries: 0 };
  // Succeeds at once; a retry allowed so that a failover that lost the attempt would show as one.
  return { name, sleepSeconds, exitCode: 0, retries: 2, tasks: roll > 0.875 ? 2 : 1 };
}

export class ChaosLoad {
  readonly acked = new Map<string, string>();
  readonly designs = new Map<string, MarkerJob>();
  readonly conflicts: string[] = [];
  /** Submissions that failed and were sent again. */
  failures = 0;
  /** Failures by code, for the report. */
  readonly failureCodes = new Map<string, number>();
  /** Jobs the leader refused (a per-job refusal is an answer: not sent again). */
  readonly refused: string[] = [];
  /** Keys sent but never acknowledged (only if the stop's deadline passed). */
  readonly unacked: string[] = [];
  readonly #client: MusterClient;
  readonly #o: LoadOptions;
  #stopping = false;
  #stopDeadline = 0;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: LoadOptions) {
    this.#o = options;
    this.#client = createClient({
      endpoints: [...options.endpoints],
      token: options.token,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      connectTimeoutMs: REQUEST_TIMEOUT_MS,
      backoff: { maxMs: BACKOFF_MAX_MS },
      batch: { windowMs: 0 },
    });
  }

  get client(): MusterClient {
    return this.#client;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async #run(): Promise<void> {
    for (let n = 0; !this.#stopping; n++) {
      const jobs = Array.from({ length: this.#o.batch }, (_, k) => designJob(`chaos-${n}-${k}`, this.#o.random));
      for (const job of jobs) this.designs.set(job.name, job);
      await this.#submitUntilAcked(jobs);
      if (!this.#stopping) await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, this.#o.paceMs);
      });
    }
  }

  async #submitUntilAcked(jobs: readonly MarkerJob[]): Promise<void> {
    for (;;) {
      try {
        const results = await this.#client.submit(jobs.map((j) => markerJobSpec(j, this.#o.folders)));
        results.forEach((r, k) => {
          const key = jobs[k]!.name;
          if (!r.ok) return void this.refused.push(`${key}: ${r.code} ${r.message}`);
          const before = this.acked.get(key);
          if (before !== undefined && before !== r.job) this.conflicts.push(`${key}: acknowledged as ${before}, then as ${r.job}`);
          this.acked.set(key, r.job);
        });
        return;
      } catch (err) {
        this.#count((err as { code?: string }).code ?? 'UNKNOWN');
      }
      this.failures++;
      if (this.#stopping && Date.now() > this.#stopDeadline) {
        for (const j of jobs) this.unacked.push(j.name);
        return;
      }
      // Some failures come at once (a closed connection): resend after a pause, not in a tight loop.
      await new Promise((resolve) => setTimeout(resolve, BACKOFF_MAX_MS));
    }
  }

  #count(code: string): void {
    this.failureCodes.set(code, (this.failureCodes.get(code) ?? 0) + 1);
  }

  /** Stops after the batch in flight is acknowledged (or the stop's deadline passes); the client stays open. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#stopDeadline = Date.now() + STOP_DEADLINE_MS;
    this.#wake?.();
    await this.#loop;
  }

  close(): Promise<void> {
    this.#closing ??= this.stop().then(() => this.#client.close());
    return this.#closing;
  }
}
