/**
 * Snapshots of the whole scheduler state: what the store keeps so recovery replays only the log after it.
 *
 * msgpack of a compact, versioned form: the jobs in columns with their spec parts written once (see
 * job-columns.ts); a job whose tasks are all still untouched is written without its task list. Everything
 * derivable (dependents, node and queue totals) is rebuilt on decode rather than stored.
 */
import { Packr } from 'msgpackr';
import { MusterError } from '../errors/index.js';
import { credit, emptyResources, queueOf } from './accounting.js';
import type { JobOutcome } from './events.js';
import type { JobColumns } from './job-columns.js';
import type { EncodedKeyWindow } from './key-window.js';
import { decodeJobs, encodeJobs } from './job-columns.js';
import type { SchedulerState } from './state.js';
import { allocationKey, createState, isTerminal } from './state.js';
import { taskResources } from './tasks.js';

/**
 * msgpack with records: each object shape (a task group, resources, a node spec) is written once and then
 * referred to. The record definitions travel inside each snapshot, so any reader decodes it. `moreTypes`
 * keeps typed arrays (the job columns) typed: without it msgpackr writes them as their low bytes only.
 */
const PACKR_OPTIONS = { useRecords: true, moreTypes: true } as const;
const packr = new Packr(PACKR_OPTIONS);
const pack = (value: unknown): Uint8Array => packr.pack(value);
const unpack = (bytes: Uint8Array): unknown => packr.unpack(bytes);

export const SNAPSHOT_VERSION = 2;

interface Encoded {
  readonly v: number;
  readonly submitted: number;
  readonly epoch: number;
  readonly now: number;
  readonly jobs: JobColumns;
  readonly queues: [name: string, spec: unknown][];
  /** `drain`: absent in older snapshots and for nodes not drained; `deadline` null when unbounded. */
  readonly nodes: [name: string, spec: unknown, state: string, drain?: { deadline: number | null }][];
  /** Outcomes of jobs not in `jobs` (a slice's view of other queues); a whole state has none. */
  readonly outcomes: [string, JobOutcome][];
  /** The idempotency keys that outlive their jobs (key-window.ts); absent in older snapshots. */
  readonly keys?: EncodedKeyWindow;
}

/** Encodes a whole state (a snapshot: `unpackSnapshot` reads it back), or a slice (then without nodes). */
export function encodeState(state: SchedulerState): Uint8Array {
  return pack(encodedOf(state));
}

/**
 * A whole state as snapshot bytes that own their buffer, exactly: a fresh encoder (a shared one keeps its
 * largest buffer for the next call: hundreds of MiB after a large snapshot) and a copy of its output, so the
 * bytes can be transferred from a pool thread to the main thread and nothing of them stays behind.
 */
export function snapshotBytes(state: SchedulerState): Uint8Array {
  return new Uint8Array(new Packr(PACKR_OPTIONS).pack(encodedOf(state)));
}

function encodedOf(state: SchedulerState): Encoded {
  const outcomes: [string, JobOutcome][] = [];
  for (const [id, outcome] of state.outcomes) if (!state.jobs.has(id)) outcomes.push([id, outcome]);
  const encoded: Encoded = {
    v: SNAPSHOT_VERSION,
    submitted: state.submitted,
    epoch: state.epoch,
    now: state.now,
    jobs: encodeJobs(state.jobs.values(), state.jobs.size),
    queues: [...state.queues].map(([name, q]) => [name, q.spec]),
    nodes: [...state.nodes].map(([name, n]) => (n.drain ? [name, n.spec, n.state, { deadline: n.drain.deadline ?? null }] : [name, n.spec, n.state])),
    outcomes,
    keys: state.keys.encode(),
  };
  return encoded;
}

function checkVersion(e: Encoded | undefined): Encoded {
  if (!e || e.v !== SNAPSHOT_VERSION) throw new MusterError('MUSTER_ERR_STORE_CORRUPT', `snapshot version ${String(e?.v)} is not ${SNAPSHOT_VERSION}`);
  return e;
}

function readEncoded(bytes: Uint8Array): Encoded {
  return checkVersion(unpack(bytes) as Encoded);
}

export function decodeState(bytes: Uint8Array): SchedulerState {
  return decodeInto(createState(false), readEncoded(bytes));
}

function decodeInto(state: SchedulerState, e: Encoded): SchedulerState {
  state.submitted = e.submitted;
  state.epoch = e.epoch;
  state.now = e.now;
  for (const [name, spec] of e.queues) state.queues.set(name, { spec: spec as never, usage: emptyResources(), active: 0 });
  for (const [name, spec, nodeState, drain] of e.nodes) {
    state.nodes.set(name, { spec: spec as never, state: nodeState as never, allocated: emptyResources(), allocations: new Map(), drain: drain ? { deadline: drain.deadline ?? undefined } : undefined });
  }
  for (const [id, outcome] of e.outcomes) state.outcomes.set(id, outcome);
  state.keys.merge(e.keys);
  decodeJobs(e.jobs, (job) => {
    const { id, tenant, spec, status, tasks, perElement } = job;
    state.jobs.set(id, job);
    // Derived: the queue's counts and usage, node allocations, dependents, outcomes.
    const queue = queueOf(state, spec.queue, tenant);
    if (isTerminal(status)) state.outcomes.set(id, status);
    else queue.active++;
    for (const dep of spec.dependencies) {
      const list = state.dependents.get(dep.job);
      if (list) list.push(id);
      else state.dependents.set(dep.job, [id]);
    }
    // An untouched job (its shared, frozen list) holds nothing anywhere.
    if (Object.isFrozen(tasks)) return;
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i]!;
      if ((task.state !== 'placed' && task.state !== 'running') || task.node === undefined) continue;
      const resources = taskResources(spec, perElement, i);
      credit(queue.usage, resources, 1);
      const node = state.nodes.get(task.node);
      if (node) {
        node.allocations.set(allocationKey(id, i), { job: id, task: i, attempt: task.attempt, resources });
        credit(node.allocated, resources, 1);
      }
    }
  });
  return state;
}

/**
 * The state of a snapshot file, either form: a whole state (`encodeState`, what snapshots are now: folded
 * off the main thread from the store, snapshot-fold.ts) or, from data folders written before that, a
 * container of per-queue slices each queue actor encoded plus a part with the nodes.
 */
export function unpackSnapshot(bytes: Uint8Array): SchedulerState {
  const top = unpack(bytes) as Partial<Encoded> & { whole?: Uint8Array; slices?: Uint8Array[] };
  if (top && 'v' in top) return decodeInto(createState(false), checkVersion(top as Encoded));
  if (!top?.whole || !Array.isArray(top.slices)) throw new MusterError('MUSTER_ERR_STORE_CORRUPT', 'a snapshot is neither a state nor a container of slices');
  const state = decodeState(top.whole);
  // Nodes first (from the container's part), then every slice's jobs; a slice's view of other queues'
  // outcomes is covered by those queues' own jobs.
  for (const slice of top.slices) {
    const e = readEncoded(slice);
    decodeInto(state, { ...e, nodes: [], outcomes: [], submitted: state.submitted, epoch: state.epoch, now: state.now });
  }
  return state;
}
