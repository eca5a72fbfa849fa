/**
 * Dead letters: messages a host could not deliver — the actor is stopped, its mailbox is full, or its host
 * is gone. Each one is counted and published as a `dead-letter` event (its `kind` only, not the message);
 * a request behind it (a message whose `replyTo` is an ask's reply slot) fails that ask with the same code.
 */
import type { ErrorCode, WireError } from '../errors/index.js';
import { kindOf } from './events.js';
import type { ActorEvent } from './events.js';
import { formatRef, isRef } from './ref.js';
import type { AnyRef } from './ref.js';

export interface DeadLetterRouting {
  /** Fails the ask behind reply slot `replyTo`, wherever it was made. */
  failAsk(replyTo: AnyRef, error: WireError): void;
  emit(event: ActorEvent): void;
}

const WHY: Partial<Record<ErrorCode, string>> = {
  MUSTER_ERR_MAILBOX_FULL: 'mailbox is full',
  MUSTER_ERR_ACTOR_HOST_DIED: 'host died',
};

export class DeadLetters {
  readonly #routing: DeadLetterRouting;
  #count = 0;

  constructor(routing: DeadLetterRouting) {
    this.#routing = routing;
  }

  /** Dead letters of this host incarnation. */
  get count(): number {
    return this.#count;
  }

  record(to: AnyRef, message: unknown, code: ErrorCode): void {
    this.#count++;
    const replyTo = (message as { replyTo?: unknown } | null)?.replyTo;
    if (isRef(replyTo) && replyTo.id < 0) this.#routing.failAsk(replyTo, { code, message: `actor ${formatRef(to)} ${WHY[code] ?? 'is stopped'}` });
    this.#routing.emit({ kind: 'dead-letter', to, code, messageKind: kindOf(message) });
  }

  /** A message for a host that is gone for good: a dead letter if it was for an actor (signals and replies are dropped). */
  undeliverable(host: number, id: number, message: unknown): void {
    if (id > 0) this.record({ host, id }, message, 'MUSTER_ERR_ACTOR_HOST_DIED');
  }
}
