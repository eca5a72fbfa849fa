/**
 * The dispatcher's index of every job: which queue owns it, its spec (to launch its tasks and release their
 * resources), how it ended, who depends on it, and the idempotency keys. Jobs' lifecycle state lives in
 * their queue actors; this is only what routing across queues needs.
 */
import type { JobSpec } from '../model/index.js';
import type { JobOutcome } from './events.js';
import { IdempotencyIndex } from './idempotency.js';
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
  readonly #keys = new IdempotencyIndex();
  #next = 1;

  get size(): number {
    return this.#jobs.size;
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

  get(job: string): DirectoryEntry | undefined {
    return this.#jobs.get(job);
  }

  byKey(tenant: string, key: string): string | undefined {
    return this.#keys.get(tenant, key);
  }

  add(job: string, tenant: string, spec: JobSpec): void {
    this.observeId(job);
    this.#jobs.set(job, { queue: spec.queue, tenant, spec, perElement: tasksPerElement(spec), outcome: undefined });
    if (spec.idempotencyKey !== undefined) this.#keys.set(tenant, spec.idempotencyKey, job);
    for (const dep of spec.dependencies) {
      const list = this.#dependents.get(dep.job);
      if (list) list.push(job);
      else this.#dependents.set(dep.job, [job]);
    }
  }

  ended(job: string, outcome: JobOutcome): void {
    const entry = this.#jobs.get(job);
    if (entry) entry.outcome = outcome;
  }

  dependents(job: string): readonly string[] {
    return this.#dependents.get(job) ?? [];
  }
}
