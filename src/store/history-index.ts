/**
 * The history index: which records of the history (archive + live segments) are about a key, so a reader
 * finds them without scanning the log. The store knows nothing of what events mean: the caller says which
 * keys (non-negative numbers) an event is about (`keysOf`; the scheduler gives job numbers).
 *
 * One index per segment, built the first time a lookup needs it:
 * - a segment that is no longer the last one never changes: its index is a sidecar file
 *   `index/segment-<first seq>.idx` in the data folder, written once (temporary file, rename; no fsync: a
 *   lost or damaged sidecar is only rebuilt) and read by binary search, never loaded whole;
 * - the last segment still grows: its index is in memory (two typed arrays, 12 bytes per key and record),
 *   extended from where it stopped at each lookup, and written out as a sidecar once the segment is sealed.
 *
 * So memory holds a few numbers per segment plus the last segment's pairs: nothing per job of the past.
 * A sidecar is removed when its segment has left the history. Lookups run one at a time.
 */
import { mkdir, open, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { createLogger, type Logger } from '../log/index.js';
import { HISTORY_FOLDER, ignoreMissing, listFolder, type FolderEntry } from './data-folder.js';
import { RECORD_PAYLOAD_LIMIT } from './limits.js';
import { checkRecord, decodePayload, RECORD_HEADER_BYTES } from './record-codec.js';
import type { StoredEvent } from './store.js';

/** The folder of sidecar files, in the data folder. */
export const INDEX_FOLDER = 'index';
const MAGIC = Buffer.from('MUSTIDX1');
/** magic, count (u32), reserved (u32), covered bytes, smallest key, largest key (f64 each). */
const SIDECAR_HEADER_BYTES = 40;
/** Keys read per step once the binary search has found a key's first pair. */
const READ_AHEAD_PAIRS = 256;

export interface HistoryIndexOptions {
  /** The keys an event is about. */
  readonly keysOf: (event: unknown) => Iterable<number>;
  readonly logger?: Logger;
}

export interface HistoryIndex {
  /** Every event the history still holds that is about `key`, in seq order. */
  lookup(key: number): Promise<StoredEvent[]>;
}

interface Sealed {
  readonly kind: 'sealed';
  readonly file: string;
  readonly count: number;
  readonly min: number;
  readonly max: number;
}

/** The last segment's index, in memory: pairs in record order, and how far the segment has been read. */
class Growing {
  readonly kind = 'growing';
  keys = new Float64Array(1024);
  offsets = new Uint32Array(1024);
  count = 0;
  covered = 0;
  min = Infinity;
  max = -Infinity;

  add(key: number, offset: number): void {
    if (this.count === this.keys.length) {
      const keys = new Float64Array(this.count * 2);
      keys.set(this.keys);
      this.keys = keys;
      const offsets = new Uint32Array(this.count * 2);
      offsets.set(this.offsets);
      this.offsets = offsets;
    }
    this.keys[this.count] = key;
    this.offsets[this.count++] = offset;
    if (key < this.min) this.min = key;
    if (key > this.max) this.max = key;
  }
}

export function openHistoryIndex(dir: string, options: HistoryIndexOptions): HistoryIndex {
  return new SegmentIndexes(resolve(dir), options);
}

class SegmentIndexes implements HistoryIndex {
  readonly #dir: string;
  readonly #keysOf: HistoryIndexOptions['keysOf'];
  readonly #log: Logger;
  readonly #bySeq = new Map<number, Sealed | Growing>();
  #turn: Promise<unknown> = Promise.resolve();

  constructor(dir: string, options: HistoryIndexOptions) {
    this.#dir = dir;
    this.#keysOf = options.keysOf;
    this.#log = options.logger ?? createLogger({ name: 'store' });
  }

  lookup(key: number): Promise<StoredEvent[]> {
    const run = this.#turn.then(() => this.#lookup(key));
    this.#turn = run.catch(() => undefined);
    return run;
  }

  async #lookup(key: number): Promise<StoredEvent[]> {
    const segments = await this.#segments();
    const found: StoredEvent[] = [];
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i] as FolderEntry;
      const index = await this.#indexOf(segment, i === segments.length - 1);
      if (key < index.min || key > index.max) continue;
      const offsets = index.kind === 'sealed' ? await sealedOffsets(index, key) : growingOffsets(index, key);
      if (offsets.length === 0) continue;
      const handle = await openSegment(this.#dir, segment);
      if (!handle) continue; // dropped from the history since the listing
      try {
        for (const offset of offsets) {
          const stored = await readRecordAt(handle, offset);
          if (stored) found.push(stored);
        }
      } finally {
        await handle.close();
      }
    }
    return found.sort((a, b) => a.seq - b.seq);
  }

  /** The history's segments (archive and live, each once, by first seq); forgets the indexes of those gone. */
  async #segments(): Promise<FolderEntry[]> {
    const live = await listFolder(this.#dir);
    const archived = await listFolder(join(this.#dir, HISTORY_FOLDER)).catch((err: unknown) => {
      ignoreMissing(err);
      return { segments: [] };
    });
    const bySeq = new Map<number, FolderEntry>();
    for (const s of [...live.segments, ...archived.segments]) if (!bySeq.has(s.seq)) bySeq.set(s.seq, s);
    for (const seq of [...this.#bySeq.keys()]) if (!bySeq.has(seq)) this.#bySeq.delete(seq);
    await this.#removeOrphans(bySeq);
    return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  async #removeOrphans(segments: ReadonlyMap<number, FolderEntry>): Promise<void> {
    const names = await readdir(join(this.#dir, INDEX_FOLDER)).catch((err: unknown) => {
      ignoreMissing(err);
      return [] as string[];
    });
    for (const name of names) {
      const seq = /^segment-(\d{20})\.idx$/.exec(name)?.[1];
      if (seq !== undefined && !segments.has(Number(seq))) await unlink(join(this.#dir, INDEX_FOLDER, name)).catch(ignoreMissing);
    }
  }

  async #indexOf(segment: FolderEntry, last: boolean): Promise<Sealed | Growing> {
    const known = this.#bySeq.get(segment.seq);
    if (known?.kind === 'sealed') return known;
    const file = join(this.#dir, INDEX_FOLDER, `${basename(segment.path, '.log')}.idx`);
    if (!known) {
      const sealed = last ? undefined : await readSidecarHeader(file);
      if (sealed) {
        this.#bySeq.set(segment.seq, sealed);
        return sealed;
      }
    }
    const growing = known ?? new Growing();
    this.#bySeq.set(segment.seq, growing);
    await this.#extend(segment, growing);
    if (last) return growing;
    const sealed = await writeSidecar(file, growing);
    this.#bySeq.set(segment.seq, sealed);
    return sealed;
  }

  /** Indexes the segment's intact records from where `index` stopped. */
  async #extend(segment: FolderEntry, index: Growing): Promise<void> {
    const handle = await openSegment(this.#dir, segment);
    if (!handle) return;
    let bytes: Buffer;
    try {
      const size = (await handle.stat()).size;
      if (size <= index.covered) return;
      bytes = Buffer.alloc(size - index.covered);
      await readFully(handle, bytes, index.covered);
    } finally {
      await handle.close();
    }
    let offset = 0;
    const seen = new Set<number>();
    while (offset < bytes.length) {
      const record = checkRecord(bytes, offset);
      if (!record.ok) break; // the end of what is written so far (or a torn tail): read on next time
      let event: unknown;
      try {
        event = decodePayload(bytes.subarray(record.payloadStart, record.next));
      } catch (err) {
        this.#log.warn({ file: segment.path, offset: index.covered + offset, err }, 'history index: a record does not decode; it is left out');
      }
      seen.clear();
      if (event !== undefined) {
        for (const key of this.#keysOf(event)) {
          if (seen.has(key)) continue;
          seen.add(key);
          index.add(key, index.covered + offset);
        }
      }
      offset = record.next;
    }
    index.covered += offset;
  }
}

function growingOffsets(index: Growing, key: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < index.count; i++) if (index.keys[i] === key) out.push(index.offsets[i] as number);
  return out;
}

async function readSidecarHeader(file: string): Promise<Sealed | undefined> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, 'r');
    const header = Buffer.alloc(SIDECAR_HEADER_BYTES);
    const { bytesRead } = await handle.read(header, 0, SIDECAR_HEADER_BYTES, 0);
    const count = header.readUInt32LE(8);
    const size = (await handle.stat()).size;
    if (bytesRead < SIDECAR_HEADER_BYTES || !header.subarray(0, 8).equals(MAGIC) || size !== SIDECAR_HEADER_BYTES + 12 * count) return undefined;
    return { kind: 'sealed', file, count, min: header.readDoubleLE(24), max: header.readDoubleLE(32) };
  } catch (err) {
    ignoreMissing(err);
    return undefined;
  } finally {
    await handle?.close();
  }
}

