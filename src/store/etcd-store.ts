/**
 * The etcd store: the EventStore in etcd, for high availability (README.md has the layout, fencing,
 * snapshots, compaction and what a million jobs cost). One writer at a time: the leader, whose election key
 * and its create revision (`fence`) guard every write it makes; once that key is gone (its lease expired or
 * was revoked, a newer leader elected) every write is refused with `MUSTER_ERR_FENCED` and writes nothing.
 *
 * `recover()` must come first: it checks the fence, reads the snapshot and the log, removes the dangling end
 * of a group its predecessor left half written, and makes appends continue after the last seq. Appends are
 * gathered into group commits (group-commit.ts) and written by the etcd sink (etcd-log-sink.ts); `recover`,
 * `writeSnapshot`, `compact` and `close` run one at a time, appends flow beside them. The store does not own
 * the client: `close()` leaves it open.
 */
import type { Etcd3 } from 'etcd3';
import { createLogger, type Logger } from '../log/index.js';
import { MusterError, rangeError, typeError } from '../errors/index.js';
import type { AppendResult, EventStore, Recovered } from './store.js';
import { BATCH_OVERHEAD_BYTES, type SnapshotManifest } from './etcd-batch.js';
import { checkFence, etcdCall, fencedTxn, isCompacted, type EtcdFence } from './etcd-calls.js';
import { EtcdKeys, keyAfter } from './etcd-keys.js';
import { batchHolding, eventsAfter, readStore } from './etcd-log-reader.js';
import { EtcdLogSink } from './etcd-log-sink.js';
import { writeEtcdSnapshot } from './etcd-snapshot.js';
import { GroupCommitter } from './group-commit.js';
import { OneAtATime } from './one-at-a-time.js';
import { ETCD_COMMIT_WINDOW_MS, ETCD_COMPACT_KEYS_PER_TXN, ETCD_TXN_VALUE_BYTES, GROUP_COMMIT_MAX_EVENTS } from './limits.js';

export type { EtcdFence } from './etcd-calls.js';

export interface EtcdStoreOptions {
  /** The caller's client; the store never closes it. */
  readonly client: Etcd3;
  /** Every key of the store starts with it, like `/muster` (no trailing `/`). */
  readonly prefix: string;
  /** The writer's election key and its create revision, which is this writer's epoch. */
  readonly fence: EtcdFence;
  /** Default: `createLogger({ name: 'store' })`. */
  readonly logger?: Logger;
  /** Default `ETCD_COMMIT_WINDOW_MS`; 0 writes each append's batch at once. */
  readonly commitWindowMs?: number;
  /** The most bytes of values per transaction (log batch, snapshot chunk); default and most `ETCD_TXN_VALUE_BYTES`. */
  readonly maxBatchBytes?: number;
}

export interface EtcdRecoverOptions {
  /**
   * The caller already holds the state through this seq (a standby that followed the log): while the log
   * still holds the seq after it, only the events after it come back, without the snapshot.
   */
  readonly after?: number;
}

/** The smallest `maxBatchBytes`: a batch must hold an event of a few hundred bytes beside its own fields. */
const MIN_BATCH_BYTES = 1024;

