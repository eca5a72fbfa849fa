/**
 * The agent side of `/v1/agent` (PROTOCOL.md): one WebSocket connection to the control plane, carrying
 * one node (`muster agent`) or thousands (`muster sim`).
 *
 * - Connects to the leader, trying the endpoints in turn (the one it was last connected to first), with
 *   jittered exponential backoff between rounds, for as long as the link is open: it never gives up, and
 *   says on its log which endpoints it tries and when it tries again. A standby refuses the upgrade with
 *   MUSTER_ERR_NOT_LEADER: the link logs it in one line and goes to the leader it names (even one not in
 *   its list), else to the next endpoint (endpoints.ts, `AgentRoute`). A dead server is the next endpoint.
 * - A leader that loses leadership closes the connection (1012 or 1001): the link connects again, to
 *   whoever leads now, and registers as after any reconnection; an `error` MUSTER_ERR_NOT_LEADER on an
 *   open connection drops it the same way.
 * - On every (re)connection registers every node it carries, each with the attempts it runs now (`running`)
 *   and every end of that node the server has not acknowledged (`ended`). The `registered` reply
 *   acknowledges the ends it carried; ends that arose meanwhile are sent as `ended` frames right after it.
 *   Attempts the reply lists in `kill` are killed, and nothing is reported for them. A refused `register`
 *   (the server not ready, the node held elsewhere) is tried again with backoff.
 * - Keeps every end until the server acknowledges it (`acked`, or the `registered` of a register that
 *   carried it), across reconnections; the agent keeps them across its own restarts (the executor's
 *   journal) and hands them back to the link before it opens.
 * - Heartbeats every node at the server's interval in one frame per tick, and pings the server on a period
 *   of its own (`pingMs`: the heartbeat's, but no more often than once a second unless the fence needs it):
 *   a pong or any frame is contact, which renews the fence (fence.ts). A connection silent for
 *   `SILENT_PINGS` ping periods, or past the fence, is dropped and made again.
 * - Reports are batched per event-loop turn. Commands older than the newest epoch seen are refused.
 * - Carries pieces of ended attempts' output for the control plane's copy (`output`, answered
 *   `output-stored` or `error`); the owner sends one at a time and sends again what a lost connection left
 *   unanswered.
 */
import { Unpackr, pack } from 'msgpackr';
import WebSocket from 'ws';
import { backoffDelay } from '../client/index.js';
import type { Refusal } from './endpoints.js';
import { AgentRoute, agentUrl, readRefusal } from './endpoints.js';
import { Fence, monotonicNs } from './fence.js';
import type { AttemptId, EndReport, KillCommand, LinkOptions, LogsRequest, NodeRegistration, OutputAnswer, OutputPiece, StartCommand } from './link-contract.js';
import type { Lease } from './shim/index.js';
import { UnackedEnds } from './unacked-ends.js';

export type { AttemptId, EndReport, KillCommand, LinkOptions, LinkOwner, LogsRequest, NodeRegistration, OutputAnswer, OutputPiece, RegisteredInfo, RunningAttempt, StartCommand } from './link-contract.js';

type Frame = Readonly<Record<string, unknown>> & { readonly kind: string };

/** The server writes integers past 32 bits as 64-bit integers: read them as numbers (msgpackr's default is BigInt). */
const serverFrames = new Unpackr({ useRecords: false, int64AsType: 'number' });

/** How long a connection attempt may take before the next endpoint is tried. */
const CONNECT_TIMEOUT_MS = 5_000;
/** The interval until a server has said its own (PROTOCOL.md's default). */
const DEFAULT_HEARTBEAT_MS = 1_000;
/**
 * A connection with no frame and no pong for this many ping periods is taken for dead (a half-open TCP
 * connection shows nothing else) and made again. Without a fence it is the only such bound.
 */
const SILENT_PINGS = 5;
/**
 * Pings go out on the heartbeat's tick but no more often than this: a fast heartbeat (10 ms in a benchmark)
 * must not mean a ping, a pong and their `send()`s per node per tick (at 2,000 agents on 100 ms, 40 % of the
 * server's core went to the kernel's `send()` of pongs), nor a silence bound of 5 ticks (50 ms), shorter than
 * one slow registration round of 10,000 nodes, which threw every connection into a reconnection storm.
 */
const PING_PERIOD_MS = 1_000;
/**
 * ...unless the fence needs more: a healthy connection renews its fence at least this many times per fence,
 * so that a fence shorter than four seconds still has three renewals' margin before it runs out.
 */
