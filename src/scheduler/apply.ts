/**
 * The reducer: `applyEvent(state, event)` records what an event says happened. It is the only writer of
 * `SchedulerState`, serves the live scheduler, recovery and replay alike, and is deterministic (time comes
 * from events). It never decides anything: consequences (a job ending, a dependency failing, allocations on a
 * lost node) are new events computed by `consequences` (decide.ts) and applied in their turn.
 *
 * Lifecycle of a task:  pending → placed → running → succeeded
 *                                   ↘          ↘ failed | timeout | lost → pending (retry, after backoff)
 *                                                                      → failed (no retries left)
 *                                                  killed → pending (gang restart, drain, requeue,
 *                                                           preemption: no retry spent) | cancelled
 * A job's status follows its tasks (running if any runs, else placed if any is placed, else pending) until
 * `JobEnded` makes it terminal.
 */
import { internJob } from '../model/index.js';
import { MusterError } from '../errors/index.js';
import { credit, emptyResources, queueOf } from './accounting.js';
import type { Placement, SchedulerEvent } from './events.js';
import { assertNever } from '../actors/index.js';
import { jobNumber } from './key-window.js';
import type { AttemptRecord, JobRecord, SchedulerState, TaskRecord } from './state.js';
import { allocationKey, isTaskDone, isTerminal, pendingTasks, submissionOrder, writableTask } from './state.js';
import { backoffMs, elementCount, elementOf, taskResources, tasksPerElement } from './tasks.js';

function refreshStatus(job: JobRecord): void {
  if (isTerminal(job.status)) return;
  let placed = false;
  for (const task of job.tasks) {
    if (task.state === 'running') {
      job.status = 'running';
      return;
    }
    if (task.state === 'placed') placed = true;
  }
  job.status = placed ? 'placed' : 'pending';
}

function release(state: SchedulerState, job: JobRecord, taskIndex: number, task: TaskRecord): void {
  const node = task.node === undefined ? undefined : state.nodes.get(task.node);
  const key = allocationKey(job.id, taskIndex);
  const allocation = node?.allocations.get(key);
  if (node && allocation) {
    node.allocations.delete(key);
    credit(node.allocated, allocation.resources, -1);
  }
  credit(queueOf(state, job.spec.queue, job.tenant).usage, taskResources(job.spec, job.perElement, taskIndex), -1);
  // The node stays: it is where the ended attempt's output lies (`muster logs`).
  task.startedAt = 0;
}

function inconsistent(state: SchedulerState, what: string): void {
  if (!state.partial) throw new MusterError('MUSTER_ERR_INTERNAL', `${what}: the event stream is inconsistent`);
}

function place(state: SchedulerState, p: Placement, at: number): void {
  const job = state.jobs.get(p.job);
  const seen = job?.tasks[p.task];
  if (!job || !seen) return inconsistent(state, `placement of unknown task ${p.job}#${p.task}`);
  if (seen.state !== 'pending' || isTerminal(job.status)) return inconsistent(state, `placement of ${p.job}#${p.task}, which is ${seen.state}`);
  const task = writableTask(job, p.task)!;
  const resources = taskResources(job.spec, job.perElement, p.task);
  task.state = 'placed';
  // The node of the attempt before this one is kept: its output is still read from there.
  if (task.node !== undefined) task.earlier = [...(task.earlier ?? []), task.node];
  task.attempt = p.attempt;
  task.node = p.node;
  task.attempts = [...(task.attempts ?? []), { attempt: p.attempt, node: p.node, placedAt: at }];
  const node = state.nodes.get(p.node);
  if (node) {
    node.allocations.set(allocationKey(p.job, p.task), { job: p.job, task: p.task, attempt: p.attempt, resources });
    credit(node.allocated, resources, 1);
  } else {
    inconsistent(state, `placement on unknown node ${p.node}`);
  }
  credit(queueOf(state, job.spec.queue, job.tenant).usage, resources, 1);
  if (job.status === 'pending') job.status = 'placed';
}

/** Whether the element of `taskIndex` has a task that failed for good. */
function elementFailed(job: JobRecord, taskIndex: number): boolean {
  const first = elementOf(job.perElement, taskIndex) * job.perElement;
  for (let t = first; t < first + job.perElement; t++) if (job.tasks[t]?.state === 'failed') return true;
  return false;
}

