/**
 * A behaviour is a function `(state, message, ctx) → outcome`. An actor definition bundles the behaviour
 * with how to build its initial state (at start and at every restart) and its declared mailbox and
 * supervision. Messages are closed unions tagged `kind`; requests carry `replyTo`; private messages
 * (timer ticks) are members of the actor's own union that are simply not exported.
 */
import type { Logger } from '../log/index.js';
import type { MailboxOptions } from './mailbox.js';
import type { Outcome } from './outcome.js';
import type { ActorRef, AnyRef } from './ref.js';
import type { SupervisionOptions } from './supervision.js';

export type Behaviour<S, M> = (state: S, message: M, ctx: ActorContext<M>) => Outcome<S, M>;

export interface ActorDefinition<S, M> {
  /** The role, for logs, events and stats (`queue`, `site`, …); not an address. */
  readonly name: string;
  /** Builds the state at start and at every restart. */
  readonly initial: (ctx: ActorContext<M>) => S;
  readonly behaviour: Behaviour<S, M>;
  readonly mailbox?: Partial<MailboxOptions>;
  /** How this actor's supervisor treats its failures (one-for-one). */
  readonly supervision?: Partial<SupervisionOptions>;
  /** Most user messages per turn before the actor yields to the others on its host. */
  readonly throughput?: number;
  /** Called once when the actor stops (not on restart); must not throw. */
  readonly onStop?: (state: S, ctx: ActorContext<M>) => void;
}

/** What a behaviour may do besides returning an outcome. One context per actor, reused for every message. */
export interface ActorContext<M> {
  readonly self: ActorRef<M>;
  readonly log: Logger;
  /** Sends without waiting. Remote sends are batched and leave at the end of the host's turn. */
  tell<T>(to: ActorRef<T>, message: T): void;
  /** Spawns a child on this host, supervised by this actor (one-for-one). */
  spawn<S2, M2>(definition: ActorDefinition<S2, M2>): ActorRef<M2>;
  /** Stops a child (or self). */
  stop(ref: AnyRef): void;
  /** When `target` stops (on any host), `message` is delivered to this actor ahead of its user messages. */
  watch<T>(target: ActorRef<T>, message: M): void;
  unwatch<T>(target: ActorRef<T>): void;
  /** Delivers `message` to self after `delayMs` (every `delayMs` when `repeat`); a timer with the same key is replaced. */
  startTimer(key: string, message: M, delayMs: number, repeat?: boolean): void;
  cancelTimer(key: string): void;
}

/** Identity with inference: `defineActor<State, Msg>({ ... })` checks the whole definition in one place. */
export function defineActor<S, M>(definition: ActorDefinition<S, M>): ActorDefinition<S, M> {
  return definition;
}

/** The message type of a definition. */
export type DefinitionMessage<D> = D extends ActorDefinition<infer _S, infer M> ? M : never;
