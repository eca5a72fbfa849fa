/**
 * The scheduler's state as the reducer keeps it: jobs and their tasks, queues and their usage, nodes and
 * their allocations. `applyEvent` (apply.ts) is the only writer.
 *
 * Records are mutable and updated in place: with a million jobs, copying state per event is not an option.
 * The reducer stays deterministic and free of I/O and clocks (time comes from the events), which is what
 * replay and recovery need from "pure".
 */
import type { JobSpec, NodeSpec, NodeState, QueueSpec, Resources } from '../model/index.js';
import type { JobOutcome, PreemptedBy, TaskOutcome } from './events.js';
import { jobNumber, KeyWindow } from './key-window.js';

export type TaskState = 'pending' | 'placed' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type JobStatus = 'pending' | 'placed' | 'running' | JobOutcome;

export interface TaskRecord {
  state: TaskState;
  /** Attempts placed so far; the live attempt's number while placed or running. */
  attempt: number;
  /** Attempts that ended in failure, timeout or loss (counted against the retry limit). */
  failures: number;
  /** The node of the live attempt, or of the last attempt once it ended (where its output lies). */
  node: string | undefined;
  /** Where each earlier attempt ran (attempt 1 first), once there has been more than one: their output lies there. */
  earlier: readonly string[] | undefined;
  /** Earliest time (ms) the task may be placed again, after a retry backoff. */
  notBefore: number;
  /** When the live attempt started running (ms), 0 when not running. */
  startedAt: number;
  /**
   * Every attempt so far, attempt 1 first: where, when, and how it ended (what `muster job` shows); absent
   * until the first placement, so pending tasks cost nothing. Replaced, never changed in place.
   */
  attempts: readonly AttemptRecord[] | undefined;
}

/** One attempt of a task, from its placement to its end. Times in ms; absent fields have not happened. */
export interface AttemptRecord {
  readonly attempt: number;
  readonly node: string;
  readonly placedAt: number;
  readonly startedAt?: number;
  readonly endedAt?: number;
  readonly outcome?: TaskOutcome;
  readonly exitCode?: number;
  readonly reason?: string;
  /** When it was preempted (`TasksPreempted`) and for whom: it was then killed, and ends `killed`. */
  readonly preemptedAt?: number;
  readonly preemptedBy?: PreemptedBy;
}

export interface JobRecord {
  readonly id: string;
  readonly tenant: string;
  readonly spec: JobSpec;
  readonly submittedAt: number;
  /**
   * Submission order across all jobs (`submissionOrder`): ties in priority are served first come, first
   * served, and `GET /v1/jobs` lists and pages by it.
   */
  readonly order: number;
  /** Tasks in one array element (the sum of the task groups' counts). */
  readonly perElement: number;
  status: JobStatus;
  cancelRequested: boolean;
  /** Held (`JobHeld`): its pending tasks are not placed until `JobReleased`. */
  held: boolean;
  /** Array elements cancelled one by one (`JobCancelRequested` with `element`), ascending; undefined: none. */
  cancelledElements: readonly number[] | undefined;
  reason: string | undefined;
  endedAt: number | undefined;
  /**
   * One record per task. Copy on write: a new job's list is a shared, frozen list of one shared, frozen
   * pending record (see `pendingTasks`); `writableTask` gives the list and the record their own copies
   * the first time a task changes. A million pending jobs then cost no task records at all.
   */
  tasks: readonly TaskRecord[];
}

export interface QueueRecord {
  spec: QueueSpec;
  /** Resources held by the queue's placed and running tasks. */
  usage: Resources;
  /** Jobs of the queue that have not ended. */
  active: number;
}

export interface Allocation {
  readonly job: string;
  readonly task: number;
  readonly attempt: number;
  readonly resources: Resources;
}

