/**
 * The store's public door: the EventStore contract (store.ts), the embedded store on a local data folder,
 * the etcd store and its log follower (for hot standbys). Everything else in this folder is internal.
 */
export type { AppendResult, EventStore, Recovered, Snapshot, StoredEvent } from './store.js';
export { openEmbeddedStore } from './embedded-store.js';
export type { EmbeddedStore, EmbeddedStoreOptions } from './embedded-store.js';
export { openEtcdStore } from './etcd-store.js';
export type { EtcdFence, EtcdRecoverOptions, EtcdStore, EtcdStoreOptions } from './etcd-store.js';
export { followEtcdLog } from './etcd-follower.js';
export { readEtcdPoint } from './etcd-point.js';
export { etcdClient, ETCD_DIAL_TIMEOUT_MS } from './etcd-client.js';
export type { EtcdConnection, EtcdTls } from './etcd-client.js';
export type { EtcdPoint, EtcdPointArgs } from './etcd-point.js';
export type { LogFollower, LogFollowerOptions } from './etcd-follower.js';
export type { OpenFile, OpenFlags, StoreFile } from './file-system.js';
export { failureCause, openNodeFile } from './file-system.js';
export { STORE_FAULTS_ENV, describeStoreFault, injectStoreFaults, parseStoreFaults } from './fault-injection.js';
export type { FaultErrno, FaultOperation, StoreFault } from './fault-injection.js';
export { GROUP_COMMIT_MAX_BYTES, GROUP_COMMIT_MAX_EVENTS, GROUP_COMMIT_WINDOW_MS, HISTORY_BYTES_LIMIT, SEGMENT_BYTES_LIMIT } from './limits.js';
export { ETCD_CALL_DEADLINE_MS, ETCD_COMMIT_WINDOW_MS, ETCD_TXN_VALUE_BYTES } from './limits.js';
export { readHistory } from './history-reader.js';
export { readPoint } from './point-reader.js';
export { stageSnapshotFile } from './snapshot-file.js';
export type { StorePoint } from './point-reader.js';
// The folder lock also keeps two agents off one work folder (they would adopt each other's tasks).
export { acquireFolderLock } from './folder-lock.js';
export type { FolderLock, LockOwner } from './folder-lock.js';
export type { ReadHistoryOptions, StoreHistory } from './history-reader.js';
export { openHistoryIndex } from './history-index.js';
export type { HistoryIndex, HistoryIndexOptions } from './history-index.js';
