/**
 * The agents' side of the scheduler: an `AgentPort` that routes each `start` and `kill` to the connection
 * holding that node, and the soft state of the agents (which connection holds which node, and their
 * liveness). Heartbeats are kept in memory only, never written (DESIGN.md §7): they feed a `NodeLiveness`
 * (suspect after missed beats or a closed connection, lost after the grace period, a mostly silent site
 * held), whose decisions the hub hands to `onLiveness` (the gateway applies them to the scheduler).
 *
 * Frames to one connection are batched: everything pushed within one turn of the event loop leaves as one
 * frame (a `batch` when there are several), so a cycle that places thousands of tasks on a simulated fleet
 * behind one connection sends one message, not thousands.
 */
import { performance } from 'node:perf_hooks';
import type { AgentPort, AttemptRef, KillReason, LivenessChange, LivenessOptions, ReportRefusal, TaskLaunch } from '../scheduler/index.js';
import { NodeLiveness } from '../scheduler/index.js';
import { KILL_GRACE_MS } from './limits.js';

/** A frame about one attempt (`start`, `kill`): what a registration's `lost` list filters out. */
interface AttemptFrame {
  readonly job?: unknown;
  readonly task?: unknown;
  readonly attempt?: unknown;
}

/** One agent connection as the hub sees it: where its frames go, and who holds it. */
export class AgentLink {
  readonly nodes = new Set<string>();
  /** The identity of the connection's token (the same agent reconnecting has the same one). */
  readonly identity: string | undefined;
  readonly #send: (frame: unknown) => void;
  readonly #end: (code: number, reason: string) => void;
  #outbox: unknown[] = [];
  #scheduled = false;
  /** Nodes whose frames wait until their `registered` reply has gone out. */
  readonly #held = new Map<string, unknown[]>();
  #open = true;

  constructor(send: (frame: unknown) => void, identity?: string, end: (code: number, reason: string) => void = () => {}) {
    this.#send = send;
    this.identity = identity;
    this.#end = end;
  }

  /** Closes the connection itself (a newer connection of the same agent took its node). */
  end(code: number, reason: string): void {
    this.#end(code, reason);
  }

  /** Per node, attempts a registration ended (`job#task#attempt`): nothing about them is ever sent again. */
  readonly #ended = new Map<string, Set<string>>();

