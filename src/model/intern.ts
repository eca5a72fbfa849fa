/**
 * Hash-consing of job specs: jobs that ask for the same thing share one copy of it.
 *
 * A million pending jobs mostly repeat a handful of shapes: the same task groups (resources, command,
 * args), no constraints, the default retries, no dependencies. Kept as separate objects, those parts cost
 * about 1.5 KB per job; shared, they cost nothing per job. `internJob` returns a spec equal to its input
 * (field by field, in a fixed field order so every spec has the same hidden class) whose parts are the
 * canonical copies; only what is the job's own (its name, idempotency key, array size) stays per job.
 *
 * Specs are immutable (`readonly` all the way down), which is what makes sharing safe. The table is a
 * cache: it is bounded and simply starts over when full — jobs keep the parts they already point to, and a
 * part seen again is shared again from then on. Canonical parts are remembered in a WeakSet, so interning
 * an already interned spec (the reducer sees the dispatcher's specs again) costs no key building.
 */
import type { Constraints, Dependency, JobSpec, RetryPolicy, TaskGroup } from './job.js';
import type { Mutable } from './mutable.js';

/** Distinct parts kept before the table starts over; far more than the shapes a real workload repeats. */
export const INTERN_TABLE_LIMIT = 65_536;

export class SpecInterner {
  readonly #table = new Map<string, object>();
  readonly #canonical = new WeakSet<object>();
  readonly #limit: number;

  constructor(limit = INTERN_TABLE_LIMIT) {
    this.#limit = limit;
  }

  /** Distinct parts in the table now. */
  get size(): number {
    return this.#table.size;
  }

  internJob(spec: JobSpec): JobSpec {
    // Already interned (the reducer sees the specs the dispatcher interned): nothing to do.
    if (this.#canonical.has(spec.tasks) && this.#canonical.has(spec.constraints) && this.#canonical.has(spec.retries) && spec.dependencies.length > 0 === (spec.dependencies !== NO_DEPENDENCIES)) {
      return spec;
    }
    const out: Mutable<JobSpec> = {
      queue: spec.queue,
      priority: spec.priority,
      tasks: this.internTasks(spec.tasks),
      constraints: this.internConstraints(spec.constraints),
      strategy: spec.strategy,
      distinctNodes: spec.distinctNodes,
      gang: spec.gang,
      dependencies: spec.dependencies.length === 0 ? NO_DEPENDENCIES : spec.dependencies,
      retries: this.internRetries(spec.retries),
    };
    // Optional fields are added in one fixed order, so specs share hidden classes whatever their origin.
    if (spec.name !== undefined) out.name = spec.name;
    if (spec.array !== undefined) out.array = spec.array;
    if (spec.idempotencyKey !== undefined) out.idempotencyKey = spec.idempotencyKey;
    return out;
  }

  internTasks(groups: readonly TaskGroup[]): readonly TaskGroup[] {
    return this.#part('t', groups);
  }

  internConstraints(constraints: Constraints): Constraints {
    return this.#part('c', constraints);
  }

  internRetries(retries: RetryPolicy): RetryPolicy {
    return this.#part('r', retries);
  }

  #part<T extends readonly TaskGroup[] | Constraints | RetryPolicy>(kind: string, value: T): T {
    if (this.#canonical.has(value)) return value;
    // JSON of the part is its identity: parts are plain data whose field order validation fixes.
    const key = kind + JSON.stringify(value);
    const found = this.#table.get(key);
    if (found) return found as T;
    if (this.#table.size >= this.#limit) this.#table.clear();
    this.#table.set(key, value);
    this.#canonical.add(value);
    return value;
  }
}

/** The dependency list of every job without dependencies. */
export const NO_DEPENDENCIES: readonly Dependency[] = Object.freeze([]);

/** The process-wide interner the scheduler uses (a cache: sharing it between cores is harmless). */
export const specInterner = new SpecInterner();

export function internJob(spec: JobSpec): JobSpec {
  return specInterner.internJob(spec);
}
