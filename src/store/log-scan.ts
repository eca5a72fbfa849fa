/**
 * Reading the log: checks every record of the segments after a snapshot and returns the events. Recovery
 * (`scanLog`) repairs a torn tail; the read-only history reader (history-reader.ts) applies the same rules
 * and leaves the tail as it is. The rules (README "Recovery rules"):
 *
 * 1. Segments wholly covered by the snapshot are not read. The rest must chain: each starts at the seq after
 *    the previous one's last record, and the first read starts at or before the seq after the snapshot.
 * 2. Inside a segment, records must be intact (`checkRecord`), consecutive in seq and non-decreasing in
 *    epoch.
 * 3. The first damaged record of the LAST segment starts a torn tail when no intact record follows it
 *    anywhere in that segment: the file is truncated there (log line: file, offset, bytes, reason). If an
 *    intact record follows, acknowledged data lies behind the damage: `MUSTER_ERR_STORE_CORRUPT`.
 * 4. Records after the last one flagged "end of append" belong to an append that was cut short (it never
 *    resolved): they are truncated too, so an append is all there or not at all.
 * 5. Damage, or an unfinished append, in any segment but the last is `MUSTER_ERR_STORE_CORRUPT`: a segment
 *    was complete and fsynced before the next one was started, so no crash can explain it.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from '../log/index.js';
import { MusterError } from '../errors/index.js';
import type { StoredEvent } from './store.js';
import type { FolderEntry } from './data-folder.js';
import type { OpenFile } from './file-system.js';
import { checkRecord, decodePayload, findIntactRecordAfter } from './record-codec.js';

export interface LogScan {
  /** Events with seq above `afterSeq`, in order. */
  readonly events: StoredEvent[];
  /** The last intact, committed seq (`afterSeq` when the log holds nothing after it). */
  readonly lastSeq: number;
  /** The newest epoch in the records read. */
  readonly lastEpoch: number;
  /** The last segment after repair: appends continue there. */
  readonly tail: { readonly path: string; readonly size: number } | undefined;
}

/** Where a segment's check starts: the seq its first record must have, the oldest epoch it may carry. */
export interface ScanPosition {
  readonly nextSeq: number;
  readonly lastEpoch: number;
}

/** One segment's bytes, checked record by record (rules 2–5), up to the end of its last whole append. */
export interface SegmentScan extends ScanPosition {
  /** The committed events with seq above `afterSeq`. */
  readonly events: StoredEvent[];
  /** Offset just after the last record flagged "end of append". */
  readonly committedEnd: number;
  /** When bytes follow the committed end: why they are not part of the log (a torn tail). */
  readonly tear: string | undefined;
}

/** The segment a seq lives in, or would be appended to: the last one starting at or before it. */
export function segmentIndexFor(segments: readonly FolderEntry[], seq: number): number {
  let index = 0;
  for (let i = 0; i < segments.length; i++) if ((segments[i] as FolderEntry).seq <= seq) index = i;
  return index;
}

/** Rule 1: the segments must chain. `expected` is the seq after the previous segment's last record. */
export function checkChain(segment: FolderEntry, expected: number | undefined): void {
  if (expected !== undefined && segment.seq !== expected) {
    throw new MusterError('MUSTER_ERR_STORE_CORRUPT', `segment ${segment.path} starts at seq ${segment.seq}, but the previous segment ends at seq ${expected - 1}`);
  }
}

/**
 * Checks one segment's records from `start.nextSeq` on and decodes those above `afterSeq`. Damage or an
 * unfinished append is a tear when the segment is the last and no intact record lies behind it (rules 3, 4);
 * otherwise it is `MUSTER_ERR_STORE_CORRUPT` (rules 3, 5). Never writes.
 */
