/**
 * Scheduler events: every change of scheduler state is one of these. The store persists them, watchers see
 * them, and `applyEvent` (apply.ts) rebuilds state from them, live, on recovery and in replay.
 *
 * Events say what happened, never what to do: a kill is a command to a node, not an event; the task's end
 * (reported by its node) is the event. Heartbeats and why-pending reasons are soft state and never events.
 */
import type { JobSpec, NodeSpec, NodeState, QueueSpec } from '../model/index.js';

/** How one attempt of a task ended. `killed` (by muster: cancel, a gang sibling's failure) is not a failure. */
export const TASK_OUTCOMES = ['succeeded', 'failed', 'timeout', 'lost', 'killed'] as const;
export type TaskOutcome = (typeof TASK_OUTCOMES)[number];

export const JOB_OUTCOMES = ['succeeded', 'failed', 'cancelled'] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

/** One task attempt placed on one node: an allocation. */
export interface Placement {
  readonly job: string;
  readonly task: number;
  readonly attempt: number;
  readonly node: string;
}

/** Who preempted an attempt: the job (and its queue) the room was made for. */
export interface PreemptedBy {
  readonly job: string;
  readonly queue: string;
}

export type SchedulerEvent =
  | { readonly kind: 'QueueDefined'; readonly at: number; readonly queue: QueueSpec }
  /**
   * An admin deleted a queue (`muster queue delete`): it leaves the state. Only a queue with no job in the
   * live state is deleted (its ended jobs are retired by a `JobsRetired` just before), so no job names a
   * queue that is gone; a job submitted later into the name makes it again.
   */
  | { readonly kind: 'QueueDeleted'; readonly at: number; readonly queue: string }
  /** A node joined, or changed capacity or labels (its allocations stay). */
  | { readonly kind: 'NodeJoined'; readonly at: number; readonly node: NodeSpec }
  | { readonly kind: 'NodeStateChanged'; readonly at: number; readonly node: string; readonly state: NodeState; readonly reason?: string }
  /**
   * An operator drained (cordoned) a node: nothing new is placed on it; what runs there finishes, and at
   * `deadline` (ms), if given, what still runs is ended `killed` (requeued, no retry spent). A drain again
   * replaces the deadline. The node's state is `draining` whenever liveness would say `ready`.
   */
  | { readonly kind: 'NodeDrainRequested'; readonly at: number; readonly node: string; readonly deadline?: number }
  /** The drain ends: the node takes work again (when ready). */
  | { readonly kind: 'NodeUndrained'; readonly at: number; readonly node: string }
  | { readonly kind: 'JobSubmitted'; readonly at: number; readonly job: string; readonly tenant: string; readonly spec: JobSpec }
  /** `element`: only that array element (its pending tasks are cancelled, its live ones killed). */
  | { readonly kind: 'JobCancelRequested'; readonly at: number; readonly job: string; readonly element?: number }
  /** The job's pending tasks are not placed until it is released (what runs goes on). */
  | { readonly kind: 'JobHeld'; readonly at: number; readonly job: string }
  | { readonly kind: 'JobReleased'; readonly at: number; readonly job: string }
  /** Allocations decided in one dispatch cycle, under the leader's epoch. */
  | { readonly kind: 'TasksPlaced'; readonly at: number; readonly epoch: number; readonly placements: readonly Placement[] }
  | { readonly kind: 'TaskStarted'; readonly at: number; readonly job: string; readonly task: number; readonly attempt: number }
  | {
      readonly kind: 'TaskEnded';
      readonly at: number;
      readonly job: string;
      readonly task: number;
      readonly attempt: number;
      /** The node the attempt ran on. */
      readonly node: string;
      readonly outcome: TaskOutcome;
      readonly exitCode?: number;
      readonly reason?: string;
    }
  | { readonly kind: 'JobEnded'; readonly at: number; readonly job: string; readonly outcome: JobOutcome; readonly reason?: string }
  /**
   * Live attempts are preempted for job `by.job` of queue `by.queue`: each is marked and its agent told to
   * kill it (reason `preempted`, the job's grace period). It runs until its end is reported; an end
   * `killed` puts its task back to pending without spending a retry.
   */
  | { readonly kind: 'TasksPreempted'; readonly at: number; readonly by: PreemptedBy; readonly attempts: readonly Placement[]; readonly reason?: string }
  /**
   * Ended jobs leave the live state (retention.ts decides which, in the dispatcher): their records, outcomes
   * and dependents entries go; their events stay in the history, which answers for them from then on.
   */
  | { readonly kind: 'JobsRetired'; readonly at: number; readonly jobs: readonly string[] }
  /** Idempotency keys of the jobs numbered below `before` (`j-1` … `j-(before-1)`) expire (key-window.ts). */
  | { readonly kind: 'KeysExpired'; readonly at: number; readonly before: number };

export type SchedulerEventKind = SchedulerEvent['kind'];

/** What an agent reports when an attempt starts, and when it ends (the events without their time). */
export type TaskStartReport = Omit<Extract<SchedulerEvent, { kind: 'TaskStarted' }>, 'kind' | 'at'> & { readonly node: string };
export type TaskEndReport = Omit<Extract<SchedulerEvent, { kind: 'TaskEnded' }>, 'kind' | 'at'>;
