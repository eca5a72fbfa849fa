/**
 * A `muster server` replica that does not lead, for the tests of clients and agents that follow the
 * leader: a real HTTP server (node:http, and `ws` for the upgrades it accepts) on a free loopback port that
 * answers as PROTOCOL.md says a standby does. `GET /v1/leader`, `/healthz` and `/readyz` answer; every other
 * route and every WebSocket upgrade (`/v1/submit`, `/v1/agent`, `/v1/watch`) is refused with HTTP 503 and
 * `{ code: "MUSTER_ERR_NOT_LEADER", message, leader?, retryAfterMs }`, naming `leader` when a test has set
 * one (it may change it at any time, e.g. from `onRefused`, as an election ends).
 *
 * It can also lead for a while, as a leader about to be deposed: `lead()` accepts upgrades on `/v1/submit`
 * and `/v1/agent` and hands each socket to `onSocket` (the test speaks the protocol); `depose(leader)`
 * closes them with 1012 ("service restart") and refuses from then on. Tests wait on `refusals(n)`, which
 * settles when the n-th refusal is answered, never on time.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';

export interface KnownLeader {
  readonly url: string;
  readonly epoch: number;
}

export class FakeReplica {
  readonly #http: Server;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #waiters: { n: number; resolve: () => void }[] = [];
  /** The leader it names in its refusals and in `GET /v1/leader` (undefined: none known). */
  leader: KnownLeader | undefined;
  readonly retryAfterMs: number;
  /** What it refused, in order: `GET /v1/jobs`, `UPGRADE /v1/submit`, … */
  readonly refused: string[] = [];
  /** Called after each refusal is answered, with what was refused and how many so far. */
  onRefused: (what: string, count: number) => void = () => undefined;
  /** While leading: each accepted WebSocket, with its path. */
  onSocket: (socket: WebSocket, path: string) => void = () => undefined;
  #leading = false;

  private constructor(http: Server, options: { leader?: KnownLeader; retryAfterMs?: number }) {
    this.#http = http;
    this.leader = options.leader;
    this.retryAfterMs = options.retryAfterMs ?? 500;
    http.on('request', (req: IncomingMessage, res: ServerResponse) => this.#request(req, res));
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head));
  }

  static async start(options: { leader?: KnownLeader; retryAfterMs?: number } = {}): Promise<FakeReplica> {
    const http = createServer();
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(0, '127.0.0.1', () => resolve());
    });
    return new FakeReplica(http, options);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#http.address() as AddressInfo).port}`;
  }

  /** Its `/v1/agent` WebSocket URL. */
  get agentUrl(): string {
    return `${this.url.replace(/^http/, 'ws')}/v1/agent`;
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** Settles once `n` requests or upgrades in all have been refused. */
  refusals(n: number): Promise<void> {
    if (this.refused.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  /** Leads: upgrades on `/v1/submit` and `/v1/agent` are accepted and handed to `onSocket`. */
  lead(): void {
    this.#leading = true;
  }

  /** Loses leadership: its sockets close with 1012 and it refuses from now on, naming `leader`. */
  depose(leader: KnownLeader | undefined): void {
    this.#leading = false;
    this.leader = leader;
    for (const socket of this.#wss.clients) socket.close(1012, 'service restart');
  }

  async close(): Promise<void> {
    for (const socket of this.#wss.clients) socket.terminate();
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  #refusalBody(): string {
    return JSON.stringify({
      code: 'MUSTER_ERR_NOT_LEADER',
      message: `this replica (${this.url}) is a standby: ${this.leader ? `the leader is ${this.leader.url}` : 'no leader is known'}`,
      ...(this.leader ? { leader: this.leader } : {}),
      retryAfterMs: this.retryAfterMs,
    });
  }

  #refusedOne(what: string): void {
    this.refused.push(what);
    for (const w of [...this.#waiters]) {
      if (this.refused.length >= w.n) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve();
      }
    }
    this.onRefused(what, this.refused.length);
  }

  #request(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://replica').pathname;
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    req.resume();
    if (req.method === 'GET' && path === '/v1/leader') {
      return json(200, { leader: this.leader?.url ?? null, epoch: this.leader?.epoch ?? null, self: this.#leading, role: this.#leading ? 'leader' : 'standby', replica: this.url });
    }
    if (path === '/healthz') return json(200, { ok: true });
    if (path === '/readyz') return json(503, { ready: false, code: 'MUSTER_ERR_NOT_LEADER', message: 'a standby' });
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': String(Math.ceil(this.retryAfterMs / 1000)) });
    res.end(this.#refusalBody());
    this.#refusedOne(`${req.method ?? 'GET'} ${path}`);
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://replica').pathname;
    if (this.#leading && (path === '/v1/submit' || path === '/v1/agent')) {
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws, path));
      return;
    }
    const body = this.#refusalBody();
    socket.on('error', () => undefined);
    socket.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    this.#refusedOne(`UPGRADE ${path}`);
  }
}
