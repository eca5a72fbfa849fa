/**
 * The tasks the CPU pool runs (cpu-pool.ts): stateless, CPU-bound, off the actor hosts. This module is
 * the piscina worker: its default export runs one task. Tasks are a closed union tagged `kind`.
 *
 * Snapshot format: the UTF-8 JSON of the value, then 4 bytes: the CRC-32 of the JSON, big-endian. One
 * self-checking buffer, so the worker can hand it back by transfer (piscina moves a top-level buffer,
 * not one nested in an object) and the store can write it as is.
 */
import { crc32 } from 'node:zlib';
import { move } from 'piscina';
import { MusterError, toWire } from '../errors/index.js';
import { assertNever } from './outcome.js';

export type CpuTask =
  | { readonly kind: 'encode-snapshot'; readonly value: unknown }
  | { readonly kind: 'decode-snapshot'; readonly bytes: Uint8Array }
  | { readonly kind: 'ping' };

export type CpuTaskResult<T extends CpuTask> = T extends { kind: 'encode-snapshot' } ? Uint8Array : T extends { kind: 'decode-snapshot' } ? unknown : T extends { kind: 'ping' } ? 'pong' : never;

const CHECKSUM_BYTES = 4;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeSnapshotNow(value: unknown): Uint8Array {
  const json = JSON.stringify(value) ?? 'null';
  const out = new Uint8Array(Buffer.byteLength(json) + CHECKSUM_BYTES);
  const { written } = encoder.encodeInto(json, out);
  const body = out.subarray(0, written);
  new DataView(out.buffer, out.byteOffset).setUint32(written, crc32(body));
  return out;
}

export function decodeSnapshotNow(bytes: Uint8Array): unknown {
  if (bytes.length < CHECKSUM_BYTES) throw new MusterError('MUSTER_ERR_INVALID_SPEC', 'snapshot too short');
  const end = bytes.length - CHECKSUM_BYTES;
  const body = bytes.subarray(0, end);
  if (new DataView(bytes.buffer, bytes.byteOffset).getUint32(end) !== crc32(body)) {
    throw new MusterError('MUSTER_ERR_INVALID_SPEC', 'snapshot checksum mismatch: the bytes are corrupt');
  }
  return JSON.parse(decoder.decode(body)) as unknown;
}

/** Errors leave the worker as plain `{ code, message }` (structured clone drops an Error's `code`). */
export default function runCpuTask(task: CpuTask): unknown {
  try {
    return runTask(task);
  } catch (err) {
    throw toWire(err);
  }
}

function runTask(task: CpuTask): unknown {
  switch (task.kind) {
    case 'encode-snapshot':
      return move(encodeSnapshotNow(task.value)); // transferred back, not copied: snapshots can be large
    case 'decode-snapshot':
      return decodeSnapshotNow(task.bytes);
    case 'ping':
      return 'pong';
    default:
      return assertNever(task);
  }
}
