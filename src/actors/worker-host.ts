/**
 * The entry of a worker host thread. Boot order matters for the delivery guarantees:
 *
 * 1. attach the peer ports without listening, so batches that peers send early wait in the ports;
 * 2. rebuild the registered actors from their producers (same ids as before a restart);
 * 3. start listening: no message reaches an id whose actor is still being rebuilt;
 * 4. serve the admin API (comlink); say `ready`. Topology changes arrive later as host signals on the
 *    port from the main host (wire.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { LevelWithSilent } from 'pino';
import { toWire } from '../errors/index.js';
import type { WireError } from '../errors/index.js';
import { createLogger } from '../log/index.js';
import { createHostAdmin, exposeAdmin } from './admin.js';
import type { ActorEvent } from './events.js';
import { ActorHost } from './host.js';
import { loadDefinition } from './producer.js';
import type { ControlToMain, WorkerBoot } from './wire.js';

const control = parentPort;
if (control === null) throw new Error('worker-host.ts runs in a worker thread only');
const boot = workerData as WorkerBoot;
const log = createLogger({ name: `actors-host-${boot.host}`, level: boot.logLevel as LevelWithSilent });

// Events leave in one control message per event-loop turn, not one per event.
let events: ActorEvent[] = [];
const flushEvents = (): void => {
  const out = events;
  events = [];
  control.postMessage({ kind: 'events', events: out } satisfies ControlToMain);
};
const onEvent = (event: ActorEvent): void => {
  if (events.push(event) === 1) setImmediate(flushEvents);
};

const host = new ActorHost({ id: boot.host, incarnation: boot.incarnation, log, onEvent });
for (const peer of boot.peers) host.attachPeer(peer.host, peer.port, false);

const failed: { id: number; error: WireError }[] = [];
for (const actor of boot.actors) {
  try {
    host.spawn(await loadDefinition(actor.spec), actor.id);
  } catch (err) {
    failed.push({ id: actor.id, error: toWire(err) });
    log.error({ id: actor.id, err: toWire(err) }, 'actor not re-created');
  }
}
host.listen();
exposeAdmin(createHostAdmin(host), boot.admin);
control.postMessage({ kind: 'ready', failed } satisfies ControlToMain);
