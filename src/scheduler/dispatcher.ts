/**
 * The dispatcher: the scheduler's hub on the main thread.
 *
 * - It is the sequencer: every event passes through `emit`, which hands it to the event sink (the store)
 *   and routes it to the actors that own what it changes. One order for everything is what makes the log
 *   replayable.
 * - It runs dispatch cycles: ask each queue for candidates, plan a round (fair share, limits, site choice;
 *   cycle-plan.ts), send one batch per site to the site actors on worker threads, turn their answers into
 *   one `TasksPlaced` event, retry unplaced candidates on other sites for a few rounds, and tell the queues
 *   why the rest did not fit.
 * - It keeps what routing needs and nobody else owns: the job directory and the site registry.
 */
import type { ActorDefinition, ActorRef, ActorSystem, AnyRef } from '../actors/index.js';
import { assertNever, defineActor, same } from '../actors/index.js';
import type { Logger } from '../log/index.js';
import type { JobSpec, NodeSpec, QueueSpec, Resources } from '../model/index.js';
import { internJob } from '../model/index.js';
import type { NodeChange, ReleaseItem } from '../placement/index.js';
import { placementLimits, REASONS } from '../placement/index.js';
import type { AgentPort, AttemptRef, TaskLaunch } from './agent-port.js';
import type { Candidate } from './candidates.js';
import type { Clock } from './clock.js';
import type { QueueOffer } from './cycle-plan.js';
import { planRound } from './cycle-plan.js';
import { charge } from './fair-share.js';
import type { ShareAccount } from './fair-share.js';
import type { Placement, SchedulerEvent, TaskEndReport, TaskStartReport } from './events.js';
import type { EventSink } from './durable-sequencer.js';
import { DurableSequencer } from './durable-sequencer.js';
import { JobDirectory } from './job-directory.js';
import type {
  CommandResult,
  CoreCommand,
  CycleReport,
  DispatcherInbox,
  DispatcherMsg,
  NodeListing,
  NodeMsg,
  QueueMsg,
  ReconcileResult,
  Refusal,
  SiteMsg,
  SnapshotTaken,
  SubmitResult,
  UnplacedInfo,
} from './messages.js';
import { nodeActor } from './node-actor.js';
import type { RecoveredAttempt } from './node-actor.js';
import { liveAttempts, sliceFor } from './recovery.js';
import type { SchedulerState } from './state.js';
import { isTerminal } from './state.js';
import { queueActor } from './queue-actor.js';
import { SiteView } from './site-choice.js';
import type { SiteEntry } from './site-registry.js';
import { SiteRegistry } from './site-registry.js';
import { groupOf } from './tasks.js';
import { launchFor } from './launch.js';
import { packSnapshot } from './snapshot.js';

/**
 * Most candidates one cycle considers: with up to 256 tasks each, a cycle can place hundreds of thousands
 * of tasks, yet one cycle's planning stays in the low milliseconds so submissions and reports interleave.
 */
export const MAX_CYCLE_CANDIDATES = 4096;

/** Rounds per cycle: a candidate a site returns is tried on up to this many sites in all before it waits. */
export const MAX_ROUNDS = 3;

export interface DispatcherOptions {
  readonly system: ActorSystem;
  readonly clock: Clock;
  readonly agents: AgentPort;
  readonly epoch: number;
  readonly log: Logger;
  /** Receives every event, in order, and says when they are durable (the store). */
  readonly sink: EventSink;
  /** Refs of the site actors, made ahead of time by the core (spawning is asynchronous). */
  readonly sites: ReadonlyMap<string, ActorRef<SiteMsg>>;
  /** Run a cycle by itself whenever something may have become placeable (servers); simulations drive cycles. */
  readonly autoCycle: boolean;
  /** Sequence number of the last event already in the log (recovery); 0 for a new log. */
  readonly lastSeq?: number;
  /** The whole state rebuilt from the log: the actors start from it (see recovery.ts). */
  readonly recovered?: SchedulerState;
}


interface RoundState {
  round: number;
  waiting: number;
  readonly sent: Map<string, Candidate[]>;
}

interface CycleState {
  readonly now: number;
  summariesWaiting: number;
  offersWaiting: number;
  readonly offers: Map<string, { candidates: readonly Candidate[]; usage: Resources }>;
  wakeAt: number;
  readonly accounts: Map<string, ShareAccount>;
  views: SiteView[];
  readonly tried: Map<Candidate, Set<string>>;
  readonly retry: Candidate[];
  readonly placements: Placement[];
  readonly unplaced: Map<Candidate, UnplacedInfo>;
  round: RoundState | undefined;
}

interface Barrier {
  waiting: number;
  /** The last round found nothing to wait for but a running cycle: go on when it finishes. */
  afterCycle: boolean;
  readonly replyTo: ActorRef<true>[];
}

