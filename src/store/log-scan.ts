/**
 * Recovery of the log: reads the segments after a snapshot, checks every record, repairs a torn tail and
 * returns the events. The rules (README "Recovery rules"):
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

/** The segment a seq lives in, or would be appended to: the last one starting at or before it. */
export function segmentIndexFor(segments: readonly FolderEntry[], seq: number): number {
  let index = 0;
  for (let i = 0; i < segments.length; i++) if ((segments[i] as FolderEntry).seq <= seq) index = i;
  return index;
}

export async function scanLog(openFile: OpenFile, segments: readonly FolderEntry[], afterSeq: number, log: Logger): Promise<LogScan> {
  const events: StoredEvent[] = [];
  const first = segments[0];
  if (first === undefined) return { events, lastSeq: afterSeq, lastEpoch: 0, tail: undefined };
  if (first.seq > afterSeq + 1) {
    throw new MusterError('MUSTER_ERR_STORE_CORRUPT', `the log starts at seq ${first.seq} (${first.path}) but the snapshot ends at seq ${afterSeq}: events ${afterSeq + 1}..${first.seq - 1} are missing`);
  }
  let expected = -1;
  let lastEpoch = 0;
  let tail: LogScan['tail'];
  for (let i = segmentIndexFor(segments, afterSeq + 1); i < segments.length; i++) {
    const segment = segments[i] as FolderEntry;
    const isLast = i === segments.length - 1;
    if (expected !== -1 && segment.seq !== expected) {
      throw new MusterError('MUSTER_ERR_STORE_CORRUPT', `segment ${segment.path} starts at seq ${segment.seq}, but the previous segment ends at seq ${expected - 1}`);
    }
    expected = segment.seq;
    const bytes = await readFile(segment.path);
    let offset = 0;
    let committedEnd = 0;
    let committedEvents = events.length;
    let committedEpoch = lastEpoch;
    let committedExpected = expected;
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
      if (record.last) {
        committedEnd = offset;
        committedEvents = events.length;
        committedEpoch = lastEpoch;
        committedExpected = expected;
      }
    }
    if (committedEnd < bytes.length) {
      const where = `${segment.path} at offset ${damage === undefined ? committedEnd : offset}`;
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
      const cut = bytes.length - committedEnd;
      log.warn(
        { file: segment.path, offset: committedEnd, bytes: cut, reason: damage ?? 'unfinished append' },
        `truncating a torn tail: ${cut} bytes from offset ${committedEnd} of ${segment.path} (${damage ?? 'an append cut short'})`,
      );
      const handle = await openFile(segment.path, 'r+');
      try {
        await handle.truncate(committedEnd);
        await handle.sync();
      } finally {
        await handle.close();
      }
      expected = committedExpected;
      events.length = committedEvents;
      lastEpoch = committedEpoch;
    }
    if (isLast) tail = { path: segment.path, size: committedEnd };
  }
  return { events, lastSeq: expected - 1, lastEpoch, tail };
}
