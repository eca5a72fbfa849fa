/**
 * The WebSocket to `/v1/submit`, kept up across failures.
 *
 * - Connecting tries each endpoint in order; after a round that reached none it waits a jittered backoff
 *   and tries again. Requests made meanwhile wait in the request table. If no endpoint answers within
 *   `connectTimeoutMs`, waiting requests fail with MUSTER_ERR_UNREACHABLE (naming the endpoints and the last
 *   error); a refused token (401, 403) fails them at once with the server's code.
 * - On a new connection every request still waiting is sent again: submits and cancels are idempotent
 *   (every job carries an idempotency key), so a resend after a lost connection never duplicates a job.
 *   Watches subscribe again from the last event they received.
 * - A request refused with MUSTER_ERR_RATE_LIMITED (or MUSTER_ERR_NOT_READY: the server is stopping or still
 *   recovering) is sent again after `retryAfterMs` (a refused request wrote nothing); so is one refused with
 *   MUSTER_ERR_BUSY (the server could not finish it in time and does not know whether it took effect: a
 *   submit or cancel sent again is safe, every job carrying its idempotency key).
 * - A ping every `pingIntervalMs` keeps an idle connection open and finds a dead one (no pong by the next
 *   ping: the socket is dropped and the session reconnects).
 */
import WebSocket from 'ws';
import { MusterError } from '../errors/index.js';
import type { BackoffOptions } from './backoff.js';
import { backoffDelay } from './backoff.js';
import type { Endpoint } from './endpoints.js';
import type { PendingRequest } from './request-table.js';
import { RequestTable } from './request-table.js';
import { BUSY, NOT_READY, RATE_LIMITED, serverError } from './server-error.js';
import type { WatchHost } from './watch.js';
import { Watch } from './watch.js';
import type { ClientFrame, RequestId, ServerFrame } from './wire.js';
import { decodeFrame, encodeFrame } from './wire.js';

/** Largest frame the client sends or accepts: the server's default WebSocket frame limit (PROTOCOL.md). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Ping interval: well inside the server's 120 s idle limit, and a dead peer is noticed within two of these. */
export const DEFAULT_PING_INTERVAL_MS = 30_000;

/** Retry delay after MUSTER_ERR_RATE_LIMITED or MUSTER_ERR_NOT_READY when the server gives no `retryAfterMs`. */
const DEFAULT_RETRY_AFTER_MS = 100;

/** How much of a refused upgrade's body is read for its `{ code, message }`. */
const MAX_REFUSAL_BODY_BYTES = 64 * 1024;

export interface SessionOptions {
  readonly endpoints: readonly Endpoint[];
  readonly token?: string;
  readonly requestTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly backoff?: BackoffOptions;
  readonly maxFrameBytes?: number;
  readonly pingIntervalMs?: number;
}

/** A request that could not be answered because its connection was lost (internal: such requests are resent or dropped). */
class ConnectionLost extends MusterError {
  constructor(url: string) {
    super('MUSTER_ERR_UNREACHABLE', `the connection to ${url} was lost`);
  }
}

type DialOutcome = { readonly ws: WebSocket } | { readonly error: Error; readonly fatal: boolean };

