/**
 * The gateway's Prometheus metrics (prom-client, one registry per gateway so several can live in one
 * process). Counters and histograms are updated where things happen; gauges of scheduler state (queue
 * depths, node states) are collected at scrape time by asking the core, so nothing is kept up to date
 * between scrapes.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { QueueView, SchedulerCore, SchedulerEvent, SchedulerHealth } from '../scheduler/index.js';
import type { ErrorCode } from '../errors/index.js';

/** Latency buckets (seconds): 0.25 ms to 5 s, dense around the 10 ms acknowledgement target. */
const LATENCY_BUCKETS = [0.00025, 0.0005, 0.001, 0.002, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** prom-client's default process and Node.js metrics, under muster's name. */
const PROCESS_PREFIX = 'muster_process_';

export type SubmitOutcome = 'accepted' | 'existing' | 'invalid' | 'refused';

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #submitted: Counter<'outcome'>;
  readonly #requests: Counter<'endpoint' | 'kind'>;
  readonly #rejections: Counter<'code'>;
  readonly #events: Counter<'kind'>;
  readonly #placements: Counter;
  readonly #ackSeconds: Histogram;
  readonly #commitSeconds: Histogram;
  readonly #connections: Gauge<'endpoint'>;
  /** Where actor restarts are read from, once the actor system exists (the server starts it after the gateway). */
  #restarts: (() => ReadonlyMap<string, number>) | undefined;
  /** Where leadership is read from (a replica on etcd); a single server always leads, at its store's epoch. */
  #leadership: (() => { readonly leader: boolean; readonly epoch: number; readonly changes: number }) | undefined;

  constructor(options: {
    readonly backend: string;
    readonly core: () => SchedulerCore | undefined;
    readonly watches: () => number;
    readonly agentNodes: () => number;
    readonly heartbeats: () => number;
    /** The server's own stalls noticed by node liveness (each gave every node a fresh grace period). */
    readonly stalls: () => number;
    /** The epoch the server decides under (a single server's store epoch). */
    readonly epoch: () => number;
  }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: PROCESS_PREFIX });
    // prom-client adds a gauge `…_total` beside each of these by-type gauges: the sum over types, which the
    // gauge itself gives (`sum(…)`), under a name Prometheus keeps for counters (promtool refuses it).
    for (const gauge of ['nodejs_active_handles', 'nodejs_active_requests', 'nodejs_active_resources']) this.registry.removeSingleMetric(`${PROCESS_PREFIX}${gauge}_total`);
    this.#submitted = new Counter({ name: 'muster_submitted_jobs_total', help: 'Jobs submitted, by outcome (accepted, existing: an idempotency key seen before, invalid spec, refused batch)', labelNames: ['outcome'], registers });
    this.#requests = new Counter({ name: 'muster_requests_total', help: 'Requests received, by endpoint (submit, agent, http) and kind', labelNames: ['endpoint', 'kind'], registers });
    this.#rejections = new Counter({ name: 'muster_rejections_total', help: 'Requests refused, by error code', labelNames: ['code'], registers });
    this.#events = new Counter({ name: 'muster_events_total', help: 'Scheduler events made durable, by kind', labelNames: ['kind'], registers });
    this.#placements = new Counter({ name: 'muster_placements_total', help: 'Task attempts placed (durably)', registers });
    this.#ackSeconds = new Histogram({ name: 'muster_submit_ack_seconds', help: 'From a submit request received to its acknowledgement sent (jobs durable)', buckets: LATENCY_BUCKETS, registers });
    this.#commitSeconds = new Histogram({ name: 'muster_store_commit_seconds', help: 'From a batch of events handed to the store to durable (fsynced; with etcd, committed by a quorum: the etcd write latency)', buckets: LATENCY_BUCKETS, registers });
    this.#connections = new Gauge({ name: 'muster_connections', help: 'Open WebSocket connections, by endpoint', labelNames: ['endpoint'], registers });
    const backend = new Gauge({ name: 'muster_placement_backend', help: 'The active placement backend (1 for the one in use)', labelNames: ['backend'], registers });
    backend.set({ backend: options.backend }, 1);
    new Gauge({ name: 'muster_watches', help: 'Active watches', registers, collect() { this.set(options.watches()); } });
    new Gauge({ name: 'muster_agent_nodes', help: 'Nodes with a connected agent', registers, collect() { this.set(options.agentNodes()); } });
    // Counters kept elsewhere (plain numbers on the hot path), read at each scrape.
    const followed = (name: string, help: string, read: () => number): void => {
      let seen = 0;
      new Counter({
        name,
        help,
        registers,
        collect() {
          const now = read();
          this.inc(now - seen);
          seen = now;
        },
      });
    };
    followed('muster_heartbeats_total', 'Node heartbeats taken in (kept in memory only)', options.heartbeats);
    followed('muster_server_stalls_total', 'Times the server found it had stalled (event loop or clock) past a heartbeat interval and gave every node a fresh grace period', options.stalls);
    const queueGauge = (name: string, help: string, pick: (q: QueueView) => number): void =>
      void new Gauge({
        name,
        help,
        labelNames: ['queue'],
        registers,
        async collect() {
          const core = options.core();
          if (!core) return;
          this.reset();
          for (const q of await core.queueViews()) this.set({ queue: q.name }, pick(q));
        },
      });
    // The scheduler's watchdog: how long since a dispatch cycle last finished, and the faults cycles went around.
    new Gauge({
      name: 'muster_scheduler_last_cycle_age_seconds',
      help: 'Seconds since the last dispatch cycle finished (an idle scheduler runs none: alert on this with pending jobs)',
      registers,
      async collect() {
        const health = await options.core()?.health();
        if (health) this.set((Date.now() - health.lastCycleAt) / 1000);
      },
    });
    new Gauge({
      name: 'muster_scheduler_open_cycle_seconds',
      help: 'Seconds the dispatch cycle now open has run (0 when none is; a cycle closes at its deadline at the latest)',
      registers,
      async collect() {
        const health = await options.core()?.health();
        if (health) this.set(health.cycleStartedAt === undefined ? 0 : (Date.now() - health.cycleStartedAt) / 1000);
      },
    });
    const healthCounter = (name: string, help: string, pick: (h: SchedulerHealth) => number): void => {
      let seen = 0;
      new Counter({
        name,
        help,
        registers,
        async collect() {
          const health = await options.core()?.health();
          if (!health) return;
          // A new leader term has a new core, counting from 0 again.
          if (pick(health) < seen) seen = 0;
          this.inc(pick(health) - seen);
          seen = pick(health);
        },
      });
    };
    let seenRestarts = new Map<string, number>();
    const metrics = this;
    new Counter({
      name: 'muster_actor_restarts_total',
      help: "Actor restarts by their supervisor, by the actor's name (a worker thread's restarts count as host)",
      labelNames: ['actor'],
      registers,
      collect() {
        const now = metrics.#restarts?.() ?? new Map<string, number>();
        // A new leader term has a new actor system, counting from 0 again.
        for (const [actor, count] of now) this.inc({ actor }, Math.max(0, count - (seenRestarts.get(actor) ?? 0)));
        seenRestarts = new Map(now);
      },
    });
    healthCounter('muster_scheduler_cycles_cut_total', 'Dispatch cycles closed at their deadline without a site or queue that did not answer', (h) => h.cyclesCut);
    healthCounter('muster_site_table_rebuilds_total', "Site tables rebuilt from the dispatcher's truth (one per site at start, then after a restart or a missed answer)", (h) => h.siteRebuilds);
    new Gauge({
      name: 'muster_leader',
      help: 'Whether this server leads (1) or is a standby replica (0); a server without etcd always leads',
      registers,
      collect() {
        this.set(metrics.#leadership ? (metrics.#leadership().leader ? 1 : 0) : options.core() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'muster_epoch',
      help: "The leader's epoch as this server knows it (the fencing token every write and command carries)",
      registers,
      collect() {
        this.set(metrics.#leadership?.().epoch ?? options.epoch());
      },
    });
    let seenChanges = 0;
    new Counter({
      name: 'muster_leader_changes_total',
      help: 'Times the leader this server knows of changed (elections seen; 0 without etcd)',
      registers,
      collect() {
        const now = metrics.#leadership?.().changes ?? 0;
        this.inc(Math.max(0, now - seenChanges));
        seenChanges = Math.max(seenChanges, now);
      },
    });
    queueGauge('muster_queue_pending_jobs', 'Jobs with a task waiting for placement, by queue', (q) => q.pending);
    queueGauge('muster_queue_active_jobs', 'Jobs that have not ended, by queue', (q) => q.active);
    new Gauge({
      name: 'muster_nodes',
      help: 'Nodes by state',
      labelNames: ['state'],
      registers,
      async collect() {
        const core = options.core();
        if (!core) return;
        const counts: Record<string, number> = { ready: 0, draining: 0, suspect: 0, lost: 0, down: 0 };
        for (const n of await core.nodeListing()) counts[n.spec.state] = (counts[n.spec.state] ?? 0) + 1;
        for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
      },
    });
  }

  /** Reads leadership from here at each scrape (a replica on etcd). */
  followLeadership(read: () => { readonly leader: boolean; readonly epoch: number; readonly changes: number }): void {
    this.#leadership = read;
  }

  /** Reads actor restarts from here at each scrape (`ActorSystem.restartCounts`). */
  followRestarts(read: () => ReadonlyMap<string, number>): void {
    this.#restarts = read;
  }

  submitted(outcome: SubmitOutcome, count = 1): void {
    if (count > 0) this.#submitted.inc({ outcome }, count);
  }

  /** `count` requests of one kind (an agent's batch counts its frames once per kind, not once per frame). */
  request(endpoint: 'submit' | 'agent' | 'http', kind: string, count = 1): void {
    this.#requests.inc({ endpoint, kind }, count);
  }

  rejected(code: ErrorCode): void {
    this.#rejections.inc({ code });
  }

  acknowledged(seconds: number): void {
    this.#ackSeconds.observe(seconds);
  }

  connection(endpoint: 'submit' | 'agent', delta: 1 | -1): void {
    this.#connections.inc({ endpoint }, delta);
  }

  /** A batch of events became durable after `commitMs`. */
  durable(events: readonly SchedulerEvent[], commitMs: number): void {
    this.#commitSeconds.observe(commitMs / 1000);
    const counts = new Map<string, number>();
    let placed = 0;
    for (const e of events) {
      counts.set(e.kind, (counts.get(e.kind) ?? 0) + 1);
      if (e.kind === 'TasksPlaced') placed += e.placements.length;
    }
    for (const [kind, n] of counts) this.#events.inc({ kind }, n);
    if (placed > 0) this.#placements.inc(placed);
  }

  /** The text exposition (format 0.0.4) and its content type. */
  async render(): Promise<{ readonly text: string; readonly contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
