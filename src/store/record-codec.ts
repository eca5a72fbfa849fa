/**
 * The record codec: one event as it lies in a segment file. A record is a fixed 24-byte header followed by
 * the event encoded as msgpack (the payload):
 *
 *   offset  size  field
 *   0       4     payload length, u32 little-endian
 *   4       4     CRC-32 (zlib) of bytes 8 .. end of payload (seq, epoch, flags, reserved and payload)
 *   8       8     seq, float64 little-endian (an integer below 2^53)
 *   16      4     epoch, u32 little-endian
 *   20      1     flags: bit 0 = the last record of its append (an append is atomic: all its records or none)
 *   21      3     reserved, zero
 *   24      n     payload: msgpack of the event
 *
 * Seq and epoch sit outside the payload so recovery can check order and skip records without decoding them.
 */
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import { MusterError } from '../errors/index.js';
import { RECORD_PAYLOAD_LIMIT } from './limits.js';
import { writePlain } from './payload-writer.js';

export const RECORD_HEADER_BYTES = 24;
export const FLAG_APPEND_END = 1;

/**
 * Plain msgpack, no record extension: every record must decode on its own, years later, without the
 * structure table a packer builds up in one process.
 */
const packr = new Packr({ useRecords: false, moreTypes: false, variableMapSize: true });

/**
 * The event's msgpack bytes (a view into the packer's scratch memory: copy it before the next call).
 * Throws `MUSTER_ERR_STORE_ENCODE` for what msgpack cannot carry (symbols, bigints beyond 64 bits, cycles)
 * and `MUSTER_ERR_LIMIT_EXCEEDED` for a payload above `RECORD_PAYLOAD_LIMIT`.
 */
export function encodePayload(event: unknown): Uint8Array {
  // Plain data (every scheduler event) by the log's own writer, the same bytes faster (payload-writer.ts).
  let bytes = writePlain(event);
  try {
    bytes ??= packr.pack(event);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new MusterError('MUSTER_ERR_STORE_ENCODE', `an event cannot be encoded as msgpack: ${why}`, { cause: err });
  }
  if (bytes.length > RECORD_PAYLOAD_LIMIT) {
    throw new MusterError('MUSTER_ERR_LIMIT_EXCEEDED', `an event encodes to ${bytes.length} bytes, above the ${RECORD_PAYLOAD_LIMIT}-byte record limit`);
  }
  return bytes;
}

export function decodePayload(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

/** Bytes one record takes for a payload of `payloadBytes`. */
export function recordBytes(payloadBytes: number): number {
  return RECORD_HEADER_BYTES + payloadBytes;
}

/** Seq, epoch and flags of the record being written: the checksum starts over them without a slice. */
const headerScratch = Buffer.alloc(RECORD_HEADER_BYTES - 8);

/** Writes one record at `offset` of `target` (which must have room) and returns the offset after it. */
export function writeRecord(target: Buffer, offset: number, seq: number, epoch: number, last: boolean, payload: Uint8Array): number {
  headerScratch.writeDoubleLE(seq, 0);
  headerScratch.writeUInt32LE(epoch, 8);
  headerScratch.writeUInt32LE(last ? FLAG_APPEND_END : 0, 12); // flags byte, then three zero bytes
  target.writeUInt32LE(payload.length, offset);
  // crc32(b, crc32(a)) is the CRC of a followed by b: the same checksum as over the contiguous bytes.
  target.writeUInt32LE(crc32(payload, crc32(headerScratch)), offset + 4);
  headerScratch.copy(target, offset + 8);
  target.set(payload, offset + RECORD_HEADER_BYTES);
  return offset + RECORD_HEADER_BYTES + payload.length;
}

/** A record that passed every check of `checkRecord`. */
export interface RecordHeader {
  readonly ok: true;
  readonly seq: number;
  readonly epoch: number;
  readonly last: boolean;
  readonly payloadStart: number;
  /** Offset just after the record. */
  readonly next: number;
}

export interface RecordDamage {
  readonly ok: false;
  readonly reason: string;
}

/**
 * Checks the record at `offset`: whole header, plausible length, whole payload, checksum, known flags.
 * (Order against its neighbours is the scanner's business.) Never throws and never decodes the payload.
 */
export function checkRecord(bytes: Buffer, offset: number): RecordHeader | RecordDamage {
  const left = bytes.length - offset;
  if (left < RECORD_HEADER_BYTES) return { ok: false, reason: `short header (${left} of ${RECORD_HEADER_BYTES} bytes)` };
  const length = bytes.readUInt32LE(offset);
  if (length > RECORD_PAYLOAD_LIMIT) return { ok: false, reason: `payload length ${length} above the record limit` };
  const next = offset + RECORD_HEADER_BYTES + length;
  if (next > bytes.length) return { ok: false, reason: `short record (${left} of ${RECORD_HEADER_BYTES + length} bytes)` };
  if (bytes.readUInt32LE(offset + 4) !== crc32(bytes.subarray(offset + 8, next))) return { ok: false, reason: 'checksum mismatch' };
  const flags = bytes.readUInt32LE(offset + 20);
  if ((flags & ~FLAG_APPEND_END) !== 0) return { ok: false, reason: `unknown flags 0x${flags.toString(16)}` };
  const seq = bytes.readDoubleLE(offset + 8);
  if (!Number.isSafeInteger(seq) || seq < 1) return { ok: false, reason: `seq ${seq} is not a positive integer` };
  return { ok: true, seq, epoch: bytes.readUInt32LE(offset + 16), last: flags === FLAG_APPEND_END, payloadStart: offset + RECORD_HEADER_BYTES, next };
}

/**
 * Looks past damage at `from` for any intact record with a seq of at least `minSeq`: if there is one, the
 * damage is not a torn tail but a hole in acknowledged data. Cheap filters (seq plausible, reserved bytes
 * zero) reject almost every byte position before a checksum is computed.
 */
export function findIntactRecordAfter(bytes: Buffer, from: number, minSeq: number): { offset: number; seq: number } | undefined {
  const maxSeq = minSeq + Math.ceil((bytes.length - from) / RECORD_HEADER_BYTES);
  for (let y = from; y + RECORD_HEADER_BYTES <= bytes.length; y++) {
    if (bytes[y + 21] !== 0 || bytes[y + 22] !== 0 || bytes[y + 23] !== 0) continue;
    const seq = bytes.readDoubleLE(y + 8);
    if (!(seq >= minSeq && seq <= maxSeq)) continue;
    const checked = checkRecord(bytes, y);
    if (checked.ok) return { offset: y, seq: checked.seq };
  }
  return undefined;
}
