/**
 * The agent side of `/v1/agent` (PROTOCOL.md): one WebSocket connection to the control plane, carrying
 * one node (`muster agent`) or thousands (`muster sim`).
 *
 * - Connects to the first endpoint that answers, trying each in turn, with jittered exponential backoff
 *   between rounds; a non-leader or a dead server is simply the next endpoint.
 * - On every (re)connection registers every node it carries, each with the attempts it runs now, and
 *   kills what the server's `registered` reply lists (attempts it does not know or has replaced).
 * - Heartbeats every node at the interval the server gives, in one frame per tick (`nodes: [...]`).
 * - Reports (`started`, `ended`) are batched per event-loop turn. An end that happens while disconnected
 *   is kept and sent after the node has registered again: the server must hear how an attempt ended.
 * - Hands `start` and `kill` commands to the owner; refuses those older than the newest epoch seen.
 */
import { pack, unpack } from 'msgpackr';
import WebSocket from 'ws';
import { backoffDelay } from '../client/index.js';
import type { Logger } from '../log/index.js';
import type { TaskLaunch } from '../scheduler/index.js';

export interface AttemptId {
  readonly job: string;
  readonly task: number;
  readonly attempt: number;
}

export interface RunningAttempt extends AttemptId {
  readonly epoch: number;
}

/** A `start` command as the server pushes it: the scheduler's launch, field for field (PROTOCOL.md). */
export type StartCommand = TaskLaunch;

export interface KillCommand extends AttemptId {
  readonly node: string;
  readonly epoch: number;
  readonly reason: string;
  readonly graceMs: number;
}

export interface LogsRequest {
  readonly id: number | string;
  readonly node: string;
  readonly job: string;
  readonly task: number;
  readonly attempt?: number;
  readonly stream: 'stdout' | 'stderr';
  readonly offset: number;
  readonly follow: boolean;
  /** Send at most this many bytes, then end (absent: to the end of the output). */
  readonly maxBytes?: number;
}

export interface EndReport extends AttemptId {
  readonly outcome: 'succeeded' | 'failed' | 'timeout' | 'killed';
  readonly exitCode?: number;
  readonly signal?: string;
  readonly reason?: string;
}

/** The node spec an agent registers (its written form: PROTOCOL.md). */
export interface NodeRegistration {
  readonly name: string;
  readonly site: string;
  readonly capacity: Readonly<Record<string, unknown>>;
  readonly labels?: Readonly<Record<string, string>>;
}

/** What the link needs from whoever runs the attempts (the executor, or the simulated fleet). */
export interface LinkOwner {
  /** Attempts node `node` runs now (reported at registration). */
  running(node: string): readonly RunningAttempt[];
  start(command: StartCommand): void;
  kill(command: KillCommand | (AttemptId & { readonly node: string; readonly reason: 'reconcile' })): void;
  logs?(request: LogsRequest, send: (data: Uint8Array, eof: boolean) => void): void;
  /** A node registered (again): the server's interval and epoch. */
  registered?(node: string, info: { readonly epoch: number; readonly heartbeatMs: number }): void;
}

export interface LinkOptions {
  /** WebSocket URLs of `/v1/agent`, tried in order. */
  readonly endpoints: readonly string[];
  readonly token: string;
  readonly owner: LinkOwner;
  readonly log: Logger;
  /** Jitter source (tests fix it). */
  readonly random?: () => number;
  /** Heartbeat at this interval instead of the server's (load generators). */
  readonly heartbeatMs?: number;
}

type Frame = Readonly<Record<string, unknown>> & { readonly kind: string };

/** How long a connection attempt may take before the next endpoint is tried. */
const CONNECT_TIMEOUT_MS = 5_000;

export class AgentLink {
  readonly #o: LinkOptions;
  readonly #nodes = new Map<string, NodeRegistration>();
  /** Nodes registered on the current connection. */
  readonly #registered = new Set<string>();
  /** Reports per node waiting for the node to be registered on a connection. */
  readonly #held = new Map<string, Frame[]>();
  #ws: WebSocket | undefined;
  #outbox: Frame[] = [];
  #flushQueued = false;
  #heartbeat: NodeJS.Timeout | undefined;
  #heartbeatMs = 0;
  #newestEpoch = 0;
  #nextId = 1;
  #closed = false;
  #round = 0;
  #connected: Promise<void> | undefined;

  constructor(options: LinkOptions) {
    this.#o = options;
  }

  get newestEpoch(): number {
    return this.#newestEpoch;
  }

  get connected(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN;
  }

  /** Starts connecting (and reconnecting for as long as the link is open). Resolves on the first connection. */
  open(): Promise<void> {
    this.#connected ??= new Promise((resolve) => this.#connect(0, resolve));
    return this.#connected;
  }

  /** Carries a node: registers it now if connected, and on every reconnection. */
  addNode(node: NodeRegistration): void {
    this.#nodes.set(node.name, node);
    if (this.connected) this.#register(node);
  }

  started(node: string, attempt: AttemptId): void {
    this.#report(node, { kind: 'started', node, job: attempt.job, task: attempt.task, attempt: attempt.attempt });
  }

  ended(node: string, report: EndReport): void {
    this.#report(node, { kind: 'ended', node, ...report });
  }