/** Checks the options and the fence (`MUSTER_ERR_FENCED` if it does not hold); call `recover()` next. */
export async function openEtcdStore(options: EtcdStoreOptions): Promise<EtcdStore> {
  const { client, fence, commitWindowMs, maxBatchBytes } = options;
  if (client === null || typeof client !== 'object' || typeof client.kv?.txn !== 'function') throw typeError('MUSTER_ERR_INVALID_TYPE', 'the etcd store needs an Etcd3 client');
  if (typeof fence?.key !== 'string' || fence.key === '' || !Number.isSafeInteger(fence.epoch) || fence.epoch < 1) {
    throw rangeError('MUSTER_ERR_INVALID_VALUE', `a fence is an election key and its create revision (a positive integer), not ${JSON.stringify(fence)}`);
  }
  if (commitWindowMs !== undefined && !(commitWindowMs >= 0 && Number.isFinite(commitWindowMs))) {
    throw rangeError('MUSTER_ERR_INVALID_VALUE', `commitWindowMs must be 0 or more, not ${String(commitWindowMs)}`);
  }
  if (maxBatchBytes !== undefined && !(Number.isSafeInteger(maxBatchBytes) && maxBatchBytes >= MIN_BATCH_BYTES && maxBatchBytes <= ETCD_TXN_VALUE_BYTES)) {
    throw rangeError('MUSTER_ERR_INVALID_VALUE', `maxBatchBytes must be an integer from ${MIN_BATCH_BYTES} to ${ETCD_TXN_VALUE_BYTES}, not ${String(maxBatchBytes)}`);
  }
  const store = new EtcdStore(options, new EtcdKeys(options.prefix));
  await checkFence(client, fence, 'opening the etcd store');
  return store;
}

export class EtcdStore implements EventStore {
  readonly #client: Etcd3;
  readonly #keys: EtcdKeys;
  readonly #fence: EtcdFence;
  readonly #log: Logger;
  readonly #windowMs: number;
  readonly #batchBytes: number;
  /** Set by `recover()`. */
  #committer: GroupCommitter | undefined;
  /** The snapshot in force, as this writer last read or wrote it. */
  #manifest: SnapshotManifest | undefined;
  /** Sticky: the fence failed on a snapshot or compaction write (the committer keeps its own). */
  #failure: MusterError | undefined;
  #closed = false;
  /** `recover`, `writeSnapshot`, `compact` and `close` run one after another on this chain. */
  readonly #chain = new OneAtATime();

  constructor(options: EtcdStoreOptions, keys: EtcdKeys) {
    this.#client = options.client;
    this.#keys = keys;
    this.#fence = { key: options.fence.key, epoch: options.fence.epoch };
    this.#log = options.logger ?? createLogger({ name: 'store' });
    this.#windowMs = options.commitWindowMs ?? ETCD_COMMIT_WINDOW_MS;
    this.#batchBytes = options.maxBatchBytes ?? ETCD_TXN_VALUE_BYTES;
  }

  get prefix(): string {
    return this.#keys.prefix;
  }

  /** The epoch every write of this store carries: the fence key's create revision. */
  get epoch(): number {
    return this.#fence.epoch;
  }

