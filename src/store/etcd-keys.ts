/**
 * The etcd store's key layout under its prefix (README.md, "The etcd layout"):
 *
 *   PREFIX/log/SEQ                       one log batch: events SEQ.. (SEQ = the batch's first seq)
 *   PREFIX/snapshot/SEQ/CHUNK            chunk CHUNK (0, 1, …) of the snapshot at seq SEQ
 *   PREFIX/snapshot/manifest             the snapshot in force: its seq, chunk count, byte length, CRC-32
 *
 * SEQ is 20 decimal digits and CHUNK 8, zero-padded, so etcd's byte order is numeric order. Digits sort
 * before `manifest`, so the chunks of every snapshot lie between `PREFIX/snapshot/` and the manifest.
 */
import { rangeError } from '../errors/index.js';

const SEQ_DIGITS = 20;
const CHUNK_DIGITS = 8;

export class EtcdKeys {
  readonly prefix: string;
  /** `PREFIX/log/`: every log key starts with it. */
  readonly logStart: Buffer;
  /** The end of the log's key range (exclusive). */
  readonly logEnd: Buffer;
  readonly manifest: Buffer;
  /** `PREFIX/snapshot/`: every chunk key starts with it (the manifest too, after every chunk). */
  readonly snapshotStart: Buffer;

  constructor(prefix: string) {
    if (typeof prefix !== 'string' || prefix === '' || prefix.endsWith('/')) {
      throw rangeError('MUSTER_ERR_INVALID_VALUE', `an etcd prefix must be a non-empty string that does not end with "/" (like "/muster"), not ${JSON.stringify(prefix)}`);
    }
    this.prefix = prefix;
    this.logStart = Buffer.from(`${prefix}/log/`);
    this.logEnd = rangeEnd(this.logStart);
    this.snapshotStart = Buffer.from(`${prefix}/snapshot/`);
    this.manifest = Buffer.from(`${prefix}/snapshot/manifest`);
  }

  log(seq: number): Buffer {
    return Buffer.from(`${this.prefix}/log/${pad(seq, SEQ_DIGITS)}`);
  }

  /** The first seq of a log key, or undefined for a key that is not one. */
  seqOfLogKey(key: Buffer): number | undefined {
    if (key.length !== this.logStart.length + SEQ_DIGITS || key.compare(this.logStart, 0, this.logStart.length, 0, this.logStart.length) !== 0) return undefined;
    const digits = key.toString('latin1', this.logStart.length);
    if (!/^\d+$/.test(digits)) return undefined;
    const seq = Number(digits);
    return Number.isSafeInteger(seq) && seq >= 1 ? seq : undefined;
  }

  /** `PREFIX/snapshot/SEQ/`: the chunks of the snapshot at `seq`. */
  snapshotDir(seq: number): Buffer {
    return Buffer.from(`${this.prefix}/snapshot/${pad(seq, SEQ_DIGITS)}/`);
  }

  chunk(seq: number, index: number): Buffer {
    return Buffer.from(`${this.prefix}/snapshot/${pad(seq, SEQ_DIGITS)}/${pad(index, CHUNK_DIGITS)}`);
  }
}

/** The smallest key after every key that starts with `prefix` (etcd's `range_end` for a prefix). */
export function rangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // every byte 0xff: to the end of the key space
}

/** The smallest key after `key` itself (for "keys greater than `key`"). */
export function keyAfter(key: Buffer): Buffer {
  return Buffer.concat([key, Buffer.from([0])]);
}

function pad(n: number, digits: number): string {
  return String(n).padStart(digits, '0');
}
