/**
 * A refusal on the wire: `{ code, message }` plus what the protocol adds for some codes (the offending
 * field, a retry delay, the oldest resumable event). Refusals are values handed back, not exceptions: a
 * bad frame is a normal input of a server.
 */
import type { ErrorCode } from '../errors/index.js';
import { toWire } from '../errors/index.js';
import type { Problem } from '../model/index.js';

export interface ApiError {
  readonly code: ErrorCode;
  readonly message: string;
  /** Path of the offending request field, e.g. `jobs[3]` or `filter.queue`. */
  readonly field?: string;
  readonly retryAfterMs?: number;
  /** `MUSTER_ERR_WATCH_GAP`: the smallest `from` the server accepts now. */
  readonly oldest?: number;
  readonly problems?: readonly Problem[];
  /** `MUSTER_ERR_NOT_LEADER`: the leader this standby knows of (absent while there is none). */
  readonly leader?: { readonly url: string; readonly epoch: number };
}

export function apiError(code: ErrorCode, message: string, extra: Omit<ApiError, 'code' | 'message'> = {}): ApiError {
  return { code, message, ...extra };
}

/**
 * Codes of the server's own machinery (its actors and their asks): a client can do nothing about them but
 * try again, so they never reach it as themselves.
 */
const INTERNAL_RETRYABLE: ReadonlySet<ErrorCode> = new Set(['MUSTER_ERR_ASK_TIMEOUT', 'MUSTER_ERR_MAILBOX_FULL', 'MUSTER_ERR_ACTOR_STOPPED', 'MUSTER_ERR_ACTOR_HOST_DIED']);

/** How long a client waits before sending again a request refused `MUSTER_ERR_BUSY`. */
export const BUSY_RETRY_AFTER_MS = 1_000;

/**
 * Any thrown value as a refusal: a coded error keeps its code, anything else is an internal error; the
 * server's own machinery failing to answer in time is `MUSTER_ERR_BUSY` (retryable; PROTOCOL.md).
 */
export function fromThrown(err: unknown): ApiError {
  const wire = toWire(err);
  if (!INTERNAL_RETRYABLE.has(wire.code)) return wire;
  return apiError('MUSTER_ERR_BUSY', `the server did not finish the request in time (${wire.code}); whether it took effect is unknown: send it again`, { retryAfterMs: BUSY_RETRY_AFTER_MS });
}

/** The HTTP status of each code the HTTP routes answer with (PROTOCOL.md's error table). */
const STATUS: Partial<Record<ErrorCode, number>> = {
  MUSTER_ERR_UNAUTHORIZED: 401,
  MUSTER_ERR_FORBIDDEN: 403,
  MUSTER_ERR_BAD_FRAME: 400,
  MUSTER_ERR_INVALID_TYPE: 400,
  MUSTER_ERR_REQUIRED: 400,
  MUSTER_ERR_UNKNOWN_FIELD: 400,
  MUSTER_ERR_INVALID_VALUE: 400,
  MUSTER_ERR_INVALID_NAME: 400,
  MUSTER_ERR_FRAME_TOO_LARGE: 413,
  MUSTER_ERR_BATCH_TOO_LARGE: 413,
  MUSTER_ERR_RATE_LIMITED: 429,
  MUSTER_ERR_NOT_FOUND: 404,
  MUSTER_ERR_UNKNOWN_JOB: 404,
  MUSTER_ERR_JOB_ENDED: 409,
  MUSTER_ERR_UNKNOWN_NODE: 404,
  MUSTER_ERR_UNKNOWN_QUEUE: 404,
  MUSTER_ERR_CONFLICT: 409,
  MUSTER_ERR_NOT_RUNNING: 409,
  MUSTER_ERR_WATCH_GAP: 410,
  MUSTER_ERR_NOT_READY: 503,
  MUSTER_ERR_NOT_LEADER: 503,
  MUSTER_ERR_BUSY: 503,
  MUSTER_ERR_LOGS_UNAVAILABLE: 503,
  MUSTER_ERR_STORE_FAILED: 503,
};

export function httpStatus(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

/** `404 Not Found` and friends, for uWS's `writeStatus`. */
export function statusLine(status: number): string {
  return `${status} ${STATUS_TEXT[status] ?? 'Error'}`;
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};