export class Dispatcher {
  readonly #o: DispatcherOptions;
  readonly #self: ActorRef<DispatcherInbox>;
  readonly #tell: <T>(to: ActorRef<T>, message: T) => void;
  readonly #directory = new JobDirectory();
  readonly #registry = new SiteRegistry();
  readonly #queues = new Map<string, { ref: ActorRef<QueueMsg>; spec: QueueSpec }>();
  readonly #nodes = new Map<string, ActorRef<NodeMsg>>();
  #cycle: CycleState | undefined;
  /** Numbers events, writes them, and holds what must wait for them to be durable (durable-sequencer.ts). */
  readonly #events: DurableSequencer;
  /** A snapshot being taken: the sequence number it is at and the queue slices encoded so far. */
  #snapshot: { readonly seq: number; waiting: number; readonly slices: Uint8Array[]; readonly replyTo: ActorRef<SnapshotTaken | Refusal>[] } | undefined;
  /** Releases waiting to go to their site, flushed at the start of each cycle (one message per site). */
  readonly #releases = new Map<SiteEntry, ReleaseItem[]>();
  #cycleWaiters: ActorRef<CycleReport>[] = [];
  #cycleQueued = false;
  #barrier: Barrier | undefined;
  /** Actors routed to since the last barrier began: a barrier waits for each of them. */
  readonly #touched = new Set<ActorRef<QueueMsg> | ActorRef<NodeMsg>>();

