/**
 * The etcd store at one point, for a snapshot folded off the main thread (the etcd counterpart of
 * point-reader.ts): the newest snapshot at or before seq S and the log's events after it up to S, read with
 * a client of its own (it runs on a CPU-pool thread, which shares nothing with the main thread's client)
 * at one etcd revision. Read-only: it writes nothing and needs no fence.
 */
import { rangeError } from '../errors/index.js';
import type { Snapshot, StoredEvent } from './store.js';
import { etcdClient, type EtcdTls } from './etcd-client.js';
import { EtcdKeys } from './etcd-keys.js';
import { eventsAfter, readStore } from './etcd-log-reader.js';

export interface EtcdPointArgs {
  readonly endpoints: readonly string[];
  readonly tls?: EtcdTls;
  readonly prefix: string;
  /** A seq the log holds durably. */
  readonly seq: number;
}

export interface EtcdPoint {
  readonly snapshot: Snapshot | undefined;
  /** The events after the snapshot (all, without one) up to `seq`, in order. */
  readonly events: readonly StoredEvent[];
}

export async function readEtcdPoint(args: EtcdPointArgs): Promise<EtcdPoint> {
  if (!Number.isSafeInteger(args.seq) || args.seq < 0) throw rangeError('MUSTER_ERR_INVALID_VALUE', `a point to read the store at must be a non-negative integer seq, not ${String(args.seq)}`);
  const client = etcdClient(args);
  try {
    const read = await readStore(client, new EtcdKeys(args.prefix), undefined);
    if (read.from > args.seq) throw rangeError('MUSTER_ERR_INVALID_VALUE', `the newest snapshot (seq ${read.from}) is past seq ${args.seq}`);
    if (read.lastSeq < args.seq) throw rangeError('MUSTER_ERR_INVALID_VALUE', `seq ${args.seq} is past the log, which ends at seq ${read.lastSeq}`);
    const events = eventsAfter(read.batches.slice(0, read.batches.length - read.dangling), read.from).filter((e) => e.seq <= args.seq);
    return { snapshot: read.snapshot, events };
  } finally {
    client.close();
  }
}
