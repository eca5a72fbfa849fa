/**
 * The executor's public vocabulary: what it is given, what it reports, how it refuses. The launch and the
 * kill reasons are the scheduler's (`TaskLaunch`, `KillReason`): the wire's `start` and `kill` frames carry
 * the same fields, so there is no parallel list to keep in step.
 */
import type { ErrorCode } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import type { AttemptRef, TaskOutcome } from '../../scheduler/index.js';
import type { ShimKind } from '../shim/index.js';

/**
 * How an attempt ended, as an agent sees it. The agent says `lost` when it cannot know (its shim left no
 * status) or when it gave the attempt up at its fence.
 */
export type AttemptOutcome = TaskOutcome;

export type LogStream = 'stdout' | 'stderr';

export interface ExecutorOptions {
  /** The agent's work folder: attempt folders, their logs and default working directories live under it. */
  readonly workDir: string;
  /** SIGTERM → SIGKILL grace for time limits, shutdown, and kills that name none. Default `DEFAULT_GRACE_MS`. */
  readonly graceMs?: number;
  /** Run every attempt as this user (uid, gid and HOME from the user database). Needs the agent to run as root. */
  readonly runAs?: string;
  /**
   * Give tasks the agent's whole environment as their base instead of a minimal PATH, HOME, LANG.
   * Off by default: the agent's environment carries its own token and whatever its service manager set.
   */
  readonly inheritEnv?: boolean;
  /** Which shim supervises attempts (../shim): default `MUSTER_SHIM`, else `native` when built, else `node`. */
  readonly shim?: ShimKind;
  readonly log?: Logger;
}

/** An attempt's task runs (emitted once, when its shim says the task was executed). */
export interface AttemptStarted extends AttemptRef {
  readonly epoch: number;
  /** The task's pid, which is also its process group's id. */
  readonly pid: number;
}

/** An attempt is over: its process (and the rest of its process group) is gone. Emitted once per accepted `start` (or adopted attempt). */
export interface AttemptEnded extends AttemptRef {
  readonly outcome: AttemptOutcome;
  /** The process's exit status, when it exited (rather than died of a signal); 127/126 when it could not be executed. */
  readonly exitCode?: number;
  /** The signal the process died of, when it did. */
  readonly signal?: NodeJS.Signals;
  /** Why, for humans: `exit code 3`, `killed by SIGSEGV`, `time limit of 30s reached`, `cancel`, … */
  readonly reason?: string;
}

export interface ExecutorEvents {
  started: [AttemptStarted];
  ended: [AttemptEnded];
}

/** An attempt the executor is responsible for now: what an agent reports as `running` when it (re)registers. */
export interface LiveAttempt extends AttemptRef {
  readonly epoch: number;
  /** The task's pid (its group's id); absent while the attempt waits, is prepared, or its shim has not said yet. */
  readonly pid?: number;
}

/** A command the executor will not carry out; the agent answers it as an `error` frame `{ code, message }`. */
export interface Refusal {
  readonly ok: false;
  readonly code: ErrorCode;
  readonly message: string;
}

export type StartResult = { readonly ok: true } | Refusal;

/** `running: false`: nothing to kill (never started here, or already ended). Killing is idempotent. */
export type KillResult = { readonly ok: true; readonly running: boolean } | Refusal;

export interface KillOptions {
  /** The epoch of the command; an older one than the newest seen is refused. Absent: a local decision. */
  readonly epoch?: number;
  /** SIGTERM → SIGKILL grace for this kill; default the executor's. */
  readonly graceMs?: number;
  /**
   * `false`: emit no `ended` event for this attempt (reconciliation: the server has forgotten or replaced it
   * and wants no result). Default `true`.
   */
  readonly report?: boolean;
}

export interface ReadLogRequest {
  readonly job: string;
  readonly task: number;
  /** Default: the newest attempt of the task this agent knows. */
  readonly attempt?: number;
  readonly stream: LogStream;
  /** Byte offset to start from. Default 0. */
  readonly offset?: number;
  /** Keep yielding as the file grows until the attempt ends, then finish. Default false: read to the current end. */
  readonly follow?: boolean;
}
