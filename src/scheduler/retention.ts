/**
 * Retention: which ended jobs leave the live state, and when idempotency keys expire. The dispatcher decides
 * (its event router asks this ledger), because it alone holds every fact the decision needs across queues:
 * each job's tenant, whether it has ended and when (`JobEnded`), whether an attempt of it is still live, and
 * which jobs depend on it. The decision is an event (`JobsRetired`, `KeysExpired`), applied by the same
 * reducer live, on recovery and in replay, so a rebuilt state is the state the leader had.
 *
 * A job is retired once it has ended, none of its attempts is live (the kills that follow a job's end
 * report back first), no job that has not ended depends on it, and either it ended `maxAgeMs` ago or its
 * tenant holds more than `maxEndedPerTenant` ended jobs (the oldest-ended go first). A job held back by a
 * waiting dependent does not count towards its tenant's bound, and goes as soon as that dependent ends.
 */

/** How long finished jobs and idempotency keys stay (server config: `retention:`). */
export interface RetentionPolicy {
  /** An ended job leaves the live state this long after it ended. */
  readonly maxAgeMs: number;
  /** Most ended jobs one tenant keeps in the live state; past it the oldest-ended leave first. */
  readonly maxEndedPerTenant: number;
  /** How long an idempotency key names its job, from the job's submission. */
  readonly keyWindowMs: number;
}

/**
 * The server's defaults. An ended job costs about 1 KB of live state (its record, its directory entry and
 * the snapshot's share), so:
 * - `maxEndedPerTenant` 50,000 bounds a tenant's finished jobs to about 50 MB whatever its rate: a stream
 *   of any speed reaches the bound and stays flat there;
 * - `maxAgeMs` 1 hour lets a quiet tenant (under 14 jobs/s) look at the last hour's jobs live, long enough
 *   for a person or a script to read how a job ended and for jobs submitted after it to depend on it;
 * - `keyWindowMs` 24 hours (DESIGN.md §7): a client retrying for a day still gets its jobs' ids.
 */
export const DEFAULT_RETENTION: RetentionPolicy = { maxAgeMs: 3_600_000, maxEndedPerTenant: 50_000, keyWindowMs: 86_400_000 };

/** Most jobs one `JobsRetired` names: ~12 bytes of msgpack each keeps the record near 120 KB (limit 16 MiB). */
export const RETIRE_BATCH = 10_000;

/**
 * Retirement by age is checked this long after the oldest ended job is due, so one event takes every job
 * due within it: a job leaves between `maxAgeMs` and `maxAgeMs` + 1 s after it ended.
 */
export const RETENTION_SWEEP_MS = 1000;

/**
 * Keys are expired (dropped from memory) at most this often. Lookups check the window exactly, so a later
 * sweep only keeps a minute more of keys; it saves an event a second on a server that takes jobs all day.
 */
export const KEY_EXPIRY_SWEEP_MS = 60_000;

/** A tenant's ended jobs in the order they ended: a deque of ids and end times. */
class EndedJobs {
  #ids: (string | undefined)[] = [];
  #at: number[] = [];
  #head = 0;

  get length(): number {
    return this.#ids.length - this.#head;
  }

  push(id: string, at: number): void {
    this.#ids.push(id);
    this.#at.push(at);
  }

  /** Puts a job back at the front (one that was held and is free to go). */
  unshift(id: string, at: number): void {
    if (this.#head > 0) {
      this.#head--;
      this.#ids[this.#head] = id;
      this.#at[this.#head] = at;
    } else {
      this.#ids.unshift(id);
      this.#at.unshift(at);
    }
  }

  headId(): string | undefined {
    return this.#ids[this.#head];
  }

  headAt(): number {
    return this.#at[this.#head] as number;
  }

  shift(): void {
    this.#ids[this.#head] = undefined;
    this.#head++;
    if (this.#head >= 1024 && this.#head * 2 >= this.#ids.length) {
      this.#ids = this.#ids.slice(this.#head);
      this.#at = this.#at.slice(this.#head);
      this.#head = 0;
    }
  }
}

interface Waiting {
  readonly tenant: string;
  readonly at: number;
}

export class RetentionLedger {
  readonly policy: RetentionPolicy;
  readonly #tenants = new Map<string, EndedJobs>();
  /** Ended jobs with attempts still live, and how many. */
  readonly #draining = new Map<string, Waiting & { live: number }>();
  /** Jobs that were due while a job that has not ended depended on them. */
  readonly #held = new Map<string, Waiting>();

  constructor(policy: RetentionPolicy) {
    this.policy = policy;
  }

  /** Ended jobs not yet retired (draining and held ones included). */
  get size(): number {
    let n = this.#draining.size + this.#held.size;
    for (const jobs of this.#tenants.values()) n += jobs.length;
    return n;
  }

  /** A job ended at `at` with `liveAttempts` attempts still live. Returns whether its tenant is now over its bound. */
  ended(job: string, tenant: string, at: number, liveAttempts: number): boolean {
    if (liveAttempts > 0) {
      this.#draining.set(job, { tenant, at, live: liveAttempts });
      return false;
    }
    return this.#queue(tenant, job, at);
  }

  /** An attempt of an ended job ended. Returns whether its tenant is now over its bound. */
  attemptEnded(job: string): boolean {
    const draining = this.#draining.get(job);
    if (!draining || --draining.live > 0) return false;
    this.#draining.delete(job);
    return this.#queue(draining.tenant, job, draining.at);
  }

  isHeld(job: string): boolean {
    return this.#held.has(job);
  }

  /** A held job no longer has a waiting dependent: it goes at the next sweep. */
  release(job: string): void {
    const held = this.#held.get(job);
    if (!held) return;
    this.#held.delete(job);
    this.#jobsOf(held.tenant).unshift(job, held.at);
  }

  /**
   * The jobs due at `now` (at most `RETIRE_BATCH`; more may be due), taken out of the ledger; those a job
   * that has not ended depends on (`awaited`) are held instead.
   */
  due(now: number, awaited: (job: string) => boolean): string[] {
    const out: string[] = [];
    const { maxAgeMs, maxEndedPerTenant } = this.policy;
    for (const [tenant, jobs] of this.#tenants) {
      while (out.length < RETIRE_BATCH && jobs.length > 0) {
        if (jobs.headAt() + maxAgeMs > now && jobs.length <= maxEndedPerTenant) break;
        const id = jobs.headId() as string;
        const at = jobs.headAt();
        jobs.shift();
        if (awaited(id)) this.#held.set(id, { tenant, at });
        else out.push(id);
      }
      if (jobs.length === 0) this.#tenants.delete(tenant);
    }
    return out;
  }

  /** When the oldest ended job is due by age (undefined: none waits). */
  nextDueAt(): number | undefined {
    let next: number | undefined;
    for (const jobs of this.#tenants.values()) {
      const due = jobs.headAt() + this.policy.maxAgeMs;
      if (next === undefined || due < next) next = due;
    }
    return next;
  }

  #jobsOf(tenant: string): EndedJobs {
    let jobs = this.#tenants.get(tenant);
    if (!jobs) this.#tenants.set(tenant, (jobs = new EndedJobs()));
    return jobs;
  }

  #queue(tenant: string, job: string, at: number): boolean {
    const jobs = this.#jobsOf(tenant);
    jobs.push(job, at);
    return jobs.length > this.policy.maxEndedPerTenant;
  }
}
