/**
 * A host's links to its peer hosts: one `MessagePort` per peer (FIFO), one outbound batch per peer, and the
 * peer's state as the topology signals say (up, down while it restarts, failed for good).
 *
 * Messages to a peer are appended to its batch (`enqueue`, on the hot path: no allocation beyond what the
 * batch encoder stores); the host calls `flush` once at the end of each tick, which posts one batch per
 * live peer that received messages. Batches for a peer that is down are held and leave once it is attached
 * again; messages for a failed peer (or a host that never existed) are handed to `undeliverable`.
 */
import type { MessagePort } from 'node:worker_threads';
import { BatchEncoder, decodeBatch, singleMessageBatch } from './batch-codec.js';
import { HOST_INBOX_ID } from './ref.js';
import type { HostSignal } from './wire.js';

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
  port: MessagePort | undefined;
  readonly batch: BatchEncoder;
  /** In the dirty list: has messages waiting for the end of the tick. */
  dirty: boolean;
  state: number;
}

export interface PeerLinksOptions {
  /** The listener of every peer port (the host's decoder of incoming batches). */
  readonly receive: (event: unknown) => void;
  /** Called when a batch gets its first waiting message: the host makes sure a tick will flush it. */
  readonly wake: () => void;
  /** A message for a peer that is failed, or for a host this one has no link to. */
  readonly undeliverable: (host: number, id: number, message: unknown) => void;
}

export class PeerLinks {
  readonly #links: (PeerLink | undefined)[] = [];
  #dirty: PeerLink[] = [];
  readonly #receive: (event: unknown) => void;
  readonly #wake: () => void;
  readonly #undeliverable: (host: number, id: number, message: unknown) => void;

  constructor(options: PeerLinksOptions) {
    this.#receive = options.receive;
    this.#wake = options.wake;
    this.#undeliverable = options.undeliverable;
  }

  /** Appends a message for actor (or inbox, or ask slot) `id` of peer `host` to that peer's batch. */
  enqueue(host: number, id: number, message: unknown): void {
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
      this.#wake();
    } else if (batch.size >= MAX_BATCH_MESSAGES && link.state === LINK_UP) {
      this.#post(link);
    }
  }

  /** Whether messages to `host` can still arrive (now or at its next incarnation). */
  reaches(host: number): boolean {
    const link = this.#links[host];
    return link !== undefined && link.state !== LINK_FAILED;
  }

  /** Posts every outbound batch of a live peer; batches of peers that are down stay held. */
  flush(): void {
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

  #post(link: PeerLink): void {
    if (link.batch.size === 0) return;
    (link.port as MessagePort).postMessage(link.batch.take());
  }

  /**
   * Sends a topology signal to a live peer now, after the messages already batched for it (same port,
   * so ordered with them). False if the peer is not up (it learns the topology when it restarts).
   */
  sendTopology(to: number, signal: HostSignal, transfer: MessagePort[]): boolean {
    const link = this.#links[to];
    if (link === undefined || link.state !== LINK_UP || link.port === undefined) return false;
    this.#post(link);
    link.port.postMessage(singleMessageBatch(HOST_INBOX_ID, signal), transfer);
    return true;
  }

  /**
   * Connects the port to peer `host` (closing the port of its previous incarnation); held messages leave
   * at the next flush. With `listen` false, incoming batches wait in the port until `listen()`.
   * True when the peer had a link before (it restarted), false for a first attach.
   */
  attach(host: number, port: MessagePort, listen: boolean): boolean {
    const old = this.#links[host];
    if (old?.port !== undefined && old.port !== port) old.port.close();
    const link: PeerLink = old ?? { port: undefined, batch: new BatchEncoder(), dirty: false, state: LINK_UP };
    link.port = port;
    link.state = LINK_UP;
    this.#links[host] = link;
    if (listen) port.on('message', this.#receive);
    if (link.batch.size > 0) this.#wake();
    return old !== undefined;
  }

  /** Starts delivery from every port attached with `listen` false. */
  listen(): void {
    for (const link of this.#links) link?.port?.on('message', this.#receive);
  }

  /** Peer `host` died and is being restarted: its port closes, messages to it are held. False if unknown. */
  down(host: number): boolean {
    return this.#cut(host, LINK_DOWN) !== undefined;
  }

  /** Peer `host` will not come back: held and future messages to it are undeliverable. False if unknown. */
  failed(host: number): boolean {
    const link = this.#cut(host, LINK_FAILED);
    if (link === undefined) return false;
    decodeBatch(link.batch.take(), (id, message) => this.#undeliverable(host, id, message));
    return true;
  }

  /** Closes the port to a peer that is gone and puts its link in `state`. */
  #cut(host: number, state: typeof LINK_DOWN | typeof LINK_FAILED): PeerLink | undefined {
    const link = this.#links[host];
    if (link === undefined) return undefined;
    link.state = state;
    link.port?.close();
    link.port = undefined;
    return link;
  }

  /** Closes every port (the host flushes first). */
  close(): void {
    for (const link of this.#links) link?.port?.close();
  }
}
