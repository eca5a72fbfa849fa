/**
 * A scripted `/v1/agent` peer for the agent's fault tests: a real WebSocket server (ws) on a port, speaking
 * PROTOCOL.md's agent side as each test needs. It unwraps `batch` frames, records every frame the agent
 * sends with its arrival time, answers `register` with `registered` (the epoch, heartbeat and fence the
 * test set; `holdRegistered` keeps the reply back until the test releases it), acknowledges `ended`
 * frames when `ackEnds` is set, records pings and answers them only while `answering`, and refuses new connections while
 * `refusing`. Tests that need the real server use test/api/helpers.ts instead.
 */
import type { AddressInfo } from 'node:net';
import { pack, unpack } from 'msgpackr';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import { until } from '../helpers/until.js';

export type Frame = Record<string, unknown> & { kind: string };

export interface Received {
  readonly frame: Frame;
  /** performance.now() when it arrived. */
  readonly at: number;
  readonly socket: WebSocket;
}

export interface PeerOptions {
  readonly port?: number;
  readonly epoch?: number;
  readonly heartbeatMs?: number;
  /** Sent in `registered`; absent: the reply carries no fence (an older server). */
  readonly fenceMs?: number;
  /** Sent in `registered`; absent: the server keeps no output (the agent ships none). */
  readonly outputKeepBytes?: number;
}

export class AgentPeer {
  readonly #server: WebSocketServer;
  readonly received: Received[] = [];
  readonly options: PeerOptions;
  connections = 0;
  /** performance.now() of every ping received, answered or not. */
  readonly pings: number[] = [];
  /** Pings are answered with pongs while true. */
  answering = true;
  /** New connections are refused (HTTP 503) while true. */
  refusing = false;
  /** `ended` frames are acknowledged at once with `acked` while true. */
  ackEnds = false;
  /** `registered` replies wait while true; `release()` sends them. */
  holdRegistered = false;
  /** Attempts listed in the next `registered.kill`s. */
  kill: { job: string; task: number; attempt: number }[] = [];
  readonly #held: { socket: WebSocket; frame: Frame }[] = [];
  /** Called for every frame after the built-in answers. */
  onFrame: (frame: Frame, socket: WebSocket) => void = () => undefined;

  private constructor(server: WebSocketServer, options: PeerOptions) {
    this.#server = server;
    this.options = options;
    server.on('connection', (socket) => {
      this.connections++;
      socket.on('ping', (data: Buffer) => {
        this.pings.push(performance.now());
        if (this.answering) socket.pong(data);
      });
      socket.on('message', (data: Buffer) => {
        const top = unpack(data) as Frame;
        for (const frame of top.kind === 'batch' ? (top['frames'] as Frame[]) : [top]) this.#handle(frame, socket);
      });
    });
  }

  static async start(options: PeerOptions = {}): Promise<AgentPeer> {
    let peer: AgentPeer | undefined;
    const server = new WebSocketServer({
      port: options.port ?? 0,
      host: '127.0.0.1',
      autoPong: false,
      verifyClient: (_info, done) => (peer?.refusing ? done(false, 503) : done(true)),
    });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', () => resolve());
      server.once('error', reject);
    });
    peer = new AgentPeer(server, options);
    return peer;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** The server as `--server` takes it. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The `/v1/agent` WebSocket URL. */
  get agentUrl(): string {
    return `ws://127.0.0.1:${this.port}/v1/agent`;
  }

  send(socket: WebSocket, frame: Record<string, unknown>): void {
    socket.send(pack(frame));
  }

  /** Sends to the connection the newest frame came on. */
  sendLatest(frame: Record<string, unknown>): void {
    const last = this.received.at(-1);
    if (!last) throw new Error('no connection has sent anything yet');
    this.send(last.socket, frame);
  }

  framesOf(kind: string): Frame[] {
    return this.received.filter((r) => r.frame.kind === kind).map((r) => r.frame);
  }

  /** Waits for the `n`th frame (1-based) of `kind` that satisfies `matches`. */
  async next(kind: string, matches: (f: Frame) => boolean = () => true, n = 1, timeoutMs = 20_000): Promise<Frame> {
    const found = await until(`frame ${n} of kind ${kind}`, async () => this.framesOf(kind).filter(matches), (fs) => fs.length >= n, timeoutMs);
    return found[n - 1]!;
  }

  /** Sends the `registered` replies held back. */
  release(): void {
    for (const { socket, frame } of this.#held.splice(0)) this.#reply(socket, frame);
  }

  /** Drops every open connection (as a crashed server would). */
  dropAll(): void {
    for (const socket of this.#server.clients) socket.terminate();
  }

  close(): Promise<void> {
    this.dropAll();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #handle(frame: Frame, socket: WebSocket): void {
    this.received.push({ frame, at: performance.now(), socket });
    if (frame.kind === 'register') {
      if (this.holdRegistered) this.#held.push({ socket, frame });
      else this.#reply(socket, frame);
    }
    if (frame.kind === 'ended' && this.ackEnds) {
      this.send(socket, { kind: 'acked', node: frame['node'], attempts: [{ job: frame['job'], task: frame['task'], attempt: frame['attempt'] }] });
    }
    this.onFrame(frame, socket);
  }

  #reply(socket: WebSocket, register: Frame): void {
    const node = (register['node'] as { name: string }).name;
    const { epoch = 1, heartbeatMs = 200, fenceMs, outputKeepBytes } = this.options;
    this.send(socket, { kind: 'registered', id: register['id'], node, epoch, heartbeatMs, ...(fenceMs !== undefined ? { fenceMs } : {}), ...(outputKeepBytes !== undefined ? { outputKeepBytes } : {}), kill: this.kill.splice(0) });
  }
}

/** A `start` frame for node `node` with the defaults a test does not care about. */
export function startFrame(node: string, job: string, attempt: number, command: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { kind: 'start', node, epoch: 1, job, task: 0, arrayIndex: 0, attempt, command, args: [], shell: true, env: {}, resources: { cpu: 1000, memory: 64, gpu: 0, extended: {} }, ...fields };
}
