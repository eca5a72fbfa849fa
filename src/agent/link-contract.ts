/**
 * What the agent link (link.ts) and whoever runs the attempts agree on: the commands the server sends, the
 * reports the owner makes, the node it registers, and the owner's side of the link (`LinkOwner`). The
 * executor-backed agent (agent.ts) and the simulated fleet (sim-fleet.ts) are the two owners.
 */
import type { Logger } from '../log/index.js';
import type { TaskLaunch } from '../scheduler/index.js';
import type { Lease } from './shim/index.js';

export interface AttemptId {
  readonly job: string;
  readonly task: number;
  readonly attempt: number;
}

export interface RunningAttempt extends AttemptId {
  readonly epoch: number;
}

/** A `start` command as the server pushes it: the scheduler's launch, field for field (PROTOCOL.md). */
export type StartCommand = TaskLaunch;

export interface KillCommand extends AttemptId {
  readonly node: string;
  readonly epoch: number;
  readonly reason: string;
  readonly graceMs: number;
}

export interface LogsRequest {
  readonly id: number | string;
  readonly node: string;
  readonly job: string;
  readonly task: number;
  readonly attempt?: number;
  readonly stream: 'stdout' | 'stderr';
  readonly offset: number;
  readonly follow: boolean;
  /** Send at most this many bytes, then end (absent: to the end of the output). */
  readonly maxBytes?: number;
}

export interface EndReport extends AttemptId {
  readonly outcome: 'succeeded' | 'failed' | 'timeout' | 'killed' | 'lost';
  readonly exitCode?: number;
  readonly signal?: string;
  readonly reason?: string;
}

/** The node spec an agent registers (its written form: PROTOCOL.md). */
export interface NodeRegistration {
  readonly name: string;
  readonly site: string;
  readonly capacity: Readonly<Record<string, unknown>>;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface RegisteredInfo {
  readonly epoch: number;
  readonly heartbeatMs: number;
  /** Absent from an older server: no fence. */
  readonly fenceMs?: number;
  /** The most bytes of each stream of an ended attempt the server keeps (the tail); absent: it keeps none, ship nothing. */
  readonly outputKeepBytes?: number;
}

/** A piece of an ended attempt's output for the control plane's copy (an `output` frame: PROTOCOL.md). */
export interface OutputPiece extends AttemptId {
  readonly stream: 'stdout' | 'stderr';
  /** Bytes the task wrote to the stream in all. */
  readonly size: number;
  /** Where the shipped (kept) part starts: `max(0, size − outputKeepBytes)`. */
  readonly from: number;
  readonly offset: number;
  readonly data: Uint8Array;
  /** This piece ends at `size`. */
  readonly last: boolean;
}

/**
 * How the server answered an `output` frame: `stored`; `refused` with an error frame's code and message; or
 * `disconnected` (the connection closed first: nobody knows whether it was stored).
 */
export type OutputAnswer = { readonly kind: 'stored' } | { readonly kind: 'refused'; readonly code: string; readonly message: string } | { readonly kind: 'disconnected' };

/** What the link needs from whoever runs the attempts (the executor, or the simulated fleet). */
export interface LinkOwner {
  /** Attempts node `node` runs now (reported at registration). */
  running(node: string): readonly RunningAttempt[];
  start(command: StartCommand): void;
  kill(command: KillCommand | (AttemptId & { readonly node: string; readonly reason: 'reconcile' })): void;
  logs?(request: LogsRequest, send: (data: Uint8Array, eof: boolean) => void): void;
  /** A node registered (again): the server's epoch, interval and fence. */
  registered?(node: string, info: RegisteredInfo): void;
  /** The server has recorded these ends of `node` (or a registration dropped them): they may be forgotten. */
  acknowledged?(node: string, attempts: readonly AttemptId[]): void;
  /** No contact with the server for `fenceMs`: every attempt must be given up (ended `lost`, reason `fenced: …`). */
  fenced?(info: { readonly fenceMs: number; readonly silentMs: number }): void;
  /** The lease changed: write it where the shims read it. */
  lease?(lease: Lease | undefined): void;
}

export interface LinkOptions {
  /** WebSocket URLs of `/v1/agent`, tried in order. */
  readonly endpoints: readonly string[];
  readonly token: string;
  readonly owner: LinkOwner;
  readonly log: Logger;
  /** Jitter source (tests fix it). */
  readonly random?: () => number;
  /** Heartbeat at this interval instead of the server's (load generators). */
  readonly heartbeatMs?: number;
}