export function scanSegment(bytes: Buffer, segment: FolderEntry, start: ScanPosition, afterSeq: number, isLast: boolean): SegmentScan {
  const events: StoredEvent[] = [];
  let expected = start.nextSeq;
  let lastEpoch = start.lastEpoch;
  let offset = 0;
  let committed = { end: 0, events: 0, nextSeq: expected, lastEpoch };
  let damage: string | undefined;
  while (offset < bytes.length) {
    const record = checkRecord(bytes, offset);
    if (!record.ok) damage = record.reason;
    else if (record.seq !== expected) damage = `seq ${record.seq} where ${expected} was expected`;
    else if (record.epoch < lastEpoch) damage = `epoch ${record.epoch} after epoch ${lastEpoch}`;
    if (damage !== undefined || !record.ok) break; // (`!record.ok` narrows the type; damage is set then)
    if (record.seq > afterSeq) {
      let event: unknown;
      try {
        event = decodePayload(bytes.subarray(record.payloadStart, record.next));
      } catch (err) {
        throw new MusterError('MUSTER_ERR_STORE_CORRUPT', `${segment.path} offset ${offset}: an intact record (seq ${record.seq}) does not decode as msgpack`, { cause: err });
      }
      events.push({ seq: record.seq, epoch: record.epoch, event });
    }
    expected++;
    lastEpoch = record.epoch;
    offset = record.next;
    if (record.last) committed = { end: offset, events: events.length, nextSeq: expected, lastEpoch };
  }
  let tear: string | undefined;
  if (committed.end < bytes.length) {
    const where = `${segment.path} at offset ${damage === undefined ? committed.end : offset}`;
    if (!isLast) {
      throw new MusterError('MUSTER_ERR_STORE_CORRUPT', `${where}: ${damage ?? 'an unfinished append'} in a segment that is not the last; refusing to drop acknowledged events`);
    }
    if (damage !== undefined) {
      const intact = findIntactRecordAfter(bytes, offset + 1, expected);
      if (intact !== undefined) {
        throw new MusterError(
          'MUSTER_ERR_STORE_CORRUPT',
          `${where}: ${damage}, followed by an intact record (seq ${intact.seq} at offset ${intact.offset}); this is not a torn tail, refusing to drop acknowledged events`,
        );
      }
    }
    tear = damage ?? 'an append cut short';
    events.length = committed.events;
  }
  return { events, committedEnd: committed.end, nextSeq: committed.nextSeq, lastEpoch: committed.lastEpoch, tear };
}

export async function scanLog(openFile: OpenFile, segments: readonly FolderEntry[], afterSeq: number, log: Logger): Promise<LogScan> {
  const events: StoredEvent[] = [];
  const first = segments[0];
  if (first === undefined) return { events, lastSeq: afterSeq, lastEpoch: 0, tail: undefined };
  if (first.seq > afterSeq + 1) {
    throw new MusterError('MUSTER_ERR_STORE_CORRUPT', `the log starts at seq ${first.seq} (${first.path}) but the snapshot ends at seq ${afterSeq}: events ${afterSeq + 1}..${first.seq - 1} are missing`);
  }
  let position: ScanPosition | undefined;
  let tail: LogScan['tail'];
  for (let i = segmentIndexFor(segments, afterSeq + 1); i < segments.length; i++) {
    const segment = segments[i] as FolderEntry;
    const isLast = i === segments.length - 1;
    checkChain(segment, position?.nextSeq);
    const bytes = await readFile(segment.path);
    const scan = scanSegment(bytes, segment, { nextSeq: segment.seq, lastEpoch: position?.lastEpoch ?? 0 }, afterSeq, isLast);
    for (const e of scan.events) events.push(e);
    position = scan;
    if (scan.tear !== undefined) {
      const cut = bytes.length - scan.committedEnd;
      log.warn(
        { file: segment.path, offset: scan.committedEnd, bytes: cut, reason: scan.tear },
        `truncating a torn tail: ${cut} bytes from offset ${scan.committedEnd} of ${segment.path} (${scan.tear})`,
      );
      const handle = await openFile(segment.path, 'r+');
      try {
        await handle.truncate(scan.committedEnd);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    if (isLast) tail = { path: segment.path, size: scan.committedEnd };
  }
  return { events, lastSeq: (position?.nextSeq ?? afterSeq + 1) - 1, lastEpoch: position?.lastEpoch ?? 0, tail };
}
