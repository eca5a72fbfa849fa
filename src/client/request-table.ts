/**
 * Requests in flight: ids, reply matching and timeouts.
 *
 * Every request gets the next unsigned integer id; a reply settles the request with that id once (a second
 * reply, or one for an id never sent, is ignored). Every request in one table has the same timeout, so
 * deadlines grow with insertion order and the table's `Map` (which iterates in insertion order) is also a
 * deadline queue: `expire` stops at the first request still in time, whatever the number in flight. One
 * sweep timer serves the whole table instead of one timer per request (at 100k requests/s a timer each
 * would cost more than the requests).
 */
import type { RequestId, ServerFrame } from './wire.js';

export interface PendingRequest {
  readonly id: RequestId;
  /** The encoded frame, kept to resend it on a new connection. */
  readonly frame: Uint8Array;
  /** Whether the frame may be sent again after the connection it went out on was lost. */
  readonly resend: boolean;
  readonly deadline: number;
  /** Called once with the reply (any frame naming this id, including `error`). */
  readonly onReply: (frame: ServerFrame) => void;
  /** Called once when the request fails without a reply (timeout, lost connection, closed client). */
  readonly onFail: (err: Error) => void;
}

export type NewRequest = Omit<PendingRequest, 'id' | 'deadline'>;

export class RequestTable {
  readonly #pending = new Map<RequestId, PendingRequest>();
  readonly #timeoutMs: number;
  #next = 1;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  get size(): number {
    return this.#pending.size;
  }

  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** The id the next `add` will use (frames are encoded with their id before they are added). */
  nextId(): RequestId {
    return this.#next;
  }

  add(request: NewRequest, now: number): PendingRequest {
    const entry: PendingRequest = { ...request, id: this.#next++, deadline: now + this.#timeoutMs };
    this.#pending.set(entry.id, entry);
    return entry;
  }

  /** The request `id` names, if it is still waiting (it stays in the table). */
  get(id: RequestId): PendingRequest | undefined {
    return this.#pending.get(id);
  }

  /** Removes and returns the request `id` names, if it is still waiting. */
  take(id: RequestId): PendingRequest | undefined {
    const entry = this.#pending.get(id);
    if (entry) this.#pending.delete(id);
    return entry;
  }

  /** Removes and returns every request whose deadline is at or before `now`, oldest first. */
  expire(now: number): PendingRequest[] {
    const expired: PendingRequest[] = [];
    for (const entry of this.#pending.values()) {
      if (entry.deadline > now) break;
      expired.push(entry);
    }
    for (const entry of expired) this.#pending.delete(entry.id);
    return expired;
  }

  /** The requests still waiting, oldest first (what to resend on a new connection). */
  waiting(): PendingRequest[] {
    return [...this.#pending.values()];
  }

  /** Removes and returns every waiting request for which `drop` is true. */
  drop(drop: (entry: PendingRequest) => boolean): PendingRequest[] {
    const dropped = [...this.#pending.values()].filter(drop);
    for (const entry of dropped) this.#pending.delete(entry.id);
    return dropped;
  }
}
