/**
 * The gateway: one uWebSockets.js app serving `/v1/submit`, `/v1/agent` and the HTTP routes, on the main
 * thread beside the scheduler's dispatcher and queue actors (see README.md for why, and for the hot path).
 *
 * Life cycle, driven by the server (src/server):
 *   listen()  — binds the port; only `/healthz` and `/readyz` (503) answer, upgrades are refused (503)
 *   observe() — wraps the scheduler's event sink: durable events feed the watch hub and metrics
 *   ready()   — the core has recovered and started: everything is served
 *   standby() — a replica that does not lead (high availability, src/server/replica.ts): health, metrics
 *               and `GET /v1/leader` answer, everything else is refused `MUSTER_ERR_NOT_LEADER` with the
 *               leader's URL; a leader deposed turns standby: its sockets close (1012) and its agent hub
 *               forgets everything, so nothing is decided, started or acknowledged after it
 *   leaderIs() — the election's leader, for the refusals and `GET /v1/leader`
 *   storeFailed() — the event store failed: everything, health routes included, answers 503
 *                   `MUSTER_ERR_STORE_FAILED` with the cause until the process exits
 *   stopAccepting() — the listen socket closes; new requests get 503 `MUSTER_ERR_NOT_READY`
 *   closeConnections() — open WebSockets are closed (1001) once the caller has flushed what they wait for
 *
 * Liveness decisions become node-state writes only between `ready()` and `storeFailed()` or
 * `stopAccepting()`: agents that disconnect while the server stops, or after its store failed, write nothing.
 */