/** Writes a sealed segment's index, pairs sorted by key (then offset). */
async function writeSidecar(file: string, index: Growing): Promise<Sealed> {
  const order = new Uint32Array(index.count);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => (index.keys[a] as number) - (index.keys[b] as number) || (index.offsets[a] as number) - (index.offsets[b] as number));
  const bytes = Buffer.alloc(SIDECAR_HEADER_BYTES + 12 * index.count);
  MAGIC.copy(bytes, 0);
  bytes.writeUInt32LE(index.count, 8);
  bytes.writeDoubleLE(index.covered, 16);
  bytes.writeDoubleLE(index.count ? index.min : 0, 24);
  bytes.writeDoubleLE(index.count ? index.max : -1, 32);
  const offsetsAt = SIDECAR_HEADER_BYTES + 8 * index.count;
  for (let i = 0; i < order.length; i++) {
    const from = order[i] as number;
    bytes.writeDoubleLE(index.keys[from] as number, SIDECAR_HEADER_BYTES + 8 * i);
    bytes.writeUInt32LE(index.offsets[from] as number, offsetsAt + 4 * i);
  }
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(`${file}.tmp`, bytes);
  await rename(`${file}.tmp`, file);
  return { kind: 'sealed', file, count: index.count, min: index.count ? index.min : 0, max: index.count ? index.max : -1 };
}

