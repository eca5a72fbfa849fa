/**
 * Periodic snapshots: after `everyEvents` durable events, or every `everySeconds` when anything happened,
 * the scheduler's state is snapshotted, stored and the log it covers compacted, so recovery replays a
 * bounded tail. How the state at a point is folded and stored depends on the store (a `SnapshotWriter`);
 * with the embedded store (`embeddedSnapshots`) a snapshot is taken in three steps, only the first and the
 * last on the main thread:
 *
 * 1. `core.snapshotPoint()`: the seq S of the last event emitted, once durable (one message);
 * 2. `stageSnapshotAt({ dir, seq: S })`: a CPU-pool thread folds the state at S from the data folder (the
 *    newest snapshot and the log after it up to S, through the reducer), encodes it and writes the snapshot
 *    file under a temporary name, fsynced; only its name comes back;
 * 3. `store.adoptSnapshot(S, path)` (a rename), then `store.compact()`.
 *
 * The main thread never holds the state's bytes: copying and checksumming hundreds of MiB there, and the
 * collection of the heap they filled, paused it for 430-1,080 ms at a million jobs (bench scheduler,
 * snapshot-stall-ms).
 *
 * One snapshot at a time; a trigger during one is served by the next.
 */
import type { Logger } from '../log/index.js';
import type { SchedulerCore } from '../scheduler/index.js';
import { stageSnapshotAt } from '../scheduler/index.js';
import type { EmbeddedStore } from '../store/index.js';

/** Stores the snapshot at a durable seq and compacts what it covers, for one kind of store. */
export interface SnapshotWriter {
  /** Folds the state after event `seq`, stores it as the newest snapshot; resolves with its size in bytes. */
  write(seq: number, signal: AbortSignal): Promise<number>;
  /** Drops the log the newest snapshot covers. */
  compact(): Promise<void>;
}

/** The embedded store's way: the pool folds and writes the file, the store adopts it (a rename). */
export function embeddedSnapshots(store: EmbeddedStore): SnapshotWriter {
  return {
    async write(seq, signal) {
      const staged = await stageSnapshotAt({ dir: store.dir, seq }, signal);
      await store.adoptSnapshot(seq, staged.path);
      return staged.bytes;
    },
    compact: () => store.compact(),
  };
}

export class Snapshotter {
  readonly #core: SchedulerCore;
  readonly #writer: SnapshotWriter;
  readonly #log: Logger;
  readonly #everyEvents: number;
  readonly #timer: NodeJS.Timeout;
  #since = 0;
  #running: Promise<void> | undefined;
  #stopped = false;
  #written = 0;
  /** Aborts a fold in progress when the snapshotter stops. */
  readonly #stopping = new AbortController();
  #waiters: { count: number; resolve: () => void }[] = [];

  constructor(options: { core: SchedulerCore; writer: SnapshotWriter; log: Logger; everyEvents: number; everySeconds: number }) {
    this.#core = options.core;
    this.#writer = options.writer;
    this.#log = options.log;
    this.#everyEvents = options.everyEvents;
    this.#timer = setInterval(() => {
      if (this.#since > 0) this.trigger();
    }, options.everySeconds * 1000);
    this.#timer.unref();
  }

  /** Durable events happened (the server calls this from its sink's listener). */
  noteEvents(count: number): void {
    this.#since += count;
    if (this.#since >= this.#everyEvents) this.trigger();
  }

  /** Starts a snapshot unless one is running; resolves when the running one ends. */
  trigger(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#running ??= this.#take().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #take(): Promise<void> {
    const started = performance.now();
    this.#since = 0;
    try {
      const seq = await this.#core.snapshotPoint();
      const bytes = await this.#writer.write(seq, this.#stopping.signal);
      const folded = performance.now();
      await this.#writer.compact();
      this.#written++;
      this.#waiters = this.#waiters.filter((w) => (w.count <= this.#written ? (w.resolve(), false) : true));
      const ms = Math.round(performance.now() - started);
      this.#log.info({ seq, bytes, ms, writeMs: Math.round(folded - started) }, 'snapshot written, log compacted');
    } catch (err) {
      if (this.#stopping.signal.aborted) this.#log.info('snapshot abandoned: the server is stopping (the log holds everything)');
      else this.#log.error({ err }, 'snapshot failed (the log still holds everything; the next trigger tries again)');
    }
  }

  /** Snapshots written since start. */
  get written(): number {
    return this.#written;
  }

  /** Resolves once `count` snapshots have been written since start. */
  waitFor(count: number): Promise<void> {
    if (this.#written >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  /** No more snapshots; a fold in progress is abandoned, a write in progress finishes. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#stopping.abort();
    await this.#running;
  }
}
