/**
 * Test helpers: probes (actors that hand what they receive to the test) and waiting for events.
 * Tests synchronise on these messages and events, never on sleeps.
 */
import type { ActorEvent, ActorRef, ActorSystem } from '../../src/actors/index.js';
import { defineActor, same } from '../../src/actors/index.js';
import { createLogger } from '../../src/log/index.js';

export const quietLog = createLogger({ name: 'test-actors', level: 'silent' });

export interface Probe<M> {
  readonly ref: ActorRef<M>;
  readonly received: M[];
  /** The next message not yet taken (waits for it). */
  next(): Promise<M>;
}

/** A main-thread actor that records every message it receives. */
export function probe<M>(system: ActorSystem): Probe<M> {
  const received: M[] = [];
  let taken = 0;
  const waiters: (() => void)[] = [];
  const ref = system.spawnLocal(
    defineActor<null, M>({
      name: 'probe',
      initial: () => null,
      behaviour: (_state, message) => {
        received.push(message);
        for (const wake of waiters.splice(0)) wake();
        return same();
      },
    }),
  );
  return {
    ref,
    received,
    async next() {
      while (taken >= received.length) await new Promise<void>((resolve) => waiters.push(resolve));
      return received[taken++] as M;
    },
  };
}

/** Resolves with the first event (from now on) that matches. */
export function nextEvent<K extends ActorEvent['kind']>(system: ActorSystem, kind: K, match: (e: Extract<ActorEvent, { kind: K }>) => boolean = () => true): Promise<Extract<ActorEvent, { kind: K }>> {
  return new Promise((resolve) => {
    const off = system.onEvent((event) => {
      if (event.kind === kind && match(event as Extract<ActorEvent, { kind: K }>)) {
        off();
        resolve(event as Extract<ActorEvent, { kind: K }>);
      }
    });
  });
}

/** Collects every event while the system runs. */
export function recordEvents(system: ActorSystem): ActorEvent[] {
  const events: ActorEvent[] = [];
  system.onEvent((e) => void events.push(e));
  return events;
}
