/**
 * The scheduler on a store: events go to the store's log in group commits (the dispatcher waits for them
 * before it acknowledges or dispatches), and on start the whole state is rebuilt from the newest snapshot and
 * the log after it, with the same reducer, before anything is served.
 */
import type { EventStore } from '../store/index.js';
import { applyEvent } from './apply.js';
import type { EventSink } from './durable-sequencer.js';
import type { SchedulerEvent } from './events.js';
import { unpackSnapshot } from './snapshot.js';
import type { SchedulerState } from './state.js';
import { createState } from './state.js';

/** The dispatcher's sink on a store: one append per tick of the dispatcher's host, under this opening's epoch. */
export function storeSink(store: EventStore, epoch: number): EventSink {
  return {
    write: (events) => store.append(epoch, events).then(() => undefined),
  };
}

export interface RecoveredScheduler {
  readonly state: SchedulerState;
  /** The last event in the log: the dispatcher numbers new events after it. */
  readonly lastSeq: number;
  /** The epoch to write (and decide) with: higher than any before. */
  readonly epoch: number;
  /** Events replayed on top of the snapshot. */
  readonly replayed: number;
}

export async function recoverScheduler(store: EventStore): Promise<RecoveredScheduler> {
  const recovered = await store.recover();
  const state = recovered.snapshot ? unpackSnapshot(recovered.snapshot.state) : createState(false);
  for (const stored of recovered.events) applyEvent(state, stored.event as SchedulerEvent);
  return { state, lastSeq: recovered.lastSeq, epoch: recovered.epoch, replayed: recovered.events.length };
}
