/**
 * The store interface: an append-only log of events in group commits, plus snapshots. Two stores implement
 * it: the embedded store (a local data folder, `npm start`'s default; embedded-store.ts) and the etcd store
 * (high availability: the log in etcd, every write fenced by the leader's election key; etcd-store.ts). One
 * contract suite runs against both (test/store/contract.ts). The store knows nothing of what the events
 * mean: it keeps opaque payloads (plain data, msgpack-encodable) in order, durably, and fenced by epoch.
 *
 * Contract:
 * - `append(epoch, events)` resolves once the events are durable (fsynced; in etcd, committed by a quorum),
 *   with their sequence numbers (consecutive, starting at 1 for the first event ever). Appends that arrive
 *   within one group-commit window share one write, and resolve together, in order. An append is there
 *   whole or not at all.
 * - A write of a deposed writer (embedded: an epoch older than the newest opened; etcd: an epoch other than
 *   the create revision of the writer's election key, or that key gone) is refused with `MUSTER_ERR_FENCED`
 *   and writes nothing. Before `recover()` every write is fenced.
 * - `recover()` returns the newest snapshot (if any) and every durable event after it, in order, each
 *   exactly once. An event whose append never resolved may or may not be there; one whose append resolved
 *   always is.
 * - `writeSnapshot(seq, state)` stores a snapshot of the state after event `seq` (atomically: a crash
 *   leaves the old snapshot or the new one); `compact()` then drops the log the snapshot covers.
 */
export interface StoredEvent {
  readonly seq: number;
  readonly epoch: number;
  readonly event: unknown;
}

export interface Snapshot {
  /** The last event the snapshot includes. */
  readonly seq: number;
  readonly state: Uint8Array;
}

export interface Recovered {
  readonly snapshot: Snapshot | undefined;
  /** Events after the snapshot (all events when there is none), in order. */
  readonly events: readonly StoredEvent[];
  /** Sequence number of the last durable event (0 when the log is empty). */
  readonly lastSeq: number;
  /** The epoch this opening of the store writes with (higher than any written before). */
  readonly epoch: number;
}

export interface AppendResult {
  readonly firstSeq: number;
  readonly lastSeq: number;
}

export interface EventStore {
  /** Reads the newest snapshot and the log after it, and opens the store for writing (see each store). */
  recover(): Promise<Recovered>;
  append(epoch: number, events: readonly unknown[]): Promise<AppendResult>;
  writeSnapshot(seq: number, state: Uint8Array): Promise<void>;
  compact(): Promise<void>;
  /** Flushes what is pending, then releases the store (its lock and files; the etcd store leaves its client open). */
  close(): Promise<void>;
}