/** The offsets of `key`'s records in a sealed segment: a binary search over the sidecar's sorted keys. */
async function sealedOffsets(index: Sealed, key: number): Promise<number[]> {
  const handle = await open(index.file, 'r').catch((err: unknown) => void ignoreMissing(err));
  if (!handle) return [];
  try {
    const cell = Buffer.alloc(8);
    const keyAt = async (i: number): Promise<number> => {
      await handle.read(cell, 0, 8, SIDECAR_HEADER_BYTES + 8 * i);
      return cell.readDoubleLE(0);
    };
    let lo = 0;
    let hi = index.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((await keyAt(mid)) < key) lo = mid + 1;
      else hi = mid;
    }
    const out: number[] = [];
    const keys = Buffer.alloc(8 * READ_AHEAD_PAIRS);
    const offsets = Buffer.alloc(4 * READ_AHEAD_PAIRS);
    for (let at = lo; at < index.count; at += READ_AHEAD_PAIRS) {
      const n = Math.min(READ_AHEAD_PAIRS, index.count - at);
      await handle.read(keys, 0, 8 * n, SIDECAR_HEADER_BYTES + 8 * at);
      await handle.read(offsets, 0, 4 * n, SIDECAR_HEADER_BYTES + 8 * index.count + 4 * at);
      let i = 0;
      while (i < n && keys.readDoubleLE(8 * i) === key) out.push(offsets.readUInt32LE(4 * i++));
      if (i < n) break;
    }
    return out;
  } finally {
    await handle.close();
  }
}

/** The segment's file wherever it is now (compaction may have moved it into the archive), or undefined. */
async function openSegment(dir: string, segment: FolderEntry): Promise<FileHandle | undefined> {
  for (const path of [segment.path, join(dir, HISTORY_FOLDER, basename(segment.path))]) {
    try {
      return await open(path, 'r');
    } catch (err) {
      ignoreMissing(err);
    }
  }
  return undefined;
}

async function readFully(handle: FileHandle, into: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
}

/** The record at `offset`, checked (length, checksum) and decoded; undefined if it is not intact there. */
async function readRecordAt(handle: FileHandle, offset: number): Promise<StoredEvent | undefined> {
  const header = Buffer.alloc(RECORD_HEADER_BYTES);
  await readFully(handle, header, offset);
  const length = header.readUInt32LE(0);
  if (length > RECORD_PAYLOAD_LIMIT) return undefined;
  const bytes = Buffer.alloc(RECORD_HEADER_BYTES + length);
  await readFully(handle, bytes, offset);
  const record = checkRecord(bytes, 0);
  if (!record.ok) return undefined;
  return { seq: record.seq, epoch: record.epoch, event: decodePayload(bytes.subarray(record.payloadStart, record.next)) };
}

// Exported for the store's tests: how big a sealed segment's sidecar is.
export async function sidecarBytes(dir: string, segmentSeq: number): Promise<number | undefined> {
  const file = join(resolve(dir), INDEX_FOLDER, `segment-${String(segmentSeq).padStart(20, '0')}.idx`);
  return stat(file).then(
    (s) => s.size,
    () => undefined,
  );
}
