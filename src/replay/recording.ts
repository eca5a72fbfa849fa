/**
 * The recording: what a history says the world did, apart from the scheduler's own decisions — the inputs
 * a simulation needs to run the same story under another policy. Queues as last defined, nodes joining and
 * changing state, jobs arriving (tenant, spec), cancellations, and how each task attempt ran (start, end,
 * outcome). Placements and job ends are the scheduler's decisions: the simulation makes its own.
 *
 * Times are kept relative to the history's first event (the simulation's clock starts at 0).
 */
import { assertNever } from '../actors/index.js';
import type { JobSpec, NodeSpec, NodeState, QueueSpec } from '../model/index.js';
import type { SchedulerEvent, TaskOutcome } from '../scheduler/index.js';

export interface RecordedAttempt {
  /** When the attempt started running; undefined if it never did. */
  startedAt: number | undefined;
  /** When it ended and how; undefined if it had not ended when the history stops. */
  endedAt: number | undefined;
  outcome: TaskOutcome | undefined;
  exitCode: number | undefined;
}

export interface RecordedJob {
  /** The id the recording gave it. */
  readonly id: string;
  readonly at: number;
  readonly tenant: string;
  readonly spec: JobSpec;
  /** By `task#attempt`. */
  readonly attempts: Map<string, RecordedAttempt>;
}

export interface Recording {
  /** The first event's time: recorded times minus this are times in the window. */
  readonly origin: number;
  /** From the first event to the last, in ms. */
  readonly spanMs: number;
  /** Each queue's last definition, by name. */
  readonly queues: ReadonlyMap<string, QueueSpec>;
  readonly nodeJoins: readonly { readonly at: number; readonly spec: NodeSpec }[];
  readonly nodeStates: readonly { readonly at: number; readonly node: string; readonly state: NodeState }[];
  /** In submission order. */
  readonly jobs: readonly RecordedJob[];
  readonly cancels: readonly { readonly at: number; readonly job: string }[];
}

export function attemptKey(task: number, attempt: number): string {
  return `${task}#${attempt}`;
}

export class RecordingExtractor {
  #origin: number | undefined;
  #last = 0;
  readonly #queues = new Map<string, QueueSpec>();
  readonly #nodeJoins: { at: number; spec: NodeSpec }[] = [];
  readonly #nodeStates: { at: number; node: string; state: NodeState }[] = [];
  readonly #jobs: RecordedJob[] = [];
  readonly #byId = new Map<string, RecordedJob>();
  readonly #cancels: { at: number; job: string }[] = [];

  observe(e: SchedulerEvent): void {
    this.#origin ??= e.at;
    const at = e.at - this.#origin;
    this.#last = Math.max(this.#last, at);
    switch (e.kind) {
      case 'QueueDefined':
        this.#queues.set(e.queue.name, e.queue);
        break;
      // The jobs recorded before it ran under the queue's last definition: the simulation keeps it for them.
      case 'QueueDeleted':
        break;
      case 'NodeJoined':
        this.#nodeJoins.push({ at, spec: e.node });
        break;
      case 'NodeStateChanged':
        this.#nodeStates.push({ at, node: e.node, state: e.state });
        break;
      case 'JobSubmitted': {
        const job: RecordedJob = { id: e.job, at, tenant: e.tenant, spec: e.spec, attempts: new Map() };
        this.#jobs.push(job);
        this.#byId.set(e.job, job);
        break;
      }
      case 'JobCancelRequested':
        this.#cancels.push({ at, job: e.job });
        break;
      case 'TaskStarted':
        this.#attempt(e.job, e.task, e.attempt).startedAt = at;
        break;
      case 'TaskEnded': {
        const attempt = this.#attempt(e.job, e.task, e.attempt);
        attempt.endedAt = at;
        attempt.outcome = e.outcome;
        attempt.exitCode = e.exitCode;
        break;
      }
      // A drain shows as the node's state (NodeStateChanged to draining), which is recorded.
      case 'NodeDrainRequested':
      case 'NodeUndrained':
      // Holds are an operator's decisions, like the scheduler's: a what-if runs the workload without them.
      case 'JobHeld':
      case 'JobReleased':
      case 'TasksPlaced':
      case 'TasksPreempted':
      case 'JobEnded':
      case 'JobsRetired':
      case 'KeysExpired':
        break; // the scheduler's decisions: the simulation makes its own
      default:
        assertNever(e);
    }
  }

  recording(): Recording {
    return {
      origin: this.#origin ?? 0,
      spanMs: this.#last,
      queues: this.#queues,
      nodeJoins: this.#nodeJoins,
      nodeStates: this.#nodeStates,
      jobs: this.#jobs,
      cancels: this.#cancels,
    };
  }

  #attempt(job: string, task: number, attempt: number): RecordedAttempt {
    const attempts = this.#byId.get(job)?.attempts;
    const key = attemptKey(task, attempt);
    let record = attempts?.get(key);
    if (!record) {
      record = { startedAt: undefined, endedAt: undefined, outcome: undefined, exitCode: undefined };
      attempts?.set(key, record);
    }
    return record;
  }
}