export class SubmitSession implements WatchHost {
  readonly #options: SessionOptions;
  readonly #maxFrameBytes: number;
  readonly #table: RequestTable;
  readonly #watches = new Set<Watch>();
  /** Confirmed subscriptions on the current socket, by the id of their `watch` request. */
  readonly #watchById = new Map<RequestId, Watch>();
  readonly #watchIds = new Map<Watch, RequestId>();
  #ws: WebSocket | undefined;
  #url = '';
  #connecting = false;
  #closed = false;
  /** When the session last had no connection while something waited for one. */
  #downSince: number | undefined;
  #openWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  #sweeper: NodeJS.Timeout | undefined;
  #pinger: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(options: SessionOptions) {
    if (options.endpoints.length === 0) throw new MusterError('MUSTER_ERR_REQUIRED', 'name at least one server endpoint');
    this.#options = options;
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#table = new RequestTable(options.requestTimeoutMs);
  }

  /** The URL of the open connection, or undefined. */
  get connectedTo(): string | undefined {
    return this.#ws ? this.#url : undefined;
  }

  /** Requests waiting for their reply. */
  get inFlight(): number {
    return this.#table.size;
  }

  /** Resolves once a connection is open (MUSTER_ERR_UNREACHABLE after the connect timeout). */
  connect(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#ws) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#openWaiters.push({ resolve, reject });
      this.#startConnecting();
    });
  }

  /**
   * Sends the frame `build` makes with the next request id; resolves with the reply, or rejects with a
   * `ServerError` (an `error` reply), MUSTER_ERR_REQUEST_TIMEOUT, MUSTER_ERR_UNREACHABLE or
   * MUSTER_ERR_CLIENT_CLOSED. `resend`: send it again on a new connection if the old one is lost.
   */
  request(build: (id: RequestId) => ClientFrame, resend = true): Promise<ServerFrame> {
    return new Promise<ServerFrame>((resolve, reject) => {
      this.#send(build, resend, (frame) => (frame.kind === 'error' ? reject(serverError(frame)) : resolve(frame)), reject);
    });
  }

  watch(watch: Watch): Watch {
    if (this.#closed) {
      watch.fail(closedError());
      return watch;
    }
    this.#watches.add(watch);
    if (this.#ws) this.#subscribe(watch);
    else this.#startConnecting();
    return watch;
  }

  unwatch(watch: Watch): void {
    this.#watches.delete(watch);
    const id = this.#watchIds.get(watch);
    if (id === undefined) return;
    this.#watchIds.delete(watch);
    this.#watchById.delete(id);
    if (this.#ws) this.#sendUnwatch(id);
  }

  /** Best effort: a lost connection ends the subscription just as well, so neither reply nor failure matters. */
  #sendUnwatch(watch: RequestId): void {
    this.#send((id) => ({ kind: 'unwatch', id, watch }), false, () => undefined, () => undefined);
  }

  /** Fails what is waiting with MUSTER_ERR_CLIENT_CLOSED, ends the watches and closes the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#wake?.();
    this.#stopSweeper();
    this.#stopPinger();
    // Watches end first: their pending subscriptions then fail into watches that are already over.
    for (const watch of this.#watches) watch.end();
    this.#watches.clear();
    const err = closedError();
    for (const entry of this.#table.drop(() => true)) entry.onFail(err);
    for (const waiter of this.#openWaiters.splice(0)) waiter.reject(err);
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(1000);
        // A peer that never completes the closing handshake must not hold the caller.
        const timer = setTimeout(() => ws.terminate(), 1000);
        timer.unref();
      });
    }
  }

  #send(build: (id: RequestId) => ClientFrame, resend: boolean, onReply: (frame: ServerFrame) => void, onFail: (err: Error) => void): void {
    if (this.#closed) {
      onFail(closedError());
      return;
    }
    const frame = encodeFrame(build(this.#table.nextId()));
    if (frame.byteLength > this.#maxFrameBytes) {
      onFail(new MusterError('MUSTER_ERR_LIMIT_EXCEEDED', `a frame of ${frame.byteLength} bytes is past the ${this.#maxFrameBytes}-byte frame limit; send fewer jobs per frame`));
      return;
    }
    this.#table.add({ frame, resend, onReply, onFail }, performance.now());
    this.#startSweeper();
    if (this.#ws) this.#ws.send(frame);
    else this.#startConnecting();
  }

  #subscribe(watch: Watch): void {
    const from = watch.resumeFrom;
    this.#send(
      (id) => ({ kind: 'watch', id, ...(hasFilter(watch) ? { filter: watch.filter } : {}), ...(from !== undefined ? { from } : {}) }),
      false,
      (frame) => {
        if (frame.kind === 'watching' && watch.active && this.#watches.has(watch)) {
          this.#watchById.set(frame.id, watch);
          this.#watchIds.set(watch, frame.id);
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
        if (err instanceof ConnectionLost && this.#watches.has(watch)) return;
        this.#watches.delete(watch);
        watch.fail(err);
      },
    );
  }

  #hasDemand(): boolean {
    return this.#table.size > 0 || this.#watches.size > 0 || this.#openWaiters.length > 0;
  }

  #startConnecting(): void {
    if (this.#connecting || this.#ws || this.#closed) return;
    this.#connecting = true;
    this.#downSince ??= performance.now();
    void this.#connectLoop().finally(() => {
      this.#connecting = false;
    });
  }

  async #connectLoop(): Promise<void> {
    for (let round = 0; ; round++) {
      const causes: string[] = [];
      for (const endpoint of this.#options.endpoints) {
        if (this.#closed) return;
        const outcome = await this.#dial(endpoint);
        if (this.#closed) {
          if ('ws' in outcome) outcome.ws.terminate();
          return;
        }
        if ('ws' in outcome) {
          this.#attach(outcome.ws, endpoint.submit);
          return;
        }
        causes.push(`${endpoint.http}: ${outcome.error.message}`);
        if (outcome.fatal) {
          this.#failWaiting(outcome.error, true);
          return;
        }
      }
      if (!this.#hasDemand()) return;
      if (performance.now() - (this.#downSince ?? 0) >= this.#options.connectTimeoutMs) {
        this.#failWaiting(new MusterError('MUSTER_ERR_UNREACHABLE', `cannot reach the muster server (${causes.join('; ')})`), false);
        // Whatever asks from now on gets a fresh connect timeout.
        this.#downSince = performance.now();
        if (!this.#hasDemand()) return;
      }
      await this.#sleep(backoffDelay(round, this.#options.backoff));
      if (this.#closed || !this.#hasDemand()) return;
    }
  }

  /** Fails the requests and open-waiters; `all`: every watch too, else only those never confirmed. */
  #failWaiting(err: Error, all: boolean): void {
    for (const entry of this.#table.drop(() => true)) entry.onFail(err);
    for (const waiter of this.#openWaiters.splice(0)) waiter.reject(err);
    for (const watch of [...this.#watches]) {
      if (all || !this.#watchIds.has(watch)) {
        this.#watches.delete(watch);
        watch.fail(err);
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#timers.add(timer);
      this.#wake = () => {
        clearTimeout(timer);
        this.#timers.delete(timer);
        resolve();
      };
    });
  }

  #dial(endpoint: Endpoint): Promise<DialOutcome> {
    return new Promise<DialOutcome>((resolve) => {
      const ws = new WebSocket(endpoint.submit, {
        headers: this.#options.token ? { authorization: `Bearer ${this.#options.token}` } : {},
        handshakeTimeout: Math.min(this.#options.connectTimeoutMs, 10_000),
        maxPayload: this.#maxFrameBytes,
        perMessageDeflate: false,
      });
      let done = false;
      const finish = (outcome: DialOutcome): void => {
        if (done) return;
        done = true;
        resolve(outcome);
      };
      // ws throws on an 'error' event nobody listens to: this listener stays for the socket's life.
      ws.on('error', (err) => finish({ error: new MusterError('MUSTER_ERR_UNREACHABLE', describe(err)), fatal: false }));
      ws.once('open', () => finish({ ws }));
      ws.once('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_REFUSAL_BODY_BYTES) chunks.push(chunk);
        });
        res.on('error', () => undefined);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            body = { code: status === 401 ? 'MUSTER_ERR_UNAUTHORIZED' : status === 403 ? 'MUSTER_ERR_FORBIDDEN' : 'MUSTER_ERR_UNREACHABLE', message: `${endpoint.submit} refused the upgrade with HTTP ${status}` };
          }
          finish({ error: serverError(body, status), fatal: status === 401 || status === 403 });
          ws.terminate();
        });
      });
    });
  }

  #attach(ws: WebSocket, url: string): void {
    this.#ws = ws;
    this.#url = url;
    this.#downSince = undefined;
    let alive = true;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      alive = true;
      if (isBinary) this.#receive(data);
    });
    ws.on('pong', () => {
      alive = true;
    });
    ws.once('close', (code: number, reason: Buffer) => this.#detach(ws, code, reason.toString('utf8')));
    this.#pinger = setInterval(() => {
      if (!alive) {
        ws.terminate();
        return;
      }
      alive = false;
      ws.ping();
    }, this.#options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS);
    this.#pinger.unref();
    for (const entry of this.#table.waiting()) ws.send(entry.frame);
    for (const watch of this.#watches) this.#subscribe(watch);
    for (const waiter of this.#openWaiters.splice(0)) waiter.resolve();
  }

  #detach(ws: WebSocket, code: number, reason: string): void {
    if (this.#ws !== ws) return;
    this.#ws = undefined;
    this.#stopPinger();
    this.#watchById.clear();
    this.#watchIds.clear();
    const lost = new ConnectionLost(`${this.#url} (closed ${code}${reason ? `: ${reason}` : ''})`);
    for (const entry of this.#table.drop((e) => !e.resend)) entry.onFail(lost);
    if (!this.#closed && this.#hasDemand()) this.#startConnecting();
  }

  #receive(data: Buffer): void {
    const frame = decodeFrame(data);
    if (!frame) return;
    if (frame.kind === 'events') {
      this.#watchById.get(frame.watch)?.push(frame.events);
      return;
    }
    if (frame.id === undefined) return; // an error about a frame the server could not read: nothing to match
    const entry = this.#table.get(frame.id);
    if (!entry) return;
    // Refused whole (nothing written, or, when busy, nothing known): a resendable request goes again once the
    // server can take it; resending a submit or a cancel is safe.
    if (frame.kind === 'error' && (frame.code === RATE_LIMITED || frame.code === NOT_READY || frame.code === BUSY) && entry.resend) {
      this.#retryLater(entry, frame.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS);
      return;
    }
    this.#table.take(frame.id);
    entry.onReply(frame);
  }

  #retryLater(entry: PendingRequest, ms: number): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      // A new connection in the meantime has already resent it.
      if (this.#table.get(entry.id) === entry) this.#ws?.send(entry.frame);
    }, ms);
    this.#timers.add(timer);
  }

  #startSweeper(): void {
    if (this.#sweeper) return;
    const every = Math.max(10, Math.min(1000, this.#table.timeoutMs / 4));
    this.#sweeper = setInterval(() => {
      const expired = this.#table.expire(performance.now());
      for (const entry of expired) {
        entry.onFail(new MusterError('MUSTER_ERR_REQUEST_TIMEOUT', `no reply from ${this.#url || 'the server'} within ${this.#table.timeoutMs} ms`));
      }
      if (this.#table.size === 0) this.#stopSweeper();
    }, every);
    this.#sweeper.unref();
  }

  #stopSweeper(): void {
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  #stopPinger(): void {
    if (this.#pinger) clearInterval(this.#pinger);
    this.#pinger = undefined;
  }
}

function hasFilter(watch: Watch): boolean {
  const f = watch.filter;
  return f.jobs !== undefined || f.queue !== undefined || f.tenant !== undefined;
}

function closedError(): MusterError {
  return new MusterError('MUSTER_ERR_CLIENT_CLOSED', 'the client is closed');
}

/** The cause of a failed connection, short: `ECONNREFUSED`, `ENOTFOUND`, or the message. */
function describe(err: Error): string {
  return (err as NodeJS.ErrnoException).code ?? err.message;
}
