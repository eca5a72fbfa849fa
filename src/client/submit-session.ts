/**
 * The WebSocket to `/v1/submit`, kept up across failures.
 *
 * - Connecting follows the leader (replicas.ts): the replica last found serving first, then each endpoint
 *   in order; a standby's refusal (MUSTER_ERR_NOT_LEADER) sends the round to the leader it names, else to
 *   the next endpoint. After a round that reached no leader it waits a jittered backoff (at least the
 *   refusal's `retryAfterMs`) and tries again. Requests made meanwhile wait in the request table. If no
 *   endpoint can be reached within `connectTimeoutMs`, waiting requests fail with MUSTER_ERR_UNREACHABLE
 *   (naming each endpoint and its cause). If replicas answer but none leads (an election), requests wait
 *   until their own deadline and then fail with MUSTER_ERR_NOT_LEADER, naming what each endpoint said.
 *   A refused token (401, 403) fails them at once with the server's code.
 * - A connection the leader closes (deposed: 1012 or 1001; or an `error` frame MUSTER_ERR_NOT_LEADER) is
 *   made again to whoever leads now, like any lost connection; a connection that closes soon after it
 *   opened is made again only after a backoff.
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
import type WebSocket from 'ws';
import { MusterError } from '../errors/index.js';
import type { BackoffOptions } from './backoff.js';
import { backoffDelay, roundDelay } from './backoff.js';
import { dial } from './dial.js';
import type { Endpoint } from './endpoints.js';
import type { Replicas, Round } from './replicas.js';
import { leaderEndpoint, noLeaderError } from './replicas.js';
import type { PendingRequest } from './request-table.js';
import { RequestTable } from './request-table.js';
import { BUSY, NOT_LEADER, NOT_READY, RATE_LIMITED, serverError } from './server-error.js';
import type { ServerError } from './server-error.js';
import { Subscriptions } from './subscriptions.js';
import type { Watch, WatchHost } from './watch.js';
import type { ClientFrame, RequestId, ServerFrame } from './wire.js';
import { decodeFrame, encodeFrame } from './wire.js';

/** Largest frame the client sends or accepts: the server's default WebSocket frame limit (PROTOCOL.md). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Ping interval: well inside the server's 120 s idle limit, and a dead peer is noticed within two of these. */
export const DEFAULT_PING_INTERVAL_MS = 30_000;

/** Retry delay after MUSTER_ERR_RATE_LIMITED or MUSTER_ERR_NOT_READY when the server gives no `retryAfterMs`. */
const DEFAULT_RETRY_AFTER_MS = 100;

/**
 * A connection that closes sooner than this after it opened counts as a quick drop: the next one waits a
 * backoff first, so a replica that accepts and at once closes (a leader being deposed) is not dialled in a
 * busy loop. A second is far past a handshake and far below the time any real session lasts.
 */
const STABLE_CONNECTION_MS = 1_000;

