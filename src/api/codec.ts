/**
 * Frames on the wire: plain msgpack (no records, no extensions), one map per frame. Decoding is a
 * structural scan (frame-scan.ts) and then msgpackr; what comes out is plain objects, arrays, strings,
 * numbers, booleans, null and (for `bin`) Uint8Arrays copied out of the socket's buffer.
 */
import { Packr, Unpackr } from 'msgpackr';
import type { ApiError } from './api-error.js';
import { apiError } from './api-error.js';
import type { JobsRange } from './frame-scan.js';
import { scanFrame } from './frame-scan.js';
import { RawJob } from './job-reader.js';
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
    // A frame with a `jobs` array is decoded without it; a submit's jobs stay bytes (RawJob) for the
    // one-pass reader (job-reader.ts), any other frame's jobs are decoded on their own.
    value = unpackr.unpack(scan.jobs ? withoutJobs(bytes, scan.jobs) : bytes);
  } catch (err) {
    return { ok: false, error: apiError('MUSTER_ERR_BAD_FRAME', `not a msgpack frame: ${(err as Error).message}`) };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    return { ok: false, error: apiError('MUSTER_ERR_BAD_FRAME', 'a frame must be a msgpack map') };
  }
  const frame = value as Record<string, unknown>;
  if (typeof frame['kind'] !== 'string') return { ok: false, error: apiError('MUSTER_ERR_BAD_FRAME', 'a frame must have a string `kind`') };
  const jobs = scan.jobs;
  if (jobs) frame['jobs'] = frame['kind'] === 'submit' ? rawJobs(bytes, jobs) : unpackr.unpack(bytes.subarray(jobs.start, jobs.end));
  return { ok: true, frame, jobSizes: scan.jobSizes };
}

/** The frame with its `jobs` array replaced by an empty one (a few bytes: the frame's other fields). */
function withoutJobs(bytes: Uint8Array, jobs: JobsRange): Uint8Array {
  const out = new Uint8Array(bytes.length - (jobs.end - jobs.start) + 1);
  out.set(bytes.subarray(0, jobs.start));
  out[jobs.start] = 0x90; // fixarray of 0
  out.set(bytes.subarray(jobs.end), jobs.start + 1);
  return out;
}

function rawJobs(bytes: Uint8Array, jobs: JobsRange): RawJob[] {
  const frame = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength); // a view, not a copy
  const out = new Array<RawJob>(jobs.starts.length);
  for (let i = 0; i < out.length; i++) out[i] = new RawJob(frame, jobs.starts[i]!, jobs.starts[i + 1] ?? jobs.end);
  return out;
}

/** A job left as bytes, decoded as the whole frame would have decoded it (for `validateJob`). */
export function decodeRawJob(job: RawJob): unknown {
  return unpackr.unpack(job.bytes.subarray(job.start, job.end));
}
