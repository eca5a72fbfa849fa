/**
 * Snapshots of the whole scheduler state: what the store keeps so recovery replays only the log after it.
 *
 * msgpack of a compact, versioned form. Job specs are written once per distinct spec object (jobs of one
 * array or one client batch often share theirs) and referred to by index; a job whose tasks are all still
 * untouched (pending, no attempt yet) is written without its task list. Everything derivable (idempotency
 * keys, dependents, node and queue totals) is rebuilt on decode rather than stored.
 */
import { Packr } from 'msgpackr';

/**
 * msgpack with records: each object shape (a spec, a task group, resources) is written once and then
 * referred to, which makes snapshots smaller and decoding several times faster than plain maps. The
 * record definitions travel inside each snapshot, so any reader decodes it.
 */
const packr = new Packr({ useRecords: true });
const pack = (value: unknown): Uint8Array => packr.pack(value);
const unpack = (bytes: Uint8Array): unknown => packr.unpack(bytes);
import { MusterError } from '../errors/index.js';
import type { JobSpec, Resources } from '../model/index.js';
import type { JobOutcome } from './events.js';
import type { JobRecord, JobStatus, SchedulerState, TaskRecord, TaskState } from './state.js';
import { allocationKey, createState, pendingTasks } from './state.js';
import { elementCount, taskResources, tasksPerElement } from './tasks.js';

export const SNAPSHOT_VERSION = 1;

const TASK_STATES: readonly TaskState[] = ['pending', 'placed', 'running', 'succeeded', 'failed', 'cancelled'];

type EncodedTask = [state: number, attempt: number, failures: number, node: string | null, notBefore: number, startedAt: number];
type EncodedJob = [
  id: string,
  tenant: string,
  spec: number,
  submittedAt: number,
  order: number,
  status: JobStatus,
  cancelRequested: boolean,
  reason: string | null,
  endedAt: number | null,
  tasks: EncodedTask[] | null,
];

interface Encoded {
  readonly v: number;
  readonly submitted: number;
  readonly epoch: number;
  readonly now: number;
  readonly specs: JobSpec[];
  readonly jobs: EncodedJob[];
  readonly queues: [name: string, spec: unknown][];
  readonly nodes: [name: string, spec: unknown, state: string][];
  /** Outcomes of jobs not in `jobs` (a slice's view of other queues); a whole state has none. */
  readonly outcomes: [string, JobOutcome][];
}

function untouched(tasks: readonly TaskRecord[]): boolean {
  return tasks.every((t) => t.state === 'pending' && t.attempt === 0 && t.failures === 0 && t.notBefore === 0);
}

/** Encodes a whole state, or a queue actor's slice (then without nodes; see `mergeSnapshot`). */
export function encodeState(state: SchedulerState): Uint8Array {
  const specIndex = new Map<JobSpec, number>();
  const specs: JobSpec[] = [];
  const jobs: EncodedJob[] = [];
  for (const job of state.jobs.values()) {
    let index = specIndex.get(job.spec);
    if (index === undefined) {
      index = specs.length;
      specs.push(job.spec);
      specIndex.set(job.spec, index);
    }
    const tasks = untouched(job.tasks)
      ? null
      : job.tasks.map((t): EncodedTask => [TASK_STATES.indexOf(t.state), t.attempt, t.failures, t.node ?? null, t.notBefore, t.startedAt]);
    jobs.push([job.id, job.tenant, index, job.submittedAt, job.order, job.status, job.cancelRequested, job.reason ?? null, job.endedAt ?? null, tasks]);
  }
  const outcomes: [string, JobOutcome][] = [];
  for (const [id, outcome] of state.outcomes) if (!state.jobs.has(id)) outcomes.push([id, outcome]);
  const encoded: Encoded = {
    v: SNAPSHOT_VERSION,
    submitted: state.submitted,
    epoch: state.epoch,
    now: state.now,
    specs,
    jobs,
    queues: [...state.queues].map(([name, q]) => [name, q.spec]),
    nodes: [...state.nodes].map(([name, n]) => [name, n.spec, n.state]),
    outcomes,
  };
  return pack(encoded);
}

function zero(): { cpu: number; memory: number; gpu: number; extended: Record<string, number> } {
  return { cpu: 0, memory: 0, gpu: 0, extended: {} };
}

function addInto(target: ReturnType<typeof zero>, r: Resources): void {
  target.cpu += r.cpu;
  target.memory += r.memory;
  target.gpu += r.gpu;
  for (const name in r.extended) {
    const sum = (target.extended[name] ?? 0) + (r.extended[name] ?? 0);
    if (sum === 0) delete target.extended[name];
    else target.extended[name] = sum;
  }
}

export function decodeState(bytes: Uint8Array): SchedulerState {
  const e = unpack(bytes) as Encoded;
  if (!e || e.v !== SNAPSHOT_VERSION) throw new MusterError('MUSTER_ERR_STORE_CORRUPT', `snapshot version ${String(e?.v)} is not ${SNAPSHOT_VERSION}`);
  return decodeInto(createState(false), e);
}