  recover(options: EtcdRecoverOptions = {}): Promise<Recovered> {
    const { after } = options;
    if (after !== undefined && !(Number.isSafeInteger(after) && after >= 0)) {
      return Promise.reject(rangeError('MUSTER_ERR_INVALID_VALUE', `after must be a seq (an integer, 0 or more), not ${String(after)}`));
    }
    return this.#exclusive(async () => {
      if (this.#failure !== undefined) throw this.#failure;
      const previous = this.#committer;
      this.#committer = undefined;
      if (previous !== undefined) {
        if (previous.failure !== undefined) throw previous.failure;
        await previous.flush();
      }
      const read = await this.#fenced(async () => {
        await checkFence(this.#client, this.#fence, 'recover');
        const read = await readStore(this.#client, this.#keys, after);
        const dangling = read.batches.slice(read.batches.length - read.dangling);
        const first = dangling[0];
        const last = dangling.at(-1);
        if (first !== undefined && last !== undefined) {
          // A group its writer left half written was never acknowledged: it goes, so the log continues here.
          await fencedTxn(this.#client, this.#fence, `deleting the unfinished group at seqs ${first.firstSeq}..${last.lastSeq}`, {
            success: [{ request_delete_range: { key: first.key, range_end: keyAfter(last.key) } }],
          });
          this.#log.warn({ firstSeq: first.firstSeq, lastSeq: last.lastSeq, keys: dangling.length }, `deleted an unfinished group of ${dangling.length} log keys (seqs ${first.firstSeq}..${last.lastSeq}) whose writer stopped before its last key`);
        }
        return read;
      });
      this.#manifest = read.manifest;
      const sink = new EtcdLogSink(this.#client, this.#fence, this.#keys, this.#batchBytes, this.#log);
      this.#committer = new GroupCommitter(sink, read.lastSeq, {
        windowMs: this.#windowMs,
        maxBytes: this.#batchBytes,
        maxEvents: GROUP_COMMIT_MAX_EVENTS,
        maxEventBytes: this.#batchBytes - BATCH_OVERHEAD_BYTES,
      });
      const events = eventsAfter(read.batches.slice(0, read.batches.length - read.dangling), read.from);
      const { snapshot } = read;
      this.#log.info(
        { prefix: this.#keys.prefix, snapshotSeq: snapshot?.seq ?? null, after: after ?? null, events: events.length, lastSeq: read.lastSeq, epoch: this.#fence.epoch },
        `recovered ${events.length} events after ${snapshot !== undefined ? `the snapshot at seq ${snapshot.seq}` : after !== undefined ? `seq ${after}` : 'no snapshot'}; last seq ${read.lastSeq}, epoch ${this.#fence.epoch}`,
      );
      return { snapshot, events, lastSeq: read.lastSeq, epoch: this.#fence.epoch };
    });
  }

  append(epoch: number, events: readonly unknown[]): Promise<AppendResult> {
    // Not `async`: the committer's promise is returned as it is (one promise per append, not two).
    try {
      this.#checkOpen();
      if (!Number.isSafeInteger(epoch) || epoch < 0) throw rangeError('MUSTER_ERR_INVALID_VALUE', `an epoch must be a non-negative integer, not ${String(epoch)}`);
      if (!Array.isArray(events)) throw typeError('MUSTER_ERR_INVALID_TYPE', `append takes an array of events, not ${typeof events}`);
      if (this.#failure !== undefined) throw this.#failure;
      const committer = this.#committer;
      if (committer === undefined) throw rangeError('MUSTER_ERR_FENCED', 'appends need recover() first');
      if (epoch !== this.#fence.epoch) throw rangeError('MUSTER_ERR_FENCED', `epoch ${epoch} is not this writer's: the store writes with epoch ${this.#fence.epoch}`);
      // Records carry no epoch here (etcd revisions outgrow the record's 32 bits): the sink writes the fence's.
      return committer.append(0, events);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  writeSnapshot(seq: number, state: Uint8Array): Promise<void> {
    try {
      this.#checkOpen();
      if (!(state instanceof Uint8Array)) throw typeError('MUSTER_ERR_INVALID_TYPE', 'a snapshot state must be a Uint8Array');
      if (!Number.isSafeInteger(seq) || seq < 0) throw rangeError('MUSTER_ERR_INVALID_VALUE', `a snapshot seq must be a non-negative integer, not ${String(seq)}`);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#exclusive(async () => {
      const committer = this.#requireWriting('writeSnapshot');
      const newest = this.#manifest?.seq ?? 0;
      if (seq > committer.lastAssignedSeq) throw rangeError('MUSTER_ERR_INVALID_VALUE', `a snapshot at seq ${seq} is beyond the log, which ends at seq ${committer.lastAssignedSeq}`);
      if (seq < newest) throw rangeError('MUSTER_ERR_INVALID_VALUE', `a snapshot at seq ${seq} is older than the newest snapshot (seq ${newest})`);
      if (this.#manifest?.seq === seq) {
        // The same point's state again: the stored one stays (rewriting chunks under the manifest in force
        // would break it if this writer stopped midway).
        this.#log.info({ seq }, `a snapshot at seq ${seq} is already stored; kept`);
        return;
      }
      if (seq > committer.durableSeq) await committer.flush();
      const manifest = await this.#fenced(() => writeEtcdSnapshot({ client: this.#client, fence: this.#fence, keys: this.#keys, seq, state, chunkBytes: this.#batchBytes }));
      this.#manifest = manifest;
      this.#log.info({ seq, bytes: manifest.bytes, chunks: manifest.chunks }, `wrote the snapshot at seq ${seq}: ${manifest.bytes} bytes in ${manifest.chunks} chunks`);
    });
  }

  /**
   * Deletes the log keys the snapshot covers (a key whose last seq is at or below the snapshot's), a
   * thousand per fenced transaction, then compacts etcd's revision history up to the last of them.
   */
  compact(): Promise<void> {
    return this.#exclusive(async () => {
      this.#requireWriting('compact');
      const snapshotSeq = this.#manifest?.seq;
      let revision = 0;
      let deleted = 0;
      await this.#fenced(async () => {
        if (snapshotSeq !== undefined) {
          const holder = await batchHolding(this.#client, this.#keys, snapshotSeq + 1, 0);
          const end = holder !== undefined && holder.lastSeq > snapshotSeq ? holder.key : this.#keys.log(snapshotSeq + 1);
          for (;;) {
            const page = await etcdCall('listing the log keys the snapshot covers', (o) =>
              this.#client.kv.range({ key: this.#keys.logStart, range_end: end, keys_only: true, limit: ETCD_COMPACT_KEYS_PER_TXN }, o),
            );
            const first = page.kvs[0];
            const last = page.kvs.at(-1);
            if (first === undefined || last === undefined) break;
            const response = await fencedTxn(this.#client, this.#fence, `deleting ${page.kvs.length} log keys the snapshot at seq ${snapshotSeq} covers`, {
              success: [{ request_delete_range: { key: first.key, range_end: keyAfter(last.key) } }],
            });
            revision = Number(response.header.revision);
            deleted += page.kvs.length;
          }
        }
        // No deletion proved the fence: check it before touching etcd's history (an unfenced call).
        if (revision === 0) await checkFence(this.#client, this.#fence, 'compact');
      });
      if (revision === 0) revision = Number((await etcdCall('reading the revision', (o) => this.#client.kv.range({ key: this.#keys.manifest, count_only: true }, o))).header.revision);
      try {
        await etcdCall(`compacting etcd's history to revision ${revision}`, (o) => this.#client.kv.compact({ revision }, o));
      } catch (err) {
        if (!isCompacted(err)) throw err; // already compacted that far (by us or another client): done
      }
      this.#log.info({ snapshotSeq: snapshotSeq ?? null, deleted, revision }, `compacted: ${deleted} log keys covered by ${snapshotSeq === undefined ? 'no snapshot' : `the snapshot at seq ${snapshotSeq}`} deleted; etcd's history compacted to revision ${revision}`);
    });
  }

  close(): Promise<void> {
    if (this.#closed) return this.#chain.idle();
    this.#closed = true;
    return this.#chain.last(async () => {
      const committer = this.#committer;
      this.#committer = undefined;
      if (committer !== undefined && committer.failure === undefined) await committer.flush();
    });
  }

  /** Runs a fenced operation; a fence failure makes the store refuse every later write with it. */
  async #fenced<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      if (err instanceof MusterError && err.code === 'MUSTER_ERR_FENCED') this.#failure ??= err;
      throw err;
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new MusterError('MUSTER_ERR_STORE_CLOSED', `the etcd store at ${this.#keys.prefix} is closed`);
  }

  #requireWriting(operation: string): GroupCommitter {
    this.#checkOpen();
    if (this.#failure !== undefined) throw this.#failure;
    const committer = this.#committer;
    if (committer === undefined) throw new MusterError('MUSTER_ERR_FENCED', `${operation} needs recover() first`);
    if (committer.failure !== undefined) throw committer.failure;
    return committer;
  }

  #exclusive<T>(operation: () => Promise<T>): Promise<T> {
    return this.#chain.run(() => this.#checkOpen(), operation);
  }

}
