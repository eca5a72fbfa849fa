/**
 * Consequences: what follows from an event once it is applied. `consequences(state, event)` returns the
 * further events to apply (a job ending, a dependency that can never be met, allocations lost with their
 * node) and the attempts to kill (commands to nodes, not events). It reads state and writes nothing, so the
 * scheduler's whole lifecycle can be tested without threads or clocks.
 */
import type { Dependency } from '../model/index.js';
import type { KillReason } from './agent-port.js';
import type { JobOutcome, Placement, SchedulerEvent } from './events.js';
import type { JobRecord, SchedulerState } from './state.js';
import { isTaskDone, isTerminal } from './state.js';
import { elementCancelled } from './apply.js';
import { elementOf } from './tasks.js';

export interface Kill {
  readonly attempt: Placement;
  readonly reason: KillReason;
}

export interface Consequences {
  readonly events: SchedulerEvent[];
  readonly kills: Kill[];
}

export type DependencyVerdict =
  | { readonly kind: 'met' }
  | { readonly kind: 'waiting'; readonly on: string }
  | { readonly kind: 'never'; readonly reason: string };

function dependencyVerdict(state: SchedulerState, dep: Dependency): DependencyVerdict {
  const other = state.jobs.get(dep.job);
  const outcome = state.outcomes.get(dep.job) ?? (other && isTerminal(other.status) ? other.status : undefined);
  if (outcome === undefined) {
    // A slice does not hold other queues' jobs: one it has not seen end is still running somewhere.
    if (other || state.partial) return { kind: 'waiting', on: dep.job };
    return { kind: 'never', reason: `dependency ${dep.type}:${dep.job} names no known job` };
  }
  const met =
    dep.type === 'afterany' ||
    (dep.type === 'afterok' && outcome === 'succeeded') ||
    (dep.type === 'afternotok' && outcome !== 'succeeded');
  return met ? { kind: 'met' } : { kind: 'never', reason: `dependency ${dep.type}:${dep.job} can never be met: ${dep.job} ${outcome}` };
}

/** Whether a job's dependencies are met, still awaited (on which job), or can never be met (why). */
export function dependencies(state: SchedulerState, job: JobRecord): DependencyVerdict {
  let waiting: DependencyVerdict | undefined;
  for (const dep of job.spec.dependencies) {
    // Ids are given at submission, so a job can only name itself by guessing its own: a job that waits
    // for itself would wait forever.
    const verdict = dep.job === job.id ? { kind: 'never' as const, reason: `dependency ${dep.type}:${dep.job} names no known job` } : dependencyVerdict(state, dep);
    if (verdict.kind === 'never') return verdict;
    if (verdict.kind === 'waiting') waiting ??= verdict;
  }
  return waiting ?? { kind: 'met' };
}

/**
 * How a job whose tasks are all done ended. Array elements cancelled one by one do not fail it: it is
 * `cancelled` when every element was, else it ends as its other elements did.
 */
function jobOutcome(job: JobRecord): JobOutcome {
  if (job.cancelRequested) return 'cancelled';
  const cancelled = job.cancelledElements;
  if (cancelled !== undefined && cancelled.length * job.perElement >= job.tasks.length) return 'cancelled';
  return job.tasks.some((t, i) => (t.state === 'failed' || t.state === 'cancelled') && !elementCancelled(job, i)) ? 'failed' : 'succeeded';
}

/** `last`: the task end that made the job done, if one did: it says how the failing task's last attempt ended. */
function endIfDone(job: JobRecord, at: number, out: Consequences, last?: Extract<SchedulerEvent, { kind: 'TaskEnded' }>): void {
  if (isTerminal(job.status) || !job.tasks.every((t) => isTaskDone(t.state))) return;
  const outcome = jobOutcome(job);
  const failed = job.tasks.findIndex((t) => t.state === 'failed');
  let reason = outcome === 'failed' && failed >= 0 ? `task ${failed} failed after ${job.tasks[failed]?.failures ?? 0} attempt(s)` : undefined;
  if (reason !== undefined && last?.task === failed && last.outcome !== 'failed') reason += `: the last ${last.outcome === 'timeout' ? 'timed out' : `was ${last.outcome}`}`;
  if (reason !== undefined && last?.task === failed && last.reason !== undefined) reason += ` (${last.reason})`;
  out.events.push({ kind: 'JobEnded', at, job: job.id, outcome, ...(reason ? { reason } : {}) });
}

function killLive(job: JobRecord, from: number, to: number, reason: KillReason, out: Consequences): void {
  for (let t = from; t < to; t++) {
    const task = job.tasks[t];
    if (task && (task.state === 'placed' || task.state === 'running') && task.node !== undefined) {
      out.kills.push({ attempt: { job: job.id, task: t, attempt: task.attempt, node: task.node }, reason });
    }
  }
}

export function consequences(state: SchedulerState, e: SchedulerEvent): Consequences {
  const out: Consequences = { events: [], kills: [] };
  switch (e.kind) {
    case 'JobSubmitted': {
      const job = state.jobs.get(e.job);
      const verdict = job && dependencies(state, job);
      if (verdict?.kind === 'never') out.events.push({ kind: 'JobEnded', at: e.at, job: e.job, outcome: 'failed', reason: verdict.reason });
      break;
    }
    case 'JobCancelRequested': {
      const job = state.jobs.get(e.job);
      if (!job || isTerminal(job.status)) break;
      const from = e.element === undefined ? 0 : e.element * job.perElement;
      killLive(job, from, e.element === undefined ? job.tasks.length : from + job.perElement, 'cancel', out);
      endIfDone(job, e.at, out);
      break;
    }
    case 'TaskEnded': {
      const job = state.jobs.get(e.job);
      const task = job?.tasks[e.task];
      if (!job || !task || task.attempt !== e.attempt || isTerminal(job.status)) break;
      const first = elementOf(job.perElement, e.task) * job.perElement;
      const restartGang = job.spec.gang && task.state === 'pending' && e.outcome !== 'killed';
      // A task that failed for good ends its element; a gang member that will retry restarts its gang.
      if (task.state === 'failed' || restartGang) killLive(job, first, first + job.perElement, restartGang ? 'gang' : 'element-failed', out);
      endIfDone(job, e.at, out, e);
      break;
    }
    case 'JobEnded': {
      for (const id of state.dependents.get(e.job) ?? []) {
        const dependent = state.jobs.get(id);
        if (!dependent || isTerminal(dependent.status)) continue;
        const verdict = dependencies(state, dependent);
        if (verdict.kind === 'never') out.events.push({ kind: 'JobEnded', at: e.at, job: id, outcome: 'failed', reason: verdict.reason });
      }
      break;
    }
    case 'NodeStateChanged': {
      if (e.state !== 'lost') break;
      const node = state.nodes.get(e.node);
      for (const a of node?.allocations.values() ?? []) {
        out.events.push({ kind: 'TaskEnded', at: e.at, job: a.job, task: a.task, attempt: a.attempt, node: e.node, outcome: 'lost', reason: `node ${e.node} lost` });
      }
      break;
    }
    case 'QueueDefined':
    case 'QueueDeleted':
    case 'NodeJoined':
    case 'JobHeld':
    case 'JobReleased':
    case 'NodeDrainRequested':
    case 'NodeUndrained':
    case 'TasksPlaced':
    case 'TaskStarted':
    // The dispatcher kills preempted attempts itself, once the event is durable (with the job's grace).
    case 'TasksPreempted':
    case 'JobsRetired':
    case 'KeysExpired':
      break;
  }
  return out;
}