function decodeInto(state: SchedulerState, e: Encoded): SchedulerState {
  state.submitted = e.submitted;
  state.epoch = e.epoch;
  state.now = e.now;
  for (const [name, spec] of e.queues) state.queues.set(name, { spec: spec as never, usage: zero(), active: 0 });
  for (const [name, spec, nodeState] of e.nodes) state.nodes.set(name, { spec: spec as never, state: nodeState as never, allocated: zero(), allocations: new Map() });
  for (const [id, outcome] of e.outcomes) state.outcomes.set(id, outcome);
  for (const [id, tenant, specAt, submittedAt, order, status, cancelRequested, reason, endedAt, encodedTasks] of e.jobs) {
    const spec = e.specs[specAt]!;
    const perElement = tasksPerElement(spec);
    const total = perElement * elementCount(spec);
    let tasks: readonly TaskRecord[] = pendingTasks(total);
    if (encodedTasks) {
      const own: TaskRecord[] = new Array(total);
      for (let i = 0; i < total; i++) {
        const t = encodedTasks[i];
        own[i] = t
          ? { state: TASK_STATES[t[0]]!, attempt: t[1], failures: t[2], node: t[3] ?? undefined, notBefore: t[4], startedAt: t[5] }
          : { state: 'pending', attempt: 0, failures: 0, node: undefined, notBefore: 0, startedAt: 0 };
      }
      tasks = own;
    }
    const job: JobRecord = { id, tenant, spec, submittedAt, order, perElement, status, cancelRequested, reason: reason ?? undefined, endedAt: endedAt ?? undefined, tasks };
    state.jobs.set(id, job);
    // Derived: the queue's counts and usage, node allocations, idempotency keys, dependents, outcomes.
    let queue = state.queues.get(spec.queue);
    if (!queue) {
      queue = { spec: { tenant, name: spec.queue, weight: 1, priority: 0, guaranteedShare: 0, borrow: true }, usage: zero(), active: 0 };
      state.queues.set(spec.queue, queue);
    }
    const ended = status === 'succeeded' || status === 'failed' || status === 'cancelled';
    if (ended) state.outcomes.set(id, status);
    else queue.active++;
    if (!state.partial && spec.idempotencyKey !== undefined) state.idempotency.set(tenant, spec.idempotencyKey, id);
    for (const dep of spec.dependencies) {
      const list = state.dependents.get(dep.job);
      if (list) list.push(id);
      else state.dependents.set(dep.job, [id]);
    }
    for (let i = 0; i < total; i++) {
      const task = tasks[i]!;
      if ((task.state !== 'placed' && task.state !== 'running') || task.node === undefined) continue;
      const resources = taskResources(spec, perElement, i);
      addInto(queue.usage as ReturnType<typeof zero>, resources);
      const node = state.nodes.get(task.node);
      if (node) {
        node.allocations.set(allocationKey(id, i), { job: id, task: i, attempt: task.attempt, resources });
        addInto(node.allocated as ReturnType<typeof zero>, resources);
      }
    }
  }
  return state;
}

/**
 * A snapshot of the live scheduler: each queue actor encodes its own slice at the same point in the event
 * sequence (the dispatcher asks them between two events), and the dispatcher adds the nodes. Decoding
 * merges the slices into one whole state.
 */
export function packSnapshot(parts: { readonly submitted: number; readonly epoch: number; readonly now: number; readonly nodes: Encoded['nodes']; readonly slices: readonly Uint8Array[] }): Uint8Array {
  const whole: Encoded = { v: SNAPSHOT_VERSION, submitted: parts.submitted, epoch: parts.epoch, now: parts.now, specs: [], jobs: [], queues: [], nodes: parts.nodes, outcomes: [] };
  return pack({ whole: pack(whole), slices: parts.slices });
}

export function unpackSnapshot(bytes: Uint8Array): SchedulerState {
  const container = unpack(bytes) as { whole?: Uint8Array; slices?: Uint8Array[] };
  if (!container?.whole || !Array.isArray(container.slices)) throw new MusterError('MUSTER_ERR_STORE_CORRUPT', 'a snapshot container lacks its parts');
  const state = decodeState(container.whole);
  // Nodes first (from the container), then every slice's jobs; a slice's view of other queues' outcomes
  // is covered by those queues' own jobs.
  for (const slice of container.slices) {
    const e = unpack(slice) as Encoded;
    if (!e || e.v !== SNAPSHOT_VERSION) throw new MusterError('MUSTER_ERR_STORE_CORRUPT', `snapshot version ${String(e?.v)} is not ${SNAPSHOT_VERSION}`);
    decodeInto(state, { ...e, nodes: [], outcomes: [], submitted: state.submitted, epoch: state.epoch, now: state.now });
  }
  return state;
}
