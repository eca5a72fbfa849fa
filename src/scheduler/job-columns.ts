/**
 * The jobs of a snapshot, in columns: one array per field instead of one record per job.
 *
 * A million jobs as a million small msgpack maps decode into a million throwaway objects; as columns they
 * decode into a few typed arrays and string lists, and the records are built once from them. Spec parts
 * (task groups, constraints, retries, dependency lists) and repeated strings (tenants, queues) are tables
 * written once and referred to by index: jobs share them in memory (see `internJob`), and the snapshot
 * shares them too, so it neither repeats them nor makes recovery decode them once per job.
 */
import type { Constraints, Dependency, JobSpec, Mutable, RetryPolicy, Strategy, TaskGroup } from '../model/index.js';
import { NO_DEPENDENCIES, specInterner, STRATEGIES } from '../model/index.js';
import type { AttemptRecord, JobRecord, JobStatus, TaskRecord, TaskState } from './state.js';
import { pendingTasks, submissionOrder } from './state.js';
import { tasksPerElement } from './tasks.js';

const TASK_STATES: readonly TaskState[] = ['pending', 'placed', 'running', 'succeeded', 'failed', 'cancelled'];
const STATUSES: readonly JobStatus[] = ['pending', 'placed', 'running', 'succeeded', 'failed', 'cancelled'];

const DISTINCT_NODES = 1;
const GANG = 2;
const CANCEL_REQUESTED = 4;
const HELD = 8;
/** Inverted, so that a snapshot from before the field reads as the default (preemptible). */
const NOT_PREEMPTIBLE = 16;
const MAY_PREEMPT = 32;
/** "No value" in a numeric column (an absent array size, dependency list or end time). */
const NONE = -1;

type EncodedTask = [state: number, attempt: number, failures: number, node: string | null, notBefore: number, startedAt: number, earlier?: readonly string[], attempts?: readonly AttemptRecord[]];

export interface JobColumns {
  readonly strings: string[];
  readonly parts: unknown[];
  readonly id: string[];
  readonly name: (string | null)[];
  readonly key: (string | null)[];
  /** Index into `strings`. */
  readonly tenant: Uint32Array;
  readonly queue: Uint32Array;
  readonly priority: Int32Array;
  /** Indexes into `parts`. */
  readonly groups: Uint32Array;
  readonly constraints: Uint32Array;
  readonly retries: Uint32Array;
  readonly dependencies: Int32Array;
  readonly strategy: Uint8Array;
  readonly flags: Uint8Array;
  readonly array: Int32Array;
  readonly submittedAt: Float64Array;
  readonly order: Float64Array;
  readonly status: Uint8Array;
  readonly endedAt: Float64Array;
  /** Only the jobs that have them: `[row, value]`. */
  readonly reasons: [number, string][];
  /** Only the jobs with a task touched (placed, retried…): `[row, tasks]`. */
  readonly tasks: [number, EncodedTask[]][];
  /** Only the array jobs with elements cancelled one by one: `[row, elements]`; absent in older snapshots. */
  cancelledElements?: [number, readonly number[]][];
  /** Only the jobs with a `gracePeriod`: `[row, ms]`; absent in older snapshots. */
  gracePeriods?: [number, number][];
}

function untouched(tasks: readonly TaskRecord[]): boolean {
  return tasks.every((t) => t.state === 'pending' && t.attempt === 0 && t.failures === 0 && t.notBefore === 0);
}

class Table<T> {
  readonly items: T[] = [];
  readonly #index = new Map<T, number>();
  ref(value: T): number {
    let i = this.#index.get(value);
    if (i === undefined) {
      i = this.items.length;
      this.items.push(value);
      this.#index.set(value, i);
    }
    return i;
  }
}

export function encodeJobs(jobs: Iterable<JobRecord>, count: number): JobColumns {
  const strings = new Table<string>();
  const parts = new Table<unknown>();
  const c: JobColumns = {
    strings: strings.items,
    parts: parts.items,
    id: [],
    name: [],
    key: [],
    tenant: new Uint32Array(count),
    queue: new Uint32Array(count),
    priority: new Int32Array(count),
    groups: new Uint32Array(count),
    constraints: new Uint32Array(count),
    retries: new Uint32Array(count),
    dependencies: new Int32Array(count),
    strategy: new Uint8Array(count),
    flags: new Uint8Array(count),
    array: new Int32Array(count),
    submittedAt: new Float64Array(count),
    order: new Float64Array(count),
    status: new Uint8Array(count),
    endedAt: new Float64Array(count),
    reasons: [],
    tasks: [],
  };
  let row = 0;
  for (const job of jobs) {
    const spec = job.spec;
    c.id.push(job.id);
    c.name.push(spec.name ?? null);
    c.key.push(spec.idempotencyKey ?? null);
    c.tenant[row] = strings.ref(job.tenant);
    c.queue[row] = strings.ref(spec.queue);
    c.priority[row] = spec.priority;
    c.groups[row] = parts.ref(spec.tasks);
    c.constraints[row] = parts.ref(spec.constraints);
    c.retries[row] = parts.ref(spec.retries);
    c.dependencies[row] = spec.dependencies.length === 0 ? NONE : parts.ref(spec.dependencies);
    c.strategy[row] = STRATEGIES.indexOf(spec.strategy);
    c.flags[row] = (spec.distinctNodes ? DISTINCT_NODES : 0) | (spec.gang ? GANG : 0) | (job.cancelRequested ? CANCEL_REQUESTED : 0) | (job.held ? HELD : 0) | (spec.preemptible === false ? NOT_PREEMPTIBLE : 0) | (spec.mayPreempt === true ? MAY_PREEMPT : 0);
    c.array[row] = spec.array ?? NONE;
    c.submittedAt[row] = job.submittedAt;
    c.order[row] = job.order;
    c.status[row] = STATUSES.indexOf(job.status);
    c.endedAt[row] = job.endedAt ?? NONE;
    if (job.reason !== undefined) c.reasons.push([row, job.reason]);
    if (job.cancelledElements !== undefined) (c.cancelledElements ??= []).push([row, job.cancelledElements]);
    if (spec.gracePeriodMs !== undefined) (c.gracePeriods ??= []).push([row, spec.gracePeriodMs]);
    if (!untouched(job.tasks)) {
      c.tasks.push([
        row,
        job.tasks.map((t): EncodedTask => {
          const base: EncodedTask = [TASK_STATES.indexOf(t.state), t.attempt, t.failures, t.node ?? null, t.notBefore, t.startedAt];
          // `earlier` stays an array (empty for none) when attempts follow it: a reader of the format before attempts takes it as a list.
          if (t.earlier || t.attempts) base.push(t.earlier ?? []);
          if (t.attempts) base.push(t.attempts);
          return base;
        }),
      ]);
    }
    row++;
  }
  return c;
}

