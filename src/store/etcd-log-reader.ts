/**
 * Reading the etcd store: the newest snapshot and the log after it, or — for a reader that already holds
 * the state through seq `after` — only the log after `after` while the log still holds `after + 1`. Every
 * read of one call is at one etcd revision (the first read's), so the snapshot and the log agree however
 * long the read takes; a read whose revision etcd compacts meanwhile starts over.
 *
 * Checks: batches are consecutive from the starting point (the first one may begin before it: a batch
 * holding the snapshot's seq and more); a gap, a batch whose value disagrees with its key, or a snapshot that
 * does not match its manifest is `MUSTER_ERR_STORE_CORRUPT`. A trailing group whose end key is missing (its
 * writer stopped between two transactions of one group) is `dangling`: never part of the events.
 */
import type { Etcd3 } from 'etcd3';
import { MusterError, rangeError } from '../errors/index.js';
import type { Snapshot, StoredEvent } from './store.js';
import { decodeBatch, type LogBatch, type SnapshotManifest } from './etcd-batch.js';
import { isCompacted, lastKeyIn, readPaged } from './etcd-calls.js';
import { keyAfter, type EtcdKeys } from './etcd-keys.js';
import { readManifest, readSnapshotChunks } from './etcd-snapshot.js';

export interface StoreRead {
  /** The etcd revision every part was read at. */
  readonly revision: number;
  /** The manifest in force (read whether or not its snapshot was). */
  readonly manifest: SnapshotManifest | undefined;
  /** The snapshot, when the read starts from it. */
  readonly snapshot: Snapshot | undefined;
  /** The seq the read starts after: the snapshot's, or `after`. */
  readonly from: number;
  /** Batches holding seqs after `from`, in order: whole groups, then the `dangling` ones. */
  readonly batches: readonly LogBatch[];
  /** How many of the last `batches` belong to a group whose end key is missing. */
  readonly dangling: number;
  /** The last seq of a whole group (or `from` when there is none after it). */
  readonly lastSeq: number;
}

/** Reads that found their revision compacted start over at most this many times (each is a new revision). */
const COMPACTED_RETRIES = 3;

/**
 * Reads the store: with `after` undefined, the newest snapshot (if any) and the log after it; with `after`,
 * only the log after it when the log still holds `after + 1` or nothing follows `after`, else the newest
 * snapshot and the log after that. `after` beyond the store's last seq is `MUSTER_ERR_INVALID_VALUE`.
 */
export async function readStore(client: Etcd3, keys: EtcdKeys, after: number | undefined): Promise<StoreRead> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await readOnce(client, keys, after);
    } catch (err) {
      // A reader that started after `after` met a gap the newest snapshot covers: compaction took those keys
      // (seen with a member that had just come back from a pause). The snapshot and the log after it hold
      // everything: read from there.
      if (err instanceof CoveredGap && attempt < COMPACTED_RETRIES) {
        after = undefined;
        continue;
      }
      if (!isCompacted(err) || attempt >= COMPACTED_RETRIES) throw err instanceof CoveredGap ? err.failure : err;
    }
  }
}

/** A gap in the log read after `after` that the snapshot in force covers: read from the snapshot instead. */
class CoveredGap extends Error {
  readonly failure: MusterError;
  constructor(failure: MusterError) {
    super(failure.message);
    this.failure = failure;
  }
}

async function readOnce(client: Etcd3, keys: EtcdKeys, after: number | undefined): Promise<StoreRead> {
  const { manifest, revision } = await readManifest(client, keys, 0);
  let from = manifest?.seq ?? 0;
  let fromSnapshot = manifest !== undefined;
  let holder = await batchHolding(client, keys, from + 1, revision);
  if (after !== undefined) {
    const own = after === from ? holder : await batchHolding(client, keys, after + 1, revision);
    // The snapshot only when the log no longer holds what follows `after` and the snapshot is past it.
    if (holds(own, after + 1) || manifest === undefined || manifest.seq <= after) {
      const known = Math.max(own?.lastSeq ?? 0, manifest?.seq ?? 0);
      if (!holds(own, after + 1) && after > known) {
        throw rangeError('MUSTER_ERR_INVALID_VALUE', `a read after seq ${after} is beyond the store, whose last seq is ${known}`);
      }
      from = after;
      fromSnapshot = false;
      holder = own;
    }
  }
  const snapshot = fromSnapshot && manifest !== undefined ? await readSnapshotChunks(client, keys, manifest, revision) : undefined;
  const batches: LogBatch[] = [];
  const start = holds(holder, from + 1) ? (holder as LogBatch).key : keys.log(from + 1);
  await readPaged(client, `reading the log after seq ${from}`, { start, end: keys.logEnd, revision }, (kvs) => {
    for (const kv of kvs) {
      const batch = decodeLogKey(keys, kv.key, kv.value, Number(kv.mod_revision));
      const expected = (batches.at(-1)?.lastSeq ?? from) + 1;
      const fits = batches.length === 0 ? batch.firstSeq <= expected && batch.lastSeq >= expected : batch.firstSeq === expected;
      if (!fits) {
        const gap = new MusterError('MUSTER_ERR_STORE_CORRUPT', `the etcd log has a gap: seq ${expected} is missing (the next key, ${kv.key.toString()}, holds seqs ${batch.firstSeq}..${batch.lastSeq})`);
        throw !fromSnapshot && manifest !== undefined && manifest.seq >= expected ? new CoveredGap(gap) : gap;
      }
      batches.push(batch);
    }
  });
  let whole = batches.length;
  while (whole > 0 && !(batches[whole - 1] as LogBatch).end) whole--;
  const lastSeq = whole > 0 ? (batches[whole - 1] as LogBatch).lastSeq : from;
  return { revision, manifest, snapshot, from, batches, dangling: batches.length - whole, lastSeq };
}

/** The events of `batches` with a seq above `from`, in order. */
export function eventsAfter(batches: readonly LogBatch[], from: number): StoredEvent[] {
  const events: StoredEvent[] = [];
  for (const b of batches) {
    for (let i = Math.max(0, from + 1 - b.firstSeq); i < b.events.length; i++) events.push({ seq: b.firstSeq + i, epoch: b.epoch, event: b.events[i] });
  }
  return events;
}

/** The log batch whose first seq is the greatest at or below `seq` (the one holding `seq`, if any holds it). */
export async function batchHolding(client: Etcd3, keys: EtcdKeys, seq: number, revision: number): Promise<LogBatch | undefined> {
  const { kv } = await lastKeyIn(client, `finding the log key holding seq ${seq}`, keys.logStart, keyAfter(keys.log(seq)), revision);
  return kv === undefined ? undefined : decodeLogKey(keys, kv.key, kv.value, Number(kv.mod_revision));
}

export function decodeLogKey(keys: EtcdKeys, key: Buffer, value: Buffer, revision: number): LogBatch {
  const seq = keys.seqOfLogKey(key);
  if (seq === undefined) throw new MusterError('MUSTER_ERR_STORE_CORRUPT', `a key under ${keys.logStart.toString()} is not a log key: ${key.toString()}`);
  return decodeBatch(key, seq, value, revision);
}

function holds(batch: LogBatch | undefined, seq: number): boolean {
  return batch !== undefined && batch.firstSeq <= seq && batch.lastSeq >= seq;
}