  /** Stops reconnecting and closes the connection. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#ws?.close(1000, 'agent stopping');
  }

  #report(node: string, frame: Frame): void {
    if (this.#registered.has(node) && this.connected) this.#send(frame);
    else {
      const held = this.#held.get(node);
      if (held) held.push(frame);
      else this.#held.set(node, [frame]);
    }
  }

  #connect(index: number, resolve: () => void): void {
    if (this.#closed) return;
    const url = this.#o.endpoints[index % this.#o.endpoints.length]!;
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.#o.token}` }, handshakeTimeout: CONNECT_TIMEOUT_MS, maxPayload: 64 * 2 ** 20 });
    let opened = false;
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => {
      opened = true;
      this.#round = 0;
      this.#ws = ws;
      this.#o.log.info({ url }, 'connected to the control plane');
      for (const node of this.#nodes.values()) this.#register(node);
      resolve();
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      try {
        this.#receive(unpack(data) as Frame);
      } catch (err) {
        this.#o.log.warn({ err }, 'a frame from the server could not be read');
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      this.#o.log.error({ url, status: res.statusCode }, res.statusCode === 401 || res.statusCode === 403 ? 'the server refused the agent token' : 'the server refused the connection');
      ws.terminate();
    });
    ws.on('error', (err) => this.#o.log.debug({ url, err: err.message }, 'connection error'));
    ws.on('close', () => {
      if (this.#ws === ws) {
        this.#ws = undefined;
        this.#registered.clear();
        clearInterval(this.#heartbeat);
        this.#heartbeat = undefined;
        if (!this.#closed) this.#o.log.warn({ url }, 'lost the connection to the control plane; reconnecting');
      }
      if (this.#closed) return;
      // The next endpoint at once after a failed attempt; a full round of failures waits with backoff.
      const next = opened ? 0 : index + 1;
      const delay = next % this.#o.endpoints.length === 0 ? backoffDelay(this.#round++, this.#o.random ? { random: this.#o.random } : {}) : 0;
      setTimeout(() => this.#connect(next, resolve), delay).unref();
    });
  }

  #register(node: NodeRegistration): void {
    const id = this.#nextId++;
    this.#send({ kind: 'register', id, node, running: this.#o.owner.running(node.name) });
  }

  #receive(frame: Frame): void {
    switch (frame.kind) {
      case 'batch':
        for (const inner of (frame['frames'] as Frame[] | undefined) ?? []) this.#receive(inner);
        return;
      case 'registered':
        return this.#onRegistered(frame);
      case 'start': {
        const command = frame as unknown as StartCommand;
        if (this.#stale(command.epoch, frame)) return;
        this.#o.owner.start(command);
        return;
      }
      case 'kill': {
        const command = frame as unknown as KillCommand;
        if (this.#stale(command.epoch, frame)) return;
        this.#o.owner.kill(command);
        return;
      }
      case 'logs': {
        const request = frame as unknown as LogsRequest;
        if (!this.#o.owner.logs) return this.#send({ kind: 'log', id: request.id, data: new Uint8Array(0), eof: true });
        this.#o.owner.logs(request, (data, eof) => this.#send({ kind: 'log', id: request.id, data, eof }));
        return;
      }
      case 'error':
        this.#o.log.warn({ code: frame['code'], message: frame['message'], id: frame['id'] }, 'the server refused a frame');
        return;
      default:
        this.#o.log.warn({ kind: frame.kind }, 'unknown frame from the server');
    }
  }

  #onRegistered(frame: Frame): void {
    const node = frame['node'] as string;
    const epoch = frame['epoch'] as number;
    const heartbeatMs = frame['heartbeatMs'] as number;
    if (epoch > this.#newestEpoch) this.#newestEpoch = epoch;
    this.#registered.add(node);
    for (const k of (frame['kill'] as AttemptId[] | undefined) ?? []) this.#o.owner.kill({ node, job: k.job, task: k.task, attempt: k.attempt, reason: 'reconcile' });
    this.#o.owner.registered?.(node, { epoch, heartbeatMs });
    const held = this.#held.get(node);
    if (held) {
      this.#held.delete(node);
      for (const f of held) this.#send(f);
    }
    const interval = this.#o.heartbeatMs ?? heartbeatMs;
    if (interval !== this.#heartbeatMs || !this.#heartbeat) this.#startHeartbeats(interval);
  }

  #startHeartbeats(ms: number): void {
    clearInterval(this.#heartbeat);
    this.#heartbeatMs = ms;
    this.#heartbeat = setInterval(() => {
      if (this.#registered.size > 0) this.#send({ kind: 'heartbeat', nodes: [...this.#registered] });
    }, ms);
    this.#heartbeat.unref();
  }

  /** A command older than the newest epoch seen is refused (a deposed leader's). */
  #stale(epoch: number, frame: Frame): boolean {
    if (epoch < this.#newestEpoch) {
      this.#send({ kind: 'error', code: 'MUSTER_ERR_STALE_EPOCH', message: `a ${frame.kind} of epoch ${epoch} is older than epoch ${this.#newestEpoch}`, node: frame['node'] });
      return true;
    }
    this.#newestEpoch = epoch;
    return false;
  }

  #send(frame: Frame): void {
    this.#outbox.push(frame);
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushQueued = false;
    const ws = this.#ws;
    const frames = this.#outbox;
    this.#outbox = [];
    if (!ws || ws.readyState !== WebSocket.OPEN || frames.length === 0) return;
    ws.send(pack(frames.length === 1 ? frames[0] : { kind: 'batch', frames }));
  }
}
