/**
 * Sending on a WebSocket with a bound on what may wait unsent. uWS buffers what the kernel does not take
 * (up to the behaviour's `maxBackpressure`, then it drops); muster never lets it drop silently — a watcher
 * missing events would be worse than a closed connection it can resume. Past the bound the connection is
 * closed with 4008 (`MUSTER_ERR_SLOW_CONSUMER`), so a client that does not read costs at most the bound.
 */
import type { WebSocket } from 'uWebSockets.js';
import type { ApiError } from './api-error.js';
import { encodeFrame } from './codec.js';
import type { RequestId } from './frames.js';

/** What every connection's user data carries. */
export interface SocketState {
  /** Set by the close handler: the socket may not be touched after it. */
  closed: boolean;
}

/** WebSocket close codes muster uses (4000-4999 are the application's). */
export const CLOSE_GOING_AWAY = 1001;
/** The server stopped leading (a failover): reconnect, to the leader. */
export const CLOSE_SERVICE_RESTART = 1012;
export const CLOSE_SLOW_CONSUMER = 4008;
/** An agent's connection whose node a newer connection of the same agent (same token) registered. */
export const CLOSE_REPLACED = 4009;

/** uWS `send` results. */
const DROPPED = 2;

export function send<T extends SocketState>(ws: WebSocket<T>, frame: unknown, maxUnsent: number): boolean {
  const state = ws.getUserData();
  if (state.closed) return false;
  const bytes = encodeFrame(frame);
  let status = 0;
  ws.cork(() => (status = ws.send(bytes, true)));
  if (status === DROPPED || ws.getBufferedAmount() > maxUnsent) {
    state.closed = true;
    ws.end(CLOSE_SLOW_CONSUMER, 'MUSTER_ERR_SLOW_CONSUMER');
    return false;
  }
  return true;
}

export function errorFrame(error: ApiError, id?: RequestId): Record<string, unknown> {
  return { kind: 'error', ...(id !== undefined ? { id } : {}), ...error };
}

/** Closes a connection if it is still open (after `end` or a close, uWS throws on any use). */
export function closeSocket<T extends SocketState>(ws: WebSocket<T>, code: number, reason: string): void {
  const state = ws.getUserData();
  if (state.closed) return;
  state.closed = true;
  ws.end(code, reason);
}