function endTask(state: SchedulerState, e: Extract<SchedulerEvent, { kind: 'TaskEnded' }>): void {
  const job = state.jobs.get(e.job);
  const task = job?.tasks[e.task];
  // An end for an attempt that is not the live one (replaced, or already ended) changes nothing.
  if (!job || !task || task.attempt !== e.attempt || (task.state !== 'placed' && task.state !== 'running')) return;
  release(state, job, e.task, task);
  updateAttempt(task, e.attempt, { endedAt: e.at, outcome: e.outcome, ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}), ...(e.reason !== undefined ? { reason: e.reason } : {}) });
  switch (e.outcome) {
    case 'succeeded':
      task.state = 'succeeded';
      break;
    case 'killed':
      task.state = job.cancelRequested || isTerminal(job.status) || elementFailed(job, e.task) || elementCancelled(job, e.task) ? 'cancelled' : 'pending';
      break;
    case 'failed':
    case 'timeout':
    case 'lost': {
      task.failures++;
      if (job.cancelRequested || isTerminal(job.status) || elementCancelled(job, e.task)) {
        task.state = 'cancelled';
      } else if (task.failures <= job.spec.retries.max) {
        task.state = 'pending';
        task.notBefore = e.at + backoffMs(job.spec.retries.backoffMs, task.failures);
        if (job.spec.gang) holdElement(job, e.task, task.notBefore);
      } else {
        task.state = 'failed';
        cancelPendingInElement(job, e.task);
      }
      break;
    }
    default:
      assertNever(e.outcome);
  }
  refreshStatus(job);
}

/**
 * Marks a live attempt preempted (when, for whom); it stays placed or running until its end is reported.
 * An attempt that is not live, or was preempted already, keeps what it had: the first preemption counts.
 */
function preempt(state: SchedulerState, p: Placement, e: Extract<SchedulerEvent, { kind: 'TasksPreempted' }>): void {
  const task = state.jobs.get(p.job)?.tasks[p.task];
  if (!task || task.attempt !== p.attempt || (task.state !== 'placed' && task.state !== 'running')) return;
  if (task.attempts?.[task.attempts.length - 1]?.preemptedAt !== undefined) return;
  updateAttempt(task, p.attempt, { preemptedAt: e.at, preemptedBy: e.by });
}

/** Adds what happened to attempt `attempt` of the task's record of attempts (a new record and list: never changed in place). */
function updateAttempt(task: TaskRecord, attempt: number, change: Partial<AttemptRecord>): void {
  const list = task.attempts;
  const last = list?.[list.length - 1];
  if (!list || !last || last.attempt !== attempt) return;
  task.attempts = [...list.slice(0, -1), { ...last, ...change }];
}

/** Whether the element of `taskIndex` was cancelled on its own. */
export function elementCancelled(job: JobRecord, taskIndex: number): boolean {
  return job.cancelledElements !== undefined && job.cancelledElements.includes(elementOf(job.perElement, taskIndex));
}

/** A gang restarts as a whole: its pending tasks wait for the same backoff as the one that failed. */
function holdElement(job: JobRecord, taskIndex: number, notBefore: number): void {
  const first = elementOf(job.perElement, taskIndex) * job.perElement;
  for (let t = first; t < first + job.perElement; t++) {
    if (job.tasks[t]?.state === 'pending') {
      const sibling = writableTask(job, t)!;
      sibling.notBefore = Math.max(sibling.notBefore, notBefore);
    }
  }
}

function cancelPendingInElement(job: JobRecord, taskIndex: number): void {
  const first = elementOf(job.perElement, taskIndex) * job.perElement;
  for (let t = first; t < first + job.perElement; t++) {
    if (job.tasks[t]?.state === 'pending') writableTask(job, t)!.state = 'cancelled';
  }
}

function cancelPending(job: JobRecord): void {
  for (let t = 0; t < job.tasks.length; t++) if (job.tasks[t]!.state === 'pending') writableTask(job, t)!.state = 'cancelled';
}

function submit(state: SchedulerState, e: Extract<SchedulerEvent, { kind: 'JobSubmitted' }>): void {
  if (state.jobs.has(e.job)) throw new MusterError('MUSTER_ERR_INTERNAL', `job ${e.job} submitted twice`);
  // Specs from the log (recovery, replay) arrive as fresh objects; live ones are interned already (cheap).
  const spec = internJob(e.spec);
  const perElement = tasksPerElement(spec);
  const total = perElement * elementCount(spec);
  state.jobs.set(e.job, {
    id: e.job,
    tenant: e.tenant,
    spec,
    submittedAt: e.at,
    order: submissionOrder(e.job, state.submitted++),
    perElement,
    status: 'pending',
    cancelRequested: false,
    held: false,
    cancelledElements: undefined,
    reason: undefined,
    endedAt: undefined,
    tasks: pendingTasks(total),
  });
  queueOf(state, spec.queue, e.tenant).active++;
  for (const dep of spec.dependencies) {
    const list = state.dependents.get(dep.job);
    if (list) list.push(e.job);
    else state.dependents.set(dep.job, [e.job]);
  }
  if (state.partial) return;
  const n = jobNumber(e.job);
  if (n !== undefined) state.keys.submitted(n, e.at);
  // The key names this job now (a retired job held it only if it had expired since).
  if (spec.idempotencyKey !== undefined) state.keys.forget(e.tenant, spec.idempotencyKey);
}

/**
 * A job leaves the live state: its record, its outcome and every dependents entry it is part of. Only an
 * ended job with no live attempt, that no job still waiting depends on, is retired (retention.ts); anything
 * else in a whole state is an inconsistent stream. A whole state keeps the job's idempotency key.
 */
