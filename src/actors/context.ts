/**
 * The `ctx` a behaviour receives: one object per actor, built once, whose methods forward to the host and
 * to its watch table and timers. No closure is made per message or per send.
 */
import type { Logger } from '../log/index.js';
import type { ActorCell } from './actor-cell.js';
import type { ActorContext, ActorDefinition } from './behaviour.js';
import type { AnyRef, ActorRef } from './ref.js';
import type { ActorTimers } from './timers.js';
import type { WatchTable } from './watches.js';

/** What a context needs from its host (host.ts implements it; this file does not import the host). */
export interface ContextHost {
  send(to: AnyRef, message: unknown): void;
  spawnChild(parent: ActorCell, definition: ActorDefinition<unknown, unknown>): AnyRef;
  requestStop(ref: AnyRef): void;
}

export class CellContext implements ActorContext<unknown> {
  readonly self: ActorRef<unknown>;
  readonly log: Logger;
  readonly #host: ContextHost;
  readonly #watches: WatchTable;
  readonly #timers: ActorTimers;
  readonly #cell: ActorCell;

  constructor(host: ContextHost, watches: WatchTable, timers: ActorTimers, cell: ActorCell, log: Logger) {
    this.#host = host;
    this.#watches = watches;
    this.#timers = timers;
    this.#cell = cell;
    this.self = cell.ref as ActorRef<unknown>;
    this.log = log;
  }

  tell<T>(to: ActorRef<T>, message: T): void {
    this.#host.send(to, message);
  }

  spawn<S2, M2>(definition: ActorDefinition<S2, M2>): ActorRef<M2> {
    return this.#host.spawnChild(this.#cell, definition as ActorDefinition<unknown, unknown>) as ActorRef<M2>;
  }

  stop(ref: AnyRef): void {
    this.#host.requestStop(ref);
  }

  watch<T>(target: ActorRef<T>, message: unknown): void {
    this.#watches.watch(this.#cell, target, message);
  }

  unwatch<T>(target: ActorRef<T>): void {
    this.#watches.unwatch(this.#cell, target);
  }

  startTimer(key: string, message: unknown, delayMs: number, repeat = false): void {
    this.#timers.start(this.#cell, key, message, delayMs, repeat);
  }

  cancelTimer(key: string): void {
    this.#timers.cancel(this.#cell, key);
  }
}