/** The job records of decoded columns, handed to `each` in row order. */
export function decodeJobs(c: JobColumns, each: (job: JobRecord) => void): void {
  // Each part becomes the process's canonical copy once (the interner keys it once), not once per row;
  // caches are arrays by part index, and the sparse columns are walked alongside the rows (both sorted).
  const canonical = <T>(intern: (part: T) => T): ((index: number) => T) => {
    const seen: (T | undefined)[] = new Array(c.parts.length);
    return (index) => (seen[index] ??= intern(c.parts[index] as T));
  };
  const groupsAt = canonical<readonly TaskGroup[]>((p) => specInterner.internTasks(p));
  const constraintsAt = canonical<Constraints>((p) => specInterner.internConstraints(p));
  const retriesAt = canonical<RetryPolicy>((p) => specInterner.internRetries(p));
  const perElementOf: (number | undefined)[] = new Array(c.parts.length);
  let nextReason = 0;
  let nextTasks = 0;
  let nextCancelled = 0;
  let nextGrace = 0;
  for (let row = 0; row < c.id.length; row++) {
    const flags = c.flags[row]!;
    const dependencies = c.dependencies[row]!;
    const groups = c.groups[row]!;
    // Built in internJob's field order (one hidden class), from canonical parts: already interned.
    const spec: Mutable<JobSpec> = {
      queue: c.strings[c.queue[row]!]!,
      priority: c.priority[row]!,
      tasks: groupsAt(groups),
      constraints: constraintsAt(c.constraints[row]!),
      strategy: STRATEGIES[c.strategy[row]!] as Strategy,
      distinctNodes: (flags & DISTINCT_NODES) !== 0,
      gang: (flags & GANG) !== 0,
      dependencies: dependencies === NONE ? NO_DEPENDENCIES : (c.parts[dependencies] as readonly Dependency[]),
      retries: retriesAt(c.retries[row]!),
    };
    const name = c.name[row];
    const array = c.array[row]!;
    const key = c.key[row];
    if (name !== null && name !== undefined) spec.name = name;
    if (array !== NONE) spec.array = array;
    if (key !== null && key !== undefined) spec.idempotencyKey = key;
    if (c.gracePeriods?.[nextGrace]?.[0] === row) spec.gracePeriodMs = c.gracePeriods[nextGrace++]![1];
    if ((flags & NOT_PREEMPTIBLE) !== 0) spec.preemptible = false;
    if ((flags & MAY_PREEMPT) !== 0) spec.mayPreempt = true;
    const perElement = (perElementOf[groups] ??= tasksPerElement(spec));
    let reason: string | undefined;
    if (c.reasons[nextReason]?.[0] === row) reason = c.reasons[nextReason++]![1];
    let encoded: EncodedTask[] | undefined;
    if (c.tasks[nextTasks]?.[0] === row) encoded = c.tasks[nextTasks++]![1];
    const endedAt = c.endedAt[row]!;
    let cancelledElements: readonly number[] | undefined;
    if (c.cancelledElements?.[nextCancelled]?.[0] === row) cancelledElements = c.cancelledElements[nextCancelled++]![1];
    each({
      id: c.id[row]!,
      tenant: c.strings[c.tenant[row]!]!,
      spec,
      submittedAt: c.submittedAt[row]!,
      // From the id: older snapshots hold another count there (from 0, or a queue's own in the slices form).
      order: submissionOrder(c.id[row]!, c.order[row]!),
      perElement,
      status: STATUSES[c.status[row]!]!,
      cancelRequested: (flags & CANCEL_REQUESTED) !== 0,
      held: (flags & HELD) !== 0,
      cancelledElements,
      reason,
      endedAt: endedAt === NONE ? undefined : endedAt,
      tasks: encoded ? decodeTasks(encoded) : pendingTasks(perElement * (array === NONE ? 1 : array)),
    });
  }
}

function decodeTasks(encoded: readonly EncodedTask[]): TaskRecord[] {
  return encoded.map((t) => ({ state: TASK_STATES[t[0]]!, attempt: t[1], failures: t[2], node: t[3] ?? undefined, earlier: t[6] !== undefined && t[6].length > 0 ? t[6] : undefined, notBefore: t[4], startedAt: t[5], attempts: t[7] }));
}
