/**
 * What crosses threads, in one place.
 *
 * The data path (host ↔ host, one `MessagePort` per pair of hosts): one `WireBatch` (batch-codec.ts: target
 * ids, message shapes, flat values) per destination host per turn. Target id 0 is the receiving host's
 * own inbox and carries a `HostSignal`; negative ids are ask reply slots.
 *
 * The control path (worker → main, `parentPort`): ready, and the worker's events.
 * The admin path (main → worker, its own port): comlink calls (admin.ts).
 */
import type { MessagePort } from 'node:worker_threads';
import type { WireError } from '../errors/index.js';
import type { ActorEvent } from './events.js';
import type { ProducerSpec } from './producer.js';
import type { AnyRef } from './ref.js';

/** Messages to a host's inbox (target id 0 in a batch). */
export type HostSignal =
  | { readonly kind: 'watch'; readonly target: number; readonly watcher: AnyRef; readonly message: unknown }
  | { readonly kind: 'unwatch'; readonly target: number; readonly watcher: AnyRef }
  /** A watch notice for actor `to`: goes to its system lane. */
  | { readonly kind: 'signal'; readonly to: number; readonly message: unknown }
  | { readonly kind: 'ask-failed'; readonly ask: number; readonly error: WireError }
  | { readonly kind: 'stop'; readonly target: number }
  // Topology, from the main host only. They travel on the data path, not the control port, so that they
  // are ordered with the main host's messages: a worker learns of a restarted peer before it receives
  // any message (or ref) that was sent after the restart.
  | { readonly kind: 'peer-up'; readonly host: number; readonly port: MessagePort }
  | { readonly kind: 'peer-down'; readonly host: number }
  | { readonly kind: 'peer-failed'; readonly host: number };

/** An actor the system spawned on a host and re-creates there after a worker restart. */
export interface RegisteredActor {
  readonly id: number;
  readonly spec: ProducerSpec;
}

export interface PeerPort {
  readonly host: number;
  readonly port: MessagePort;
}

/** `workerData` of a worker host. */
export interface WorkerBoot {
  readonly host: number;
  readonly incarnation: number;
  readonly peers: readonly PeerPort[];
  readonly admin: MessagePort;
  readonly actors: readonly RegisteredActor[];
  readonly logLevel: string;
}


export type ControlToMain =
  | { readonly kind: 'ready'; readonly failed: readonly { readonly id: number; readonly error: WireError }[] }
  | { readonly kind: 'events'; readonly events: readonly ActorEvent[] };
