import type { ErrorCode } from './catalog.js';
import { isErrorCode } from './catalog.js';

/** What an error looks like on the wire or across a thread boundary. */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
}

/** An error with a stable code. Use `rangeError` / `typeError` where the JavaScript kind matters. */
export class MusterError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MusterError';
    this.code = code;
  }
}

/** A `RangeError` carrying a code: a value of the right type but outside what is allowed. */
export function rangeError(code: ErrorCode, message: string): RangeError & { code: ErrorCode } {
  return Object.assign(new RangeError(message), { code });
}

/** A `TypeError` carrying a code: a value of the wrong type. */
export function typeError(code: ErrorCode, message: string): TypeError & { code: ErrorCode } {
  return Object.assign(new TypeError(message), { code });
}

/** The code of any thrown value, if it carries one of ours. */
export function codeOf(err: unknown): ErrorCode | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return isErrorCode(code) ? code : undefined;
}

export function toWire(err: unknown, fallback: ErrorCode = 'MUSTER_ERR_INTERNAL'): WireError {
  const message = err instanceof Error ? err.message : String(err);
  return { code: codeOf(err) ?? fallback, message };
}

export function fromWire(wire: WireError): MusterError {
  return new MusterError(wire.code, wire.message);
}
