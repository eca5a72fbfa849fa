/**
 * The mailbox of one actor: two ring buffers. The system lane (signals such as termination notices and
 * stop requests) is unbounded and always drained before the user lane; the user lane is bounded and, when
 * full, applies the overflow policy the actor declared:
 *
 * - `reject`: the new message is refused (the sender's ask fails with `MUSTER_ERR_MAILBOX_FULL`; a tell
 *   becomes a dead letter with that code);
 * - `drop-oldest`: the oldest waiting message is dropped (as a dead letter) to make room for the new one,
 *   for actors where only the freshest information matters (heartbeats, summaries).
 *
 * The mailbox does not run anything; the actor cell pulls from it (see actor-cell.ts).
 */
import { rangeError } from '../errors/index.js';
import { RingBuffer } from './ring-buffer.js';

export type OverflowPolicy = 'reject' | 'drop-oldest';

export interface MailboxOptions {
  /** Most user messages waiting at once. */
  readonly capacity: number;
  readonly overflow: OverflowPolicy;
}

/**
 * 100 k waiting messages: far above what a healthy actor holds (a turn drains hundreds), low enough that a
 * stuck actor is noticed (as dead letters) long before it exhausts memory (100 k small messages ≈ 10 MiB).
 */
export const DEFAULT_MAILBOX_CAPACITY = 100_000;

export const DEFAULT_MAILBOX: MailboxOptions = { capacity: DEFAULT_MAILBOX_CAPACITY, overflow: 'reject' };

/** What `pushUser` did. Numbers, not objects: this is on the hot path. */
export const PUSHED = 0;
export const DROPPED_OLDEST = 1;
export const REJECTED = 2;
export type PushResult = typeof PUSHED | typeof DROPPED_OLDEST | typeof REJECTED;

export class Mailbox<U, S> {
  readonly capacity: number;
  readonly overflow: OverflowPolicy;
  readonly #system = new RingBuffer<S>();
  readonly #user = new RingBuffer<U>();
  /** The message `pushUser` dropped when it returned `DROPPED_OLDEST`. */
  dropped: U | undefined = undefined;

  constructor(options: MailboxOptions = DEFAULT_MAILBOX) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) {
      throw rangeError('MUSTER_ERR_INVALID_VALUE', `mailbox capacity must be a positive integer, got ${options.capacity}`);
    }
    this.capacity = options.capacity;
    this.overflow = options.overflow;
  }

  get userDepth(): number {
    return this.#user.size;
  }

  get systemDepth(): number {
    return this.#system.size;
  }

  get isEmpty(): boolean {
    return this.#user.size === 0 && this.#system.size === 0;
  }

  pushUser(message: U): PushResult {
    if (this.#user.size < this.capacity) {
      this.#user.push(message);
      return PUSHED;
    }
    if (this.overflow === 'reject') return REJECTED;
    this.dropped = this.#user.shift();
    this.#user.push(message);
    return DROPPED_OLDEST;
  }

  /** System messages are few (one per watch, stop or failure) and must never be lost: unbounded. */
  pushSystem(message: S): void {
    this.#system.push(message);
  }

  shiftSystem(): S | undefined {
    return this.#system.shift();
  }

  shiftUser(): U | undefined {
    return this.#user.shift();
  }

  /** Everything still waiting in the user lane, oldest first (for dead letters when the actor stops). */
  drainUser(): U[] {
    return this.#user.drain();
  }
}
