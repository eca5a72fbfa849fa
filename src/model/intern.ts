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
import { DEFAULT_BACKOFF_MS } from './job.js';
import type { Selector } from './selector.js';
import type { Mutable } from './mutable.js';
import { recurringWord } from './shared-request.js';

/** Distinct parts kept before the table starts over; far more than the shapes a real workload repeats. */
export const INTERN_TABLE_LIMIT = 65_536;

export class SpecInterner {
  readonly #table = new Map<string, object>();
  readonly #canonical = new WeakSet<object>();
  /** Canonical parts found again at least once: shared by several jobs (the log writer keeps their bytes). */
  readonly #shared = new WeakSet<object>();
  readonly #limit: number;
  #lookups = 0;
  #hits = 0;
  #skipping = 0;

  constructor(limit = INTERN_TABLE_LIMIT) {
    this.#limit = limit;
    for (const usual of [NO_CONSTRAINTS, NO_RETRIES]) {
      this.#canonical.add(usual);
      this.#shared.add(usual);
    }
  }

  /** Distinct parts in the table now. */
  get size(): number {
    return this.#table.size;
  }

  internJob(spec: JobSpec): JobSpec {
    // Already interned (the reducer sees the specs the dispatcher interned): nothing to do.
    const depsCanonical = spec.dependencies.length > 0 || spec.dependencies === NO_DEPENDENCIES;
    // While task lists are not interned (skipping), a spec whose other parts are canonical went through here
    // (or was built the same way): its task list is its own either way.
    const tasksCanonical = this.#skipping > 0 || this.#canonical.has(spec.tasks);
    if (depsCanonical && tasksCanonical && this.#canonical.has(spec.constraints) && this.#canonical.has(spec.retries)) {
      return spec;
    }
    const out: Mutable<JobSpec> = {
      queue: recurringWord(spec.queue),
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
    if (spec.gracePeriodMs !== undefined) out.gracePeriodMs = spec.gracePeriodMs;
    if (spec.preemptible === false) out.preemptible = false;
    if (spec.mayPreempt === true) out.mayPreempt = true;
    return out;
  }

  /** Whether `part` is a canonical part that more than one spec has shared (immutable, so safe to cache by). */
  isShared(part: object): boolean {
    return this.#shared.has(part);
  }

  internTasks(groups: readonly TaskGroup[]): readonly TaskGroup[] {
    return this.#part(TASKS, groups);
  }

  internConstraints(constraints: Constraints): Constraints {
    // Most jobs have none: recognised by two lengths, not by a JSON key.
    if (constraints.sites.length === 0 && constraints.selectors.length === 0) return NO_CONSTRAINTS;
    return this.#part('c', constraints);
  }

  internRetries(retries: RetryPolicy): RetryPolicy {
    if (retries.max === 0 && retries.backoffMs === DEFAULT_BACKOFF_MS) return NO_RETRIES;
    return this.#part('r', retries);
  }

  #part<T extends readonly TaskGroup[] | Constraints | RetryPolicy>(kind: string, value: T): T {
    if (this.#canonical.has(value)) return value;
    if (kind === TASKS && this.#skipping > 0) {
      // Task lists have not repeated lately: keying them costs more than sharing saves. Each is its own copy.
      // Not remembered as canonical either: a WeakSet of a million lists made every collection slower (an
      // ephemeron each); `internJob` takes a spec as it is while skipping instead.
      this.#skipping--;
      return value;
    }
    // JSON of the part is its identity: parts are plain data whose field order validation fixes.
    const key = kind + JSON.stringify(value);
    const found = this.#table.get(key);
    if (kind === TASKS) this.#judge(found !== undefined);
    if (found) {
      this.#shared.add(found);
      return found as T;
    }
    if (this.#table.size >= this.#limit) this.#table.clear();
    this.#table.set(key, value);
    this.#canonical.add(value);
    return value;
  }

  /**
   * Keeps interning task lists worth its cost (they are the big keys): over each window of lookups, if
   * almost none found a list to share (every job its own arguments, say), the next ones are not looked up
   * at all; then it looks again. Constraints and retries are small and nearly always repeat.
   */
  #judge(hit: boolean): void {
    this.#lookups++;
    if (hit) this.#hits++;
    if (this.#lookups < JUDGE_WINDOW) return;
    if (this.#hits < JUDGE_WINDOW * JUDGE_MIN_HIT_RATE) this.#skipping = SKIP_AFTER_MISSES;
    this.#lookups = 0;
    this.#hits = 0;
  }
}

const TASKS = 't';
/** Lookups per judgement of the hit rate. */
const JUDGE_WINDOW = 4096;
/** Below this share of lookups finding a part, interning is paused… */
const JUDGE_MIN_HIT_RATE = 0.05;
/** …for this many parts. */
const SKIP_AFTER_MISSES = 65_536;

/** The constraints of every job without constraints, and the retries of every job with the default ones. */
const NO_CONSTRAINTS: Constraints = { sites: Object.freeze([]) as readonly string[], selectors: Object.freeze([]) as readonly Selector[] };
const NO_RETRIES: RetryPolicy = { max: 0, backoffMs: DEFAULT_BACKOFF_MS };

/** The dependency list of every job without dependencies. */
export const NO_DEPENDENCIES: readonly Dependency[] = Object.freeze([]);

/** The process-wide interner the scheduler uses (a cache: sharing it between cores is harmless). */
export const specInterner = new SpecInterner();

export function internJob(spec: JobSpec): JobSpec {
  return specInterner.internJob(spec);
}

/** Whether the process-wide interner shares `part` between specs (src/store's log writer caches its bytes). */
export function isSharedPart(part: object): boolean {
  return specInterner.isShared(part);
}
