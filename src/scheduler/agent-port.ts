/**
 * The port through which node actors reach the agents that run tasks. A server plugs in the WebSocket
 * agent endpoint; simulations plug in a virtual fleet. Agents answer through the scheduler core
 * (`taskStarted`, `taskEnded`), never through this port.
 */
import type { TaskGroup } from '../model/index.js';

/** Everything an agent needs to run one task attempt: its identity, and what its task group says to run. */
export interface TaskLaunch extends Pick<TaskGroup, 'resources' | 'command' | 'args' | 'shell' | 'env' | 'workingDir' | 'timeLimitMs'> {
  readonly job: string;
  readonly task: number;
  /** Index of the task's array element (0 for a job that is not an array). */
  readonly arrayIndex: number;
  readonly attempt: number;
  /** The epoch of the decision; agents refuse commands older than the newest they have seen. */
  readonly epoch: number;
  readonly node: string;
}

export interface AttemptRef {
  readonly job: string;
  readonly task: number;
  readonly attempt: number;
}

/** Why muster kills an attempt: the agent reports the end with outcome `timeout` for a time limit, else `killed`. */
export type KillReason = 'cancel' | 'timeout' | 'gang' | 'element-failed' | 'replaced' | 'drain' | 'requeue' | 'preempted';

/** A refused agent report, as the agent hears it (`id`: its report frame's, when it had one). */
export interface ReportRefusal {
  readonly code: 'MUSTER_ERR_FORBIDDEN';
  readonly message: string;
  readonly id?: string | number;
}

export interface AgentPort {
  start(node: string, launch: TaskLaunch): void;
  /** `graceMs`: SIGTERM to SIGKILL for this kill (a preempted job's grace period); absent, the port's default. */
  kill(node: string, attempt: AttemptRef, reason: KillReason, graceMs?: number): void;
  /**
   * The ends these attempts' agent reported on `node` are durable (or were known already): the agent may
   * forget them. Called once they are durable, a batch per node per dispatcher turn.
   */
  acknowledge(node: string, attempts: readonly AttemptRef[]): void;
  /** A report from `node`'s agent was refused and changed nothing (it named another node's attempt). */
  refuse(node: string, refusal: ReportRefusal): void;
}
