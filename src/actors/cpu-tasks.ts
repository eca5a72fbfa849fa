/**
 * The tasks the CPU pool runs (cpu-pool.ts): stateless, CPU-bound, off the actor hosts. This module is
 * the piscina worker: its default export runs one task. Tasks are a closed union tagged `kind`.
 *
 * `call` runs a function another folder names as plain data — a module URL and an export, like an actor's
 * producer — with plain arguments: the scheduler's snapshots are folded this way (snapshot-fold.ts), without
 * this folder importing the scheduler. A `Uint8Array` result that spans its whole buffer is moved back (its
 * buffer transferred, not copied); anything else is cloned.
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
  | { readonly kind: 'call'; readonly module: string; readonly name: string; readonly args: unknown }
  | { readonly kind: 'encode-snapshot'; readonly value: unknown }
  | { readonly kind: 'decode-snapshot'; readonly bytes: Uint8Array }
  | { readonly kind: 'ping' };

export type CpuTaskResult<T extends CpuTask> = T extends { kind: 'call' } ? unknown : T extends { kind: 'encode-snapshot' } ? Uint8Array : T extends { kind: 'decode-snapshot' } ? unknown : T extends { kind: 'ping' } ? 'pong' : never;

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
    const result = runTask(task);
    return result instanceof Promise
      ? result.catch((err: unknown) => {
          throw toWire(err);
        })
      : result;
  } catch (err) {
    throw toWire(err);
  }
}

async function callExport(task: Extract<CpuTask, { kind: 'call' }>): Promise<unknown> {
  const module = (await import(task.module)) as Record<string, unknown>;
  const fn = module[task.name];
  if (typeof fn !== 'function') throw new MusterError('MUSTER_ERR_INTERNAL', `${task.module} exports no function ${task.name}`);
  const result: unknown = await (fn as (args: unknown) => unknown)(task.args);
  const whole = result instanceof Uint8Array && result.buffer instanceof ArrayBuffer && result.byteOffset === 0 && result.byteLength === result.buffer.byteLength;
  return whole ? move(result) : result;
}

function runTask(task: CpuTask): unknown {
  switch (task.kind) {
    case 'call':
      return callExport(task);
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