const PINGS_PER_FENCE = 4;
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
  /** Every end not yet acknowledged. */
  readonly #unacked = new UnackedEnds();
  /** `started` reports per node waiting for the node to be registered on a connection. */
  readonly #held = new Map<string, Frame[]>();
  /** `output` frames sent on the current connection and not yet answered, by id. */
  readonly #outputs = new Map<number, (answer: OutputAnswer) => void>();
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
  readonly #route: AgentRoute;
  /** A leader named by the replica this connection is on when it refused a frame as a standby: tried first. */
  #hint: string | undefined;
  #connected: Promise<void> | undefined;

  constructor(options: LinkOptions) {
    this.#o = options;
    this.#route = new AgentRoute(options.endpoints, options.log, options.random);
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
    return this.#unacked.size;
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
    this.#connected ??= new Promise((resolve) => this.#connect(resolve));
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
    this.#unacked.add(node, report);
    if (this.#registered.has(node) && this.connected) this.#send({ kind: 'ended', node, ...report });
  }

  /**
   * Sends a piece of an ended attempt's output for the control plane's copy; resolves with the server's
   * answer, or `disconnected` when the node is not registered on an open connection or the connection closes
   * first. The caller sends one piece at a time (output-shipper.ts): that bounds what queues ahead of heartbeats.
   */
  output(node: string, piece: OutputPiece): Promise<OutputAnswer> {
    if (!this.#registered.has(node) || !this.connected) return Promise.resolve({ kind: 'disconnected' });
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#outputs.set(id, resolve);
      this.#send({ kind: 'output', id, node, ...piece });
    });
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
    this.#answerOutputs({ kind: 'disconnected' });
    this.#connecting?.terminate();
    this.#flush();
    this.#ws?.close(1000, 'agent stopping');
  }

  #connect(resolve: () => void): void {
    this.#retry = undefined;
    if (this.#closed) return;
    const url = this.#route.next();
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.#o.token}` }, handshakeTimeout: CONNECT_TIMEOUT_MS, maxPayload: 64 * 2 ** 20 });
    this.#connecting = ws;
    const connectedAt = monotonicNs();
    let opened = false;
    let failure = '';
    let refusal: Refusal | undefined;
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => {
      opened = true;
      this.#connecting = undefined;
      this.#ws = ws;
      this.#route.connected(url);
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
        this.#receive(serverFrames.unpack(data) as Frame);
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
      // The body says why (a standby names the leader); the socket is dropped once it is read.
      void readRefusal(res, CONNECT_TIMEOUT_MS).then((read) => {
        refusal = read;
        failure = `HTTP ${read.status}${read.code !== undefined ? ` ${read.code}` : ''}`;
        ws.terminate();
      });
    });
    ws.on('error', (err) => {
      failure ||= err.message;
      this.#o.log.debug({ url, err: err.message }, 'connection error');
    });
    ws.on('close', () => {
      if (this.#connecting === ws) this.#connecting = undefined;
      if (this.#ws === ws) this.#lost(url);
      if (this.#closed) return;
      // After a lost connection, a new round from a leader named meanwhile (a deposed one's refusal); after a
      // failed attempt the next endpoint (or the leader a standby named) at once; a failed round backs off.
      const delay = opened ? this.#route.lost(this.#hint) : this.#route.failed(url, failure, refusal);
      this.#hint = undefined;
      // Not unref'd: an agent with nothing to run still waits for its server.
      this.#retry = setTimeout(() => this.#connect(resolve), delay);
    });
  }

  #lost(url: string): void {
    this.#ws = undefined;
    this.#registered.clear();
    this.#pending.clear();
    this.#answerOutputs({ kind: 'disconnected' });
    clearInterval(this.#tick);
    this.#tick = undefined;
    if (!this.#closed) this.#o.log.warn({ url }, 'lost the connection to the control plane; reconnecting');
  }

  #answerOutputs(answer: OutputAnswer): void {
    const waiting = [...this.#outputs.values()];
    this.#outputs.clear();
    for (const resolve of waiting) resolve(answer);
  }

  #contact(atNs: bigint): void {
    this.#lastContactNs = monotonicNs();
    this.#fence?.contact(atNs);
  }

  #register(node: NodeRegistration): void {
    const id = this.#nextId++;
    // Past the most one register may carry, the rest follow its reply as `ended` frames.
    const ended = this.#unacked.forRegister(node.name);
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
      case 'output-stored': {
        const resolve = this.#outputs.get(frame['id'] as number);
        this.#outputs.delete(frame['id'] as number);
        resolve?.({ kind: 'stored' });
        return;
      }
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
    const outputKeepBytes = typeof frame['outputKeepBytes'] === 'number' && frame['outputKeepBytes'] > 0 ? frame['outputKeepBytes'] : undefined;
    if (epoch > this.#newestEpoch) this.#newestEpoch = epoch;
    this.#registered.add(node);
    this.#acknowledge(node, pending.carried);
    const kills = (frame['kill'] as AttemptId[] | undefined) ?? [];
    // The server does not hold these on this node: an end of one that arose after the register was sent
    // is reported to nobody (PROTOCOL.md: nothing is reported for them).
    const dropped = kills.filter((k) => this.#unacked.has(node, k));
    if (dropped.length > 0) this.#acknowledge(node, dropped);
    for (const k of kills) this.#o.owner.kill({ node, job: k.job, task: k.task, attempt: k.attempt, reason: 'reconcile' });
    this.#o.owner.registered?.(node, { epoch, heartbeatMs, ...(fenceMs !== undefined ? { fenceMs } : {}), ...(outputKeepBytes !== undefined ? { outputKeepBytes } : {}) });
    this.#fence?.setFenceMs(fenceMs);
    for (const report of this.#unacked.of(node)) this.#send({ kind: 'ended', node, ...report });
    const held = this.#held.get(node);
    if (held) {
      this.#held.delete(node);
      for (const f of held) this.#send(f);
    }
    const interval = this.#o.heartbeatMs ?? heartbeatMs;
    if (interval !== this.#heartbeatMs || !this.#tick) this.#startTicking(interval);
  }

  #acknowledge(node: string, attempts: readonly AttemptId[]): void {
    const known = this.#unacked.acknowledge(node, attempts);
    if (known.length > 0) this.#o.owner.acknowledged?.(node, known);
  }

  /**
   * An `error` frame: a standby's refusal (the replica lost leadership without closing yet) drops the
   * connection, to connect to the leader it names; a refused register is tried again with backoff; anything
   * else is logged.
   */
  #onError(frame: Frame): void {
    const id = frame['id'];
    if (frame['code'] === 'MUSTER_ERR_NOT_LEADER') {
      const leader = frame['leader'] as { url?: unknown } | undefined;
      this.#hint = typeof leader?.url === 'string' ? agentUrl(leader.url) : undefined;
      this.#o.log.warn({ leader: leader?.url }, `the control plane is not the leader any more; connecting to ${this.#hint ?? 'the endpoints'} again`);
      this.#ws?.terminate();
      return;
    }
    const output = typeof id === 'number' ? this.#outputs.get(id) : undefined;
    if (output) {
      this.#outputs.delete(id as number);
      output({ kind: 'refused', code: String(frame['code']), message: String(frame['message']) });
      return;
    }
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

  /**
   * The ping period: the heartbeat's interval, but at least `PING_PERIOD_MS`, or a quarter of the fence when
   * that is shorter (never shorter than the heartbeat: pings go out on its tick).
   */
  get pingMs(): number {
    const fenceMs = this.#fence?.fenceMs;
    const cap = fenceMs === undefined ? PING_PERIOD_MS : Math.min(PING_PERIOD_MS, Math.floor(fenceMs / PINGS_PER_FENCE));
    return Math.max(this.#heartbeatMs, cap);
  }

  /** One tick: heartbeat every registered node, then ping when a ping period has passed (the pong is contact); drop a connection gone silent. */
  #beat(): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const now = monotonicNs();
    const pingMs = this.pingMs;
    if (now - this.#lastContactNs > BigInt(Math.round(SILENT_PINGS * pingMs)) * 1_000_000n) {
      this.#o.log.warn({ silentMs: Number((now - this.#lastContactNs) / 1_000_000n) }, 'the control plane has gone silent; connecting again');
      ws.terminate();
      return;
    }
    if (this.#registered.size > 0) this.#send({ kind: 'heartbeat', nodes: [...this.#registered] });
    this.#flush();
    // Half a tick early counts as on time: timers fire a little late or early, and a ping period equal to the
    // heartbeat's must ping at every tick.
    if (now - this.#lastPingNs < BigInt(Math.round((pingMs - this.#heartbeatMs / 2) * 1_000_000))) return;
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
