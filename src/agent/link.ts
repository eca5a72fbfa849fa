/**
 * The agent side of `/v1/agent` (PROTOCOL.md): one WebSocket connection to the control plane, carrying
 * one node (`muster agent`) or thousands (`muster sim`).
 *
 * - Connects to the first endpoint that answers, trying each in turn, with jittered exponential backoff
 *   between rounds, for as long as the link is open: it never gives up, and says on its log which
 *   endpoints it tries and when it tries again. A non-leader or a dead server is simply the next endpoint.
 * - On every (re)connection registers every node it carries, each with the attempts it runs now (`running`)
 *   and every end of that node the server has not acknowledged (`ended`). The `registered` reply
 *   acknowledges the ends it carried; ends that arose meanwhile are sent as `ended` frames right after it.
 *   Attempts the reply lists in `kill` are killed, and nothing is reported for them. A refused `register`
 *   (the server not ready, the node held elsewhere) is tried again with backoff.
 * - Keeps every end until the server acknowledges it (`acked`, or the `registered` of a register that
 *   carried it), across reconnections; the agent keeps them across its own restarts (the executor's
 *   journal) and hands them back to the link before it opens.
 * - Heartbeats every node at the server's interval in one frame per tick, and pings the server at the same
 *   tick: a pong or any frame is contact, which renews the fence (fence.ts). A connection silent for
 *   `SILENT_HEARTBEATS` intervals, or past the fence, is dropped and made again.
 * - Reports are batched per event-loop turn. Commands older than the newest epoch seen are refused.
 */
import { pack, unpack } from 'msgpackr';
import WebSocket from 'ws';
import { backoffDelay } from '../client/index.js';
import type { Logger } from '../log/index.js';
import type { TaskLaunch } from '../scheduler/index.js';
import { Fence, monotonicNs } from './fence.js';
import type { Lease } from './shim/index.js';

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
  readonly outcome: 'succeeded' | 'failed' | 'timeout' | 'killed' | 'lost';
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

export interface RegisteredInfo {
  readonly epoch: number;
  readonly heartbeatMs: number;
  /** Absent from an older server: no fence. */
  readonly fenceMs?: number;
}

/** What the link needs from whoever runs the attempts (the executor, or the simulated fleet). */
export interface LinkOwner {
  /** Attempts node `node` runs now (reported at registration). */
  running(node: string): readonly RunningAttempt[];
  start(command: StartCommand): void;
  kill(command: KillCommand | (AttemptId & { readonly node: string; readonly reason: 'reconcile' })): void;
  logs?(request: LogsRequest, send: (data: Uint8Array, eof: boolean) => void): void;
  /** A node registered (again): the server's epoch, interval and fence. */
  registered?(node: string, info: RegisteredInfo): void;
  /** The server has recorded these ends of `node` (or a registration dropped them): they may be forgotten. */
  acknowledged?(node: string, attempts: readonly AttemptId[]): void;
  /** No contact with the server for `fenceMs`: every attempt must be given up (ended `lost`, reason `fenced: …`). */
  fenced?(info: { readonly fenceMs: number; readonly silentMs: number }): void;
  /** The lease changed: write it where the shims read it. */
  lease?(lease: Lease | undefined): void;
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
/** The interval until a server has said its own (PROTOCOL.md's default). */
const DEFAULT_HEARTBEAT_MS = 1_000;
/**
 * A connection with no frame and no pong for this many heartbeat intervals is taken for dead (a half-open
 * TCP connection shows nothing else) and made again. Without a fence it is the only such bound.
 */
const SILENT_HEARTBEATS = 5;
/** PROTOCOL.md: at most this many attempts in one `register`. */
const MAX_ENDED_PER_REGISTER = 65_536;
/** How often `drained` looks whether the last acknowledgements came. */
const DRAIN_POLL_MS = 20;
/** A ping carries its send time (monotonic ns) in this many bytes, so its pong says which ping it answers. */
const PING_BYTES = 8;

interface PendingRegister {
  readonly id: number;
  /** The ends the register carried: its `registered` acknowledges them. */
  readonly carried: readonly AttemptId[];
}

export class AgentLink {
  readonly #o: LinkOptions;
  readonly #nodes = new Map<string, NodeRegistration>();
  /** Nodes registered on the current connection. */
  readonly #registered = new Set<string>();
  /** Registers sent on the current connection and not yet answered, per node. */
  readonly #pending = new Map<string, PendingRegister>();
  /** Every end not yet acknowledged, per node, by attempt key. */
  readonly #unacked = new Map<string, Map<string, EndReport>>();
  /** `started` reports per node waiting for the node to be registered on a connection. */
  readonly #held = new Map<string, Frame[]>();
  /** Refused registers in a row, per node (their retry backs off). */
  readonly #refusals = new Map<string, number>();
  #fence: Fence | undefined;
  #ws: WebSocket | undefined;
  #connecting: WebSocket | undefined;
  #retry: NodeJS.Timeout | undefined;
  #outbox: Frame[] = [];
  #flushQueued = false;
  #tick: NodeJS.Timeout | undefined;
  #heartbeatMs = DEFAULT_HEARTBEAT_MS;
  /** When the last ping went out on this connection (or the connection opened): what a frame's contact counts from. */
  #lastPingNs = 0n;
  #lastContactNs = 0n;
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