import type { TemplatedApp, WebSocket, us_listen_socket } from 'uWebSockets.js';
import { MusterError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { createLogger } from '../log/index.js';
import type { EventSink, LivenessOptions, SchedulerCore } from '../scheduler/index.js';
import { AgentHub } from './agent-hub.js';
import { agentEndpoint } from './agent-endpoint.js';
import type { TokenTable } from './auth.js';
import type { GatewayContext, GatewayPhase, KnownLeader } from './context.js';
import { httpRoutes } from './http-routes.js';
import type { GatewayLimits } from './limits.js';
import { DEFAULT_LIMITS, RECENTLY_ENDED_JOBS } from './limits.js';
import { GatewayMetrics } from './metrics.js';
import type { DurableListener } from './observed-sink.js';
import { observedSink } from './observed-sink.js';
import type { OutputKeeper } from './output-keeper.js';
import { RateLimiter } from './rate-limit.js';
import type { SocketState } from './socket.js';
import { CLOSE_GOING_AWAY, CLOSE_SERVICE_RESTART, closeSocket } from './socket.js';
import type { ApiError } from './api-error.js';
import { apiError } from './api-error.js';
import { submitEndpoint } from './submit-endpoint.js';
import { loadUws } from './uws.js';
import { WatchHub } from './watch-hub.js';

/** The default port of `muster server`. */
export const DEFAULT_PORT = 7070;
export const DEFAULT_HOST = '127.0.0.1';

export interface GatewayOptions {
  readonly tokens: TokenTable;
  readonly limits?: Partial<GatewayLimits>;
  readonly host?: string;
  /** 0 binds any free port (see `port` once listening). */
  readonly port?: number;
  /** Serve TLS (`wss://`, `https://`) with these PEM files. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** The active placement backend, for the metrics. */
  readonly backend: string;
  /** Heartbeat interval and node-loss timing (defaults: `DEFAULT_LIVENESS`). */
  readonly liveness?: Partial<LivenessOptions>;
  readonly log?: Logger;
}

/** What the watch hub starts from: the log's last seq and the jobs that exist (recovered, not ended). */
export interface ObserveStart {
  readonly lastSeq: number;
  readonly jobs: Iterable<{ readonly id: string; readonly tenant: string; readonly queue: string }>;
}

export class Gateway {
  readonly agents: AgentHub;
  readonly metrics: GatewayMetrics;
  readonly limits: GatewayLimits;
  readonly #app: TemplatedApp;
  readonly #log: Logger;
  readonly #sockets = new Set<WebSocket<SocketState>>();
  readonly #scheme: 'http' | 'https';
  #listen: us_listen_socket | undefined;
  #host = DEFAULT_HOST;
  #port = 0;
  #phase: GatewayPhase = 'starting';
  #failure: ApiError | undefined;
  #core: SchedulerCore | undefined;
  #hub: WatchHub | undefined;
  #outputs: OutputKeeper | undefined;
  /** The election's leader while this gateway is a standby (its own URL while it serves). */
  #leader: KnownLeader | undefined;

  private constructor(options: GatewayOptions) {
    const uws = loadUws();
    this.agents = new AgentHub(options.liveness);
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.#log = options.log ?? createLogger({ name: 'gateway' });
    this.#scheme = options.tls ? 'https' : 'http';
    this.#app = options.tls ? uws.SSLApp({ cert_file_name: options.tls.certFile, key_file_name: options.tls.keyFile }) : uws.App();
    this.metrics = new GatewayMetrics({
      backend: options.backend,
      core: () => this.#core,
      watches: () => this.#hub?.watches ?? 0,
      agentNodes: () => this.agents.connectedNodes,
      heartbeats: () => this.agents.heartbeats,
      stalls: () => this.agents.liveness.stalls,
      epoch: () => this.agents.epoch,
    });
    const ctx: GatewayContext = {
      limits: this.limits,
      tokens: options.tokens,
      rate: new RateLimiter(this.limits.ratePerSecond, this.limits.rateBurst),
      metrics: this.metrics,
      agents: this.agents,
      log: this.#log,
      url: () => this.url,
      phase: () => this.#phase,
      leader: () => (this.#phase === 'ready' ? { url: this.url, epoch: this.agents.epoch } : this.#leader),
      failure: () => this.#failure,
      core: () => this.#core,
      hub: () => this.#hub,
      outputs: () => this.#outputs,
      sockets: this.#sockets,
    };
    submitEndpoint(this.#app, ctx);
    agentEndpoint(this.#app, ctx);
    httpRoutes(this.#app, ctx);
  }

  /** Binds the port and starts answering health checks; refuses with `MUSTER_ERR_UWS_FALLBACK` on the uWS fallback. */
  static listen(options: GatewayOptions): Gateway {
    const gateway = new Gateway(options);
    const host = options.host ?? DEFAULT_HOST;
    const port = options.port ?? DEFAULT_PORT;
    let bound: us_listen_socket | false = false;
    gateway.#app.listen(host, port, (socket) => {
      bound = socket;
    });
    if (!bound) throw new MusterError('MUSTER_ERR_USAGE', `cannot listen on ${host}:${port} (in use, or not an address of this machine)`);
    gateway.#listen = bound;
    gateway.#host = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    gateway.#port = loadUws().us_socket_local_port(bound as never);
    gateway.#log.info({ url: gateway.url }, 'listening');
    return gateway;
  }

  get url(): string {
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return `${this.#scheme}://${host}:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  get phase(): GatewayPhase {
    return this.#phase;
  }

  get hub(): WatchHub | undefined {
    return this.#hub;
  }

  /**
   * Wraps the scheduler's sink: every batch, once durable, feeds the watch hub, the metrics and `also`
   * (the server's snapshot trigger). Call before the core starts, so the hub sees every event.
   */
  observe(inner: EventSink, start: ObserveStart, also?: DurableListener): EventSink {
    const hub = new WatchHub({ window: this.limits.watchWindowEvents, recentlyEnded: RECENTLY_ENDED_JOBS, lastSeq: start.lastSeq });
    hub.seed(start.jobs);
    this.#hub = hub;
    return observedSink(
      inner,
      (events, firstSeq, commitMs) => {
        this.metrics.durable(events, commitMs);
        hub.publish(events, firstSeq);
        also?.(events, firstSeq, commitMs);
      },
      this.#log,
    );
  }

  /** Agents ship ended attempts' output to `keeper` (told in `registered`), and the logs route reads it from there once their agent cannot answer. */
  keepOutputs(keeper: OutputKeeper | undefined): void {
    this.#outputs = keeper;
  }

  /**
   * The core is up (state recovered): serve everything. `nodes` are the recovered state's nodes that are in
   * service: each has the grace period to register again (a restart or a failover alone reschedules nothing).
   */
  ready(core: SchedulerCore, epoch: number, nodes: Iterable<{ readonly name: string; readonly site: string }> = []): void {
    this.#core = core;
    this.agents.epoch = epoch;
    this.agents.expect(nodes);
    // Liveness decisions become node states: suspect (no placements), lost (attempts rescheduled), ready.
    this.agents.onLiveness = (change) => {
      this.#log[change.state === 'ready' ? 'info' : 'warn']({ node: change.node, site: change.site, state: change.state, reason: change.reason }, 'node liveness');
      core.setNodeState(change.node, change.state, change.reason).catch((err: unknown) => this.#log.error({ err, node: change.node }, 'could not record a liveness change'));
    };
    this.agents.startTicking(
      undefined,
      (unreachable) => this.#log.warn({ unreachable }, unreachable.length > 0 ? 'sites mostly silent: holding their nodes as suspect (rescheduling from them is held, then rate-limited)' : 'every site reachable'),
      (gapMs) => this.#log.warn({ stalledMs: Math.round(gapMs) }, 'the server stalled (its event loop did not run, or the process was stopped): every node gets a fresh grace period instead of being blamed'),
    );
    this.#phase = 'ready';
    this.#log.info({ url: this.url, epoch }, 'ready');
  }

  /**
   * This replica does not lead. From `starting`: it waits as a standby. From `ready` (it was deposed): at
   * once, liveness decides nothing more, every WebSocket is closed (1012: clients and agents go to the
   * leader), the agent hub forgets its connections and the core is let go; the caller stops the core.
   */
  standby(leader: KnownLeader | undefined): void {
    if (this.#phase === 'failed' || this.#phase === 'stopping') return;
    const deposed = this.#phase === 'ready';
    this.#phase = 'standby';
    this.#leader = leader;
    if (!deposed) return;
    this.#detachLiveness();
    for (const ws of [...this.#sockets]) closeSocket(ws, CLOSE_SERVICE_RESTART, 'MUSTER_ERR_NOT_LEADER: this server no longer leads');
    this.#sockets.clear();
    this.agents.reset();
    this.#core = undefined;
    this.#hub = undefined;
    this.#log.warn({ leader: leader?.url, epoch: leader?.epoch }, 'standby: this server no longer leads');
  }

  /** The leader as the election knows it (`undefined`: none right now). */
  leaderIs(leader: KnownLeader | undefined): void {
    this.#leader = leader;
  }

  /**
   * The event store failed (`message` says why): from now on every upgrade, frame and route, `/healthz` and
   * `/readyz` included, is refused 503 `MUSTER_ERR_STORE_FAILED` with it, and liveness decides nothing more
   * (its decisions would be writes). The listen socket stays open, so health probes see the 503.
   */
  storeFailed(message: string): void {
    if (this.#phase === 'failed') return;
    this.#phase = 'failed';
    this.#failure = apiError('MUSTER_ERR_STORE_FAILED', message);
    this.#detachLiveness();
  }

  /**
   * Stops accepting connections and new requests (each gets 503); open sockets stay until `closeConnections`.
   * Liveness stops deciding: agents that disconnect from here on change no node state.
   */
  stopAccepting(): void {
    if (this.#phase !== 'failed') this.#phase = 'stopping';
    this.#detachLiveness();
    if (this.#listen) {
      loadUws().us_listen_socket_close(this.#listen);
      this.#listen = undefined;
    }
  }

  /**
   * Closes every open WebSocket (1001 going away), then every other connection (idle HTTP keep-alives
   * would otherwise hold the process for uWS's idle timeout).
   */
  closeConnections(): void {
    for (const ws of [...this.#sockets]) closeSocket(ws, CLOSE_GOING_AWAY, 'server stopping');
    this.#sockets.clear();
    // `close()` is in this uWS build (v20.30) but not in its type declarations.
    (this.#app as TemplatedApp & { close(): void }).close();
  }

  #detachLiveness(): void {
    this.agents.stopTicking();
    this.agents.onLiveness = undefined;
  }

  /** Both of the above: what a test does to drop its server. */
  close(): void {
    this.stopAccepting();
    this.closeConnections();
  }
}
