/**
 * The dispatcher's part in a snapshot: naming its point. A snapshot is the state after one event S; the
 * dispatcher answers with S = the last event it has emitted, once S is durable, and does nothing else. The
 * state at S is then folded off the main thread from the store's own files (snapshot-fold.ts: the previous
 * snapshot and the log up to S, through the reducer), so no actor pauses to encode, nothing is copied on
 * the main thread, and nothing in the snapshot is read later than S (nodes, the submission counter, the
 * epoch and the clock all come from the log). A store failure before S is durable refuses the request.
 */
import type { ActorRef } from '../actors/index.js';
import type { EventRouter } from './event-router.js';
import type { Refusal, SnapshotPoint } from './messages.js';

export class SnapshotCoordinator {
  readonly #router: EventRouter;

  constructor(router: EventRouter) {
    this.#router = router;
  }

  /** Answers `replyTo` with the seq of the last event emitted so far, once it is durable. */
  point(replyTo: ActorRef<SnapshotPoint | Refusal>): void {
    this.#router.replyDurable<SnapshotPoint | Refusal>(replyTo, { seq: this.#router.events.seq }, (refusal) => refusal);
  }
}