export interface NodeRecord {
  spec: NodeSpec;
  state: NodeState;
  /** Sum of the live allocations' resources. */
  allocated: Resources;
  /** Live allocations by `job#task`. */
  readonly allocations: Map<string, Allocation>;
  /** Set while an operator drains the node: until when its work may run (`deadline`, ms), if bounded. */
  drain: NodeDrain | undefined;
}

export interface NodeDrain {
  readonly deadline: number | undefined;
}

export interface SchedulerState {
  /**
   * A slice holds only part of the scheduler (a queue actor's jobs and queue): events about jobs or nodes it
   * does not hold are passed over. A whole state (replay, recovery) treats them as an inconsistent stream.
   */
  readonly partial: boolean;
  readonly jobs: Map<string, JobRecord>;
  /** Outcome of every ended job this state has seen end (all of them in a whole state). */
  readonly outcomes: Map<string, JobOutcome>;
  readonly queues: Map<string, QueueRecord>;
  readonly nodes: Map<string, NodeRecord>;
  /** Job id → ids of jobs that depend on it. */
  readonly dependents: Map<string, string[]>;
  /**
   * Idempotency keys that outlive their jobs' retirement, submission times and the expiry point
   * (key-window.ts). Kept in a whole state (recovery, replay); a slice leaves it empty.
   */
  readonly keys: KeyWindow;
  /** Jobs submitted so far (a slice adds only its queue's own); the order of a next job whose id is not `j-N`. */
  submitted: number;
  /** Highest epoch seen on a placement. */
  epoch: number;
  /** Time of the last applied event. */
  now: number;
}

/**
 * A job's submission order: the number of its id. The dispatcher numbers jobs `j-1`, `j-2`, … as they are
 * submitted, so the order is the same in every queue actor's slice (which sees only its own jobs), in the
 * whole state, after recovery and in snapshots of any age. `fallback` (a count of the jobs applied) orders
 * ids of another form, which only hand-made event streams carry.
 */
export function submissionOrder(id: string, fallback: number): number {
  return jobNumber(id) ?? fallback;
}

export function createState(partial = false): SchedulerState {
  return {
    partial,
    jobs: new Map(),
    outcomes: new Map(),
    queues: new Map(),
    nodes: new Map(),
    dependents: new Map(),
    keys: new KeyWindow(),
    submitted: 0,
    epoch: 0,
    now: 0,
  };
}

const PENDING_TASK: TaskRecord = Object.freeze({ state: 'pending', attempt: 0, failures: 0, node: undefined, earlier: undefined, notBefore: 0, startedAt: 0, attempts: undefined });

/** Shared lists are kept for jobs of up to this many tasks (nearly all jobs); longer lists are built per job. */
const SHARED_LIST_MAX = 64;
const sharedLists: (readonly TaskRecord[] | undefined)[] = [];

/** The task list of a job none of whose `count` tasks has been touched yet. */
export function pendingTasks(count: number): readonly TaskRecord[] {
  if (count > SHARED_LIST_MAX) return new Array<TaskRecord>(count).fill(PENDING_TASK);
  let list = sharedLists[count];
  if (!list) sharedLists[count] = list = Object.freeze(new Array<TaskRecord>(count).fill(PENDING_TASK));
  return list;
}

/** The job's task `index`, as a record of the job's own that may be changed (undefined past the end). */
export function writableTask(job: JobRecord, index: number): TaskRecord | undefined {
  let tasks = job.tasks;
  const task = tasks[index];
  if (task !== PENDING_TASK) return task;
  if (Object.isFrozen(tasks)) job.tasks = tasks = tasks.slice();
  const own: TaskRecord = { state: 'pending', attempt: 0, failures: 0, node: undefined, earlier: undefined, notBefore: 0, startedAt: 0, attempts: undefined };
  (tasks as TaskRecord[])[index] = own;
  return own;
}

export function allocationKey(job: string, task: number): string {
  return `${job}#${task}`;
}

export function isTerminal(status: JobStatus): status is JobOutcome {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled';
}

export function isTaskDone(state: TaskState): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled';
}
