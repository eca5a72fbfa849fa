/**
 * An error the server answered with. It is a `MusterError` carrying the server's `code` unchanged (callers
 * test `code`), plus whatever the server said about it: the field, the spec problems, how long to wait, the
 * oldest event still kept, the HTTP status.
 */
import { MusterError } from '../errors/index.js';
import type { ErrorCode } from '../errors/index.js';
import type { WireErrorBody, WireProblem } from './wire.js';

/** Codes of PROTOCOL.md the client acts on. */
export const WATCH_GAP = 'MUSTER_ERR_WATCH_GAP';
export const RATE_LIMITED = 'MUSTER_ERR_RATE_LIMITED';
export const NOT_READY = 'MUSTER_ERR_NOT_READY';
export const BUSY = 'MUSTER_ERR_BUSY';
export const NOT_LEADER = 'MUSTER_ERR_NOT_LEADER';
export const FRAME_TOO_LARGE = 'MUSTER_ERR_FRAME_TOO_LARGE';

export class ServerError extends MusterError {
  readonly field?: string;
  readonly problems?: readonly WireProblem[];
  readonly retryAfterMs?: number;
  /** With MUSTER_ERR_WATCH_GAP: the first `seq` the server can still serve. */
  readonly oldest?: number;
  /** The HTTP status, when the error came over HTTP (or refused a WebSocket upgrade). */
  readonly status?: number;
  /** With MUSTER_ERR_NOT_LEADER: the leader the refusing replica knows of, if any. */
  readonly leader?: { readonly url: string; readonly epoch: number };

  constructor(body: WireErrorBody, status?: number) {
    // The server's code is kept as sent: a newer server may know codes this client's catalog does not.
    super(body.code as ErrorCode, body.message);
    this.name = 'ServerError';
    if (body.field !== undefined) this.field = body.field;
    if (body.problems !== undefined) this.problems = body.problems;
    if (body.retryAfterMs !== undefined) this.retryAfterMs = body.retryAfterMs;
    if (body.oldest !== undefined) this.oldest = body.oldest;
    if (status !== undefined) this.status = status;
    if (body.leader !== undefined) this.leader = body.leader;
  }
}

/** Reads an error body (an HTTP error or an `error` frame), tolerating a server that sends less than it should. */
export function serverError(body: unknown, status?: number): ServerError {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Partial<Record<keyof WireErrorBody, unknown>>;
  const code = typeof b.code === 'string' ? b.code : 'MUSTER_ERR_INTERNAL';
  const message = typeof b.message === 'string' ? b.message : status !== undefined ? `the server answered HTTP ${status}` : 'the server answered an error without a message';
  return new ServerError(
    {
      code,
      message,
      ...(typeof b.field === 'string' ? { field: b.field } : {}),
      ...(Array.isArray(b.problems) ? { problems: b.problems as WireProblem[] } : {}),
      ...(typeof b.retryAfterMs === 'number' ? { retryAfterMs: b.retryAfterMs } : {}),
      ...(typeof b.oldest === 'number' ? { oldest: b.oldest } : {}),
      ...(leaderOf(b.leader) ?? {}),
    },
    status,
  );
}

/** `leader: { url, epoch }` when the body carries a readable one (a string URL and a number epoch). */
function leaderOf(value: unknown): { leader: { url: string; epoch: number } } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { url, epoch } = value as { url?: unknown; epoch?: unknown };
  return typeof url === 'string' && url !== '' && typeof epoch === 'number' ? { leader: { url, epoch } } : undefined;
}
