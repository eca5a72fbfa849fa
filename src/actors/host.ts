/**
 * A host runs actors on one thread: the main thread (host 0) or one worker thread (hosts 1..N).
 *
 * The host routes: a message for one of its ids goes to an actor's mailbox (id > 0, then the actor is
 * queued for a turn), an ask's reply slot (id < 0) or its own inbox (id 0: watch, stop and topology
 * signals); a message for another host goes to that peer's outbound batch. It keeps the table of live
 * cells it routes by, and wires the parts it delegates to, one concept per file, each told what it needs
 * through a small interface (see README.md, "How a host is cut"):
 *
 * - turns.ts: the ready queue and the ticks (turns, then one flush of the outbound batches);
 * - cells.ts: the actors' lives (spawn, stop, what a restart releases);
 * - peer-links.ts: ports to the other hosts, outbound batches, flush, topology;
 * - supervisor.ts: what happens when a handler throws (directives, restart budget, events);
 * - ask-table.ts: pending asks, their deadlines and every way they end;
 * - watches.ts: watchers and their notices; timers.ts: per-actor named timers;
 * - dead-letters.ts: what could not be delivered.
 *
 * The hot path (`send` → `deliver` → `Mailbox.pushUser` → ready queue → turn, or `send` → the peer's batch)
 * allocates nothing beyond the message itself: no envelope, no closure, no promise.
 */
import type { MessagePort } from 'node:worker_threads';
import { MusterError, fromWire, toWire } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { ActorCell, CellHost, CellSignal } from './actor-cell.js';
import { AskTable } from './ask-table.js';
import { decodeBatch } from './batch-codec.js';
import type { WireBatch } from './batch-codec.js';
import type { ActorContext, ActorDefinition } from './behaviour.js';
import { ActorCells } from './cells.js';
import type { ActorStats } from './cells.js';
import { CellContext } from './context.js';
import type { ContextHost } from './context.js';
import { DeadLetters } from './dead-letters.js';
import type { ActorEvent } from './events.js';
import { PUSHED, REJECTED } from './mailbox.js';
import { assertNever } from './outcome.js';
import { PeerLinks } from './peer-links.js';
import { HOST_INBOX_ID } from './ref.js';
import type { ActorRef, AnyRef } from './ref.js';
import { Supervisor } from './supervisor.js';
import { ActorTimers } from './timers.js';
import { TurnLoop } from './turns.js';
import { WatchTable } from './watches.js';
import type { HostSignal } from './wire.js';

export interface HostOptions {
  readonly id: number;
  readonly incarnation: number;
  readonly log: Logger;
  readonly onEvent: (event: ActorEvent) => void;
}

export interface HostStats {
  readonly host: number;
  readonly incarnation: number;
  /** Messages handled by actors of this host incarnation, including stopped ones. */
  readonly processed: number;
  readonly deadLetters: number;
  /** Actor restarts (supervision) in this host incarnation. */
  readonly restarts: number;
  readonly pendingAsks: number;
  readonly actors: readonly ActorStats[];
}

export class ActorHost implements CellHost, ContextHost {
  readonly id: number;
  readonly incarnation: number;
  readonly #log: Logger;
  readonly #onEvent: (event: ActorEvent) => void;
  /** The live actors of this host by id: what `deliver` routes by (only `#lives` adds and removes). */
  readonly #cells = new Map<number, ActorCell>();
  readonly #lives: ActorCells;
  readonly #turns: TurnLoop;
  readonly #links: PeerLinks;
  readonly #asks: AskTable;
  readonly #watches: WatchTable;
  readonly #timers: ActorTimers;
  readonly #supervisor: Supervisor;
  readonly #deadLetters: DeadLetters;
  #closed = false;