  constructor(options: DispatcherOptions, self: ActorRef<DispatcherInbox>, tell: <T>(to: ActorRef<T>, message: T) => void) {
    this.#o = options;
    this.#self = self;
    this.#tell = tell;
    this.#events = new DurableSequencer(
      options.sink,
      options.lastSeq ?? 0,
      {
        durable: (seq) => options.system.tell(self, { kind: 'durable', seq }),
        failed: (message) => options.system.tell(self, { kind: 'sink-failed', message }),
      },
      options.log,
    );
    for (const [name, ref] of options.sites) this.#registry.addSite(name, ref);
    if (options.recovered) this.#restore(options.recovered);
  }

  // ----------------------------------------------------------------------------------------- recovery

  /** Starts every actor from the recovered whole state; nothing is emitted, nothing is dispatched again. */
  #restore(whole: SchedulerState): void {
    const jobs = [...whole.jobs.values()].sort((a, b) => a.order - b.order);
    for (const job of jobs) {
      this.#directory.add(job.id, job.tenant, job.spec);
      if (isTerminal(job.status)) this.#directory.ended(job.id, job.status);
    }
    for (const [name, queue] of whole.queues) {
      const ref = this.#o.system.spawnLocal(queueActor(name, this.#self, sliceFor(whole, name)));
      this.#queues.set(name, { ref, spec: queue.spec });
    }
    const running = new Map<string, RecoveredAttempt[]>();
    for (const { job, task, record } of liveAttempts(whole)) {
      const entry = this.#directory.get(job)!;
      this.#placedOn.set(`${job}#${task}`, { node: record.node!, attempt: record.attempt, started: record.state === 'running' });
      const launch = launchFor(entry.spec, entry.perElement, job, task, record.attempt, record.node!, whole.epoch);
      const list = running.get(record.node!);
      if (list) list.push({ launch, startedAt: record.startedAt });
      else running.set(record.node!, [{ launch, startedAt: record.startedAt }]);
    }
    const changes = new Map<SiteEntry, NodeChange[]>();
    for (const [name, node] of whole.nodes) {
      const site = this.#registry.site(node.spec.site);
      if (!site) {
        this.#o.log.error({ node: name, site: node.spec.site }, 'recovered node belongs to a site that is not configured');
        continue;
      }
      const entry = this.#registry.addNode(site, node.spec);
      const cap = node.spec.capacity;
      const used = node.allocated;
      const extended: Record<string, number> = {};
      for (const r in cap.extended) extended[r] = (cap.extended[r] ?? 0) - (used.extended[r] ?? 0);
      const free = { cpu: cap.cpu - used.cpu, memory: cap.memory - used.memory, gpu: cap.gpu - used.gpu, extended };
      const list = changes.get(site) ?? [];
      list.push({ kind: 'add', node: { id: entry.id, capacity: cap, free, labels: node.spec.labels, state: node.state } });
      changes.set(site, list);
      this.#nodes.set(name, this.#o.system.spawnLocal(nodeActor(name, node.state, { dispatcher: this.#self, agents: this.#o.agents, clock: this.#o.clock }, running.get(name))));
    }
    for (const [site, list] of changes) this.#tell(site.ref, { kind: 'nodes', changes: list });
  }

  // ------------------------------------------------------------------------------------------ routing

  #emit(e: SchedulerEvent): void {
    this.#events.emit(e);
    this.#route(e);
  }

  /**
   * Runs `action` once every event emitted so far is durable. Everything that leaves the scheduler — a
   * reply to a command, an allocation or a kill sent towards a node's agent — goes through here, so nothing
   * is acknowledged or dispatched that a crash could take back. If the store fails first, `refuse` runs
   * instead (replies); without it the action is dropped (messages towards agents).
   */
  #afterDurable(action: () => void, refuse?: (failure: string) => void): void {
    this.#events.afterDurable(action, refuse);
  }

  /**
   * Replies `message` once every event emitted so far is durable; if the store fails first, replies at
   * once with `refused(error)` (`MUSTER_ERR_STORE_FAILED`), so no request waits for an answer that cannot
   * come.
   */
  #replyDurable<T>(to: ActorRef<T>, message: T, refused: (error: StoreFailed) => T): void {
    this.#afterDurable(
      () => this.#tell(to, message),
      (failure) => this.#tell(to, refused(storeFailed(failure))),
    );
  }

  #toQueue(name: string, message: QueueMsg): void {
    const ref = this.#queueRef(name);
    this.#touched.add(ref);
    this.#tell(ref, message);
  }

  #toNode(name: string, message: NodeMsg): void {
    const ref = this.#nodes.get(name);
    if (!ref) return;
    this.#touched.add(ref);
    this.#afterDurable(() => this.#tell(ref, message));
  }

  #queueRef(name: string, tenant = 'default'): ActorRef<QueueMsg> {
    let queue = this.#queues.get(name);
    if (!queue) {
      const ref = this.#o.system.spawnLocal(queueActor(name, this.#self));
      queue = { ref, spec: { tenant, name, weight: 1, priority: 0, guaranteedShare: 0, borrow: true } };
      this.#queues.set(name, queue);
    }
    return queue.ref;
  }

  #route(e: SchedulerEvent): void {
    switch (e.kind) {
      case 'QueueDefined':
        this.#queueRef(e.queue.name, e.queue.tenant);
        this.#queues.get(e.queue.name)!.spec = e.queue;
        this.#toQueue(e.queue.name, { kind: 'event', event: e });
        break;
      case 'NodeJoined':
        this.#routeNodeJoined(e.node);
        break;
      case 'NodeStateChanged': {
        const node = this.#registry.node(e.node);
        const site = node && this.#registry.site(node.site);
        if (node && site) {
          node.spec = { ...node.spec, state: e.state };
          this.#tell(site.ref, { kind: 'nodes', changes: [{ kind: 'update', id: node.id, state: e.state }] });
        }
        this.#toNode(e.node, { kind: 'state', state: e.state, at: e.at });
        break;
      }
      case 'JobSubmitted': {
        this.#directory.add(e.job, e.tenant, e.spec);
        this.#queueRef(e.spec.queue, e.tenant);
        const outcomes: Record<string, NonNullable<ReturnType<JobDirectory['get']>>['outcome'] & string> = {};
        let unknown: string | undefined;
        for (const dep of e.spec.dependencies) {
          const entry = dep.job === e.job ? undefined : this.#directory.get(dep.job);
          if (!entry) unknown ??= `dependency ${dep.type}:${dep.job} names no known job`;
          else if (entry.outcome) outcomes[dep.job] = entry.outcome;
        }
        this.#toQueue(e.spec.queue, { kind: 'event', event: e, ...(Object.keys(outcomes).length ? { outcomes } : {}) });
        if (unknown) this.#emit({ kind: 'JobEnded', at: e.at, job: e.job, outcome: 'failed', reason: unknown });
        break;
      }
      case 'JobCancelRequested':
      case 'TaskStarted': {
        const entry = this.#directory.get(e.job);
        if (entry) this.#toQueue(entry.queue, { kind: 'event', event: e });
        // Only an attempt with a time limit needs its node to know when it started (for the deadline).
        if (e.kind === 'TaskStarted' && entry && groupOf(entry.spec, entry.perElement, e.task).timeLimitMs !== undefined) {
          const placed = this.#placedOn.get(`${e.job}#${e.task}`);
          if (placed?.attempt === e.attempt) this.#toNode(placed.node, { kind: 'started', job: e.job, task: e.task, attempt: e.attempt, at: e.at });
        }
        break;
      }
      case 'TaskEnded': {
        const entry = this.#directory.get(e.job);
        if (entry) this.#toQueue(entry.queue, { kind: 'event', event: e });
        this.#toNode(e.node, { kind: 'ended', job: e.job, task: e.task, attempt: e.attempt });
        // The live attempt's resources go back to its site's table (with the next cycle's releases).
        const key = `${e.job}#${e.task}`;
        const placed = this.#placedOn.get(key);
        if (placed?.attempt === e.attempt && entry) {
          this.#placedOn.delete(key);
          this.#release(placed.node, groupOf(entry.spec, entry.perElement, e.task).resources);
        }
        break;
      }
      case 'TasksPlaced':
        this.#routePlaced(e);
        break;
      case 'JobEnded': {
        const entry = this.#directory.get(e.job);
        this.#directory.ended(e.job, e.outcome);
        const queues = new Set<string>();
        if (entry) queues.add(entry.queue);
        for (const id of this.#directory.dependents(e.job)) {
          const dependent = this.#directory.get(id);
          if (dependent && !dependent.outcome) queues.add(dependent.queue);
        }
        for (const q of queues) this.#toQueue(q, { kind: 'event', event: e });
        break;
      }
      default:
        assertNever(e);
    }
  }

  /**
   * Where each task's live attempt runs, as placed, and whether it has started: to route `TaskStarted` to
   * its node, to give the resources of an ended attempt back to its site exactly once, and to check agents'
   * reports against it (an end for an attempt that is not the live one records nothing; a report about an
   * attempt live on another node is refused).
   */
  readonly #placedOn = new Map<string, { readonly node: string; readonly attempt: number; started: boolean }>();

  /** Agents' reports acknowledged this turn, per node: sent once the turn's events are durable. */
  #acks = new Map<string, AttemptRef[]>();

  /**
   * An agent's report about attempt `ref` of `node`, checked against the live attempt: `live` (it is that
   * node's live attempt), `gone` (not live: it ended already, was replaced, or never existed: the report
   * changes nothing) or `elsewhere` (live on another node: refused).
   */
  #liveOn(node: string, ref: AttemptRef): 'live' | 'gone' | 'elsewhere' {
    const placed = this.#placedOn.get(`${ref.job}#${ref.task}`);
    if (!placed || placed.attempt !== ref.attempt) return 'gone';
    return placed.node === node ? 'live' : 'elsewhere';
  }

  /** Records an attempt's end once: an end for an attempt that is not live is dropped (it ended already). */
  #endAttempt(e: Extract<SchedulerEvent, { kind: 'TaskEnded' }>): boolean {
    if (this.#liveOn(e.node, e) !== 'live') return false;
    this.#emit(e);
    return true;
  }

  /** An agent's report was refused: it names an attempt live on another node. */
  #refuseReport(node: string, ref: AttemptRef, id: string | number | undefined): void {
    const placed = this.#placedOn.get(`${ref.job}#${ref.task}`);
    this.#o.agents.refuse(node, {
      code: 'MUSTER_ERR_FORBIDDEN',
      message: `attempt ${ref.attempt} of ${ref.job} task ${ref.task} runs on node ${placed?.node ?? '?'}, not ${node}: a node reports only its own attempts`,
      ...(id !== undefined ? { id } : {}),
    });
  }

  #acknowledge(node: string, ref: AttemptRef): void {
    const list = this.#acks.get(node);
    const item = { job: ref.job, task: ref.task, attempt: ref.attempt };
    if (list) list.push(item);
    else this.#acks.set(node, [item]);
  }

  /** The turn's acknowledgements leave once its events are durable (dropped if the store fails: agents report again). */
  #flushAcks(): void {
    if (this.#acks.size === 0) return;
    const acks = this.#acks;
    this.#acks = new Map();
    this.#afterDurable(() => {
      for (const [node, attempts] of acks) this.#o.agents.acknowledge(node, attempts);
    });
  }

  /** An `ended` report: recorded if it is the node's live attempt, acknowledged unless refused. */
  #reportedEnd(msg: TaskEndReport, now: number, id?: string | number): void {
    const verdict = this.#liveOn(msg.node, msg);
    if (verdict === 'elsewhere') return this.#refuseReport(msg.node, msg, id);
    if (verdict === 'live') this.#emit(endEvent(msg, now));
    this.#acknowledge(msg.node, msg);
  }

  /**
   * A node's agent (re)registered. Its unacknowledged ends are applied first (those of its own live
   * attempts; any other end is known already and ignored: the `registered` reply acknowledges them all),
   * attempts it runs that were placed but not known to have started are recorded as started, and then its
   * node actor, once all of that is durable, works out what to kill and what the agent did not report, and
   * answers.
   */
  #reconcile(msg: Extract<CoreCommand, { kind: 'reconcile' }>, now: number): void {
    const ref = this.#nodes.get(msg.node);
    if (!ref) return this.#tell(msg.replyTo, fail('MUSTER_ERR_UNKNOWN_NODE', `node ${msg.node} has not joined`) as ReconcileResult);
    for (const end of msg.ended) {
      if (end.node === msg.node && this.#liveOn(msg.node, end) === 'live') this.#emit(endEvent(end, now));
    }
    for (const r of msg.running) this.#reportedStart({ job: r.job, task: r.task, attempt: r.attempt, node: msg.node }, now);
    this.#touched.add(ref);
    this.#afterDurable(
      () => this.#tell(ref, { kind: 'reconcile', running: msg.running, replyTo: msg.replyTo }),
      (failure) => this.#tell(msg.replyTo, storeFailed(failure)),
    );
  }

  #reportedStart(msg: TaskStartReport, now: number, id?: string | number): void {
    const verdict = this.#liveOn(msg.node, msg);
    if (verdict === 'elsewhere') return this.#refuseReport(msg.node, msg, id);
    const placed = this.#placedOn.get(`${msg.job}#${msg.task}`);
    if (verdict !== 'live' || !placed || placed.started) return;
    placed.started = true;
    this.#emit({ kind: 'TaskStarted', at: now, job: msg.job, task: msg.task, attempt: msg.attempt });
  }

  #release(nodeName: string, resources: Resources): void {
    const node = this.#registry.node(nodeName);
    const site = node && this.#registry.site(node.site);
    if (!node || !site) return;
    const list = this.#releases.get(site);
    if (list) list.push({ node: node.id, resources });
    else this.#releases.set(site, [{ node: node.id, resources }]);
    this.#wake();
  }

  #routeNodeJoined(spec: NodeSpec): void {
    let site = this.#registry.site(spec.site);
    if (!site) {
      this.#o.log.error({ node: spec.name, site: spec.site }, 'node joined a site with no site actor');
      return;
    }
    const known = this.#registry.node(spec.name);
    let change: NodeChange;
    if (known && known.site === spec.site) {
      known.spec = spec;
      change = { kind: 'update', id: known.id, capacity: spec.capacity, labels: spec.labels, state: spec.state };
    } else {
      if (known) {
        const old = this.#registry.site(known.site);
        this.#registry.removeNode(spec.name);
        if (old) this.#tell(old.ref, { kind: 'nodes', changes: [{ kind: 'remove', id: known.id }] });
      }
      const entry = this.#registry.addNode(site, spec);
      change = { kind: 'add', node: { id: entry.id, capacity: spec.capacity, labels: spec.labels, state: spec.state } };
      if (!this.#nodes.has(spec.name)) {
        this.#nodes.set(spec.name, this.#o.system.spawnLocal(nodeActor(spec.name, spec.state, { dispatcher: this.#self, agents: this.#o.agents, clock: this.#o.clock })));
      }
    }
    site = this.#registry.site(spec.site)!;
    this.#tell(site.ref, { kind: 'nodes', changes: [change] });
  }

  #routePlaced(e: Extract<SchedulerEvent, { kind: 'TasksPlaced' }>): void {
    const queues = new Set<string>();
    const byNode = new Map<string, { launch: TaskLaunch }[]>();
    for (const p of e.placements) {
      const entry = this.#directory.get(p.job);
      if (!entry) continue;
      queues.add(entry.queue);
      this.#placedOn.set(`${p.job}#${p.task}`, { node: p.node, attempt: p.attempt, started: false });
      const launch = launchFor(entry.spec, entry.perElement, p.job, p.task, p.attempt, p.node, e.epoch);
      const list = byNode.get(p.node);
      if (list) list.push({ launch });
      else byNode.set(p.node, [{ launch }]);
    }
    for (const q of queues) this.#toQueue(q, { kind: 'event', event: e });
    for (const [node, allocations] of byNode) this.#toNode(node, { kind: 'allocate', allocations });
  }

  // ----------------------------------------------------------------------------------------- commands

  #command(msg: CoreCommand): void {
    const now = this.#o.clock.now();
    switch (msg.kind) {
      case 'defineQueue':
        this.#emit({ kind: 'QueueDefined', at: now, queue: msg.spec });
        this.#replyDurable(msg.replyTo, { ok: true }, asIs);
        break;
      case 'joinNode': {
        if (!this.#registry.site(msg.spec.site)) {
          this.#tell(msg.replyTo, fail('MUSTER_ERR_UNKNOWN_SITE', `site ${msg.spec.site} is not configured`));
          break;
        }
        this.#emit({ kind: 'NodeJoined', at: now, node: msg.spec });
        this.#replyDurable(msg.replyTo, { ok: true }, asIs);
        this.#wake();
        break;
      }
      case 'nodeState': {
        if (!this.#registry.node(msg.node)) {
          this.#tell(msg.replyTo, fail('MUSTER_ERR_UNKNOWN_NODE', `node ${msg.node} has not joined`));
          break;
        }
        this.#emit({ kind: 'NodeStateChanged', at: now, node: msg.node, state: msg.state, ...(msg.reason ? { reason: msg.reason } : {}) });
        this.#replyDurable(msg.replyTo, { ok: true }, asIs);
        this.#wake();
        break;
      }
      case 'submit': {
        const results: SubmitResult[] = msg.specs.map((spec) => this.#submit(msg.tenant, spec, now));
        // Every result waits, the `existing` ones too: their jobs' events may be in a batch not yet durable.
        this.#replyDurable(msg.replyTo, results, (error) => results.map(() => error));
        this.#wake();
        break;
      }
      case 'cancel': {
        const entry = this.#directory.get(msg.job);
        if (!entry) this.#tell(msg.replyTo, fail('MUSTER_ERR_UNKNOWN_JOB', `job ${msg.job} does not exist`));
        else if (entry.outcome) this.#tell(msg.replyTo, fail('MUSTER_ERR_JOB_ENDED', `job ${msg.job} already ${entry.outcome}`));
        else {
          this.#emit({ kind: 'JobCancelRequested', at: now, job: msg.job });
          this.#replyDurable(msg.replyTo, { ok: true }, asIs);
        }
        break;
      }
      case 'started':
        this.#reportedStart(msg, now, msg.id);
        break;
      case 'ended':
        this.#reportedEnd(msg, now, msg.id);
        break;
      case 'reconcile':
        this.#reconcile(msg, now);
        break;
      case 'lost':
        for (const a of msg.attempts) {
          this.#endAttempt({ kind: 'TaskEnded', at: now, job: a.job, task: a.task, attempt: a.attempt, node: msg.node, outcome: 'lost', reason: msg.reason });
        }
        this.#wake();
        break;
      case 'cycle':
        this.#cycleWaiters.push(msg.replyTo);
        if (!this.#cycle) this.#startCycle();
        else this.#cycleQueued = true;
        break;
      case 'settle':
        this.#settle(msg.replyTo);
        break;
      case 'locate': {
        const entry = this.#directory.get(msg.job);
        this.#tell(msg.replyTo, {
          queue: entry ? this.#queues.get(entry.queue)?.ref : undefined,
          outcome: entry?.outcome,
          tenant: entry?.tenant,
          sites: [...this.#registry.sites()].map((s) => s.summary),
        });
        break;
      }
      case 'inspectNodes':
        this.#tell(msg.replyTo, [...this.#nodes.values()]);
        break;
      case 'inspectQueues':
        this.#tell(msg.replyTo, [...this.#queues.values()].map((q) => q.ref));
        break;
      case 'owners':
        this.#tell(
          msg.replyTo,
          msg.jobs.map((id) => {
            const entry = this.#directory.get(id);
            return entry && { tenant: entry.tenant, queue: entry.queue, outcome: entry.outcome };
          }),
        );
        break;
      case 'listQueues':
        this.#tell(msg.replyTo, [...this.#queues.values()].map((q) => ({ spec: q.spec, ref: q.ref })));
        break;
      case 'listNodes': {
        const names = msg.names ?? [...this.#nodes.keys()];
        const listing: NodeListing[] = [];
        for (const name of names) {
          const ref = this.#nodes.get(name);
          const entry = this.#registry.node(name);
          if (ref && entry) listing.push({ spec: entry.spec, ref });
        }
        this.#tell(msg.replyTo, listing);
        break;
      }
      case 'snapshot':
        this.#startSnapshot(msg.replyTo);
        break;
      case 'sync':
        this.#replyDurable<true | Refusal>(msg.replyTo, true, asIs);
        break;
      default:
        assertNever(msg);
    }
  }

  #submit(tenant: string, spec: JobSpec, now: number): SubmitResult {
    // Specs arrive validated and normalized (`validateJob`): the gateway and the CLI check them first.
    if (spec.idempotencyKey !== undefined) {
      const existing = this.#directory.byKey(tenant, spec.idempotencyKey);
      if (existing) return { ok: true, job: existing, existing: true };
    }
    const job = this.#directory.nextId();
    // Interned here, once: the event, the queue actor's record and the snapshot all share the spec's parts.
    this.#emit({ kind: 'JobSubmitted', at: now, job, tenant, spec: internJob(spec) });
    return { ok: true, job, existing: false };
  }

  // ------------------------------------------------------------------------------------------- cycles

  /** Something may have become placeable: in auto mode, make sure a cycle runs soon. */
  #wake(): void {
    if (!this.#o.autoCycle) return;
    if (this.#cycle) this.#cycleQueued = true;
    else this.#startCycle();
  }

  #startCycle(): void {
    const queues = [...this.#queues.values()];
    const sites = [...this.#registry.sites()];
    const cycle: CycleState = {
      now: this.#o.clock.now(),
      summariesWaiting: sites.length,
      offersWaiting: queues.length,
      offers: new Map(),
      wakeAt: Infinity,
      accounts: new Map(),
      views: [],
      tried: new Map(),
      retry: [],
      placements: [],
      unplaced: new Map(),
      round: undefined,
    };
    this.#cycle = cycle;
    this.#cycleQueued = false;
    if (queues.length === 0 || sites.length === 0) return this.#finishCycle();
    // Sites first get what was released since the last cycle, then summarize themselves (FIFO: the summary
    // reflects the releases). Offers wait for the summaries, so a queue offers no more than could fit.
    for (const site of sites) {
      const items = this.#releases.get(site);
      if (items) this.#tell(site.ref, { kind: 'release', items });
      this.#tell(site.ref, { kind: 'summary', replyTo: this.#self });
    }
    this.#releases.clear();
  }

  #onSummary(cycle: CycleState): void {
    if (--cycle.summariesWaiting > 0) return;
    const budget = { cpu: 0, memory: 0, gpu: 0 };
    for (const s of this.#registry.sites()) {
      budget.cpu += s.summary.free.cpu;
      budget.memory += s.summary.free.memory;
      budget.gpu += s.summary.free.gpu;
    }
    for (const q of this.#queues.values()) this.#tell(q.ref, { kind: 'offer', now: cycle.now, max: MAX_CYCLE_CANDIDATES, budget, replyTo: this.#self });
  }

  #onOffered(msg: Extract<DispatcherMsg, { kind: 'offered' }>): void {
    const cycle = this.#cycle;
    if (!cycle) return;
    cycle.offers.set(msg.queue, { candidates: msg.candidates, usage: msg.usage });
    cycle.wakeAt = Math.min(cycle.wakeAt, msg.wakeAt);
    if (--cycle.offersWaiting > 0) return;
    for (const [name, offer] of cycle.offers) {
      const spec = this.#queues.get(name)?.spec;
      if (!spec) continue;
      const u = offer.usage;
      cycle.accounts.set(name, {
        name,
        weight: spec.weight,
        priority: spec.priority,
        limit: spec.limit,
        usage: { cpu: u.cpu, memory: u.memory, gpu: u.gpu, extended: { ...u.extended } },
      });
    }
    cycle.views = [...this.#registry.sites()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((s) => new SiteView(s.summary));
    const offers: QueueOffer[] = [];
    for (const [name, offer] of cycle.offers) {
      const account = cycle.accounts.get(name);
      if (account) offers.push({ account, candidates: offer.candidates });
    }
    this.#sendRound(cycle, offers, 1);
  }

  #total(): Resources {
    const total = { cpu: 0, memory: 0, gpu: 0, extended: {} as Record<string, number> };
    for (const s of this.#registry.sites()) {
      total.cpu += s.summary.capacity.cpu;
      total.memory += s.summary.capacity.memory;
      total.gpu += s.summary.capacity.gpu;
      for (const name in s.summary.capacity.extended) total.extended[name] = (total.extended[name] ?? 0) + (s.summary.capacity.extended[name] ?? 0);
    }
    return total;
  }

  #sendRound(cycle: CycleState, offers: readonly QueueOffer[], round: number): void {
    const plan = planRound(offers, cycle.views, this.#total(), cycle.tried);
    for (const c of plan.limited) {
      cycle.unplaced.set(c, { job: c.job, at: cycle.now, sites: {}, limit: `queue ${c.queue} is at its limit` });
    }
    for (const { candidate, reasons } of plan.excluded) {
      const info = cycle.unplaced.get(candidate);
      const sites: Record<string, UnplacedInfo['sites'][string]> = { ...(info?.sites ?? {}) };
      for (const [site, why] of reasons) sites[site] ??= why;
      cycle.unplaced.set(candidate, { job: candidate.job, at: cycle.now, sites });
    }
    if (plan.batches.size === 0) return this.#finishCycle();
    cycle.round = { round, waiting: plan.batches.size, sent: plan.batches };
    for (const [site, candidates] of plan.batches) {
      const entry = this.#registry.site(site)!;
      this.#tell(entry.ref, { kind: 'place', round, requests: candidates.map((c) => c.request), replyTo: this.#self });
    }
  }

  #onPlaced(msg: Extract<DispatcherMsg, { kind: 'placed' }>): void {
    const cycle = this.#cycle;
    const round = cycle?.round;
    const site = this.#registry.site(msg.site);
    if (!cycle || !round || !site || round.round !== msg.round) return;
    site.summary = msg.summary;
    const candidates = round.sent.get(msg.site) ?? [];
    const JOB_OUT = placementLimits.JOB_OUT;
    const base = candidates.length * JOB_OUT;
    candidates.forEach((c, j) => {
      const status = msg.result[j * JOB_OUT] ?? 2;
      const start = base + (msg.taskStart[j] ?? 0);
      let placedTasks = 0;
      for (let k = 0; k < c.tasks.length; k++) {
        const id = msg.result[start + k] ?? -1;
        const node = id >= 0 ? site.names[id] : undefined;
        if (node === undefined) continue;
        cycle.placements.push({ job: c.job, task: c.tasks[k]!, attempt: c.attempts[k]!, node });
        placedTasks++;
      }
      if (status === 0) {
        cycle.unplaced.delete(c);
        return;
      }
      // Refund what the site could not place, note why, and try another site in the next round.
      const account = cycle.accounts.get(c.queue);
      if (account) charge(account, scaleDemand(c, c.tasks.length - placedTasks), -1);
      const reasons = { group: msg.result[j * JOB_OUT + 1] ?? -1 } as Record<string, number>;
      REASONS.forEach((name, i) => (reasons[name] = msg.result[j * JOB_OUT + 2 + i] ?? 0));
      const info = cycle.unplaced.get(c);
      cycle.unplaced.set(c, { job: c.job, at: cycle.now, sites: { ...(info?.sites ?? {}), [msg.site]: reasons as never } });
      const tried = cycle.tried.get(c) ?? new Set<string>();
      tried.add(msg.site);
      cycle.tried.set(c, tried);
      // Only a candidate with nothing placed retries whole; a partly placed one waits for the next cycle.
      if (placedTasks === 0) cycle.retry.push(c);
    });
    if (--round.waiting > 0) return;
    cycle.views = [...this.#registry.sites()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((s) => new SiteView(s.summary));
    if (cycle.retry.length > 0 && round.round < MAX_ROUNDS) {
      const byQueue = new Map<string, Candidate[]>();
      for (const c of cycle.retry.splice(0)) {
        const list = byQueue.get(c.queue);
        if (list) list.push(c);
        else byQueue.set(c.queue, [c]);
      }
      const offers: QueueOffer[] = [];
      for (const [name, list] of byQueue) {
        const account = cycle.accounts.get(name);
        if (account) offers.push({ account, candidates: list });
      }
      return this.#sendRound(cycle, offers, round.round + 1);
    }
    this.#finishCycle();
  }

  #finishCycle(): void {
    const cycle = this.#cycle;
    if (!cycle) return;
    this.#cycle = undefined;
    if (cycle.placements.length > 0) {
      this.#emit({ kind: 'TasksPlaced', at: cycle.now, epoch: this.#o.epoch, placements: cycle.placements });
    }
    const byQueue = new Map<string, UnplacedInfo[]>();
    for (const [c, info] of cycle.unplaced) {
      const list = byQueue.get(c.queue);
      if (list) list.push(info);
      else byQueue.set(c.queue, [info]);
    }
    for (const [q, items] of byQueue) this.#toQueue(q, { kind: 'unplaced', items });
    const report: CycleReport = {
      placed: cycle.placements.length,
      unplaced: cycle.unplaced.size,
      wakeAt: Number.isFinite(cycle.wakeAt) ? cycle.wakeAt : undefined,
    };
    for (const w of this.#cycleWaiters.splice(0)) this.#tell(w, report);
    if (report.wakeAt !== undefined && this.#o.autoCycle) {
      const self = this.#self;
      this.#o.clock.schedule(report.wakeAt, () => this.#o.system.tell(self, { kind: 'wake' }));
    }
    if (this.#barrier?.afterCycle) {
      this.#barrier.afterCycle = false;
      this.#barrierRound();
    }
    if (this.#cycleQueued || (this.#o.autoCycle && report.placed > 0)) this.#startCycle();
  }

  // ---------------------------------------------------------------------------------------- snapshots

  /**
   * Each queue actor encodes its slice when it gets the request: every event up to the current sequence
   * number was routed to it before, none after, so the slices and the nodes all stand at that number.
   */
  #startSnapshot(replyTo: ActorRef<SnapshotTaken | Refusal>): void {
    if (this.#snapshot) {
      this.#snapshot.replyTo.push(replyTo);
      return;
    }
    const queues = [...this.#queues.values()];
    this.#snapshot = { seq: this.#events.seq, waiting: queues.length, slices: [], replyTo: [replyTo] };
    for (const q of queues) this.#tell(q.ref, { kind: 'encode', replyTo: this.#self });
    if (queues.length === 0) this.#finishSnapshot();
  }

  #onEncoded(bytes: Uint8Array): void {
    const snapshot = this.#snapshot;
    if (!snapshot) return;
    snapshot.slices.push(bytes);
    if (--snapshot.waiting === 0) this.#finishSnapshot();
  }

  #finishSnapshot(): void {
    const snapshot = this.#snapshot!;
    this.#snapshot = undefined;
    const nodes = [...this.#registry.sites()].flatMap((site) =>
      site.names.flatMap((name) => {
        const entry = name === undefined ? undefined : this.#registry.node(name);
        return entry ? [[entry.spec.name, entry.spec, entry.spec.state] as [string, unknown, string]] : [];
      }),
    );
    const state = packSnapshot({ submitted: this.#directory.size, epoch: this.#o.epoch, now: this.#o.clock.now(), nodes, slices: snapshot.slices });
    // A snapshot may only be stored once every event it covers is durable.
    for (const to of snapshot.replyTo) this.#replyDurable<SnapshotTaken | Refusal>(to, { seq: snapshot.seq, state }, asIs);
  }

  // ----------------------------------------------------------------------------------------- barriers

  /** Replies once every actor routed to has handled what it was sent (and what that caused, transitively). */
  #settle(replyTo: ActorRef<true>): void {
    if (this.#barrier) {
      this.#barrier.replyTo.push(replyTo);
      return;
    }
    this.#barrier = { waiting: 0, afterCycle: false, replyTo: [replyTo] };
    this.#barrierRound();
  }

  #barrierRound(): void {
    const barrier = this.#barrier!;
    const targets = [...this.#touched];
    this.#touched.clear();
    if (targets.length > 0) {
      barrier.waiting = targets.length;
      for (const t of targets) this.#tell(t as ActorRef<QueueMsg>, { kind: 'barrier', replyTo: this.#self });
    } else if (this.#cycle) {
      barrier.afterCycle = true;
    } else {
      this.#barrier = undefined;
      for (const r of barrier.replyTo) this.#tell(r, true);
    }
  }

  #onBarrierAck(): void {
    const barrier = this.#barrier;
    if (barrier && --barrier.waiting === 0) this.#barrierRound();
  }

  // ---------------------------------------------------------------------------------------- behaviour

  receive(msg: DispatcherInbox): void {
    this.#handle(msg);
    this.#flushAcks();
    this.#events.write();
  }

  #handle(msg: DispatcherInbox): void {
    if (this.#events.failed !== undefined && 'replyTo' in msg && !ANSWERED_WHEN_FAILED.has(msg.kind)) {
      // Commands that would write, `sync` and `snapshot` are refused at once; queries and barriers answer.
      const refusal = storeFailed(this.#events.failed);
      if (msg.kind === 'submit') return this.#tell(msg.replyTo, msg.specs.map(() => refusal));
      return this.#tell(msg.replyTo as ActorRef<CommandResult>, refusal);
    }
    switch (msg.kind) {
      case 'durable':
        this.#events.durable(msg.seq);
        break;
      case 'sink-failed':
        this.#events.fail(msg.message);
        break;
      case 'propose':
        // A node actor's `lost` ends may race an agent's report of the same end: each attempt ends once.
        for (const e of msg.events) {
          if (e.kind === 'TaskEnded') this.#endAttempt(e);
          else this.#emit(e);
        }
        this.#wake();
        break;
      case 'wake':
        this.#wake();
        break;
      case 'kill':
        for (const k of msg.kills) this.#toNode(k.attempt.node, { kind: 'kill', attempt: k.attempt, reason: k.reason });
        break;
      case 'offered':
        this.#onOffered(msg);
        break;
      case 'placed':
        this.#onPlaced(msg);
        break;
      case 'summary': {
        const site = this.#registry.site(msg.summary.site);
        if (site) site.summary = msg.summary;
        if (this.#cycle && this.#cycle.summariesWaiting > 0) this.#onSummary(this.#cycle);
        break;
      }
      case 'barrier-ack':
        this.#onBarrierAck();
        break;
      case 'encoded':
        this.#onEncoded(msg.bytes);
        break;
      default:
        this.#command(msg);
    }
  }

}

