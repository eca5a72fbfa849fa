/**
 * Runs a behaviour synchronously, with no host and no thread: a fake context records what the actor
 * does (tells, replies, spawns, watches, timers) and the kit applies outcomes as the runtime would.
 * Errors thrown by the behaviour propagate to the test (supervision is the runtime's business).
 */
import { createLogger } from '../log/index.js';
import type { ActorContext, ActorDefinition, Behaviour } from './behaviour.js';
import { assertNever } from './outcome.js';
import type { Outcome } from './outcome.js';
import type { ActorRef, AnyRef } from './ref.js';

export interface SentMessage {
  readonly to: AnyRef;
  readonly message: unknown;
}

export interface TestTimer<M> {
  readonly message: M;
  readonly delayMs: number;
  readonly repeat: boolean;
}

export interface TestKit<S, M> {
  readonly self: ActorRef<M>;
  readonly state: S;
  /** The stop reason once the actor stopped. */
  readonly stopped: string | undefined;
  /** Tells and replies, in order. */
  readonly sent: SentMessage[];
  readonly spawned: ActorDefinition<unknown, unknown>[];
  readonly watching: Map<string, { readonly target: AnyRef; readonly message: M }>;
  readonly timers: Map<string, TestTimer<M>>;
  /** Runs the behaviour on one message and applies its outcome; returns the outcome. */
  receive(message: M): Outcome<S, M>;
  /** Delivers a pending timer's message (a one-shot timer is removed first). */
  fireTimer(key: string): Outcome<S, M>;
  /** Empties `sent` and returns what it held. */
  takeSent(): SentMessage[];
}

const FAKE_HOST = -1;

export function testKit<S, M>(definition: ActorDefinition<S, M>, self: ActorRef<M> = { host: FAKE_HOST, id: 1 }): TestKit<S, M> {
  let behaviour: Behaviour<S, M> = definition.behaviour;
  let stopped: string | undefined;
  let nextChild = 2;
  const sent: SentMessage[] = [];
  const spawned: ActorDefinition<unknown, unknown>[] = [];
  const watching = new Map<string, { target: AnyRef; message: M }>();
  const timers = new Map<string, TestTimer<M>>();
  const ctx: ActorContext<M> = {
    self,
    log: createLogger({ name: `test-${definition.name}`, level: 'silent' }),
    tell: (to, message) => void sent.push({ to, message }),
    spawn: (child) => {
      spawned.push(child as ActorDefinition<unknown, unknown>);
      return { host: self.host, id: nextChild++ };
    },
    stop: (ref) => {
      if (ref.host === self.host && ref.id === self.id) stopped = 'stopped';
    },
    watch: (target, message) => void watching.set(`${target.host}/${target.id}`, { target, message }),
    unwatch: (target) => void watching.delete(`${target.host}/${target.id}`),
    startTimer: (key, message, delayMs, repeat = false) => void timers.set(key, { message, delayMs, repeat }),
    cancelTimer: (key) => void timers.delete(key),
  };
  let state = definition.initial(ctx);

  const receive = (message: M): Outcome<S, M> => {
    if (stopped !== undefined) throw new Error(`test kit: ${definition.name} is stopped (${stopped})`);
    const outcome = behaviour(state, message, ctx);
    switch (outcome.kind) {
      case 'continue':
        if ('state' in outcome) state = outcome.state as S;
        break;
      case 'reply':
        if ('state' in outcome) state = outcome.state as S;
        sent.push({ to: outcome.to, message: outcome.message });
        break;
      case 'become':
        behaviour = outcome.behaviour;
        state = outcome.state;
        break;
      case 'stop':
        stopped = outcome.reason;
        break;
      default:
        assertNever(outcome);
    }
    return outcome;
  };

  return {
    self,
    get state() {
      return state;
    },
    get stopped() {
      return stopped;
    },
    sent,
    spawned,
    watching,
    timers,
    receive,
    fireTimer(key) {
      const timer = timers.get(key);
      if (timer === undefined) throw new Error(`test kit: no timer ${JSON.stringify(key)}`);
      if (!timer.repeat) timers.delete(key);
      return receive(timer.message);
    },
    takeSent() {
      return sent.splice(0, sent.length);
    },
  };
}
