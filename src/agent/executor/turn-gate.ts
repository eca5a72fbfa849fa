/**
 * Bounded work per turn of the event loop: at most `perTurn` callers pass `turn()` in one turn; the rest
 * wait for later turns (`setImmediate`: after the loop has run its timers and I/O). A spawn blocks the
 * event loop for a few milliseconds (fork of a large process), so a storm of starts, let through a few at a
 * time, leaves the heartbeat timer and the socket their turns in between.
 */
import { RingBuffer } from '../../actors/index.js';

export class TurnGate {
  readonly #perTurn: number;
  readonly #waiting = new RingBuffer<() => void>();
  #passed = 0;
  #scheduled = false;

  constructor(perTurn: number) {
    this.#perTurn = perTurn;
  }

  /** Resolves in this turn if there is room, else in a later one (first come, first through). */
  turn(): Promise<void> {
    this.#schedule();
    if (this.#passed < this.#perTurn && this.#waiting.size === 0) {
      this.#passed++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#passed = 0;
      while (this.#passed < this.#perTurn && this.#waiting.size > 0) {
        this.#passed++;
        this.#waiting.shift()!();
      }
      if (this.#passed > 0) this.#schedule();
    });
  }
}
