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
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told. Timers fire in (time, scheduling order), so runs are deterministic.
 * Timers are kept in buckets by time, with a binary heap of the distinct times: a simulation holds one
 * timer per running task, hundreds of thousands at once, and tasks tend to end at shared instants, so most
 * timers join an existing bucket in O(1).
 */
export class VirtualClock implements Clock {
  #now: number;
  readonly #buckets = new Map<number, Timer[]>();
  readonly #times = new BinaryHeap<number>((a, b) => a < b);

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  schedule(at: number, fn: () => void): () => void {
    const time = Math.max(at, this.#now);
    const timer: Timer = { fn, cancelled: false };
    const bucket = this.#buckets.get(time);
    if (bucket) bucket.push(timer);
    else {
      this.#buckets.set(time, [timer]);
      this.#times.push(time);
    }
    return () => {
      timer.cancelled = true;
    };
  }

  /** Time of the earliest pending timer, or undefined. */
  nextAt(): number | undefined {
    for (;;) {
      const time = this.#times.peek();
      if (time === undefined) return undefined;
      const bucket = this.#buckets.get(time);
      if (bucket && bucket.some((t) => !t.cancelled)) return time;
      this.#buckets.delete(time);
      this.#times.pop();
    }
  }

  /** Moves to `at` and fires every timer due by then, in order (including ones they schedule). */
  advanceTo(at: number): number {
    let fired = 0;
    for (let time = this.#times.peek(); time !== undefined && time <= at; time = this.#times.peek()) {
      this.#now = Math.max(this.#now, time);
      const bucket = this.#buckets.get(time);
      // Timers scheduled for this same instant while it fires join the bucket and fire in this loop too.
      for (let i = 0; bucket && i < bucket.length; i++) {
        const timer = bucket[i]!;
        if (timer.cancelled) continue;
        timer.cancelled = true;
        timer.fn();
        fired++;
      }
      this.#buckets.delete(time);
      this.#times.pop();
    }
    this.#now = Math.max(this.#now, at);
    return fired;
  }
}
