/**
 * Frames on the wire: plain msgpack (no records, no extensions), one map per frame. Decoding is a
 * structural scan (frame-scan.ts) and then msgpackr; what comes out is plain objects, arrays, strings,
 * numbers, booleans, null and (for `bin`) Uint8Arrays copied out of the socket's buffer.
 */
import { Packr, Unpackr } from 'msgpackr';
import type { ApiError } from './api-error.js';
import { apiError } from './api-error.js';
import { scanFrame } from './frame-scan.js';
import { MAX_FRAME_DEPTH } from './limits.js';
import { integersAsIntegers } from './wire-integers.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  // The socket's buffer is reused once the message handler returns: never keep views into it.
  copyBuffers: true,
  // The protocol's integers fit in 53 bits; a bigger one decodes to an imprecise number that fails range checks.
  // (Without it, msgpackr decodes a 64-bit integer to a BigInt.)
  int64AsType: 'number',
});

/** A frame's bytes; every integral number in it a msgpack integer (wire-integers.ts), whatever its size. */
export function encodeFrame(value: unknown): Uint8Array {
  return integersAsIntegers(packr.pack(value));
}

export type Decoded =
  | { readonly ok: true; readonly frame: Readonly<Record<string, unknown>>; readonly jobSizes: readonly number[] | undefined }
  | { readonly ok: false; readonly error: ApiError };

/**
 * One frame from its bytes: a map with a string `kind`, or `MUSTER_ERR_BAD_FRAME`. With `measureJobs` the
 * encoded size of each element of its `jobs` array comes along (for the per-spec limit).
 */
export function decodeFrame(bytes: Uint8Array, measureJobs: boolean): Decoded {
  const scan = scanFrame(bytes, MAX_FRAME_DEPTH, measureJobs);
  if (scan.error !== undefined) return { ok: false, error: apiError('MUSTER_ERR_BAD_FRAME', `not a msgpack frame: ${scan.error}`) };
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch (err) {
    return { ok: false, error: apiError('MUSTER_ERR_BAD_FRAME', `not a msgpack frame: ${(err as Error).message}`) };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    return { ok: false, error: apiError('MUSTER_ERR_BAD_FRAME', 'a frame must be a msgpack map') };
  }
  const frame = value as Record<string, unknown>;
  if (typeof frame['kind'] !== 'string') return { ok: false, error: apiError('MUSTER_ERR_BAD_FRAME', 'a frame must have a string `kind`') };
  return { ok: true, frame, jobSizes: scan.jobSizes };
}
