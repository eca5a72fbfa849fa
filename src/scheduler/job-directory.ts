/**
 * The dispatcher's index of every live job: which queue owns it, its spec (to launch its tasks and release
 * their resources), how it ended, who depends on it, and the idempotency keys (those of retired jobs too,
 * while inside their window: key-window.ts). Jobs' lifecycle state lives in their queue actors; this is
 * only what routing across queues needs. A retired job leaves it (`retire`); its id is never given again.
 */
import type { JobSpec } from '../model/index.js';
import type { JobOutcome } from './events.js';
import { IdempotencyIndex } from './idempotency.js';
import { jobNumber, KeyWindow } from './key-window.js';
import { tasksPerElement } from './tasks.js';

export interface DirectoryEntry {
  readonly queue: string;
  readonly tenant: string;
  readonly spec: JobSpec;
  readonly perElement: number;
  outcome: JobOutcome | undefined;
}

export class JobDirectory {
  readonly #jobs = new Map<string, DirectoryEntry>();
  readonly #dependents = new Map<string, string[]>();
  /** Keys of live jobs. */
  readonly #keys = new IdempotencyIndex();
  /** Keys of retired jobs, submission times, the expiry point. */
  keys = new KeyWindow();
  /** How long a key names its job (Infinity: for ever). */
  readonly #keyWindowMs: number;
  #next = 1;
  #submitted = 0;

  constructor(keyWindowMs = Infinity) {
    this.#keyWindowMs = keyWindowMs;
  }

  /** Live jobs. */
  get size(): number {
    return this.#jobs.size;
  }

  /** Jobs submitted since the log began (the next job's submission order). */
  get submitted(): number {
    return this.#submitted;
  }

  /** The next job id (`j-1`, `j-2`, …): assigned in submission order, so replays assign the same ids. */
  nextId(): string {
    return `j-${this.#next++}`;
  }

  /** Moves the id counter past an id seen in the log (recovery). */
  observeId(id: string): void {
    const n = Number(id.slice(2));
    if (Number.isInteger(n) && n >= this.#next) this.#next = n + 1;
  }

  /** After recovery: `submitted` jobs were submitted (ids `j-1` … at least), and the keys as `keys` held them. */
  restored(submitted: number, keys: KeyWindow): void {
    this.#submitted = Math.max(this.#submitted, submitted);
    if (submitted >= this.#next) this.#next = submitted + 1;
    this.keys = keys;
  }

  /** Every live job with its entry (a walk over them all: for rare admin requests, not the hot path). */
  entries(): IterableIterator<[string, DirectoryEntry]> {
    return this.#jobs.entries();
  }

  get(job: string): DirectoryEntry | undefined {
    return this.#jobs.get(job);
  }

  /** Whether `job` was given by this directory and has been retired since. */
  retired(job: string): boolean {
    const n = jobNumber(job);
    return n !== undefined && n < this.#next && !this.#jobs.has(job);
  }

  /** The job the tenant's key names at `now`, if the key is known and inside its window. */
  byKey(tenant: string, key: string, now: number): string | undefined {
    const live = this.#keys.get(tenant, key);
    if (live !== undefined) {
      const n = jobNumber(live);
      if (n === undefined || !this.keys.expired(n, now, this.#keyWindowMs)) return live;
    }
    // A live job's expired key may have been taken since by a job that is retired now.
    const n = this.keys.retired(tenant, key);
    return n !== undefined && !this.keys.expired(n, now, this.#keyWindowMs) ? `j-${n}` : undefined;
  }

  add(job: string, tenant: string, spec: JobSpec): void {
    this.observeId(job);
    this.#submitted++;
    this.#jobs.set(job, { queue: spec.queue, tenant, spec, perElement: tasksPerElement(spec), outcome: undefined });
    if (spec.idempotencyKey !== undefined) this.#keys.set(tenant, spec.idempotencyKey, job);
    for (const dep of spec.dependencies) {
      const list = this.#dependents.get(dep.job);
      if (list) list.push(job);
      else this.#dependents.set(dep.job, [job]);
    }
  }

  /** A job submitted live (not restored): its submission time counts for its key's window. */
  addNew(job: string, tenant: string, spec: JobSpec, at: number): void {
    this.add(job, tenant, spec);
    const n = jobNumber(job);
    if (n !== undefined) this.keys.submitted(n, at);
    if (spec.idempotencyKey !== undefined) this.keys.forget(tenant, spec.idempotencyKey);
  }

  ended(job: string, outcome: JobOutcome): void {
    const entry = this.#jobs.get(job);
    if (entry) entry.outcome = outcome;
  }

  dependents(job: string): readonly string[] {
    return this.#dependents.get(job) ?? [];
  }

  /** Whether a job that has not ended depends on `job`. */
  awaited(job: string): boolean {
    for (const id of this.#dependents.get(job) ?? []) if (this.#jobs.get(id)?.outcome === undefined && this.#jobs.has(id)) return true;
    return false;
  }

  /** The job leaves the directory; its key stays while inside its window. Returns its entry. */
  retire(job: string): DirectoryEntry | undefined {
    const entry = this.#jobs.get(job);
    if (!entry) return undefined;
    this.#jobs.delete(job);
    this.#dependents.delete(job);
    for (const dep of entry.spec.dependencies) {
      const list = this.#dependents.get(dep.job);
      if (!list) continue;
      const at = list.indexOf(job);
      if (at >= 0) list.splice(at, 1);
      if (list.length === 0) this.#dependents.delete(dep.job);
    }
    const key = entry.spec.idempotencyKey;
    if (key !== undefined && this.#keys.get(entry.tenant, key) === job) {
      this.#keys.delete(entry.tenant, key);
      const n = jobNumber(job);
      if (n !== undefined) this.keys.retire(entry.tenant, key, n);
    }
    return entry;
  }
}
