/**
 * A snapshot of the whole state at one event: each queue actor encodes its slice when the request reaches
 * it (every event up to the current sequence number was routed to it before, none after), the node specs
 * are added, and the answer leaves once that event is durable (a snapshot may only be stored then).
 * Requests that come while one is being taken share it.
 */
import type { ActorRef } from '../actors/index.js';
import type { EventRouter } from './event-router.js';
import type { QueueMsg, Refusal, SnapshotTaken } from './messages.js';
import { packSnapshot } from './snapshot.js';

interface Taking {
  readonly seq: number;
  waiting: number;
  readonly slices: Uint8Array[];
  readonly replyTo: ActorRef<SnapshotTaken | Refusal>[];
}

export class SnapshotCoordinator {
  readonly #router: EventRouter;
  readonly #self: ActorRef<never>;
  readonly #tell: <T>(to: ActorRef<T>, message: T) => void;
  readonly #header: () => { readonly epoch: number; readonly now: number };
  #taking: Taking | undefined;

  constructor(router: EventRouter, self: ActorRef<never>, tell: <T>(to: ActorRef<T>, message: T) => void, header: () => { readonly epoch: number; readonly now: number }) {
    this.#router = router;
    this.#self = self;
    this.#tell = tell;
    this.#header = header;
  }

  start(replyTo: ActorRef<SnapshotTaken | Refusal>): void {
    if (this.#taking) {
      this.#taking.replyTo.push(replyTo);
      return;
    }
    const queues = [...this.#router.queues.values()];
    this.#taking = { seq: this.#router.events.seq, waiting: queues.length, slices: [], replyTo: [replyTo] };
    for (const q of queues) this.#tell<QueueMsg>(q.ref, { kind: 'encode', replyTo: this.#self as never });
    if (queues.length === 0) this.#finish();
  }

  encoded(bytes: Uint8Array): void {
    const taking = this.#taking;
    if (!taking) return;
    taking.slices.push(bytes);
    if (--taking.waiting === 0) this.#finish();
  }

  #finish(): void {
    const taking = this.#taking!;
    this.#taking = undefined;
    const { registry, directory } = this.#router;
    const nodes = [...registry.sites()].flatMap((site) =>
      site.names.flatMap((name) => {
        const entry = name === undefined ? undefined : registry.node(name);
        return entry ? [[entry.spec.name, entry.spec, entry.spec.state] as [string, unknown, string]] : [];
      }),
    );
    const { epoch, now } = this.#header();
    const state = packSnapshot({ submitted: directory.size, epoch, now, nodes, slices: taking.slices });
    for (const to of taking.replyTo) this.#router.replyDurable<SnapshotTaken | Refusal>(to, { seq: taking.seq, state }, (refusal) => refusal);
  }
}
