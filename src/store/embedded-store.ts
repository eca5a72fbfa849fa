/**
 * The embedded store: the EventStore on a local data folder (README.md has the format, the recovery rules
 * and a glossary). It holds the folder lock from `openEmbeddedStore` to `close()`.
 *
 * `recover()` must come first: it rebuilds the view from the files, repairs a torn tail and opens a new
 * epoch (durably, in meta.json). Appends carry that epoch; an older one is fenced. `recover()` again (for
 * a new writer in the same process) flushes what is pending, fences the previous epoch and opens another.
 * `recover`, `writeSnapshot`, `compact` and `close` run one at a time; appends flow beside them.
 */
import { mkdir, rename, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createLogger, type Logger } from '../log/index.js';
import { MusterError, rangeError, typeError } from '../errors/index.js';
import type { AppendResult, EventStore, Recovered, Snapshot } from './store.js';
import { HISTORY_FOLDER, ignoreMissing, listFolder, snapshotName, syncFolder, TEMPORARY_SUFFIX, type FolderEntry } from './data-folder.js';
import { openNodeFile, type OpenFile } from './file-system.js';
import { OneAtATime } from './one-at-a-time.js';
import { acquireFolderLock, type FolderLock } from './folder-lock.js';
import { GroupCommitter } from './group-commit.js';
import { archiveSegments } from './history-archive.js';
import { EPOCH_LIMIT, GROUP_COMMIT_MAX_BYTES, GROUP_COMMIT_MAX_EVENTS, GROUP_COMMIT_WINDOW_MS, HISTORY_BYTES_LIMIT, SEGMENT_BYTES_LIMIT } from './limits.js';
import { scanLog } from './log-scan.js';
import { readMeta, STORE_FORMAT, writeMeta } from './meta.js';
import { SegmentWriter } from './segment-writer.js';
import { readSnapshotFile, writeSnapshotFile } from './snapshot-file.js';

export interface EmbeddedStoreOptions {
  /** The data folder; created if missing. */
  readonly dir: string;
  /** Default: `createLogger({ name: 'store' })`. */
  readonly logger?: Logger;
  /** Default `SEGMENT_BYTES_LIMIT`. */
  readonly segmentBytes?: number;
  /** Default `GROUP_COMMIT_WINDOW_MS`; 0 writes each append's group at once (no waiting for company). */
  readonly commitWindowMs?: number;
  /** Default `GROUP_COMMIT_MAX_BYTES`. */
  readonly commitMaxBytes?: number;
  /** Default `GROUP_COMMIT_MAX_EVENTS`. */
  readonly commitMaxEvents?: number;
  /**
   * The most bytes of archived segments `compact()` keeps in `history/` for replay (oldest dropped first).
   * Default `HISTORY_BYTES_LIMIT` (1 GiB); 0 deletes covered segments instead of archiving them.
   */
  readonly historyBytes?: number;
  /** The file-system seam (file-system.ts); tests count or fail writes through it. */
  readonly openFile?: OpenFile;
}

/** Locks the data folder (creating it if needed) and returns the store; call `recover()` next. */
export async function openEmbeddedStore(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  const dir = resolve(options.dir);
  const { historyBytes } = options;
  if (historyBytes !== undefined && !(historyBytes >= 0)) {
    throw rangeError('MUSTER_ERR_INVALID_VALUE', `historyBytes must be 0 or more (0 keeps no history), not ${String(historyBytes)}`);
  }
  const log = options.logger ?? createLogger({ name: 'store' });
  await mkdir(dir, { recursive: true });
  const lock = await acquireFolderLock(dir, log);
  try {
    const meta = await readMeta(dir);
    return new EmbeddedStore(dir, log, lock, meta.epoch, options);
  } catch (err) {
    await lock.release();
    throw err;
  }
}

interface Writing {
  readonly epoch: number;
  readonly writer: SegmentWriter;
  readonly committer: GroupCommitter;
}

export class EmbeddedStore implements EventStore {
  readonly #dir: string;
  readonly #log: Logger;
  readonly #lock: FolderLock;
  readonly #openFile: OpenFile;
  readonly #options: EmbeddedStoreOptions;
  /** The newest epoch ever opened (persisted, or being opened by a running `recover()`). */
  #newestEpoch: number;
  /** Set by `recover()`: the epoch appends must carry, where they go. */
  #writing: Writing | undefined;
  #snapshotSeq = 0;
  #closed = false;
  /** `recover`, `writeSnapshot`, `compact` and `close` run one after another on this chain. */
  readonly #chain = new OneAtATime();

  constructor(dir: string, log: Logger, lock: FolderLock, epoch: number, options: EmbeddedStoreOptions) {
    this.#dir = dir;
    this.#log = log;
    this.#lock = lock;
    this.#newestEpoch = epoch;
    this.#openFile = options.openFile ?? openNodeFile;
    this.#options = options;
  }

