/**
 * Test fixtures for the gateway: a real `muster server` in this process (embedded store in a temporary
 * folder, port 0, one worker thread), the tokens every test uses, and a small msgpack WebSocket client
 * that lets a test wait for the frame it expects (never for time).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr, Unpackr } from 'msgpackr';
import WebSocket from 'ws';
import type { GatewayLimits, TokenEntry } from '../../src/api/index.js';
import { createLogger } from '../../src/log/index.js';
import type { RunningServer, ServerConfig } from '../../src/server/index.js';
import { resolveConfig, startServer } from '../../src/server/index.js';

export const TOKENS = {
  admin: 'admin-token-000000000000',
  acme: 'acme-submitter-000000000',
  globex: 'globex-submitter-0000000',
  viewer: 'viewer-token-00000000000',
  agent: 'agent-token-000000000000',
  /** An agent token that may register only nodes named `rack-…`. */
  rack: 'rack-agent-token-0000000',
} as const;

const ENTRIES: readonly TokenEntry[] = [
  { token: TOKENS.admin, tenant: 'default', role: 'admin' },
  { token: TOKENS.acme, tenant: 'acme', role: 'submitter' },
  { token: TOKENS.globex, tenant: 'globex', role: 'submitter' },
  { token: TOKENS.viewer, tenant: 'ops', role: 'viewer' },
  { token: TOKENS.agent, tenant: 'infra', role: 'agent', nodes: ['*'] },
  { token: TOKENS.rack, tenant: 'infra', role: 'agent', nodes: ['rack-*'] },
];

export interface TestServer {
  readonly server: RunningServer;
  readonly url: string;
  readonly ws: string;
  readonly dir: string;
  /** The store's last seq once everything emitted so far is durable. */
  lastSeq(): Promise<number>;
  stop(): Promise<void>;
}

/** A server on a fresh data folder, removed at stop; or on `dir` (a restart), which the caller owns. */
export async function startTestServer(options: { limits?: Partial<GatewayLimits>; config?: Partial<ServerConfig>; dir?: string } = {}): Promise<TestServer> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'muster-api-'));
  let server: RunningServer;
  try {
    const base = await resolveConfig({ data: dir, port: 0 });
    const config: ServerConfig = { ...base, tokens: ENTRIES, workers: 1, limits: options.limits ?? {}, ...options.config };
    server = await startServer(config, {}, createLogger({ name: 'test-server', level: (process.env['TEST_SERVER_LOG'] as 'silent' | undefined) ?? 'silent' }));
  } catch (err) {
    // A server refused at start (a test of a bad configuration) leaves no folder behind either.
    if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  return {
    server,
    url: server.url,
    ws: server.url.replace(/^http/, 'ws'),
    dir,
    async lastSeq() {
      await server.core.sync();
      return (await server.store.append(server.gateway.agents.epoch, [])).lastSeq;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

export function pack(value: unknown): Buffer {
  return packr.pack(value);
}

export type Frame = Record<string, unknown> & { kind: string };

/** The upgrade was refused: the HTTP status and the body's error code. */
export class Refused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(`upgrade refused: ${status} ${code}`);
  }
}

/** A msgpack client of one endpoint: every frame it gets is kept, and a test waits for the one it needs. */
export class WsClient {
  readonly received: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #socket: WebSocket;
  #waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    socket.on('message', (data: Buffer) => {
      const frame = unpackr.unpack(data) as Frame;
      const frames = frame.kind === 'batch' ? (frame['frames'] as Frame[]) : [frame];
      for (const f of frames) {
        this.received.push(f);
        this.#waiters = this.#waiters.filter((w) => (w.match(f) ? (w.resolve(f), false) : true));
      }
    });
  }

  static open(url: string, token: string | undefined): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
      socket.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => reject(new Refused(res.statusCode ?? 0, (JSON.parse(body || '{}') as { code?: string }).code ?? '')));
      });
      socket.on('error', reject);
      socket.on('open', () => resolve(new WsClient(socket)));
    });
  }

  /** The socket underneath (tests pause its reading). */
  get socket(): WebSocket {
    return this.#socket;
  }

  send(frame: unknown): void {
    this.#socket.send(pack(frame));
  }

  sendRaw(data: Buffer | string): void {
    this.#socket.send(data);
  }

  /** The first frame (already received, from index `from` on, or to come) that matches. */
  next(match: (f: Frame) => boolean, from = 0): Promise<Frame> {
    const seen = this.received.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }

  /** Sends a request and resolves with the reply naming its id (a reply kind or an `error`) that comes after it. */
  request(frame: { kind: string; id: number | string } & Record<string, unknown>): Promise<Frame> {
    const reply = this.next((f) => f['id'] === frame.id && f.kind !== frame.kind, this.received.length);
    this.send(frame);
    return reply;
  }

  /** Events of watch `id` received so far, in order. */
  events(id: number | string): Frame[] {
    return this.received.filter((f) => f.kind === 'events' && f['watch'] === id).flatMap((f) => f['events'] as Frame[]);
  }

  /** Resolves once watch `id` has received an event matching. */
  async event(id: number | string, match: (e: Frame) => boolean): Promise<Frame> {
    const frame = await this.next((f) => f.kind === 'events' && f['watch'] === id && (f['events'] as Frame[]).some(match));
    return (frame['events'] as Frame[]).find(match)!;
  }

  close(): void {
    this.#socket.close();
  }
}

/** A job in the written form: one task of 1 cpu and 1 GiB (overrides merge in). */
export function jobSpec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { queue: 'default', tasks: [{ resources: { cpu: '1', memory: '1Gi' }, command: ['true'] }], ...overrides };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** An HTTP request with a token; the status and the parsed JSON body. */
export async function http(base: string, path: string, token?: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(base + path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { ...(token ? bearer(token) : {}), ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (metrics): the text itself
  }
  return { status: response.status, body, headers: response.headers };
}

/**
 * A fake agent on `/v1/agent` holding node `name` (4 cpus, 16 GiB, site `local` unless `node` says
 * otherwise): it registers and heartbeats at the interval it is told (until `quiet()`), and answers
 * nothing else by itself; tests drive `started` / `ended`.
 */
export async function fakeAgent(
  server: TestServer,
  name = 'n1',
  running: unknown[] = [],
  options: { token?: string; ended?: unknown[]; node?: Record<string, unknown> } = {},
): Promise<{ client: WsClient; registered: Frame; quiet: () => void; beat: () => void }> {
  const client = await WsClient.open(`${server.ws}/v1/agent`, options.token ?? TOKENS.agent);
  const node = { name, site: 'local', capacity: { cpu: '4', memory: '16Gi' }, ...options.node };
  const registered = await client.request({ kind: 'register', id: `reg-${name}`, node, running, ...(options.ended ? { ended: options.ended } : {}) });
  const beat = (): void => client.send({ kind: 'heartbeat', node: name });
  // Beat as told, so the node stays ready however slow the test machine is.
  const timer = setInterval(beat, (registered['heartbeatMs'] as number | undefined) ?? 1000);
  timer.unref();
  void client.closed.then(() => clearInterval(timer));
  return { client, registered, quiet: () => clearInterval(timer), beat };
}
