/**
 * Snapshots with the etcd store: a CPU-pool thread folds the state at the point from etcd itself (the newest
 * snapshot and the log up to it, read at one revision with a client of its own), and the leader writes the
 * bytes as fenced chunks and a manifest (`EtcdStore.writeSnapshot`), then compacts the log keys and etcd's
 * revisions the snapshot covers. The fold reads only what is durable, so the state is the one after seq S by
 * construction, as with the embedded store.
 */
import { etcdSnapshotAt } from '../scheduler/index.js';
import type { EtcdConnection, EtcdStore } from '../store/index.js';
import type { SnapshotWriter } from './snapshots.js';

export function etcdSnapshots(store: EtcdStore, where: EtcdConnection & { readonly prefix: string }): SnapshotWriter {
  return {
    async write(seq, signal) {
      const bytes = await etcdSnapshotAt({ endpoints: where.endpoints, ...(where.tls ? { tls: where.tls } : {}), prefix: where.prefix, seq }, signal);
      await store.writeSnapshot(seq, bytes);
      return bytes.length;
    },
    compact: () => store.compact(),
  };
}