  /** The server's fence in force (undefined: none). */
  get fenceMs(): number | undefined {
    return this.#fence?.fenceMs;
  }

  /** How many ends wait for the server's acknowledgement. */
  get unacknowledged(): number {
    let n = 0;
    for (const ends of this.#unacked.values()) n += ends.size;
    return n;
  }

  /**
   * Starts connecting, and reconnecting for as long as the link is open (a pending retry keeps the process
   * alive). Resolves on the first connection. `lease`: the one a previous run of the agent left (its fence
   * holds until the server says otherwise).
   */
  open(lease?: Lease): Promise<void> {
    this.#fence ??= new Fence({
      expired: (info) => this.#fenced(info),
      lease: (next) => this.#o.owner.lease?.(next),
      ...(lease ? { initial: lease } : {}),
    });
    this.#connected ??= new Promise((resolve) => this.#connect(0, resolve));
    return this.#connected;
  }

  /** Carries a node: registers it now if connected, and on every reconnection. */
  addNode(node: NodeRegistration): void {
    this.#nodes.set(node.name, node);
    if (this.connected) this.#register(node);
  }

  started(node: string, attempt: AttemptId): void {
    const frame: Frame = { kind: 'started', node, job: attempt.job, task: attempt.task, attempt: attempt.attempt };
    if (this.#registered.has(node) && this.connected) this.#send(frame);
    else {
      const held = this.#held.get(node);
      if (held) held.push(frame);
      else this.#held.set(node, [frame]);
    }
  }

  /** An attempt ended: kept until the server acknowledges it, and sent now if the node is registered. */
  ended(node: string, report: EndReport): void {
    let ends = this.#unacked.get(node);
    if (!ends) this.#unacked.set(node, (ends = new Map()));
    ends.set(keyOf(report), report);
    if (this.#registered.has(node) && this.connected) this.#send({ kind: 'ended', node, ...report });
  }

  /** Resolves once every end has been acknowledged, or after `timeoutMs`, or at once when not connected. */
  async drained(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.#flush();
    while (this.connected && this.unacknowledged > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  }

  /** Stops reconnecting and closes the connection. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#tick);
    clearTimeout(this.#retry);
    this.#fence?.stop();
    this.#connecting?.terminate();
    this.#flush();
    this.#ws?.close(1000, 'agent stopping');
  }

  #connect(index: number, resolve: () => void): void {
    this.#retry = undefined;
    if (this.#closed) return;
    const endpoints = this.#o.endpoints;
    const url = endpoints[index % endpoints.length]!;
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.#o.token}` }, handshakeTimeout: CONNECT_TIMEOUT_MS, maxPayload: 64 * 2 ** 20 });
    this.#connecting = ws;
    const connectedAt = monotonicNs();
    let opened = false;
    let failure = '';
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => {
      opened = true;
      this.#connecting = undefined;
      this.#round = 0;
      this.#ws = ws;
      this.#lastPingNs = connectedAt;
      this.#lastContactNs = monotonicNs();
      this.#o.log.info({ url }, 'connected to the control plane');
      for (const node of this.#nodes.values()) this.#register(node);
      this.#startTicking(this.#heartbeatMs);
      resolve();
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.#contact(this.#lastPingNs);
      if (!isBinary) return;
      try {
        this.#receive(unpack(data) as Frame);
      } catch (err) {
        this.#o.log.warn({ err }, 'a frame from the server could not be read');
      }
    });
    ws.on('pong', (data: Buffer) => {
      // The pong answers the ping sent at the time it carries: the server was there at or after that time.
      const sent = data.length === PING_BYTES ? data.readBigUInt64BE(0) : this.#lastPingNs;
      this.#contact(sent <= monotonicNs() ? sent : this.#lastPingNs);
    });
    ws.on('unexpected-response', (_req, res) => {
      failure = `HTTP ${res.statusCode}`;
      this.#o.log.error({ url, status: res.statusCode }, res.statusCode === 401 || res.statusCode === 403 ? 'the server refused the agent token' : 'the server refused the connection');
      ws.terminate();
    });
    ws.on('error', (err) => {
      failure = err.message;
      this.#o.log.debug({ url, err: err.message }, 'connection error');
    });
    ws.on('close', () => {
      if (this.#connecting === ws) this.#connecting = undefined;
      if (this.#ws === ws) this.#lost(url);
      if (this.#closed) return;
      // The next endpoint at once after a failed attempt; a full round of failures waits with backoff.
      const next = opened ? 0 : index + 1;
      const roundOver = next % endpoints.length === 0;
      const delay = roundOver ? backoffDelay(this.#round++, this.#o.random ? { random: this.#o.random } : {}) : 0;
      if (roundOver && !opened) {
        this.#o.log.warn({ endpoints, last: failure, retryInS: Math.round(delay / 100) / 10 }, `no control plane answers (${endpoints.join(', ')}); trying again in ${(delay / 1000).toFixed(1)} s`);
      }
      // Not unref'd: an agent with nothing to run still waits for its server.
      this.#retry = setTimeout(() => this.#connect(next, resolve), delay);
    });
  }

  #lost(url: string): void {
    this.#ws = undefined;
    this.#registered.clear();
    this.#pending.clear();
    clearInterval(this.#tick);
    this.#tick = undefined;
    if (!this.#closed) this.#o.log.warn({ url }, 'lost the connection to the control plane; reconnecting');
  }

  #contact(atNs: bigint): void {
    this.#lastContactNs = monotonicNs();
    this.#fence?.contact(atNs);
  }

  #register(node: NodeRegistration): void {
    const id = this.#nextId++;
    const ends = this.#unacked.get(node.name);
    // Past the most one register may carry, the rest follow its reply as `ended` frames.
    const ended = ends ? [...ends.values()].slice(0, MAX_ENDED_PER_REGISTER) : [];
    this.#pending.set(node.name, { id, carried: ended.map(({ job, task, attempt }) => ({ job, task, attempt })) });
    this.#send({ kind: 'register', id, node, running: this.#o.owner.running(node.name), ...(ended.length > 0 ? { ended } : {}) });
  }

  #receive(frame: Frame): void {
    switch (frame.kind) {
      case 'batch':
        for (const inner of (frame['frames'] as Frame[] | undefined) ?? []) this.#receive(inner);
        return;
      case 'registered':
        return this.#onRegistered(frame);
      case 'acked':
        return this.#acknowledge(frame['node'] as string, (frame['attempts'] as AttemptId[] | undefined) ?? []);
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
        return this.#onError(frame);
      default:
        this.#o.log.warn({ kind: frame.kind }, 'unknown frame from the server');
    }
  }

  #onRegistered(frame: Frame): void {
    const node = frame['node'] as string;
    const pending = this.#pending.get(node);
    if (!pending || pending.id !== frame['id']) {
      this.#o.log.warn({ node, id: frame['id'] }, 'a registered reply to no register of this connection is ignored');
      return;
    }
    this.#pending.delete(node);
    this.#refusals.delete(node);
    const epoch = frame['epoch'] as number;
    const heartbeatMs = frame['heartbeatMs'] as number;
    const fenceMs = typeof frame['fenceMs'] === 'number' && frame['fenceMs'] > 0 ? frame['fenceMs'] : undefined;
    if (epoch > this.#newestEpoch) this.#newestEpoch = epoch;
    this.#registered.add(node);
    this.#acknowledge(node, pending.carried);
    const kills = (frame['kill'] as AttemptId[] | undefined) ?? [];
    // The server does not hold these on this node: an end of one that arose after the register was sent
    // is reported to nobody (PROTOCOL.md: nothing is reported for them).
    const dropped = kills.filter((k) => this.#unacked.get(node)?.has(keyOf(k)));
    if (dropped.length > 0) this.#acknowledge(node, dropped);
    for (const k of kills) this.#o.owner.kill({ node, job: k.job, task: k.task, attempt: k.attempt, reason: 'reconcile' });
    this.#o.owner.registered?.(node, { epoch, heartbeatMs, ...(fenceMs !== undefined ? { fenceMs } : {}) });
    this.#fence?.setFenceMs(fenceMs);
    for (const report of this.#unacked.get(node)?.values() ?? []) this.#send({ kind: 'ended', node, ...report });
    const held = this.#held.get(node);
    if (held) {
      this.#held.delete(node);
      for (const f of held) this.#send(f);
    }
    const interval = this.#o.heartbeatMs ?? heartbeatMs;
    if (interval !== this.#heartbeatMs || !this.#tick) this.#startTicking(interval);
  }

  #acknowledge(node: string, attempts: readonly AttemptId[]): void {
    const ends = this.#unacked.get(node);
    if (!ends || attempts.length === 0) return;
    const known = attempts.filter((a) => ends.delete(keyOf(a)));
    if (ends.size === 0) this.#unacked.delete(node);
    if (known.length > 0) this.#o.owner.acknowledged?.(node, known.map(({ job, task, attempt }) => ({ job, task, attempt })));
  }

  /** An `error` frame: a refused register is tried again with backoff; anything else is logged. */
  #onError(frame: Frame): void {
    const id = frame['id'];
    for (const [name, pending] of this.#pending) {
      if (pending.id !== id) continue;
      this.#pending.delete(name);
      const refusals = this.#refusals.get(name) ?? 0;
      this.#refusals.set(name, refusals + 1);
      const delay = backoffDelay(refusals, this.#o.random ? { random: this.#o.random } : {});
      this.#o.log.warn({ node: name, code: frame['code'], field: frame['field'], retryInS: Math.round(delay / 100) / 10 }, `the server refused to register the node: ${String(frame['message'])}; trying again`);
      const ws = this.#ws;
      setTimeout(() => {
        const spec = this.#nodes.get(name);
        if (spec && this.#ws === ws && this.connected && !this.#registered.has(name) && !this.#pending.has(name)) this.#register(spec);
      }, delay).unref();
      return;
    }
    this.#o.log.warn({ code: frame['code'], message: frame['message'], id }, 'the server refused a frame');
  }

  #startTicking(ms: number): void {
    clearInterval(this.#tick);
    this.#heartbeatMs = ms;
    this.#tick = setInterval(() => this.#beat(), ms);
    this.#tick.unref();
  }

  /** One tick: heartbeat every registered node, then ping (the pong is contact); drop a connection gone silent. */
  #beat(): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const now = monotonicNs();
    if (now - this.#lastContactNs > BigInt(SILENT_HEARTBEATS * this.#heartbeatMs) * 1_000_000n) {
      this.#o.log.warn({ silentMs: Number((now - this.#lastContactNs) / 1_000_000n) }, 'the control plane has gone silent; connecting again');
      ws.terminate();
      return;
    }
    if (this.#registered.size > 0) this.#send({ kind: 'heartbeat', nodes: [...this.#registered] });
    this.#flush();
    const ping = Buffer.allocUnsafe(PING_BYTES);
    ping.writeBigUInt64BE(now);
    this.#lastPingNs = now;
    ws.ping(ping);
  }

  #fenced(info: { readonly fenceMs: number; readonly silentMs: number }): void {
    this.#o.log.warn(info, 'no contact with the control plane for the fence time: giving up every attempt');
    this.#o.owner.fenced?.(info);
    // The server has most likely declared this node lost: register again as soon as it can be reached.
    this.#ws?.terminate();
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

function keyOf(a: AttemptId): string {
  return `${a.job}/${a.task}/${a.attempt}`;
}
