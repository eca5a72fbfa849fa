/**
 * The values of the etcd store's keys, in plain msgpack (the record codec's packer: no record extension, so
 * every value decodes alone):
 *
 * - a log batch: `{ firstSeq, epoch, end, events }` — events `firstSeq..firstSeq + events.length - 1`
 *   written by the writer of `epoch`; `end` is false on every key of a group but its last (a group bigger
 *   than one transaction spans several keys, written one transaction each; readers take a group only once its
 *   `end` key is there, so an append is all there or not at all).
 * - the snapshot manifest: `{ format, seq, chunks, bytes, crc32, epoch }`.
 *
 * A batch is assembled from the events' own msgpack bytes (encoded once, by the group committer, when they
 * were appended), never re-encoded.
 */
import { MusterError } from '../errors/index.js';
import { RECORD_HEADER_BYTES, decodePayload, encodePayload } from './record-codec.js';

/** A decoded log batch, with the key it was read from. */
export interface LogBatch {
  readonly key: Buffer;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly epoch: number;
  /** The last key of its group. */
  readonly end: boolean;
  readonly events: readonly unknown[];
  /** etcd's revision of the put that wrote it (tells a rewritten key from the one seen before). */
  readonly revision: number;
}

/** Bytes a batch takes beyond its events' own: the map, its keys, the numbers, the array header. */
export const BATCH_OVERHEAD_BYTES = 64;

const EVENTS_KEY = Buffer.from([0xa6, ...Buffer.from('events')]); // fixstr "events"

/** The value of a batch holding `payloads` (each one event's msgpack), the first at `firstSeq`. */
export function encodeBatch(firstSeq: number, epoch: number, end: boolean, payloads: readonly Uint8Array[]): Buffer {
  const head = Buffer.from(encodePayload({ firstSeq, epoch, end })); // a copy: the packer reuses its memory
  if (head[0] !== 0x83) throw new MusterError('MUSTER_ERR_INTERNAL', `msgpack encoded a three-field map with header 0x${head[0]?.toString(16)}, not a fixmap`);
  head[0] = 0x84; // the same map with a fourth field, appended below
  const n = payloads.length;
  const arrayHeader = n < 16 ? Buffer.from([0x90 | n]) : n < 0x10000 ? Buffer.from([0xdc, n >> 8, n & 0xff]) : Buffer.from([0xdd, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([head, EVENTS_KEY, arrayHeader, ...payloads]);
}

/**
 * The payloads of a group as the group committer built it (records: a 24-byte header, then the payload),
 * cut into runs whose batch values stay within `maxValueBytes`. Every run holds at least one event.
 */
export function splitGroup(records: Buffer, maxValueBytes: number): Uint8Array[][] {
  const runs: Uint8Array[][] = [];
  let run: Uint8Array[] = [];
  let runBytes = BATCH_OVERHEAD_BYTES;
  for (let offset = 0; offset < records.length; ) {
    const length = records.readUInt32LE(offset);
    const start = offset + RECORD_HEADER_BYTES;
    const payload = records.subarray(start, start + length);
    offset = start + length;
    if (run.length > 0 && runBytes + length > maxValueBytes) {
      runs.push(run);
      run = [];
      runBytes = BATCH_OVERHEAD_BYTES;
    }
    run.push(payload);
    runBytes += length;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** Decodes and checks a log key's value; damage is MUSTER_ERR_STORE_CORRUPT naming the key. */
export function decodeBatch(key: Buffer, keySeq: number, value: Buffer, revision: number): LogBatch {
  const damaged = (why: string): MusterError => new MusterError('MUSTER_ERR_STORE_CORRUPT', `the etcd log key ${key.toString()} is damaged: ${why}`);
  let decoded: unknown;
  try {
    decoded = decodePayload(value);
  } catch (err) {
    throw damaged(`not msgpack (${err instanceof Error ? err.message : String(err)})`);
  }
  const b = decoded as { firstSeq?: unknown; epoch?: unknown; end?: unknown; events?: unknown } | null;
  if (b === null || typeof b !== 'object') throw damaged('not a map');
  if (b.firstSeq !== keySeq) throw damaged(`it says it starts at seq ${String(b.firstSeq)}, its key at ${keySeq}`);
  if (!Number.isSafeInteger(b.epoch) || (b.epoch as number) < 0) throw damaged(`epoch ${String(b.epoch)}`);
  if (typeof b.end !== 'boolean') throw damaged('no end flag');
  if (!Array.isArray(b.events) || b.events.length === 0) throw damaged('no events');
  return { key, firstSeq: keySeq, lastSeq: keySeq + b.events.length - 1, epoch: b.epoch as number, end: b.end, events: b.events as unknown[], revision };
}

export interface SnapshotManifest {
  readonly seq: number;
  readonly chunks: number;
  readonly bytes: number;
  readonly crc32: number;
  /** The epoch of the writer that wrote it. */
  readonly epoch: number;
}

const MANIFEST_FORMAT = 1;

export function encodeManifest(m: SnapshotManifest): Buffer {
  return Buffer.from(encodePayload({ format: MANIFEST_FORMAT, seq: m.seq, chunks: m.chunks, bytes: m.bytes, crc32: m.crc32, epoch: m.epoch }));
}

export function decodeManifest(key: Buffer, value: Buffer): SnapshotManifest {
  let m: { format?: unknown; seq?: unknown; chunks?: unknown; bytes?: unknown; crc32?: unknown; epoch?: unknown } | null;
  try {
    m = decodePayload(value) as typeof m;
  } catch {
    m = null;
  }
  const fields = [m?.seq, m?.chunks, m?.bytes, m?.crc32, m?.epoch];
  if (m === null || typeof m !== 'object' || m.format !== MANIFEST_FORMAT || !fields.every((f) => Number.isSafeInteger(f) && (f as number) >= 0)) {
    throw new MusterError('MUSTER_ERR_STORE_CORRUPT', `the snapshot manifest ${key.toString()} is damaged or of an unknown format`);
  }
  return { seq: m.seq as number, chunks: m.chunks as number, bytes: m.bytes as number, crc32: m.crc32 as number, epoch: m.epoch as number };
}
