/**
 * A session's watches and their subscriptions on the current connection. Each watch is subscribed on
 * every connection (with `from` = the last event it received, so it resumes right after it); the
 * server's `watching` reply confirms it under the id of that request, and `events` frames are routed by
 * that id. A lost connection forgets the ids; the watches stay and subscribe again on the next one.
 */
import type { Watch } from './watch.js';
import type { ClientFrame, JobEvent, RequestId, ServerFrame } from './wire.js';
import { serverError } from './server-error.js';

/** How the session sends a request (see `SubmitSession`): never resent by itself, the subscriptions resubscribe. */
export type SendRequest = (build: (id: RequestId) => ClientFrame, resend: boolean, onReply: (frame: ServerFrame) => void, onFail: (err: Error) => void) => void;

export class Subscriptions {
  readonly #send: SendRequest;
  /** Whether a failure is only the connection's loss (the watch then subscribes again). */
  readonly #lost: (err: Error) => boolean;
  readonly #watches = new Set<Watch>();
  /** Confirmed subscriptions on the current connection, by the id of their `watch` request. */
  readonly #byId = new Map<RequestId, Watch>();
  readonly #ids = new Map<Watch, RequestId>();

  constructor(send: SendRequest, lost: (err: Error) => boolean) {
    this.#send = send;
    this.#lost = lost;
  }

  get size(): number {
    return this.#watches.size;
  }

  /** A new watch: subscribed now if there is a connection, else on the next one. */
  add(watch: Watch, connected: boolean): void {
    this.#watches.add(watch);
    if (connected) this.#subscribe(watch);
  }

  /** The caller closed `watch`: the server is told if it had confirmed it on this connection. */
  remove(watch: Watch, connected: boolean): void {
    this.#watches.delete(watch);
    const id = this.#ids.get(watch);
    if (id === undefined) return;
    this.#ids.delete(watch);
    this.#byId.delete(id);
    if (connected) this.#sendUnwatch(id);
  }

  /** A connection opened: every watch subscribes on it. */
  subscribeAll(): void {
    for (const watch of this.#watches) this.#subscribe(watch);
  }

  /** The connection was lost: its confirmations are gone with it. */
  disconnected(): void {
    this.#byId.clear();
    this.#ids.clear();
  }

  deliver(watchId: RequestId, events: readonly JobEvent[]): void {
    this.#byId.get(watchId)?.push(events);
  }

  /** Ends with `err` every watch (`all`), or only those not confirmed on the current connection. */
  fail(err: Error, all: boolean): void {
    for (const watch of [...this.#watches]) {
      if (all || !this.#ids.has(watch)) {
        this.#watches.delete(watch);
        watch.fail(err);
      }
    }
  }

  /** The client closes: every watch ends without an error. */
  endAll(): void {
    for (const watch of this.#watches) watch.end();
    this.#watches.clear();
  }

  /** Best effort: a lost connection ends the subscription just as well, so neither reply nor failure matters. */
  #sendUnwatch(watch: RequestId): void {
    this.#send((id) => ({ kind: 'unwatch', id, watch }), false, () => undefined, () => undefined);
  }

  #subscribe(watch: Watch): void {
    const from = watch.resumeFrom;
    this.#send(
      (id) => ({ kind: 'watch', id, ...(hasFilter(watch) ? { filter: watch.filter } : {}), ...(from !== undefined ? { from } : {}) }),
      false,
      (frame) => {
        if (frame.kind === 'watching' && watch.active && this.#watches.has(watch)) {
          this.#byId.set(frame.id, watch);
          this.#ids.set(watch, frame.id);
          watch.started(frame.seq);
        } else if (frame.kind === 'watching') {
          // Closed while the server was confirming it: end the subscription the server just made.
          this.#sendUnwatch(frame.id);
        } else if (frame.kind === 'error') {
          this.#watches.delete(watch);
          watch.fail(serverError(frame));
        }
      },
      (err) => {
        // A lost connection subscribes again on the next one; anything else ends the watch.
        if (this.#lost(err) && this.#watches.has(watch)) return;
        this.#watches.delete(watch);
        watch.fail(err);
      },
    );
  }
}

function hasFilter(watch: Watch): boolean {
  const f = watch.filter;
  return f.jobs !== undefined || f.queue !== undefined || f.tenant !== undefined;
}