function retire(state: SchedulerState, id: string): void {
  const job = state.jobs.get(id);
  if (!job) return inconsistent(state, `retirement of unknown job ${id}`);
  if (!isTerminal(job.status) || !allTasksDone(job)) return inconsistent(state, `retirement of job ${id}, which is ${job.status} with tasks not done`);
  state.jobs.delete(id);
  state.outcomes.delete(id);
  // Its dependents have all ended (they are retired before or after it, each on its own).
  state.dependents.delete(id);
  for (const dep of job.spec.dependencies) {
    const list = state.dependents.get(dep.job);
    if (list) {
      const at = list.indexOf(id);
      if (at >= 0) list.splice(at, 1);
      if (list.length === 0) state.dependents.delete(dep.job);
    }
    // A slice holds another queue's outcome only for its own jobs that depend on it.
    if (!state.jobs.has(dep.job) && !state.dependents.has(dep.job)) state.outcomes.delete(dep.job);
  }
  if (state.partial || job.spec.idempotencyKey === undefined) return;
  const n = jobNumber(id);
  if (n !== undefined) state.keys.retire(job.tenant, job.spec.idempotencyKey, n);
}

export function applyEvent(state: SchedulerState, e: SchedulerEvent): SchedulerState {
  if (e.at > state.now) state.now = e.at;
  switch (e.kind) {
    case 'QueueDefined': {
      const queue = state.queues.get(e.queue.name);
      if (queue) queue.spec = e.queue;
      else state.queues.set(e.queue.name, { spec: e.queue, usage: emptyResources(), active: 0 });
      break;
    }
    case 'QueueDeleted': {
      const queue = state.queues.get(e.queue);
      // The dispatcher deletes only a queue whose jobs have all left the live state (checked on a whole state only: a scan).
      if (!state.partial && queue && (queue.active > 0 || [...state.jobs.values()].some((job) => job.spec.queue === e.queue))) inconsistent(state, `deletion of queue ${e.queue}, which still has jobs`);
      state.queues.delete(e.queue);
      break;
    }
    case 'NodeJoined': {
      const node = state.nodes.get(e.node.name);
      if (node) node.spec = e.node;
      else state.nodes.set(e.node.name, { spec: e.node, state: e.node.state, allocated: emptyResources(), allocations: new Map(), drain: undefined });
      break;
    }
    case 'NodeDrainRequested': {
      const node = state.nodes.get(e.node);
      if (node) node.drain = { deadline: e.deadline };
      break;
    }
    case 'NodeUndrained': {
      const node = state.nodes.get(e.node);
      if (node) node.drain = undefined;
      break;
    }
    case 'NodeStateChanged': {
      const node = state.nodes.get(e.node);
      if (node) node.state = e.state;
      break;
    }
    case 'JobSubmitted':
      submit(state, e);
      break;
    case 'JobCancelRequested': {
      const job = state.jobs.get(e.job);
      if (!job || isTerminal(job.status)) break;
      if (e.element === undefined) {
        job.cancelRequested = true;
        cancelPending(job);
      } else if (!job.cancelledElements?.includes(e.element)) {
        job.cancelledElements = [...(job.cancelledElements ?? []), e.element].sort((a, b) => a - b);
        cancelPendingInElement(job, e.element * job.perElement);
      }
      break;
    }
    case 'JobHeld':
    case 'JobReleased': {
      const job = state.jobs.get(e.job);
      if (job && !isTerminal(job.status)) job.held = e.kind === 'JobHeld';
      break;
    }
    case 'TasksPlaced':
      if (e.epoch > state.epoch) state.epoch = e.epoch;
      for (const p of e.placements) place(state, p, e.at);
      break;
    case 'TaskStarted': {
      const task = state.jobs.get(e.job)?.tasks[e.task];
      if (task && task.attempt === e.attempt && task.state === 'placed') {
        task.state = 'running';
        task.startedAt = e.at;
        updateAttempt(task, e.attempt, { startedAt: e.at });
        const job = state.jobs.get(e.job);
        if (job) refreshStatus(job);
      }
      break;
    }
    case 'TaskEnded':
      endTask(state, e);
      break;
    case 'JobEnded': {
      state.outcomes.set(e.job, e.outcome);
      const job = state.jobs.get(e.job);
      if (!job || isTerminal(job.status)) break;
      job.status = e.outcome;
      job.reason = e.reason;
      job.endedAt = e.at;
      cancelPending(job);
      queueOf(state, job.spec.queue, job.tenant).active--;
      break;
    }
    case 'TasksPreempted':
      for (const p of e.attempts) preempt(state, p, e);
      break;
    case 'JobsRetired':
      for (const id of e.jobs) retire(state, id);
      break;
    case 'KeysExpired':
      if (!state.partial) state.keys.expire(e.before);
      break;
    default:
      assertNever(e);
  }
  return state;
}

/** Whether every task of the job has ended (so the job can end). */
export function allTasksDone(job: JobRecord): boolean {
  return job.tasks.every((t) => isTaskDone(t.state));
}