  get dir(): string {
    return this.#dir;
  }

  recover(): Promise<Recovered> {
    return this.#exclusive(async () => {
      // Fence the current writer at once: from here on its appends are refused.
      this.#newestEpoch++;
      const previous = this.#writing;
      this.#writing = undefined;
      if (previous !== undefined) {
        if (previous.committer.failure !== undefined) throw previous.committer.failure;
        await previous.committer.flush();
        await previous.writer.close();
      }
      const listing = await listFolder(this.#dir);
      for (const temporary of listing.temporaries) await unlink(temporary).catch(ignoreMissing);
      const newest = listing.snapshots.at(-1);
      const snapshot: Snapshot | undefined = newest === undefined ? undefined : await readSnapshotFile(newest.path, newest.seq);
      const scan = await scanLog(this.#openFile, listing.segments, snapshot?.seq ?? 0, this.#log);
      if (snapshot !== undefined && listing.segments.length > 0 && scan.lastSeq < snapshot.seq) {
        throw new MusterError('MUSTER_ERR_STORE_CORRUPT', `the snapshot ${newest?.path} is at seq ${snapshot.seq}, ahead of the log, which ends at seq ${scan.lastSeq}`);
      }
      // Older snapshots (a crash between writing a snapshot and removing the one before) go only now that
      // the newest and the log after it are known good: until then they are what a person repairing the
      // folder would fall back to.
      for (const older of listing.snapshots.slice(0, -1)) await unlink(older.path).catch(ignoreMissing);
      const epoch = Math.max(this.#newestEpoch, scan.lastEpoch + 1);
      if (epoch > EPOCH_LIMIT) throw new MusterError('MUSTER_ERR_STORE_CORRUPT', `no epoch left: the next would be ${epoch}`);
      await writeMeta(this.#openFile, this.#dir, { format: STORE_FORMAT, epoch });
      this.#newestEpoch = epoch;
      this.#snapshotSeq = snapshot?.seq ?? 0;
      const writer = new SegmentWriter(this.#openFile, this.#dir, scan.tail, this.#options.segmentBytes ?? SEGMENT_BYTES_LIMIT);
      const committer = new GroupCommitter(writer, scan.lastSeq, {
        windowMs: this.#options.commitWindowMs ?? GROUP_COMMIT_WINDOW_MS,
        maxBytes: this.#options.commitMaxBytes ?? GROUP_COMMIT_MAX_BYTES,
        maxEvents: this.#options.commitMaxEvents ?? GROUP_COMMIT_MAX_EVENTS,
      });
      this.#writing = { epoch, writer, committer };
      this.#log.info(
        { dir: this.#dir, snapshotSeq: snapshot?.seq ?? null, events: scan.events.length, lastSeq: scan.lastSeq, epoch },
        `recovered ${scan.events.length} events after ${snapshot === undefined ? 'no snapshot' : `the snapshot at seq ${snapshot.seq}`}; last seq ${scan.lastSeq}, epoch ${epoch}`,
      );
      return { snapshot, events: scan.events, lastSeq: scan.lastSeq, epoch };
    });
  }

  append(epoch: number, events: readonly unknown[]): Promise<AppendResult> {
    // Not `async`: the committer's promise is returned as it is (one promise per append, not two).
    try {
      return this.#committerFor(epoch, events).append(epoch, events);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Checks an append's arguments and epoch; the committer it goes to. */
  #committerFor(epoch: number, events: readonly unknown[]): GroupCommitter {
    this.#checkOpen();
    if (!Number.isSafeInteger(epoch) || epoch < 0 || epoch > EPOCH_LIMIT) {
      throw rangeError('MUSTER_ERR_INVALID_VALUE', `an epoch must be an integer from 0 to ${EPOCH_LIMIT}, not ${String(epoch)}`);
    }
    if (!Array.isArray(events)) throw typeError('MUSTER_ERR_INVALID_TYPE', `append takes an array of events, not ${typeof events}`);
    const writing = this.#writing;
    if (writing === undefined || epoch !== writing.epoch) {
      if (epoch <= this.#newestEpoch) {
        throw rangeError('MUSTER_ERR_FENCED', `epoch ${epoch} is fenced: the store has opened epoch ${this.#newestEpoch}${writing === undefined ? ' (call recover() to open a new one)' : ''}`);
      }
      throw rangeError('MUSTER_ERR_INVALID_VALUE', `epoch ${epoch} was never opened (the newest is ${this.#newestEpoch}); recover() returns the epoch to write with`);
    }
    return writing.committer;
  }

  writeSnapshot(seq: number, state: Uint8Array): Promise<void> {
    try {
      this.#checkOpen();
      if (!(state instanceof Uint8Array)) throw typeError('MUSTER_ERR_INVALID_TYPE', 'a snapshot state must be a Uint8Array');
      checkSnapshotSeq(seq);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#installSnapshot(seq, () => writeSnapshotFile(this.#openFile, this.#dir, seq, state));
  }

  /**
   * Makes a snapshot file staged by `stageSnapshotFile` (a CPU-pool thread wrote and fsynced it in this
   * folder) the newest snapshot: the same checks as `writeSnapshot`, then a rename and a folder fsync, so
   * the main thread never touches the state's bytes. A staged file that is refused is removed.
   */
  adoptSnapshot(seq: number, stagedPath: string): Promise<void> {
    const discard = (err: unknown): Promise<never> => unlink(stagedPath).catch(ignoreMissing).then(() => Promise.reject(err));
    try {
      this.#checkOpen();
      checkSnapshotSeq(seq);
      if (dirname(resolve(stagedPath)) !== this.#dir || !stagedPath.endsWith(TEMPORARY_SUFFIX)) {
        throw rangeError('MUSTER_ERR_INVALID_VALUE', `a staged snapshot must be a temporary file in ${this.#dir}, not ${stagedPath}`);
      }
    } catch (err) {
      return discard(err);
    }
    return this.#installSnapshot(seq, async () => {
      await rename(stagedPath, join(this.#dir, snapshotName(seq)));
      await syncFolder(this.#openFile, this.#dir);
    }).catch(discard);
  }

  /** Puts the snapshot at `seq` in place with `place` once the log holds `seq` durably; older ones go. */
  #installSnapshot(seq: number, place: () => Promise<void>): Promise<void> {
    return this.#exclusive(async () => {
      const { committer } = this.#requireWriting('writeSnapshot');
      if (seq > committer.lastAssignedSeq) {
        throw rangeError('MUSTER_ERR_INVALID_VALUE', `a snapshot at seq ${seq} is beyond the log, which ends at seq ${committer.lastAssignedSeq}`);
      }
      if (seq < this.#snapshotSeq) {
        throw rangeError('MUSTER_ERR_INVALID_VALUE', `a snapshot at seq ${seq} is older than the newest snapshot (seq ${this.#snapshotSeq})`);
      }
      if (seq > committer.durableSeq) await committer.flush();
      await place();
      this.#snapshotSeq = seq;
      const listing = await listFolder(this.#dir);
      const older = listing.snapshots.filter((s) => s.seq !== seq);
      for (const s of older) await unlink(s.path).catch(ignoreMissing);
      if (older.length > 0) await syncFolder(this.#openFile, this.#dir);
    });
  }

  compact(): Promise<void> {
    return this.#exclusive(async () => {
      const { writer } = this.#requireWriting('compact');
      const { segments } = await listFolder(this.#dir);
      // A segment is covered when the next one starts at or before the seq after the snapshot. The last
      // segment is never covered (appends go there), nor the writer's current one.
      const covered: FolderEntry[] = [];
      for (let i = 0; i + 1 < segments.length; i++) {
        const segment = segments[i];
        const next = segments[i + 1];
        if (segment === undefined || next === undefined || next.seq - 1 > this.#snapshotSeq || segment.path === writer.currentPath) break;
        covered.push(segment);
      }
      const { archived, dropped } = await archiveSegments(this.#openFile, this.#dir, covered, this.#options.historyBytes ?? HISTORY_BYTES_LIMIT);
      if (covered.length > 0) {
        this.#log.info(
          { dir: this.#dir, covered: covered.length, archived, dropped, snapshotSeq: this.#snapshotSeq },
          `compacted: ${covered.length} segments covered by the snapshot at seq ${this.#snapshotSeq}; ${archived} archived in ${HISTORY_FOLDER}/, ${dropped} deleted`,
        );
      }
    });
  }

  close(): Promise<void> {
    if (this.#closed) return this.#chain.idle();
    this.#closed = true;
    return this.#chain.last(async () => {
      const writing = this.#writing;
      this.#writing = undefined;
      try {
        if (writing !== undefined && writing.committer.failure === undefined) await writing.committer.flush();
      } finally {
        await writing?.writer.close();
        await this.#lock.release();
      }
    });
  }

  #checkOpen(): void {
    if (this.#closed) throw new MusterError('MUSTER_ERR_STORE_CLOSED', `the store on ${this.#dir} is closed`);
  }

  #requireWriting(operation: string): Writing {
    this.#checkOpen();
    const writing = this.#writing;
    if (writing === undefined) throw new MusterError('MUSTER_ERR_FENCED', `${operation} needs an open epoch: call recover() first`);
    if (writing.committer.failure !== undefined) throw writing.committer.failure;
    return writing;
  }

  #exclusive<T>(operation: () => Promise<T>): Promise<T> {
    return this.#chain.run(() => this.#checkOpen(), operation);
  }

}

function checkSnapshotSeq(seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0) throw rangeError('MUSTER_ERR_INVALID_VALUE', `a snapshot seq must be a non-negative integer, not ${String(seq)}`);
}