  constructor(options: HostOptions) {
    this.id = options.id;
    this.incarnation = options.incarnation;
    const log = options.log;
    this.#log = log;
    this.#onEvent = options.onEvent;
    const emit = (event: ActorEvent): void => this.#emit(event);
    const signalHost = (host: number, signal: HostSignal): void => this.#links.enqueue(host, HOST_INBOX_ID, signal);
    const stop = (cell: ActorCell, reason: string): void => this.#lives.stop(cell, reason);
    this.#deadLetters = new DeadLetters({ failAsk: (replyTo, error) => this.#asks.fail(replyTo, error), emit });
    this.#supervisor = new Supervisor({ log, emit, stop, release: (cell) => this.#lives.release(cell) });
    this.#turns = new TurnLoop({
      send: (to, message) => this.send(to, message),
      stop,
      fail: (cell, err) => this.#supervisor.fail(cell, err),
      flush: () => this.#links.flush(),
    });
    this.#links = new PeerLinks({ receive: this.receive, wake: this.#turns.wake, undeliverable: (host, id, message) => this.#deadLetters.undeliverable(host, id, message) });
    this.#asks = new AskTable({ host: this.id, send: (to, message) => this.send(to, message), signalHost, reaches: (host) => this.#links.reaches(host) });
    const notify = (cell: ActorCell, message: unknown): void => this.#pushSystem(cell, { kind: 'deliver', message });
    this.#watches = new WatchTable({ host: this.id, cells: this.#cells, signalHost, notify });
    this.#timers = new ActorTimers((cell, message) => this.#deliverToCell(cell, message));
    const parts = { timers: this.#timers, watches: this.#watches, deadLetters: this.#deadLetters };
    this.#lives = new ActorCells({ host: this, incarnation: this.incarnation, table: this.#cells, log, emit, ...parts });
  }

  // ---------------------------------------------------------------- routing (hot path)

  /** Sends `message` to `to`: enqueued now if local, appended to the peer's outbound batch if remote. */
  send(to: AnyRef, message: unknown): void {
    if (to.host === this.id) this.deliver(to.id, message);
    else this.#links.enqueue(to.host, to.id, message);
  }

  /** Delivers to a local id: an actor (> 0), an ask reply slot (< 0) or this host's inbox (0). */
  deliver(id: number, message: unknown): void {
    if (id > 0) {
      const cell = this.#cells.get(id);
      if (cell === undefined) this.#deadLetters.record({ host: this.id, id }, message, 'MUSTER_ERR_ACTOR_STOPPED');
      else this.#deliverToCell(cell, message);
    } else if (id < 0) {
      this.#asks.settle(id, message);
    } else {
      this.#onSignal(message as HostSignal);
    }
  }

  /** The listener of every peer port: one call per batch. */
  readonly receive = (event: unknown): void => {
    decodeBatch(event as WireBatch, this.#deliverBound);
  };

  readonly #deliverBound = (id: number, message: unknown): void => this.deliver(id, message);

  #deliverToCell(cell: ActorCell, message: unknown): void {
    const result = cell.mailbox.pushUser(message);
    if (result !== PUSHED) {
      if (result === REJECTED) {
        this.#deadLetters.record(cell.ref, message, 'MUSTER_ERR_MAILBOX_FULL');
        return;
      }
      const dropped = cell.mailbox.dropped;
      cell.mailbox.dropped = undefined;
      this.#deadLetters.record(cell.ref, dropped, 'MUSTER_ERR_MAILBOX_FULL');
    }
    if (!cell.scheduled) this.#turns.schedule(cell);
  }

  #pushSystem(cell: ActorCell, signal: CellSignal): void {
    cell.mailbox.pushSystem(signal);
    if (!cell.scheduled) this.#turns.schedule(cell);
  }

  #onSignal(signal: HostSignal): void {
    switch (signal.kind) {
      case 'watch':
        this.#watches.addWatcher(signal.target, signal.watcher, signal.message);
        return;
      case 'unwatch':
        this.#watches.removeWatcher(signal.target, signal.watcher);
        return;
      case 'signal':
        this.#watches.notice({ host: this.id, id: signal.to }, signal.message);
        return;
      case 'ask-failed':
        this.#asks.reject(signal.ask, fromWire(signal.error));
        return;
      case 'stop':
        this.requestStop({ host: this.id, id: signal.target });
        return;
      case 'peer-up':
        this.attachPeer(signal.host, signal.port);
        return;
      case 'peer-down':
        this.peerDown(signal.host);
        return;
      case 'peer-failed':
        this.peerFailed(signal.host);
        return;
      default:
        assertNever(signal);
    }
  }

  /** Sends `make(replyTo)` to `to` and waits for the reply (see `AskTable.ask` for the ways it rejects). */
  ask<R>(to: AnyRef, make: (replyTo: ActorRef<R>) => unknown, timeoutMs: number): Promise<R> {
    return this.#asks.ask(to, make, timeoutMs);
  }

  /** See `TurnLoop.whenIdle`. */
  whenIdle(): Promise<void> {
    return this.#turns.whenIdle();
  }

  // ---------------------------------------------------------------- actors

  /** Spawns a top-level actor (supervised by this host). `id` is given by the system, else a local one. */
  spawn(definition: ActorDefinition<unknown, unknown>, id?: number): AnyRef {
    if (this.#closed) throw new MusterError('MUSTER_ERR_SYSTEM_CLOSED', `host ${this.id} is closed`);
    return this.#lives.spawn(definition, id);
  }

  spawnChild(parent: ActorCell, definition: ActorDefinition<unknown, unknown>): AnyRef {
    return this.#lives.spawnChild(parent, definition);
  }

  /** For ActorCell: builds the context of a new cell. */
  contextFor(cell: ActorCell, log: Logger): ActorContext<unknown> {
    return new CellContext(this, this.#watches, this.#timers, cell, log);
  }

  /** Asks an actor (here or on another host) to stop after the message it is handling. */
  requestStop(ref: AnyRef): void {
    if (ref.host !== this.id) {
      this.#links.enqueue(ref.host, HOST_INBOX_ID, { kind: 'stop', target: ref.id } satisfies HostSignal);
      return;
    }
    const cell = this.#cells.get(ref.id);
    if (cell === undefined || cell.stopped) return;
    this.#pushSystem(cell, { kind: 'stop', reason: 'stopped' });
  }

  #emit(event: ActorEvent): void {
    try {
      this.#onEvent(event);
    } catch (err) {
      this.#log.error({ err: toWire(err) }, 'event listener threw');
    }
  }

  // ---------------------------------------------------------------- peers (topology from the system)

  /** See `PeerLinks.sendTopology`. */
  sendTopology(to: number, signal: HostSignal, transfer: MessagePort[] = []): boolean {
    return this.#links.sendTopology(to, signal, transfer);
  }

  /**
   * Connects the port to peer `host`. With `listen` false, incoming batches wait in the port until `listen()`.
   * A peer that restarted gets the watches on its actors registered again with its new incarnation.
   */
  attachPeer(host: number, port: MessagePort, listen = true): void {
    if (this.#links.attach(host, port, listen)) this.#watches.reregister(host);
  }

  /** Starts delivery from every peer port attached with `listen` false. */
  listen(): void {
    this.#links.listen();
  }

  /**
   * Peer `host` died and is being restarted. Asks waiting on its actors reject with
   * `MUSTER_ERR_ACTOR_HOST_DIED`; watches its actors held on ours are dropped (they re-register from
   * their new incarnation); messages to it are held from now on and go to its next incarnation.
   */
  peerDown(host: number): void {
    if (this.#links.down(host)) this.#forgetPeer(host);
  }

  /** Peer `host` will not come back: held and future messages to it are dead letters. */
  peerFailed(host: number): void {
    if (this.#links.failed(host)) this.#forgetPeer(host);
  }

  #forgetPeer(host: number): void {
    this.#asks.rejectHost(host);
    this.#watches.forgetWatchersOn(host);
  }

  // ---------------------------------------------------------------- inspection and shutdown

  has(id: number): boolean {
    return this.#cells.has(id);
  }

  stats(): HostStats {
    const { processed, actors } = this.#lives.stats();
    const deadLetters = this.#deadLetters.count;
    return { host: this.id, incarnation: this.incarnation, processed, deadLetters, restarts: this.#supervisor.restarts, pendingAsks: this.#asks.size, actors };
  }

  /** Stops every actor, rejects every ask with `MUSTER_ERR_SYSTEM_CLOSED`, flushes and closes the ports. */
  close(): void {
    if (this.#closed) return;
    this.#lives.stopAll('host closed');
    this.#links.flush();
    this.#closed = true;
    this.#turns.close();
    this.#asks.close();
    this.#links.close();
  }
}
