/**
 * A host runs actors on one thread: the main thread (host 0) or one worker thread (hosts 1..N).
 *
 * It owns the actors' cells, a ready queue of actors with work, and one outbound batch per peer host.
 * One *tick* of the host (a `setImmediate` callback) gives each ready actor a turn (system lane first, then
 * at most `throughput` user messages), up to `MAX_TURNS_PER_TICK` turns, then flushes every outbound batch
 * that received messages: one `postMessage` per destination host per tick, however many messages it holds.
 *
 * The hot path (`send` → `deliver` → `Mailbox.pushUser` → ready queue → turn) allocates nothing beyond
 * the message itself: no envelope, no closure, no promise.
 */
import type { MessagePort } from 'node:worker_threads';
import { MusterError, fromWire, toWire } from '../errors/index.js';
import type { ErrorCode, WireError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { ActorCell } from './actor-cell.js';
import { BatchEncoder, decodeBatch, singleMessageBatch } from './batch-codec.js';
import type { WireBatch } from './batch-codec.js';
import type { ActorContext, ActorDefinition } from './behaviour.js';
import { CellContext } from './context.js';
import { kindOf } from './events.js';
import type { ActorEvent } from './events.js';
import { PUSHED, REJECTED } from './mailbox.js';
import { assertNever } from './outcome.js';
import type { Outcome } from './outcome.js';
import { HOST_INBOX_ID, LOCAL_ID_BASE, LOCAL_IDS_PER_INCARNATION, formatRef, isRef } from './ref.js';
import type { ActorRef, AnyRef } from './ref.js';
import { RingBuffer } from './ring-buffer.js';
import type { Directive } from './supervision.js';
import type { HostSignal } from './wire.js';

/**
 * 256 turns per tick (at most 25,600 messages at the default throughput, a few milliseconds): then the
 * host yields to the event loop so that incoming batches, timers and admin calls are not starved.
 */
export const MAX_TURNS_PER_TICK = 256;

/**
 * A batch is posted early once it holds 8,192 messages: by then the fixed cost of a `postMessage` (tens of
 * microseconds) is spread over so many messages that it no longer shows, while a bigger batch would only
 * delay the receiver's first message and grow the sender's heap (a few hundred KiB per batch at most).
 */
export const MAX_BATCH_MESSAGES = 8192;

const LINK_UP = 0;
/** The peer died and is being restarted: messages to it are held and sent to its next incarnation. */
const LINK_DOWN = 1;
/** The peer exhausted its restart budget: messages to it are dead letters. */
const LINK_FAILED = 2;

interface PeerLink {
  readonly host: number;
  port: MessagePort | undefined;
  readonly batch: BatchEncoder;
  dirty: boolean;
  state: number;
}

interface PendingAsk {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
  readonly target: AnyRef;
}

export interface HostOptions {
  readonly id: number;
  readonly incarnation: number;
  readonly log: Logger;
  readonly onEvent: (event: ActorEvent) => void;
}

export interface ActorStats {
  readonly id: number;
  readonly name: string;
  /** User messages waiting. */
  readonly depth: number;
  readonly processed: number;
  readonly restarts: number;
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

function refKey(ref: AnyRef): string {
  return `${ref.host}/${ref.id}`;
}

export class ActorHost {
  readonly id: number;
  readonly incarnation: number;
  readonly #log: Logger;
  readonly #onEvent: (event: ActorEvent) => void;
  readonly #cells = new Map<number, ActorCell>();
  readonly #ready = new RingBuffer<ActorCell>(1024);
  readonly #links: (PeerLink | undefined)[] = [];
  #dirty: PeerLink[] = [];
  readonly #asks = new Map<number, PendingAsk>();
  #nextAsk = -1;
  #nextLocalId: number;
  #tickScheduled = false;
  #inTick = false;
  /** Waiting for a tick that leaves no actor ready (see `whenIdle`). */
  #idleWaiters: (() => void)[] = [];
  #closed = false;
  #processedByStopped = 0;
  #deadLetters = 0;
  #restarts = 0;

  constructor(options: HostOptions) {
    this.id = options.id;
    this.incarnation = options.incarnation;
    this.#log = options.log;
    this.#onEvent = options.onEvent;
    this.#nextLocalId = LOCAL_ID_BASE + options.incarnation * LOCAL_IDS_PER_INCARNATION;
  }

  // ---------------------------------------------------------------- sending and delivery (hot path)

  /** Sends `message` to `to`: enqueued now if local, appended to the peer's outbound batch if remote. */
  send(to: AnyRef, message: unknown): void {
    if (to.host === this.id) this.deliver(to.id, message);
    else this.#enqueueRemote(to.host, to.id, message);
  }

  /** Delivers to a local id: an actor (> 0), an ask reply slot (< 0) or this host's inbox (0). */
  deliver(id: number, message: unknown): void {
    if (id > 0) {
      const cell = this.#cells.get(id);
      if (cell === undefined) this.#deadLetter({ host: this.id, id }, message, 'MUSTER_ERR_ACTOR_STOPPED');
      else this.#deliverToCell(cell, message);
    } else if (id < 0) {
      this.#settleAsk(id, message);
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
        this.#deadLetter(cell.ref, message, 'MUSTER_ERR_MAILBOX_FULL');
        return;
      }
      const dropped = cell.mailbox.dropped;
      cell.mailbox.dropped = undefined;
      this.#deadLetter(cell.ref, dropped, 'MUSTER_ERR_MAILBOX_FULL');
    }
    if (!cell.scheduled) this.#schedule(cell);
  }

  #schedule(cell: ActorCell): void {
    cell.scheduled = true;
    this.#ready.push(cell);
    if (!this.#inTick && !this.#tickScheduled) this.#scheduleTick();
  }

  #enqueueRemote(host: number, id: number, message: unknown): void {
    const link = this.#links[host];
    if (link === undefined || link.state === LINK_FAILED) {
      this.#undeliverable(host, id, message);
      return;
    }
    const batch = link.batch;
    batch.add(id, message);
    if (!link.dirty) {
      link.dirty = true;
      this.#dirty.push(link);
      if (!this.#inTick && !this.#tickScheduled) this.#scheduleTick();
    } else if (batch.size >= MAX_BATCH_MESSAGES && link.state === LINK_UP) {
      this.#post(link);
    }
  }

  #post(link: PeerLink): void {
    if (link.batch.size === 0) return;
    (link.port as MessagePort).postMessage(link.batch.take());
  }

  /** Posts every outbound batch of a live peer; batches of peers that are down stay held. */
  #flush(): void {
    const dirty = this.#dirty;
    let kept = 0;
    for (let i = 0; i < dirty.length; i++) {
      const link = dirty[i] as PeerLink;
      if (link.state === LINK_UP) {
        link.dirty = false;
        this.#post(link);
      } else if (link.state === LINK_DOWN) {
        dirty[kept++] = link;
      } else {
        link.dirty = false;
      }
    }
    dirty.length = kept;
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
      this.#flush();
    }
    if (ready.size !== 0) this.#scheduleTick();
    else if (this.#idleWaiters.length > 0 && !this.#tickScheduled) this.#wakeIdleWaiters();
  };

  #wakeIdleWaiters(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Resolves once this host has no actor with work: every message delivered to it so far has been handled,
   * and so has everything those messages sent to actors of this host. Messages still on their way from
   * other hosts are not counted: a caller that needs them waits for their replies first.
   */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      if (!this.#inTick && !this.#tickScheduled) this.#scheduleTick();
    });
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
          this.stopCell(cell, signal.reason);
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
      this.#fail(cell, err);
      return;
    }
    cell.processed++;
    switch (outcome.kind) {
      case 'continue':
        if ('state' in outcome) cell.state = outcome.state;
        return;
      case 'reply':
        if ('state' in outcome) cell.state = outcome.state;
        this.send(outcome.to, outcome.message);
        return;
      case 'become':
        cell.behaviour = outcome.behaviour;
        cell.state = outcome.state;
        return;
      case 'stop':
        this.stopCell(cell, outcome.reason);
        return;
      default:
        assertNever(outcome);
    }
  }

  // ---------------------------------------------------------------- lifecycle and supervision

  /** Spawns a top-level actor (supervised by this host). `id` is given by the system, else a local one. */
  spawn(definition: ActorDefinition<unknown, unknown>, id: number = this.#nextLocalId++): AnyRef {
    if (this.#closed) throw new MusterError('MUSTER_ERR_SYSTEM_CLOSED', `host ${this.id} is closed`);
    if (this.#cells.has(id)) throw new MusterError('MUSTER_ERR_INTERNAL', `actor id ${formatRef({ host: this.id, id })} is taken`);
    return this.#start(definition, id, undefined);
  }

  spawnChild(parent: ActorCell, definition: ActorDefinition<unknown, unknown>): AnyRef {
    return this.#start(definition, this.#nextLocalId++, parent);
  }

  /** For CellContext: builds the context of a new cell. */
  contextFor(cell: ActorCell, log: Logger): ActorContext<unknown> {
    return new CellContext(this, cell, log);
  }

  #start(definition: ActorDefinition<unknown, unknown>, id: number, parent: ActorCell | undefined): AnyRef {
    const cell = new ActorCell(this, id, definition, parent, this.#log.child({ actor: definition.name, id }));
    this.#cells.set(id, cell);
    parent?.children.add(cell);
    try {
      cell.state = definition.initial(cell.ctx);
    } catch (err) {
      this.stopCell(cell, 'initial state failed');
      throw err;
    }
    return cell.ref;
  }

  /** Asks an actor (here or on another host) to stop after the message it is handling. */
  requestStop(ref: AnyRef): void {
    if (ref.host !== this.id) {
      this.#enqueueRemote(ref.host, HOST_INBOX_ID, { kind: 'stop', target: ref.id } satisfies HostSignal);
      return;
    }
    const cell = this.#cells.get(ref.id);
    if (cell === undefined || cell.stopped) return;
    cell.mailbox.pushSystem({ kind: 'stop', reason: 'stopped' });
    if (!cell.scheduled) this.#schedule(cell);
  }

  /** A handler threw: the supervisor's directive, within the restart budget. */
  #fail(cell: ActorCell, err: unknown): void {
    let directive: Directive;
    try {
      directive = cell.supervision.decide(err);
    } catch {
      directive = 'stop';
    }
    const error = toWire(err);
    const publish = (applied: Directive, budgetExhausted = false): void => {
      this.#log.warn({ actor: cell.definition.name, id: cell.id, directive: applied, budgetExhausted, err: error }, 'actor failed');
      this.#emit({ kind: 'supervision', actor: cell.ref, name: cell.definition.name, directive: applied, budgetExhausted, error });
    };
    switch (directive) {
      case 'resume':
        publish('resume');
        return;
      case 'restart':
        if (cell.budget.tryRestart(Date.now())) {
          publish('restart');
          this.#restart(cell);
        } else {
          publish('stop', true);
          this.stopCell(cell, 'restart budget exhausted');
        }
        return;
      case 'stop':
        publish('stop');
        this.stopCell(cell, 'failed');
        return;
      case 'escalate': {
        publish('escalate');
        const parent = cell.parent;
        this.stopCell(cell, 'escalated');
        if (parent !== undefined && !parent.stopped) this.#fail(parent, err);
        return;
      }
      default:
        assertNever(directive);
    }
  }

  #restart(cell: ActorCell): void {
    cell.restarts++;
    this.#restarts++;
    this.#clearTimers(cell);
    for (const child of [...cell.children]) this.stopCell(child, 'parent restarting');
    if (cell.watching !== undefined) for (const key of [...cell.watching.keys()]) this.#unwatchKey(cell, key);
    cell.behaviour = cell.definition.behaviour;
    try {
      cell.state = cell.definition.initial(cell.ctx);
    } catch (err) {
      this.#emit({ kind: 'supervision', actor: cell.ref, name: cell.definition.name, directive: 'stop', budgetExhausted: false, error: toWire(err) });
      this.stopCell(cell, 'restart failed');
    }
  }

  /** Stops now: children first, then timers, `onStop`, watch notices; waiting messages become dead letters. */
  stopCell(cell: ActorCell, reason: string): void {
    if (cell.stopped) return;
    cell.stopped = true;
    for (const child of [...cell.children]) this.stopCell(child, 'parent stopped');
    this.#clearTimers(cell);
    try {
      cell.definition.onStop?.(cell.state, cell.ctx);
    } catch (err) {
      this.#log.error({ actor: cell.definition.name, id: cell.id, err: toWire(err) }, 'onStop threw');
    }
    this.#cells.delete(cell.id);
    this.#processedByStopped += cell.processed;
    cell.parent?.children.delete(cell);
    if (cell.watching !== undefined) for (const key of [...cell.watching.keys()]) this.#unwatchKey(cell, key);
    if (cell.watchers !== undefined) for (const w of cell.watchers.values()) this.#signal(w.watcher, w.message);
    for (const message of cell.mailbox.drainUser()) this.#deadLetter(cell.ref, message, 'MUSTER_ERR_ACTOR_STOPPED');
    this.#emit({ kind: 'actor-stopped', actor: cell.ref, name: cell.definition.name, reason });
  }

  // ---------------------------------------------------------------- watch and timers

  watch(cell: ActorCell, target: AnyRef, message: unknown): void {
    (cell.watching ??= new Map()).set(refKey(target), { target, message });
    this.#registerWatch(cell.ref, target, message);
  }

  unwatch(cell: ActorCell, target: AnyRef): void {
    this.#unwatchKey(cell, refKey(target));
  }

  #unwatchKey(cell: ActorCell, key: string): void {
    const entry = cell.watching?.get(key);
    if (entry === undefined) return;
    cell.watching?.delete(key);
    const target = entry.target;
    if (target.host === this.id) this.#cells.get(target.id)?.watchers?.delete(refKey(cell.ref));
    else this.#enqueueRemote(target.host, HOST_INBOX_ID, { kind: 'unwatch', target: target.id, watcher: cell.ref } satisfies HostSignal);
  }

  #registerWatch(watcher: AnyRef, target: AnyRef, message: unknown): void {
    if (target.host === this.id) this.#addWatcher(target.id, watcher, message);
    else this.#enqueueRemote(target.host, HOST_INBOX_ID, { kind: 'watch', target: target.id, watcher, message } satisfies HostSignal);
  }

  #addWatcher(target: number, watcher: AnyRef, message: unknown): void {
    const cell = this.#cells.get(target);
    if (cell === undefined) {
      this.#signal(watcher, message); // already gone: the notice is due now
      return;
    }
    (cell.watchers ??= new Map()).set(refKey(watcher), { watcher, message });
  }

  /** Puts a watch notice in the system lane of `to`, wherever it lives. */
  #signal(to: AnyRef, message: unknown): void {
    if (to.host !== this.id) {
      this.#enqueueRemote(to.host, HOST_INBOX_ID, { kind: 'signal', to: to.id, message } satisfies HostSignal);
      return;
    }
    const cell = this.#cells.get(to.id);
    if (cell === undefined) return;
    cell.mailbox.pushSystem({ kind: 'deliver', message });
    if (!cell.scheduled) this.#schedule(cell);
  }

  startTimer(cell: ActorCell, key: string, message: unknown, delayMs: number, repeat: boolean): void {
    this.cancelTimer(cell, key);
    const timers = (cell.timers ??= new Map());
    const fire = (): void => {
      if (!repeat) timers.delete(key);
      if (!cell.stopped) this.#deliverToCell(cell, message);
    };
    timers.set(key, repeat ? setInterval(fire, delayMs) : setTimeout(fire, delayMs));
  }

  cancelTimer(cell: ActorCell, key: string): void {
    const timer = cell.timers?.get(key);
    if (timer === undefined) return;
    clearTimeout(timer);
    cell.timers?.delete(key);
  }

  #clearTimers(cell: ActorCell): void {
    if (cell.timers === undefined) return;
    for (const timer of cell.timers.values()) clearTimeout(timer);
    cell.timers.clear();
  }

  // ---------------------------------------------------------------- ask

  /**
   * Sends `make(replyTo)` to `to` and resolves with the first message sent to `replyTo`. Rejects with
   * `MUSTER_ERR_ASK_TIMEOUT`, `MUSTER_ERR_ACTOR_HOST_DIED` (the target's host died first),
   * `MUSTER_ERR_MAILBOX_FULL` or `MUSTER_ERR_ACTOR_STOPPED` (the request became a dead letter).
   */
  ask<R>(to: AnyRef, make: (replyTo: ActorRef<R>) => unknown, timeoutMs: number): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.#closed) {
        reject(new MusterError('MUSTER_ERR_SYSTEM_CLOSED', `host ${this.id} is closed`));
        return;
      }
      const link = this.#links[to.host];
      if (to.host !== this.id && (link === undefined || link.state === LINK_FAILED)) {
        reject(new MusterError('MUSTER_ERR_ACTOR_HOST_DIED', `host ${to.host} of ${formatRef(to)} is not running`));
        return;
      }
      const id = this.#nextAsk--;
      const timer = setTimeout(() => {
        this.#asks.delete(id);
        reject(new MusterError('MUSTER_ERR_ASK_TIMEOUT', `no reply from ${formatRef(to)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#asks.set(id, { resolve: resolve as (value: unknown) => void, reject, timer, target: to });
      let request: unknown;
      try {
        request = make({ host: this.id, id });
      } catch (err) {
        this.#rejectAsk(id, err as Error);
        return;
      }
      this.send(to, request);
    });
  }

  #settleAsk(id: number, message: unknown): void {
    const pending = this.#asks.get(id);
    if (pending === undefined) return; // late reply after a timeout: nobody waits for it any more
    this.#asks.delete(id);
    clearTimeout(pending.timer);
    pending.resolve(message);
  }

  #rejectAsk(id: number, error: Error): void {
    const pending = this.#asks.get(id);
    if (pending === undefined) return;
    this.#asks.delete(id);
    clearTimeout(pending.timer);
    pending.reject(error);
  }

  #failAsk(replyTo: AnyRef, error: WireError): void {
    if (replyTo.host === this.id) this.#rejectAsk(replyTo.id, fromWire(error));
    else this.#enqueueRemote(replyTo.host, HOST_INBOX_ID, { kind: 'ask-failed', ask: replyTo.id, error } satisfies HostSignal);
  }

  // ---------------------------------------------------------------- dead letters, signals, events

  #deadLetter(to: AnyRef, message: unknown, code: ErrorCode): void {
    this.#deadLetters++;
    const replyTo = (message as { replyTo?: unknown } | null)?.replyTo;
    if (isRef(replyTo) && replyTo.id < 0) {
      const why = code === 'MUSTER_ERR_MAILBOX_FULL' ? 'mailbox is full' : code === 'MUSTER_ERR_ACTOR_HOST_DIED' ? 'host died' : 'is stopped';
      this.#failAsk(replyTo, { code, message: `actor ${formatRef(to)} ${why}` });
    }
    this.#emit({ kind: 'dead-letter', to, code, messageKind: kindOf(message) });
  }

  #undeliverable(host: number, id: number, message: unknown): void {
    if (id > 0) this.#deadLetter({ host, id }, message, 'MUSTER_ERR_ACTOR_HOST_DIED');
  }

  #onSignal(signal: HostSignal): void {
    switch (signal.kind) {
      case 'watch':
        this.#addWatcher(signal.target, signal.watcher, signal.message);
        return;
      case 'unwatch':
        this.#cells.get(signal.target)?.watchers?.delete(refKey(signal.watcher));
        return;
      case 'signal':
        this.#signal({ host: this.id, id: signal.to }, signal.message);
        return;
      case 'ask-failed':
        this.#rejectAsk(signal.ask, fromWire(signal.error));
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

  #emit(event: ActorEvent): void {
    try {
      this.#onEvent(event);
    } catch (err) {
      this.#log.error({ err: toWire(err) }, 'event listener threw');
    }
  }

  // ---------------------------------------------------------------- peers

  /**
   * Sends a topology signal to a live peer now, after the messages already batched for it (same port,
   * so ordered with them). False if the peer is not up (it learns the topology when it restarts).
   */
  sendTopology(to: number, signal: HostSignal, transfer: MessagePort[] = []): boolean {
    const link = this.#links[to];
    if (link === undefined || link.state !== LINK_UP || link.port === undefined) return false;
    this.#post(link);
    link.port.postMessage(singleMessageBatch(HOST_INBOX_ID, signal), transfer);
    return true;
  }

  /** Connects the port to peer `host`. With `listen` false, incoming batches wait in the port until `listen()`. */
  attachPeer(host: number, port: MessagePort, listen = true): void {
    const old = this.#links[host];
    if (old?.port !== undefined && old.port !== port) old.port.close();
    const link: PeerLink = old ?? { host, port: undefined, batch: new BatchEncoder(), dirty: false, state: LINK_UP };
    link.port = port;
    link.state = LINK_UP;
    this.#links[host] = link;
    if (listen) port.on('message', this.receive);
    if (link.batch.size > 0 && !this.#inTick && !this.#tickScheduled) this.#scheduleTick(); // held messages leave now
    // Watches on actors of a restarted peer are registered again with its new incarnation.
    if (old !== undefined) {
      for (const cell of this.#cells.values()) {
        if (cell.watching === undefined) continue;
        for (const w of cell.watching.values()) if (w.target.host === host) this.#registerWatch(cell.ref, w.target, w.message);
      }
    }
  }

  /** Starts delivery from every peer port attached with `listen` false. */
  listen(): void {
    for (const link of this.#links) link?.port?.on('message', this.receive);
  }

  /**
   * Peer `host` died and is being restarted. Asks waiting on its actors reject with
   * `MUSTER_ERR_ACTOR_HOST_DIED`; watches its actors held on ours are dropped (they re-register from
   * their new incarnation); messages to it are held from now on and go to its next incarnation.
   */
  peerDown(host: number): void {
    const link = this.#links[host];
    if (link === undefined) return;
    link.state = LINK_DOWN;
    link.port?.close();
    link.port = undefined;
    this.#forgetPeer(host);
  }

  /** Peer `host` will not come back: held and future messages to it are dead letters. */
  peerFailed(host: number): void {
    const link = this.#links[host];
    if (link === undefined) return;
    link.state = LINK_FAILED;
    link.port?.close();
    link.port = undefined;
    decodeBatch(link.batch.take(), (id, message) => this.#undeliverable(host, id, message));
    this.#forgetPeer(host);
  }

  #forgetPeer(host: number): void {
    for (const [id, pending] of [...this.#asks]) {
      if (pending.target.host === host) this.#rejectAsk(id, new MusterError('MUSTER_ERR_ACTOR_HOST_DIED', `host ${host} of ${formatRef(pending.target)} died`));
    }
    for (const cell of this.#cells.values()) {
      if (cell.watchers === undefined) continue;
      for (const [key, w] of [...cell.watchers]) if (w.watcher.host === host) cell.watchers.delete(key);
    }
  }

  // ---------------------------------------------------------------- inspection and shutdown

  has(id: number): boolean {
    return this.#cells.has(id);
  }

  stats(): HostStats {
    const actors: ActorStats[] = [];
    let processed = this.#processedByStopped;
    for (const cell of this.#cells.values()) {
      processed += cell.processed;
      actors.push({ id: cell.id, name: cell.definition.name, depth: cell.mailbox.userDepth, processed: cell.processed, restarts: cell.restarts });
    }
    return { host: this.id, incarnation: this.incarnation, processed, deadLetters: this.#deadLetters, restarts: this.#restarts, pendingAsks: this.#asks.size, actors };
  }

  /** Stops every actor, rejects every ask with `MUSTER_ERR_SYSTEM_CLOSED`, flushes and closes the ports. */
  close(): void {
    if (this.#closed) return;
    for (const cell of [...this.#cells.values()]) if (cell.parent === undefined) this.stopCell(cell, 'host closed');
    this.#flush();
    this.#closed = true;
    for (const id of [...this.#asks.keys()]) this.#rejectAsk(id, new MusterError('MUSTER_ERR_SYSTEM_CLOSED', `host ${this.id} closed`));
    for (const link of this.#links) link?.port?.close();
  }
}
