/**
 * Watches: "when `target` stops, deliver `message` to me, ahead of my user messages". Both ends keep a
 * record, each in its own cell: the watcher's `watching` (so the watch can be withdrawn, and registered
 * again with a restarted peer) and the target's `watchers` (whom to tell when it stops). A watch between
 * hosts travels as `watch` / `unwatch` signals to the target's host and its notice as a `signal` to the
 * watcher's host, where it goes to the watcher's system lane.
 */
import type { ActorCell } from './actor-cell.js';
import type { AnyRef } from './ref.js';
import type { HostSignal } from './wire.js';

/** What the watch table needs from its host. */
export interface WatchRouting {
  readonly host: number;
  /** The live actors of this host, by id. */
  readonly cells: ReadonlyMap<number, ActorCell>;
  /** Sends a signal to the inbox of peer `host`. */
  signalHost(host: number, signal: HostSignal): void;
  /** Puts a notice in the actor's system lane and schedules its turn. */
  notify(cell: ActorCell, message: unknown): void;
}

function refKey(ref: AnyRef): string {
  return `${ref.host}/${ref.id}`;
}

export class WatchTable {
  readonly #routing: WatchRouting;

  constructor(routing: WatchRouting) {
    this.#routing = routing;
  }

  watch(cell: ActorCell, target: AnyRef, message: unknown): void {
    (cell.watching ??= new Map()).set(refKey(target), { target, message });
    this.#register(cell.ref, target, message);
  }

  unwatch(cell: ActorCell, target: AnyRef): void {
    this.#unwatchKey(cell, refKey(target));
  }

  /** Withdraws every watch the actor holds (on restart and stop). */
  unwatchAll(cell: ActorCell): void {
    if (cell.watching !== undefined) for (const key of [...cell.watching.keys()]) this.#unwatchKey(cell, key);
  }

  /** Tells every watcher of a stopping actor. */
  notifyWatchers(cell: ActorCell): void {
    if (cell.watchers !== undefined) for (const w of cell.watchers.values()) this.notice(w.watcher, w.message);
  }

  /** A `watch` of actor `target` of this host; a target that is gone already is due its notice now. */
  addWatcher(target: number, watcher: AnyRef, message: unknown): void {
    const cell = this.#routing.cells.get(target);
    if (cell === undefined) {
      this.notice(watcher, message);
      return;
    }
    (cell.watchers ??= new Map()).set(refKey(watcher), { watcher, message });
  }

  removeWatcher(target: number, watcher: AnyRef): void {
    this.#routing.cells.get(target)?.watchers?.delete(refKey(watcher));
  }

  /** Puts a watch notice in the system lane of `to`, wherever it lives. */
  notice(to: AnyRef, message: unknown): void {
    const routing = this.#routing;
    if (to.host !== routing.host) {
      routing.signalHost(to.host, { kind: 'signal', to: to.id, message });
      return;
    }
    const cell = routing.cells.get(to.id);
    if (cell !== undefined) routing.notify(cell, message);
  }

  /** Peer `host` restarted: watches on its actors are registered again with its new incarnation. */
  reregister(host: number): void {
    for (const cell of this.#routing.cells.values()) {
      if (cell.watching === undefined) continue;
      for (const w of cell.watching.values()) if (w.target.host === host) this.#register(cell.ref, w.target, w.message);
    }
  }

  /** Peer `host` died: watches its actors held on ours are dropped (they re-register from its next incarnation). */
  forgetWatchersOn(host: number): void {
    for (const cell of this.#routing.cells.values()) {
      if (cell.watchers === undefined) continue;
      for (const [key, w] of [...cell.watchers]) if (w.watcher.host === host) cell.watchers.delete(key);
    }
  }

  #unwatchKey(cell: ActorCell, key: string): void {
    const entry = cell.watching?.get(key);
    if (entry === undefined) return;
    cell.watching?.delete(key);
    const target = entry.target;
    if (target.host === this.#routing.host) this.removeWatcher(target.id, cell.ref);
    else this.#routing.signalHost(target.host, { kind: 'unwatch', target: target.id, watcher: cell.ref });
  }

  #register(watcher: AnyRef, target: AnyRef, message: unknown): void {
    if (target.host === this.#routing.host) this.addWatcher(target.id, watcher, message);
    else this.#routing.signalHost(target.host, { kind: 'watch', target: target.id, watcher, message });
  }
}