export interface SessionOptions {
  readonly replicas: Replicas;
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

/** Who fails when the session gives up waiting for a connection. */
type Failing = 'everything' | 'unconfirmed' | 'waiters';

export class SubmitSession implements WatchHost {
  readonly #options: SessionOptions;
  readonly #maxFrameBytes: number;
  readonly #table: RequestTable;
  readonly #watches: Subscriptions;
  #ws: WebSocket | undefined;
  #url = '';
  #endpoint: Endpoint | undefined;
  #openedAt = 0;
  /** Connections in a row that closed within STABLE_CONNECTION_MS of opening. */
  #quickDrops = 0;
  /** The leader a deposed one named (`error` frame): the next round tries it first. */
  #hint: Endpoint | undefined;
  /** The last round since the connection was lost in which a replica answered as a standby. */
  #standbys: Round | undefined;
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
    this.#options = options;
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#table = new RequestTable(options.requestTimeoutMs);
    this.#watches = new Subscriptions(
      (build, resend, onReply, onFail) => this.#send(build, resend, onReply, onFail),
      (err) => err instanceof ConnectionLost,
    );
  }

  /** The URL of the open connection, or undefined. */
  get connectedTo(): string | undefined {
    return this.#ws ? this.#url : undefined;
  }

  /** Requests waiting for their reply. */
  get inFlight(): number {
    return this.#table.size;
  }

  /**
   * Resolves once a connection is open: MUSTER_ERR_UNREACHABLE after the connect timeout when no endpoint
   * can be reached; MUSTER_ERR_NOT_LEADER after the request timeout when replicas answer but none leads.
   */
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
    this.#watches.add(watch, this.#ws !== undefined);
    if (!this.#ws) this.#startConnecting();
    return watch;
  }

  unwatch(watch: Watch): void {
    this.#watches.remove(watch, this.#ws !== undefined);
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
    this.#watches.endAll();
    const err = closedError();
    for (const entry of this.#table.drop(() => true)) entry.onFail(err);
    for (const waiter of this.#openWaiters.splice(0)) waiter.reject(err);
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws && ws.readyState !== ws.CLOSED) {
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
    const backoff = this.#options.backoff;
    if (this.#quickDrops > 0) {
      await this.#sleep(backoffDelay(this.#quickDrops - 1, backoff));
      if (this.#closed || !this.#hasDemand()) return;
    }
    for (let attempt = 0; ; attempt++) {
      const round = this.#options.replicas.round(this.#hint);
      this.#hint = undefined;
      for (let endpoint = round.next(); endpoint !== undefined; endpoint = round.next()) {
        if (this.#closed) return;
        const outcome = await dial(endpoint, { ...(this.#options.token ? { token: this.#options.token } : {}), timeoutMs: this.#options.connectTimeoutMs, maxFrameBytes: this.#maxFrameBytes });
        if (this.#closed) {
          if ('ws' in outcome) outcome.ws.terminate();
          return;
        }
        if ('ws' in outcome) {
          this.#options.replicas.found(endpoint);
          this.#attach(outcome.ws, endpoint);
          return;
        }
        if (outcome.refusal?.code === NOT_LEADER) {
          round.refused(endpoint, outcome.refusal);
          continue;
        }
        round.failed(endpoint, outcome.error.message);
        if (outcome.fatal) {
          this.#failWaiting(outcome.error, 'everything');
          return;
        }
      }
      if (round.notLeader) this.#standbys = round;
      if (!this.#hasDemand()) return;
      const down = performance.now() - (this.#downSince ?? 0);
      // Replicas answer but none leads: requests wait for a leader until their own deadlines (the sweeper);
      // what has no deadline of its own (connect(), a watch not yet confirmed) waits as long as a request.
      const standbys = this.#standbys;
      const limit = standbys ? Math.max(this.#options.connectTimeoutMs, this.#options.requestTimeoutMs) : this.#options.connectTimeoutMs;
      if (down >= limit) {
        if (standbys) this.#failWaiting(noLeaderError(down, standbys), 'waiters');
        else this.#failWaiting(new MusterError('MUSTER_ERR_UNREACHABLE', `cannot reach the muster server (${round.describe()})`), 'unconfirmed');
        // Whatever asks from now on gets a fresh deadline.
        this.#downSince = performance.now();
        if (!this.#hasDemand()) return;
      }
      await this.#sleep(roundDelay(attempt, round.notLeader, round.retryAfterMs, backoff));
      if (this.#closed || !this.#hasDemand()) return;
    }
  }

  /** Fails what waits for a connection: `everything` (a refused token), `unconfirmed` (requests, connect() and watches never confirmed), `waiters` (those but the requests, which have deadlines of their own). */
  #failWaiting(err: Error, failing: Failing): void {
    if (failing !== 'waiters') for (const entry of this.#table.drop(() => true)) entry.onFail(err);
    for (const waiter of this.#openWaiters.splice(0)) waiter.reject(err);
    this.#watches.fail(err, failing === 'everything');
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

  #attach(ws: WebSocket, endpoint: Endpoint): void {
    this.#ws = ws;
    this.#url = endpoint.submit;
    this.#endpoint = endpoint;
    this.#openedAt = performance.now();
    this.#downSince = undefined;
    this.#standbys = undefined;
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
    this.#watches.subscribeAll();
    for (const waiter of this.#openWaiters.splice(0)) waiter.resolve();
  }

  #detach(ws: WebSocket, code: number, reason: string): void {
    if (this.#ws !== ws) return;
    this.#ws = undefined;
    this.#quickDrops = performance.now() - this.#openedAt < STABLE_CONNECTION_MS ? this.#quickDrops + 1 : 0;
    this.#stopPinger();
    this.#watches.disconnected();
    const lost = new ConnectionLost(`${this.#url} (closed ${code}${reason ? `: ${reason}` : ''})`);
    for (const entry of this.#table.drop((e) => !e.resend)) entry.onFail(lost);
    if (!this.#closed && this.#hasDemand()) this.#startConnecting();
  }

  #receive(data: Buffer): void {
    const frame = decodeFrame(data);
    if (!frame) return;
    if (frame.kind === 'events') {
      this.#watches.deliver(frame.watch, frame.events);
      return;
    }
    if (frame.kind === 'error' && frame.code === NOT_LEADER) {
      this.#leaveDeposed(serverError(frame));
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

  /**
   * The replica this connection is on no longer leads (it refused a request as a standby): the connection is
   * dropped and made again, to the leader it named first. The refused request stays waiting and is sent
   * again there (submits and cancels are safe to resend); a watch subscribes again.
   */
  #leaveDeposed(refusal: ServerError): void {
    const ws = this.#ws;
    if (!ws) return;
    if (this.#endpoint) this.#options.replicas.deposed(this.#endpoint);
    this.#hint = leaderEndpoint(refusal);
    ws.terminate();
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
      for (const entry of expired) entry.onFail(this.#timedOut());
      if (this.#table.size === 0) this.#stopSweeper();
    }, every);
    this.#sweeper.unref();
  }

  /** Why a request passed its deadline: no leader to send it to, or no reply. */
  #timedOut(): MusterError {
    const standbys = this.#standbys;
    if (!this.#ws && standbys) return noLeaderError(this.#table.timeoutMs, standbys);
    return new MusterError('MUSTER_ERR_REQUEST_TIMEOUT', `no reply from ${this.#url || 'the server'} within ${this.#table.timeoutMs} ms`);
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

function closedError(): MusterError {
  return new MusterError('MUSTER_ERR_CLIENT_CLOSED', 'the client is closed');
}
