/**
 * The history reader: every event the data folder still holds, from the archive (`history/`, see
 * history-archive.ts) through the live segments, in seq order, each once. It is read-only: it takes no lock
 * and writes nothing, so it may read the folder of a store another process has open (replay of a running
 * server). The records are checked by the rules recovery applies (log-scan.ts), with one difference: a torn
 * tail of the last segment — or an append the writer is in the middle of — is left out, never truncated.
 *
 * Racing the writer: the live folder is listed before the archive, so a segment compaction moves between the
 * two listings is seen twice and kept once; a segment moved after the listings is found in `history/` when
 * its read comes. A segment that retention drops before its read comes is `MUSTER_ERR_HISTORY_TRIMMED`.
 * Segments the writer starts after the listing are not read: the history is the log as of the listing.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { MusterError } from '../errors/index.js';
import { createLogger, type Logger } from '../log/index.js';
import { HISTORY_FOLDER, listFolder, type FolderEntry } from './data-folder.js';
import { checkChain, scanSegment, type ScanPosition } from './log-scan.js';
import { readMeta } from './meta.js';
import type { StoredEvent } from './store.js';

export interface ReadHistoryOptions {
  /** Default: `createLogger({ name: 'store' })`. */
  readonly logger?: Logger;
}

export interface StoreHistory {
  /**
   * The first seq the folder still holds: 1 when nothing was ever dropped (and for an empty log); more when
   * retention, or compaction with `historyBytes: 0`, deleted the oldest segments.
   */
  readonly firstSeq: number;
  /** Segments found (archived and live). */
  readonly segments: number;
  /** Every committed event from `firstSeq` on, in seq order, each once; reads one segment at a time. */
  events(): AsyncIterable<StoredEvent>;
}

/** Lists the history of the store folder `dir` (which must exist); read its events with `events()`. */
export async function readHistory(dir: string, options: ReadHistoryOptions = {}): Promise<StoreHistory> {
  const folder = resolve(dir);
  const log = options.logger ?? createLogger({ name: 'store' });
  await readMeta(folder); // refuses a folder of another format
  const live = await listFolder(folder);
  const archived = await listFolder(join(folder, HISTORY_FOLDER)).catch((err: unknown) => {
    if ((err as { code?: unknown }).code === 'ENOENT') return { segments: [] };
    throw err;
  });
  const bySeq = new Map<number, FolderEntry>();
  for (const segment of [...live.segments, ...archived.segments]) if (!bySeq.has(segment.seq)) bySeq.set(segment.seq, segment);
  const segments = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  return {
    firstSeq: segments[0]?.seq ?? 1,
    segments: segments.length,
    events: () => readSegments(folder, segments, log),
  };
}

async function* readSegments(folder: string, segments: readonly FolderEntry[], log: Logger): AsyncGenerator<StoredEvent> {
  let position: ScanPosition | undefined;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as FolderEntry;
    checkChain(segment, position?.nextSeq);
    const bytes = await readSegment(folder, segment);
    const scan = scanSegment(bytes, segment, { nextSeq: segment.seq, lastEpoch: position?.lastEpoch ?? 0 }, 0, i === segments.length - 1);
    if (scan.tear !== undefined) {
      const left = bytes.length - scan.committedEnd;
      log.info(
        { file: segment.path, offset: scan.committedEnd, bytes: left, reason: scan.tear },
        `reading history: leaving out ${left} bytes from offset ${scan.committedEnd} of ${segment.path} (${scan.tear}: a torn tail, or an append in progress); nothing is truncated`,
      );
    }
    position = scan;
    yield* scan.events;
  }
}

/** A segment's bytes, wherever it is now: compaction may have moved it from the data folder to the archive. */
export async function readSegment(folder: string, segment: FolderEntry): Promise<Buffer> {
  const name = basename(segment.path);
  const places = dirname(segment.path) === folder ? [segment.path, join(folder, HISTORY_FOLDER, name)] : [segment.path];
  for (const path of places) {
    try {
      return await readFile(path);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT') throw err;
    }
  }
  throw new MusterError('MUSTER_ERR_HISTORY_TRIMMED', `segment ${name} (from seq ${segment.seq}) was dropped from the history while it was being read; read it again`);
}
