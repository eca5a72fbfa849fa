/**
 * Periodic snapshots: after `everyEvents` durable events, or every `everySeconds` when anything happened,
 * the scheduler's state is snapshotted (`core.snapshot()`: every queue actor encodes its slice at one
 * event), stored (`store.writeSnapshot`) and the log it covers compacted (`store.compact()`), so recovery
 * replays a bounded tail. One snapshot at a time; a trigger during one is served by the next.
 */
import type { Logger } from '../log/index.js';
import type { SchedulerCore } from '../scheduler/index.js';
import type { EventStore } from '../store/index.js';

export class Snapshotter {
  readonly #core: SchedulerCore;
  readonly #store: EventStore;
  readonly #log: Logger;
  readonly #everyEvents: number;
  readonly #timer: NodeJS.Timeout;
  #since = 0;
  #running: Promise<void> | undefined;
  #stopped = false;
  #written = 0;
  #waiters: { count: number; resolve: () => void }[] = [];

  constructor(options: { core: SchedulerCore; store: EventStore; log: Logger; everyEvents: number; everySeconds: number }) {
    this.#core = options.core;
    this.#store = options.store;
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
      const { seq, state } = await this.#core.snapshot();
      await this.#store.writeSnapshot(seq, state);
      await this.#store.compact();
      this.#written++;
      this.#waiters = this.#waiters.filter((w) => (w.count <= this.#written ? (w.resolve(), false) : true));
      this.#log.info({ seq, bytes: state.length, ms: Math.round(performance.now() - started) }, 'snapshot written, log compacted');
    } catch (err) {
      this.#log.error({ err }, 'snapshot failed (the log still holds everything; the next trigger tries again)');
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

  /** No more snapshots; waits for a running one. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
  }
}
