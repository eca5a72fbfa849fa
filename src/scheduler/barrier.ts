/**
 * Settling (tests and simulations): replies once every actor routed to has handled what it was sent, and
 * what that caused, transitively. Each round asks every actor touched since the last round for an ack; a
 * round that finds nothing touched but a running cycle waits for the cycle to finish, then goes on.
 */
import type { ActorRef } from '../actors/index.js';
import type { EventRouter } from './event-router.js';
import type { DispatcherMsg, QueueMsg } from './messages.js';

export class Barrier {
  readonly #router: EventRouter;
  readonly #self: ActorRef<DispatcherMsg>;
  readonly #tell: <T>(to: ActorRef<T>, message: T) => void;
  readonly #cycleRunning: () => boolean;
  #waiting = 0;
  /** The last round found nothing to wait for but a running cycle: go on when it finishes. */
  #afterCycle = false;
  #replyTo: ActorRef<true>[] | undefined;

  constructor(router: EventRouter, self: ActorRef<DispatcherMsg>, tell: <T>(to: ActorRef<T>, message: T) => void, cycleRunning: () => boolean) {
    this.#router = router;
    this.#self = self;
    this.#tell = tell;
    this.#cycleRunning = cycleRunning;
  }

  settle(replyTo: ActorRef<true>): void {
    if (this.#replyTo) {
      this.#replyTo.push(replyTo);
      return;
    }
    this.#replyTo = [replyTo];
    this.#round();
  }

  ack(): void {
    if (this.#replyTo && --this.#waiting === 0) this.#round();
  }

  /** A cycle finished: a barrier that was waiting for it goes on. */
  cycleFinished(): void {
    if (!this.#afterCycle) return;
    this.#afterCycle = false;
    this.#round();
  }

  #round(): void {
    const targets = [...this.#router.touched];
    this.#router.touched.clear();
    if (targets.length > 0) {
      this.#waiting = targets.length;
      for (const t of targets) this.#tell(t as ActorRef<QueueMsg>, { kind: 'barrier', replyTo: this.#self });
    } else if (this.#cycleRunning()) {
      this.#afterCycle = true;
    } else {
      const replyTo = this.#replyTo ?? [];
      this.#replyTo = undefined;
      for (const r of replyTo) this.#tell(r, true);
    }
  }
}
