/**
 * What a behaviour returns: the runtime, not the handler, acts on it (Erlang `gen_server` style), which
 * is what makes a handler testable without a thread (see test-kit.ts).
 *
 * - `continue`: keep the behaviour; take the new state if one is given (`same` keeps the old one and
 *   allocates nothing: the hot-path choice for actors whose state is a mutable object);
 * - `become`: switch to another behaviour with a state;
 * - `reply`: send one message (typically to a request's `replyTo`), then continue;
 * - `stop`: stop this actor (its children stop, its watchers are told, its mailbox becomes dead letters).
 */
import type { ActorRef, AnyRef } from './ref.js';
import type { Behaviour } from './behaviour.js';

export interface Continue<S> {
  readonly kind: 'continue';
  readonly state?: S;
}

export interface Become<S, M> {
  readonly kind: 'become';
  readonly behaviour: Behaviour<S, M>;
  readonly state: S;
}

/** `to` and `message` agree when built with `reply()`; the outcome itself only carries them. */
export interface Reply<S> {
  readonly kind: 'reply';
  readonly to: AnyRef;
  readonly message: unknown;
  readonly state?: S;
}

export interface Stop {
  readonly kind: 'stop';
  readonly reason: string;
}

export type Outcome<S, M> = Continue<S> | Become<S, M> | Reply<S> | Stop;

const SAME: Continue<never> = Object.freeze({ kind: 'continue' });

/** Continue with the same state (no allocation). */
export function same(): Continue<never> {
  return SAME;
}

/** Continue with a new state. */
export function next<S>(state: S): Continue<S> {
  return { kind: 'continue', state };
}

export function become<S, M>(behaviour: Behaviour<S, M>, state: S): Become<S, M> {
  return { kind: 'become', behaviour, state };
}

/** Send `message` to `to`, then continue (with `state` when given). */
export function reply<R, S = never>(to: ActorRef<R>, message: R, ...state: [] | [S]): Reply<S> {
  return state.length === 0 ? { kind: 'reply', to, message } : { kind: 'reply', to, message, state: state[0] as S };
}

export function stop(reason = 'normal'): Stop {
  return { kind: 'stop', reason };
}

/** Ends every `switch (x.kind)`: a new union member that is not handled becomes a type error. */
export function assertNever(value: never): never {
  throw new TypeError(`unhandled case: ${JSON.stringify(value)}`);
}
