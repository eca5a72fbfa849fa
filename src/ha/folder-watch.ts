/**
 * One etcd watch on the election folder for as long as the election runs: a handful of replicas, so no
 * herd to avoid by watching only the key before one's own. It reports that something changed (and which
 * key was deleted); the election reads the list itself. A watch that fails is made again; one that never
 * connects costs nothing but speed, because the election also reads the list on a timer.
 */
import type { Etcd3, Watcher } from 'etcd3';
import type { Logger } from '../log/index.js';
import type { CallDeadlines } from './etcd-calls.js';
import { REJOIN_BASE_MS } from './limits.js';

export interface FolderWatchHandlers {
  /** Connected (again), or a key was written or deleted: read the list. */
  changed(): void;
  /** `key` was deleted (called before `changed`). */
  deleted(key: string): void;
}

export class FolderWatch {
  readonly #client: Etcd3;
  readonly #folder: string;
  readonly #calls: CallDeadlines;
  readonly #callMs: number;
  readonly #log: Logger;
  readonly #handlers: FolderWatchHandlers;
  #watcher: Watcher | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(client: Etcd3, folder: string, calls: CallDeadlines, callMs: number, log: Logger, handlers: FolderWatchHandlers) {
    this.#client = client;
    this.#folder = folder;
    this.#calls = calls;
    this.#callMs = callMs;
    this.#log = log;
    this.#handlers = handlers;
    this.#watch();
  }

  /** Cancels the watch; resolves when etcd confirms it, or after one call bound if etcd does not answer. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    const watcher = this.#watcher;
    this.#watcher = undefined;
    if (watcher !== undefined) await this.#cancel(watcher);
  }

  /** `.watcher()` rather than `.create()`: it hands the watcher back before etcd confirms it, so one that never connects can still be cancelled. */
  #watch(): void {
    this.#retry = undefined;
    if (this.#closed) return;
    const watcher = this.#client.watch().prefix(this.#folder).watcher();
    this.#watcher = watcher;
    // Events of a watcher no longer ours (failed, or closed while etcd did not confirm the cancel) are dropped.
    const ours = (): boolean => this.#watcher === watcher;
    const changed = (): void => {
      if (ours()) this.#handlers.changed();
    };
    watcher.on('connected', changed);
    watcher.on('put', changed);
    watcher.on('delete', (kv) => {
      if (!ours()) return;
      this.#handlers.deleted(kv.key.toString('utf8'));
      this.#handlers.changed();
    });
    watcher.on('error', (err) => {
      if (!ours()) return;
      this.#log.warn({ err }, 'election: the watch failed; watching again');
      this.#watcher = undefined;
      void this.#cancel(watcher);
      this.#retry = setTimeout(() => this.#watch(), REJOIN_BASE_MS);
    });
  }

  async #cancel(watcher: Watcher): Promise<void> {
    try {
      await this.#calls.within(this.#callMs, 'watch cancel', watcher.cancel());
    } catch (err) {
      this.#log.debug({ err }, 'election: cancelling the watch got no answer');
    }
  }
}
