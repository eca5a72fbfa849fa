/**
 * Job events: what `watch` streams (PROTOCOL.md, "Job events"). Each comes from one durable scheduler
 * event; `seq` is that event's position in the log, so every job event a `TasksPlaced` yields shares its
 * seq. Events that are not about jobs (queues, nodes) are not streamed.
 */
import type { Mutable } from '../model/index.js';
import type { JobOutcome, PreemptedBy, SchedulerEvent, TaskOutcome } from '../scheduler/index.js';
import { assertNever } from '../actors/index.js';

interface Common {
  readonly seq: number;
  readonly at: number;
  readonly job: string;
  readonly tenant: string;
  readonly queue: string;
}

export type JobEvent = Common &
  (
    | { readonly type: 'submitted'; readonly name?: string }
    | { readonly type: 'placed'; readonly task: number; readonly attempt: number; readonly node: string }
    | { readonly type: 'started'; readonly task: number; readonly attempt: number }
    | {
        readonly type: 'task-ended';
        readonly task: number;
        readonly attempt: number;
        readonly node: string;
        readonly outcome: TaskOutcome;
        readonly exitCode?: number;
        readonly reason?: string;
      }
    /** The attempt was preempted for job `by.job` of queue `by.queue`: it is being killed (its `task-ended` follows). */
    | { readonly type: 'preempted'; readonly task: number; readonly attempt: number; readonly node: string; readonly by: PreemptedBy; readonly reason?: string }
    | { readonly type: 'cancel-requested'; readonly element?: number }
    | { readonly type: 'held' }
    | { readonly type: 'released' }
    | { readonly type: 'ended'; readonly outcome: JobOutcome; readonly reason?: string }
  );

export type JobEventType = JobEvent['type'];

export interface Owner {
  readonly tenant: string;
  readonly queue: string;
}

/**
 * The job events of one scheduler event, appended to `out`. `ownerOf` names each job's tenant and queue;
 * events of a job it does not know are left out (and counted by the caller through the return value).
 */
export function appendJobEvents(e: SchedulerEvent, seq: number, ownerOf: (job: string) => Owner | undefined, out: JobEvent[]): number {
  switch (e.kind) {
    case 'QueueDefined':
    case 'QueueDeleted':
    case 'NodeJoined':
    case 'NodeStateChanged':
    case 'NodeDrainRequested':
    case 'NodeUndrained':
    // Retention's decisions: the jobs ended before (their `ended` event was streamed then).
    case 'JobsRetired':
    case 'KeysExpired':
      return 0;
    case 'TasksPlaced': {
      let dropped = 0;
      for (const p of e.placements) {
        const owner = ownerOf(p.job);
        if (!owner) dropped++;
        else out.push({ seq, at: e.at, job: p.job, tenant: owner.tenant, queue: owner.queue, type: 'placed', task: p.task, attempt: p.attempt, node: p.node });
      }
      return dropped;
    }
    case 'TasksPreempted': {
      let dropped = 0;
      for (const p of e.attempts) {
        const owner = ownerOf(p.job);
        if (!owner) dropped++;
        else {
          const preempted: Mutable<Extract<JobEvent, { type: 'preempted' }>> = { seq, at: e.at, job: p.job, tenant: owner.tenant, queue: owner.queue, type: 'preempted', task: p.task, attempt: p.attempt, node: p.node, by: e.by };
          if (e.reason !== undefined) preempted.reason = e.reason;
          out.push(preempted);
        }
      }
      return dropped;
    }
    default:
      break;
  }
  const owner = ownerOf(e.job);
  if (!owner) return 1;
  // Built field by field (no spread of a shared part): one allocation per event, on every durable batch.
  const { tenant, queue } = owner;
  switch (e.kind) {
    case 'JobSubmitted':
      out.push(e.spec.name !== undefined ? { seq, at: e.at, job: e.job, tenant, queue, type: 'submitted', name: e.spec.name } : { seq, at: e.at, job: e.job, tenant, queue, type: 'submitted' });
      break;
    case 'TaskStarted':
      out.push({ seq, at: e.at, job: e.job, tenant, queue, type: 'started', task: e.task, attempt: e.attempt });
      break;
    case 'TaskEnded': {
      const ended: Mutable<Extract<JobEvent, { type: 'task-ended' }>> = { seq, at: e.at, job: e.job, tenant, queue, type: 'task-ended', task: e.task, attempt: e.attempt, node: e.node, outcome: e.outcome };
      if (e.exitCode !== undefined) ended.exitCode = e.exitCode;
      if (e.reason !== undefined) ended.reason = e.reason;
      out.push(ended);
      break;
    }
    case 'JobCancelRequested':
      out.push(e.element !== undefined ? { seq, at: e.at, job: e.job, tenant, queue, type: 'cancel-requested', element: e.element } : { seq, at: e.at, job: e.job, tenant, queue, type: 'cancel-requested' });
      break;
    case 'JobHeld':
      out.push({ seq, at: e.at, job: e.job, tenant, queue, type: 'held' });
      break;
    case 'JobReleased':
      out.push({ seq, at: e.at, job: e.job, tenant, queue, type: 'released' });
      break;
    case 'JobEnded':
      out.push(e.reason !== undefined ? { seq, at: e.at, job: e.job, tenant, queue, type: 'ended', outcome: e.outcome, reason: e.reason } : { seq, at: e.at, job: e.job, tenant, queue, type: 'ended', outcome: e.outcome });
      break;
    default:
      assertNever(e);
  }
  return 0;
}
