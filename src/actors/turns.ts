/**
 * The turn loop of a host: a ready queue of actors with work and the ticks that drain it.
 *
 * One *tick* (a `setImmediate` callback) gives each ready actor a turn — its system lane first (checked
 * before every message), then at most `throughput` user messages — up to `MAX_TURNS_PER_TICK` turns, then
 * flushes the outbound batches (one `postMessage` per destination host per tick). A turn runs the
 * behaviour on each message and applies its outcome; a throw goes to the supervisor. An actor with work
 * left after its turn goes to the back of the queue, so a busy actor yields to the others.
 *
 * Allocates nothing per message: the ready queue is a ring buffer, a cell is queued once however much mail
 * it gets (`cell.scheduled`), and the tick callback is made once.
 */
import type { ActorCell } from './actor-cell.js';
import { assertNever } from './outcome.js';
import type { Outcome } from './outcome.js';
import type { AnyRef } from './ref.js';
import { RingBuffer } from './ring-buffer.js';

/**
 * 256 turns per tick (at most 25,600 messages at the default throughput, a few milliseconds): then the
 * host yields to the event loop so that incoming batches, timers and admin calls are not starved.
 */
export const MAX_TURNS_PER_TICK = 256;

/** Room for 1,024 ready actors before the ready queue first grows (8 KiB of slots; it doubles when full, ring-buffer.ts). */
const READY_QUEUE_CAPACITY = 1024;

/** What a turn does beyond running behaviours: the host's routing, lifecycle and supervisor. */
export interface TurnEffects {
  /** Sends a `reply` outcome's message. */
  send(to: AnyRef, message: unknown): void;
  /** A `stop` outcome or a stop request from the system lane. */
  stop(cell: ActorCell, reason: string): void;
  /** A handler threw. */
  fail(cell: ActorCell, err: unknown): void;
  /** End of a tick: the outbound batches leave. */
  flush(): void;
}

export class TurnLoop {
  readonly #effects: TurnEffects;
  readonly #ready = new RingBuffer<ActorCell>(READY_QUEUE_CAPACITY);
  #tickScheduled = false;
  #inTick = false;
  /** Waiting for a tick that leaves no actor ready (see `whenIdle`). */
  #idleWaiters: (() => void)[] = [];
  #closed = false;

  constructor(effects: TurnEffects) {
    this.#effects = effects;
  }

  /** Queues a cell that got work (the caller checked `cell.scheduled` is false). */
  schedule(cell: ActorCell): void {
    cell.scheduled = true;
    this.#ready.push(cell);
    if (!this.#inTick && !this.#tickScheduled) this.#scheduleTick();
  }

  /** Makes sure a tick comes (outbound batches leave at its end). */
  readonly wake = (): void => {
    if (!this.#inTick && !this.#tickScheduled) this.#scheduleTick();
  };

  /**
   * Resolves once this host has no actor with work: every message delivered to it so far has been handled,
   * and so has everything those messages sent to actors of this host. Messages still on their way from
   * other hosts are not counted: a caller that needs them waits for their replies first.
   */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.wake();
    });
  }

  /** No tick runs any more. */
  close(): void {
    this.#closed = true;
  }

  #scheduleTick(): void {
    this.#tickScheduled = true;
    setImmediate(this.#tick);
  }

  readonly #tick = (): void => {
    this.#tickScheduled = false;
    if (this.#closed) return;
    this.#inTick = true;
    const ready = this.#ready;
    let turns = 0;
    try {
      while (ready.size !== 0 && turns < MAX_TURNS_PER_TICK) {
        const cell = ready.shift() as ActorCell;
        cell.scheduled = false;
        if (cell.stopped) continue;
        turns++;
        this.#runTurn(cell);
        if (!cell.stopped && !cell.scheduled && !cell.mailbox.isEmpty) {
          cell.scheduled = true;
          ready.push(cell);
        }
      }
    } finally {
      this.#inTick = false;
      this.#effects.flush();
    }
    if (ready.size !== 0) this.#scheduleTick();
    else if (this.#idleWaiters.length > 0 && !this.#tickScheduled) this.#wakeIdleWaiters();
  };

  #wakeIdleWaiters(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  /** One turn: the system lane first (checked before every message), then up to `throughput` user messages. */
  #runTurn(cell: ActorCell): void {
    const mailbox = cell.mailbox;
    let budget = cell.throughput;
    for (;;) {
      if (mailbox.systemDepth !== 0) {
        const signal = mailbox.shiftSystem();
        if (signal === undefined) return;
        if (signal.kind === 'stop') {
          this.#effects.stop(cell, signal.reason);
          return;
        }
        this.#handle(cell, signal.message);
      } else {
        if (budget === 0 || mailbox.userDepth === 0) return;
        budget--;
        this.#handle(cell, mailbox.shiftUser());
      }
      if (cell.stopped) return;
    }
  }

  #handle(cell: ActorCell, message: unknown): void {
    let outcome: Outcome<unknown, unknown>;
    try {
      outcome = cell.behaviour(cell.state, message, cell.ctx);
    } catch (err) {
      cell.processed++;
      this.#effects.fail(cell, err);
      return;
    }
    cell.processed++;
    switch (outcome.kind) {
      case 'continue':
        if ('state' in outcome) cell.state = outcome.state;
        return;
      case 'reply':
        if ('state' in outcome) cell.state = outcome.state;
        this.#effects.send(outcome.to, outcome.message);
        return;
      case 'become':
        cell.behaviour = outcome.behaviour;
        cell.state = outcome.state;
        return;
      case 'stop':
        this.#effects.stop(cell, outcome.reason);
        return;
      default:
        assertNever(outcome);
    }
  }
}
