/**
 * The store interface: an append-only log of events in group commits, plus snapshots. The embedded store
 * (local files, `npm start`'s default) implements it now; the etcd store (high availability) will implement
 * the same interface. The store knows nothing of what the events mean: it keeps opaque payloads (plain data,
 * msgpack-encodable) in order, durably, and fenced by epoch.
 *
 * Contract:
 * - `append(epoch, events)` resolves once the events are durable (fsynced), with their sequence numbers
 *   (consecutive, starting at 1 for the first event ever). Appends that arrive within one group-commit
 *   window share one write and one fsync, and resolve together, in order.
 * - A write carrying an epoch older than the newest epoch the store has seen is refused with
 *   `MUSTER_ERR_FENCED` and writes nothing.
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
  recover(): Promise<Recovered>;
  append(epoch: number, events: readonly unknown[]): Promise<AppendResult>;
  writeSnapshot(seq: number, state: Uint8Array): Promise<void>;
  compact(): Promise<void>;
  /** Flushes what is pending, then releases the store (its lock, its files). */
  close(): Promise<void>;
}