/** Commands a failed dispatcher still answers: queries and barriers, which write nothing. */
const ANSWERED_WHEN_FAILED: ReadonlySet<DispatcherInbox['kind']> = new Set(['locate', 'settle', 'cycle', 'owners', 'listQueues', 'listNodes', 'inspectNodes', 'inspectQueues']);

type StoreFailed = Extract<CommandResult, { ok: false }>;

/** The refusal of every request the store's failure leaves unanswerable. */
function storeFailed(failure: string): StoreFailed {
  return { ok: false, code: 'MUSTER_ERR_STORE_FAILED', message: `the event store failed: ${failure}` };
}

/** Requests whose reply may be a refusal (commands, `sync`, `snapshot`) are refused with the refusal itself. */
const asIs = (error: StoreFailed): Refusal => error;

/** The event of an agent's reported end. */
function endEvent(r: TaskEndReport, at: number): Extract<SchedulerEvent, { kind: 'TaskEnded' }> {
  return {
    kind: 'TaskEnded',
    at,
    job: r.job,
    task: r.task,
    attempt: r.attempt,
    node: r.node,
    outcome: r.outcome,
    ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
  };
}

function scaleDemand(c: Candidate, unplacedTasks: number): Resources {
  if (unplacedTasks === c.tasks.length) return c.demand;
  const f = unplacedTasks / c.tasks.length;
  return { cpu: c.demand.cpu * f, memory: c.demand.memory * f, gpu: c.demand.gpu * f, extended: {} };
}

function fail(code: Extract<CommandResult, { ok: false }>['code'], message: string): CommandResult {
  return { ok: false, code, message };
}

export function dispatcherActor(options: DispatcherOptions): ActorDefinition<Dispatcher | undefined, DispatcherInbox> {
  return defineActor<Dispatcher | undefined, DispatcherInbox>({
    name: 'dispatcher',
    supervision: { decide: () => 'stop' },
    mailbox: { capacity: 1 << 22, overflow: 'reject' },
    initial: () => undefined,
    behaviour(state, msg, ctx) {
      const dispatcher = state ?? new Dispatcher(options, ctx.self, (to, m) => ctx.tell(to, m));
      dispatcher.receive(msg);
      return state ? same() : { kind: 'continue', state: dispatcher };
    },
  });
}

