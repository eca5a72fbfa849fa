/**
 * Retirement, as the dispatcher runs it: the event router tells it of jobs that end and of their last
 * attempts ending; it keeps them in a `RetentionLedger` (retention.ts, which says the rule) and, in the
 * dispatcher's `retire` turns, emits the decisions: one `JobsRetired` for the jobs due, one `KeysExpired`
 * for the keys past their window. A sweep runs in a turn of its own, asked for when a tenant passes its
 * bound (so the jobs ended by the messages already waiting go in the same event) and by a timer on the
 * scheduler's clock when the next job is due by age or the next key expires.
 */
import type { ActorRef, ActorSystem } from '../actors/index.js';
import type { Clock } from './clock.js';
import type { EventRouter } from './event-router.js';
import type { SchedulerEvent } from './events.js';
import type { DirectoryEntry } from './job-directory.js';
import type { DispatcherInbox } from './messages.js';
import type { RetentionPolicy } from './retention.js';
import { KEY_EXPIRY_SWEEP_MS, RETENTION_SWEEP_MS, RETIRE_BATCH, RetentionLedger } from './retention.js';
import { elementCount } from './tasks.js';

export interface RetirementDeps {
  readonly clock: Clock;
  readonly system: ActorSystem;
  readonly self: ActorRef<DispatcherInbox>;
}

/** An ended job of a recovered state: it waits for retirement again. */
export interface RecoveredEnd {
  readonly id: string;
  readonly tenant: string;
  readonly endedAt: number;
  /** Attempts of it still live. */
  readonly live: number;
}

export class Retirement {
  readonly ledger: RetentionLedger;
  readonly #router: EventRouter;
  readonly #deps: RetirementDeps;
  #asked = false;
  /** When the armed timer fires (undefined: none armed). */
  #timerAt: number | undefined;
  #keysSweptAt = -Infinity;

  constructor(router: EventRouter, policy: RetentionPolicy, deps: RetirementDeps) {
    this.#router = router;
    this.#deps = deps;
    this.ledger = new RetentionLedger(policy);
  }

  /** A job ended (its first `JobEnded`). */
  jobEnded(e: Extract<SchedulerEvent, { kind: 'JobEnded' }>, entry: DirectoryEntry): void {
    const { live, directory } = this.#router;
    let running = 0;
    const tasks = entry.perElement * elementCount(entry.spec);
    for (let t = 0; t < tasks; t++) if (live.get(e.job, t)) running++;
    let due = this.ledger.ended(e.job, entry.tenant, e.at, running);
    // A job held back for this one may go now.
    for (const dep of entry.spec.dependencies) {
      if (this.ledger.isHeld(dep.job) && !directory.awaited(dep.job)) {
        this.ledger.release(dep.job);
        due = true;
      }
    }
    this.#changed(e.at, due);
  }

  /** A live attempt of an ended job ended. */
  attemptEnded(job: string, at: number): void {
    this.#changed(at, this.ledger.attemptEnded(job));
  }

  /** Recovery: the ended jobs of a recovered state, oldest-ended first. */
  restore(ended: Iterable<RecoveredEnd>): void {
    for (const job of ended) this.ledger.ended(job.id, job.tenant, job.endedAt, job.live);
    this.#ask();
  }

  /** The sweep, in the dispatcher's `retire` turn. */
  sweep(now: number): void {
    this.#asked = false;
    const router = this.#router;
    if (router.events.failed !== undefined) return;
    if (this.#timerAt !== undefined && now >= this.#timerAt) this.#timerAt = undefined;
    const due = this.ledger.due(now, (id) => router.directory.awaited(id));
    // A job retired with its deleted queue (queue-deletion.ts) is still in the ledger: it is not retired twice.
    const jobs = due.filter((id) => router.directory.get(id) !== undefined);
    if (jobs.length > 0) router.emit({ kind: 'JobsRetired', at: now, jobs });
    if (due.length === RETIRE_BATCH) this.#ask();
    const keys = router.directory.keys;
    if (now >= this.#keysSweptAt + KEY_EXPIRY_SWEEP_MS) {
      const before = keys.expiredBefore(now, this.ledger.policy.keyWindowMs);
      if (before > keys.before) {
        router.emit({ kind: 'KeysExpired', at: now, before });
        this.#keysSweptAt = now;
      }
    }
    this.#arm(now);
  }

  /** Sweep soon if a job is due now, else make sure a timer is armed. */
  #changed(now: number, dueNow: boolean): void {
    if (dueNow) this.#ask();
    else if (this.#timerAt === undefined) this.#arm(now);
  }

  #ask(): void {
    if (this.#asked) return;
    this.#asked = true;
    this.#deps.system.tell(this.#deps.self, { kind: 'retire' });
  }

  #arm(now: number): void {
    const byAge = this.ledger.nextDueAt();
    const keyAt = this.#router.directory.keys.nextExpiryAt(this.ledger.policy.keyWindowMs);
    const byKeys = keyAt === undefined ? Infinity : Math.max(keyAt, this.#keysSweptAt + KEY_EXPIRY_SWEEP_MS);
    const at = Math.max(now, Math.min(byAge === undefined ? Infinity : byAge + RETENTION_SWEEP_MS, byKeys));
    if (!Number.isFinite(at) || (this.#timerAt !== undefined && this.#timerAt <= at)) return;
    this.#timerAt = at;
    const { system, self } = this.#deps;
    // The timer only asks: the sweep runs in the dispatcher's own turn.
    this.#deps.clock.schedule(at, () => system.tell(self, { kind: 'retire' }));
  }
}
