/**
 * The runtime's record of one live actor on its host: mailbox, current behaviour and state, supervision
 * bookkeeping, watches and timers. Internal (never exported from index.ts). Its hot fields are plain
 * properties rather than `#private` ones because the host's delivery loop reads them for every message.
 */
import type { ActorContext, ActorDefinition, Behaviour } from './behaviour.js';
import type { Logger } from '../log/index.js';
import { DEFAULT_MAILBOX, Mailbox } from './mailbox.js';
import type { AnyRef } from './ref.js';
import { DEFAULT_SUPERVISION, RestartBudget } from './supervision.js';
import type { SupervisionOptions } from './supervision.js';

/**
 * 100 user messages per turn: long enough that the per-turn cost (scheduling, the system-lane check) is
 * amortised, short enough that one busy actor delays the others on its host by well under a millisecond.
 */
export const DEFAULT_THROUGHPUT = 100;

/** An entry of the system lane: a watch notice (a message of the actor's own union) or a stop request. */
export type CellSignal = { readonly kind: 'deliver'; readonly message: unknown } | { readonly kind: 'stop'; readonly reason: string };

export interface Watcher {
  readonly watcher: AnyRef;
  readonly message: unknown;
}

/** What a cell needs from the host it lives on (host.ts implements it; this file does not import the host). */
export interface CellHost {
  readonly id: number;
  /** Builds the `ctx` the cell's behaviour receives. */
  contextFor(cell: ActorCell, log: Logger): ActorContext<unknown>;
}

export class ActorCell {
  readonly id: number;
  readonly ref: AnyRef;
  readonly definition: ActorDefinition<unknown, unknown>;
  readonly mailbox: Mailbox<unknown, CellSignal>;
  readonly supervision: SupervisionOptions;
  readonly budget: RestartBudget;
  readonly throughput: number;
  readonly parent: ActorCell | undefined;
  readonly children = new Set<ActorCell>();
  readonly ctx: ActorContext<unknown>;
  behaviour: Behaviour<unknown, unknown>;
  state: unknown = undefined;
  /** In the host's ready queue. */
  scheduled = false;
  stopped = false;
  processed = 0;
  restarts = 0;
  /** Who watches this actor, keyed by the watcher's `host/id`. */
  watchers: Map<string, Watcher> | undefined = undefined;
  /** Whom this actor watches (kept so watches can be re-registered when the target's host restarts). */
  watching: Map<string, { readonly target: AnyRef; readonly message: unknown }> | undefined = undefined;
  timers: Map<string, NodeJS.Timeout> | undefined = undefined;

  constructor(host: CellHost, id: number, definition: ActorDefinition<unknown, unknown>, parent: ActorCell | undefined, log: Logger) {
    this.id = id;
    this.ref = { host: host.id, id };
    this.definition = definition;
    this.parent = parent;
    this.behaviour = definition.behaviour;
    this.mailbox = new Mailbox({ ...DEFAULT_MAILBOX, ...definition.mailbox });
    this.supervision = { ...DEFAULT_SUPERVISION, ...definition.supervision };
    this.budget = new RestartBudget(this.supervision.maxRestarts, this.supervision.withinMs);
    this.throughput = definition.throughput ?? DEFAULT_THROUGHPUT;
    this.ctx = host.contextFor(this, log);
  }

  get hasWork(): boolean {
    return !this.mailbox.isEmpty;
  }
}
