import { BinaryHeap } from './heap.js';

/**
 * Time for the scheduler, as a port: the real clock in a server, a virtual one in simulations and tests.
 * Actors never read `Date.now()` or set timers directly for scheduling decisions (backoff, time limits),
 * so a simulation runs hours of scheduling in seconds and gives the same result every time.
 */
export interface Clock {
  now(): number;
  /** Calls `fn` at time `at` (ms), or as soon as possible if `at` is past. Returns a cancel function. */
  schedule(at: number, fn: () => void): () => void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  schedule(at, fn) {
    const timer = setTimeout(fn, Math.max(0, at - Date.now()));
    timer.unref?.();
    return () => clearTimeout(timer);
  },
};

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

function earlier(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/**
 * A clock that moves only when told. Timers fire in (time, scheduling order), so runs are deterministic.
 * Timers sit in a binary heap: a simulation holds one per running task, hundreds of thousands at once.
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #heap = new BinaryHeap<Timer>(earlier);

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  schedule(at: number, fn: () => void): () => void {
    const timer: Timer = { at: Math.max(at, this.#now), seq: this.#seq++, fn, cancelled: false };
    this.#heap.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Time of the earliest pending timer, or undefined. */
  nextAt(): number | undefined {
    this.#dropCancelled();
    return this.#heap.peek()?.at;
  }

  /** Moves to `at` and fires every timer due by then, in order (including ones they schedule). */
  advanceTo(at: number): number {
    let fired = 0;
    for (;;) {
      this.#dropCancelled();
      const first = this.#heap.peek();
      if (!first || first.at > at) break;
      this.#heap.pop();
      this.#now = Math.max(this.#now, first.at);
      first.fn();
      fired++;
    }
    this.#now = Math.max(this.#now, at);
    return fired;
  }

  #dropCancelled(): void {
    while (this.#heap.peek()?.cancelled) this.#heap.pop();
  }
}