  /** Queues a frame about `node` (held back while the node's registration is being answered). */
  push(frame: unknown, node?: string): void {
    if (!this.#open) return;
    if (node !== undefined && this.#ended.size > 0 && this.#ended.get(node)?.has(frameAttempt(frame))) return;
    const held = node === undefined ? undefined : this.#held.get(node);
    if (held) {
      held.push(frame);
      return;
    }
    this.#outbox.push(frame);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  hold(node: string): void {
    if (!this.#held.has(node)) this.#held.set(node, []);
  }

  /** The attempts (`job#task#attempt`) whose `start` is held for `node`: on their way, not yet sent. */
  heldStarts(node: string): Set<string> {
    const starts = new Set<string>();
    for (const frame of this.#held.get(node) ?? []) if ((frame as { kind?: unknown }).kind === 'start') starts.add(frameAttempt(frame));
    return starts;
  }

  /**
   * Sends `first` (the registration's reply), then everything held for the node, in order, except frames
   * about the attempts in `ended` (`job#task#attempt`: those the registration ended), about which nothing
   * is sent on this connection from now on.
   */
  release(node: string, first: unknown, ended: ReadonlySet<string> = EMPTY): void {
    if (ended.size > 0) {
      const forgotten = this.#ended.get(node);
      if (forgotten) for (const key of ended) forgotten.add(key);
      else this.#ended.set(node, new Set(ended));
    }
    const held = this.#held.get(node) ?? [];
    this.#held.delete(node);
    this.push(first);
    for (const frame of held) this.push(frame, node);
  }

  flush(): void {
    this.#scheduled = false;
    if (!this.#open || this.#outbox.length === 0) return;
    const frames = this.#outbox;
    this.#outbox = [];
    this.#send(frames.length === 1 ? frames[0] : { kind: 'batch', frames });
  }

  close(): void {
    this.#open = false;
    this.#outbox = [];
    this.#held.clear();
  }
}

const EMPTY: ReadonlySet<string> = new Set();

/** The attempt a `start` or `kill` frame is about, as `job#task#attempt`. */
function frameAttempt(frame: unknown): string {
  const f = frame as AttemptFrame;
  return `${String(f.job)}#${String(f.task)}#${String(f.attempt)}`;
}

/** Liveness time: monotonic milliseconds (never steps with the wall clock; runs on while the process is stopped). */
function monotonicNow(): number {
  return performance.now();
}

/** A `logs` request in flight: the chunks so far, and how to finish it. */
interface LogFetch {
  readonly link: AgentLink;
  /** The node of the attempt whose output is asked for: only its agent's answer counts. */
  readonly node: string;
  readonly chunks: Uint8Array[];
  readonly done: (result: { readonly data: Buffer } | { readonly error: string }) => void;
  readonly timer: NodeJS.Timeout;
}

/** How long an agent has to answer a `logs` request in full. */
export const LOG_FETCH_TIMEOUT_MS = 10_000;

export class AgentHub implements AgentPort {
  readonly #links = new Map<string, AgentLink>();
  liveness: NodeLiveness;
  readonly #livenessOptions: Partial<LivenessOptions>;
  /** Where liveness decisions go (set by the gateway once the scheduler is up; dropped before). */
  onLiveness: ((change: LivenessChange) => void) | undefined;
  /** Heartbeats taken in (per node: a frame naming many nodes counts each). */
  heartbeats = 0;
  #epoch = 0;
  #ticker: NodeJS.Timeout | undefined;
  #unreachable = new Set<string>();
  readonly #logFetches = new Map<number, LogFetch>();
  #nextLogId = 1;

  constructor(liveness: Partial<LivenessOptions> = {}) {
    this.#livenessOptions = liveness;
    this.liveness = new NodeLiveness(liveness);
  }

  /**
   * Forgets every connection, every node's liveness and every log request: a leader that was deposed starts
   * its next term, if any, from nothing (its connections were closed; the new term's nodes are `expect`ed).
   */
  reset(): void {
    this.stopTicking();
    this.onLiveness = undefined;
    for (const link of new Set(this.#links.values())) link.close();
    this.#links.clear();
    for (const id of [...this.#logFetches.keys()]) this.#finishLogs(id, { error: 'this server no longer leads' });
    this.#unreachable = new Set();
    this.liveness = new NodeLiveness(this.#livenessOptions);
  }

  /** Nodes of the recovered state that have not registered yet: each has the grace period to (liveness.ts, `expect`). */
  expect(nodes: Iterable<{ readonly name: string; readonly site: string }>): void {
    const now = monotonicNow();
    for (const { name, site } of nodes) if (!this.#links.has(name)) this.liveness.expect(name, site, now);
  }

  /**
   * Judges liveness every `everyMs` (a quarter of the heartbeat interval by default), on the monotonic
   * clock: a wall-clock step is not silence, and a stopped process sees its own stall as a gap (liveness.ts).
   */
  startTicking(everyMs = Math.max(50, Math.floor(this.liveness.options.heartbeatMs / 4)), onSites?: (unreachable: readonly string[]) => void, onStall?: (gapMs: number) => void): void {
    clearInterval(this.#ticker);
    // A first tick at once: the next one measures the gap from here, so a stall before it is seen too.
    this.liveness.tick(monotonicNow());
    this.#ticker = setInterval(() => {
      const stalls = this.liveness.stalls;
      for (const change of this.liveness.tick(monotonicNow())) this.onLiveness?.(change);
      if (this.liveness.stalls !== stalls) onStall?.(this.liveness.lastStallMs);
      const now = new Set(this.liveness.unreachableSites().map((s) => s.site));
      if (now.size !== this.#unreachable.size || [...now].some((s) => !this.#unreachable.has(s))) onSites?.([...now].sort());
      this.#unreachable = now;
    }, everyMs);
    this.#ticker.unref();
  }

  stopTicking(): void {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  #decided(change: LivenessChange | undefined): void {
    if (change) this.onLiveness?.(change);
  }
  /** Frames for nodes with no connected agent (dropped: the agent reconciles when it registers again). */
  undeliverable = 0;

  /** The epoch the server decides under (kills carry it). */
  set epoch(epoch: number) {
    this.#epoch = epoch;
  }

  get epoch(): number {
    return this.#epoch;
  }

  /** Nodes with a connected agent. */
  get connectedNodes(): number {
    return this.#links.size;
  }

  start(node: string, launch: TaskLaunch): void {
    const link = this.#links.get(node);
    if (!link) return void this.undeliverable++;
    // The `start` frame is the launch, field for field (PROTOCOL.md): absent optional fields stay absent.
    link.push({ kind: 'start', ...launch }, node);
  }

  kill(node: string, attempt: AttemptRef, reason: KillReason, graceMs: number = KILL_GRACE_MS): void {
    const link = this.#links.get(node);
    if (!link) return void this.undeliverable++;
    link.push({ kind: 'kill', node, epoch: this.#epoch, job: attempt.job, task: attempt.task, attempt: attempt.attempt, reason, graceMs }, node);
  }

  acknowledge(node: string, attempts: readonly AttemptRef[]): void {
    // No agent connected: it reports the ends again when it registers (they are acknowledged then).
    this.#links.get(node)?.push({ kind: 'acked', node, attempts }, node);
  }

  refuse(node: string, refusal: ReportRefusal): void {
    this.#links.get(node)?.push({ kind: 'error', ...(refusal.id !== undefined ? { id: refusal.id } : {}), code: refusal.code, message: refusal.message, field: 'node' }, node);
  }

  /** The connection holding `node` now, if any. */
  holder(node: string): AgentLink | undefined {
    return this.#links.get(node);
  }

  /**
   * `link` now holds `node` (a node re-registering on a new connection moves to it). The node leaves the
   * previous connection first, so closing that one afterwards does not make the node look silent.
   */
  attach(node: string, link: AgentLink): void {
    const previous = this.#links.get(node);
    if (previous && previous !== link) previous.nodes.delete(node);
    this.#links.set(node, link);
    link.nodes.add(node);
  }

  /** The node registered (joined the scheduler): alive from now on, ready again if it was not. */
  registered(node: string, site: string): void {
    this.#decided(this.liveness.register(node, site, monotonicNow()));
  }

  /** Whether an agent holds `node` on a live connection now. */
  connected(node: string): boolean {
    return this.#links.has(node);
  }

  holds(link: AgentLink, node: string): boolean {
    return this.#links.get(node) === link;
  }

  /** `link` no longer holds `node` (its registration failed). */
  drop(node: string, link: AgentLink): void {
    if (this.#links.get(node) === link) this.#links.delete(node);
    link.nodes.delete(node);
  }

  /** The connection closed: its nodes have no agent until they register again. */
  detach(link: AgentLink): void {
    link.close();
    for (const [id, fetch] of this.#logFetches) if (fetch.link === link) this.#finishLogs(id, { error: 'the agent disconnected' });
    const now = monotonicNow();
    for (const node of link.nodes) {
      if (this.#links.get(node) !== link) continue;
      this.#links.delete(node);
      this.#decided(this.liveness.disconnected(node, now));
    }
    link.nodes.clear();
  }

  /**
   * A task's output from the agent of `node`: `maxBytes` from `offset` (what there is, if less). Fails when
   * the node has no connected agent, the agent has no such output, or it does not answer in time.
   */
  fetchLogs(node: string, request: { readonly job: string; readonly task: number; readonly attempt: number; readonly stream: 'stdout' | 'stderr'; readonly offset: number; readonly maxBytes: number }): Promise<{ readonly data: Buffer } | { readonly error: string }> {
    const link = this.#links.get(node);
    if (!link) return Promise.resolve({ error: `node ${node} has no connected agent` });
    const id = this.#nextLogId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#finishLogs(id, { error: `the agent of ${node} did not answer within ${LOG_FETCH_TIMEOUT_MS} ms` }), LOG_FETCH_TIMEOUT_MS);
      this.#logFetches.set(id, { link, node, chunks: [], done: resolve, timer });
      link.push({ kind: 'logs', id, node, ...request, follow: false }, node);
    });
  }

  /**
   * A chunk from an agent; chunks for requests it was not asked, or from a connection that no longer holds
   * the attempt's node, are dropped.
   */
  logChunk(link: AgentLink, id: number | string, data: Uint8Array, eof: boolean): void {
    const fetch = typeof id === 'number' ? this.#logFetches.get(id) : undefined;
    if (!fetch || fetch.link !== link || this.#links.get(fetch.node) !== link) return;
    fetch.chunks.push(data);
    if (eof) this.#finishLogs(id as number, { data: Buffer.concat(fetch.chunks) });
  }

  #finishLogs(id: number, result: { readonly data: Buffer } | { readonly error: string }): void {
    const fetch = this.#logFetches.get(id);
    if (!fetch) return;
    this.#logFetches.delete(id);
    clearTimeout(fetch.timer);
    fetch.done(result);
  }

  heartbeat(node: string): void {
    this.heartbeats++;
    this.#decided(this.liveness.heartbeat(node, monotonicNow()));
  }
}
