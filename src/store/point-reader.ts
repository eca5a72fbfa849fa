/**
 * The point reader: what the data folder holds to rebuild the state after event `seq` — the newest snapshot
 * at or before `seq` and the committed events after that snapshot up to `seq`, in order, each once. Like the
 * history reader (history-reader.ts) it is read-only: no lock, no write, so a CPU-pool thread folds the
 * snapshot of a running store from it (src/scheduler/snapshot-fold.ts) while the store appends.
 *
 * `seq` must be durable when the read starts: every record up to it is then complete on disk, in a segment
 * the listing names (a segment the writer starts later holds only later records). Records are checked by the
 * recovery rules (log-scan.ts); records past `seq`, and an append the writer is in the middle of, are left
 * out, never truncated. Snapshots and compaction are the caller's: the one that reads here is the one that
 * would write the next snapshot, so the snapshot found and the segments after it stay put while it reads
 * (a segment compaction moved anyway is looked for in `history/`).
 */
import { resolve } from 'node:path';
import { MusterError, rangeError } from '../errors/index.js';
import { createLogger, type Logger } from '../log/index.js';
import { listFolder, type FolderEntry } from './data-folder.js';
import { readSegment } from './history-reader.js';
import { checkChain, scanSegment, segmentIndexFor, type ScanPosition } from './log-scan.js';
import { readMeta } from './meta.js';
import { readSnapshotFile } from './snapshot-file.js';
import type { Snapshot, StoredEvent } from './store.js';

export interface StorePoint {
  /** The event the read stops at. */
  readonly seq: number;
  /** The newest snapshot at or before `seq`; none when the folder has none (the log then starts at seq 1). */
  readonly snapshot: Snapshot | undefined;
  /** The events after the snapshot up to `seq`, in order; reads one segment at a time. Ends with seq `seq`. */
  events(): AsyncIterable<StoredEvent>;
}

/** Lists the data folder `dir` and reads its newest snapshot; the events follow with `events()`. */
export async function readPoint(dir: string, seq: number, options: { readonly logger?: Logger } = {}): Promise<StorePoint> {
  if (!Number.isSafeInteger(seq) || seq < 0) throw rangeError('MUSTER_ERR_INVALID_VALUE', `a point to read the store at must be a non-negative integer seq, not ${String(seq)}`);
  const folder = resolve(dir);
  const log = options.logger ?? createLogger({ name: 'store' });
  await readMeta(folder); // refuses a folder of another format
  const listing = await listFolder(folder);
  const newest = listing.snapshots.at(-1);
  if (newest !== undefined && newest.seq > seq) {
    throw rangeError('MUSTER_ERR_INVALID_VALUE', `the store's newest snapshot (seq ${newest.seq}) is past seq ${seq}: its log before it may be compacted away`);
  }
  const snapshot = newest === undefined ? undefined : await readSnapshotFile(newest.path, newest.seq);
  const after = snapshot?.seq ?? 0;
  const first = listing.segments[0];
  if (after < seq && (first === undefined || first.seq > after + 1)) {
    throw new MusterError('MUSTER_ERR_STORE_CORRUPT', `${folder}: the log needed after the snapshot (seq ${after + 1} to ${seq}) is not there; the live log starts at seq ${first?.seq ?? 'none'}`);
  }
  const segments = after < seq ? listing.segments.slice(segmentIndexFor(listing.segments, after + 1)) : [];
  return { seq, snapshot, events: () => readUpTo(folder, segments, after, seq, log) };
}

async function* readUpTo(folder: string, segments: readonly FolderEntry[], after: number, seq: number, log: Logger): AsyncGenerator<StoredEvent> {
  let position: ScanPosition | undefined;
  let reached = after;
  for (let i = 0; i < segments.length && reached < seq; i++) {
    const segment = segments[i] as FolderEntry;
    checkChain(segment, position?.nextSeq);
    const bytes = await readSegment(folder, segment);
    const scan = scanSegment(bytes, segment, { nextSeq: segment.seq, lastEpoch: position?.lastEpoch ?? 0 }, after, i === segments.length - 1);
    if (scan.tear !== undefined) log.debug({ file: segment.path, offset: scan.committedEnd, reason: scan.tear }, 'reading up to a point: an append in progress (or a torn tail) left out');
    position = scan;
    for (const stored of scan.events) {
      if (stored.seq > seq) break;
      reached = stored.seq;
      yield stored;
    }
  }
  if (reached < seq) throw rangeError('MUSTER_ERR_INVALID_VALUE', `${folder}: the committed log ends at seq ${reached}, before seq ${seq} (a point must be durable before it is read)`);
}
