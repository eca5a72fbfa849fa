/**
 * The `ctx` a behaviour receives: one object per actor, built once, whose methods forward to the host.
 * No closure is made per message or per send.
 */
import type { Logger } from '../log/index.js';
import type { ActorCell } from './actor-cell.js';
import type { ActorContext, ActorDefinition } from './behaviour.js';
import type { ActorHost } from './host.js';
import type { ActorRef, AnyRef } from './ref.js';

export class CellContext implements ActorContext<unknown> {
  readonly self: ActorRef<unknown>;
  readonly log: Logger;
  readonly #host: ActorHost;
  readonly #cell: ActorCell;

  constructor(host: ActorHost, cell: ActorCell, log: Logger) {
    this.#host = host;
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
    this.#host.watch(this.#cell, target, message);
  }

  unwatch<T>(target: ActorRef<T>): void {
    this.#host.unwatch(this.#cell, target);
  }

  startTimer(key: string, message: unknown, delayMs: number, repeat = false): void {
    this.#host.startTimer(this.#cell, key, message, delayMs, repeat);
  }

  cancelTimer(key: string): void {
    this.#host.cancelTimer(this.#cell, key);
  }
}
