/**
 * Per-actor named timers (`ctx.startTimer` / `ctx.cancelTimer`). A timer delivers its message to the
 * actor's user lane, like any tell; a timer started under a key that is running replaces it. Timers live
 * in the cell (`cell.timers`) and are cleared when the actor restarts or stops, so a message of an old
 * life never reaches a new one.
 */
import type { ActorCell } from './actor-cell.js';

export class ActorTimers {
  readonly #deliver: (cell: ActorCell, message: unknown) => void;

  /** `deliver` puts a due timer's message in the actor's user lane (as the host delivers any message). */
  constructor(deliver: (cell: ActorCell, message: unknown) => void) {
    this.#deliver = deliver;
  }

  start(cell: ActorCell, key: string, message: unknown, delayMs: number, repeat: boolean): void {
    this.cancel(cell, key);
    const timers = (cell.timers ??= new Map());
    const fire = (): void => {
      if (!repeat) timers.delete(key);
      if (!cell.stopped) this.#deliver(cell, message);
    };
    timers.set(key, repeat ? setInterval(fire, delayMs) : setTimeout(fire, delayMs));
  }

  cancel(cell: ActorCell, key: string): void {
    const timer = cell.timers?.get(key);
    if (timer === undefined) return;
    clearTimeout(timer);
    cell.timers?.delete(key);
  }

  /** Cancels every timer of the actor (on restart and stop). */
  clear(cell: ActorCell): void {
    if (cell.timers === undefined) return;
    for (const timer of cell.timers.values()) clearTimeout(timer);
    cell.timers.clear();
  }
}
