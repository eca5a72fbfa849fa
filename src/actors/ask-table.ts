/**
 * The asks a host is waiting on. An ask sends `make(replyTo)` where `replyTo` is a reply slot of this host
 * (a negative id) and resolves with the first message delivered to that slot. Every pending ask ends one
 * way exactly once: a reply (`settle`), its deadline, a dead letter of the request (`fail`, possibly from
 * another host), the death of the target's host (`rejectHost`) or the host closing (`close`).
 */
import { MusterError, fromWire } from '../errors/index.js';
import type { WireError } from '../errors/index.js';
import { formatRef } from './ref.js';
import type { ActorRef, AnyRef } from './ref.js';
import type { HostSignal } from './wire.js';

interface PendingAsk {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
  readonly target: AnyRef;
}

/** What the table needs from its host. */
export interface AskRouting {
  /** The host's own id: reply slots are refs `{ host, id < 0 }`. */
  readonly host: number;
  send(to: AnyRef, message: unknown): void;
  /** Sends a signal to the inbox of peer `host`. */
  signalHost(host: number, signal: HostSignal): void;
  /** Whether messages to `host` can still arrive (false once it failed for good). */
  reaches(host: number): boolean;
}

export class AskTable {
  readonly #routing: AskRouting;
  readonly #pending = new Map<number, PendingAsk>();
  #next = -1;
  #closed = false;

  constructor(routing: AskRouting) {
    this.#routing = routing;
  }

  get size(): number {
    return this.#pending.size;
  }

  /**
   * Sends `make(replyTo)` to `to` and resolves with the first message sent to `replyTo`. Rejects with
   * `MUSTER_ERR_ASK_TIMEOUT`, `MUSTER_ERR_ACTOR_HOST_DIED` (the target's host died first),
   * `MUSTER_ERR_MAILBOX_FULL` or `MUSTER_ERR_ACTOR_STOPPED` (the request became a dead letter).
   */
  ask<R>(to: AnyRef, make: (replyTo: ActorRef<R>) => unknown, timeoutMs: number): Promise<R> {
    const host = this.#routing.host;
    return new Promise<R>((resolve, reject) => {
      if (this.#closed) {
        reject(new MusterError('MUSTER_ERR_SYSTEM_CLOSED', `host ${host} is closed`));
        return;
      }
      if (to.host !== host && !this.#routing.reaches(to.host)) {
        reject(new MusterError('MUSTER_ERR_ACTOR_HOST_DIED', `host ${to.host} of ${formatRef(to)} is not running`));
        return;
      }
      const id = this.#next--;
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new MusterError('MUSTER_ERR_ASK_TIMEOUT', `no reply from ${formatRef(to)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer, target: to });
      let request: unknown;
      try {
        request = make({ host, id });
      } catch (err) {
        this.reject(id, err as Error);
        return;
      }
      this.#routing.send(to, request);
    });
  }

  /** A message delivered to reply slot `id`. */
  settle(id: number, message: unknown): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return; // late reply after a timeout: nobody waits for it any more
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    pending.resolve(message);
  }

  reject(id: number, error: Error): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    pending.reject(error);
  }

  /** Fails the ask behind `replyTo`, here or (as an `ask-failed` signal) on the host that made it. */
  fail(replyTo: AnyRef, error: WireError): void {
    if (replyTo.host === this.#routing.host) this.reject(replyTo.id, fromWire(error));
    else this.#routing.signalHost(replyTo.host, { kind: 'ask-failed', ask: replyTo.id, error });
  }

  /** Peer `host` died: every ask waiting on one of its actors rejects with `MUSTER_ERR_ACTOR_HOST_DIED`. */
  rejectHost(host: number): void {
    for (const [id, pending] of [...this.#pending]) {
      if (pending.target.host === host) this.reject(id, new MusterError('MUSTER_ERR_ACTOR_HOST_DIED', `host ${host} of ${formatRef(pending.target)} died`));
    }
  }

  /** The host closes: every pending ask rejects with `MUSTER_ERR_SYSTEM_CLOSED`, and so does every later one. */
  close(): void {
    this.#closed = true;
    const host = this.#routing.host;
    for (const id of [...this.#pending.keys()]) this.reject(id, new MusterError('MUSTER_ERR_SYSTEM_CLOSED', `host ${host} closed`));
  }
}
