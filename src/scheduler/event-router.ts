/**
 * The sequencer and router: every event passes through `emit`, which numbers it and hands it to the sink
 * (the store, through the durable sequencer) and routes it to the actors that own what it changes. One
 * order for everything is what makes the log replayable.
 *
 * It also keeps what routing needs and nobody else owns: the job directory (job → queue, spec, outcome),
 * the site registry (node ids per site), the queue and node actors' refs, the live attempts, and the
 * resources freed since the last cycle (given to their sites at the next cycle's start).
 */
import type { ActorRef, ActorSystem } from '../actors/index.js';
import { assertNever } from '../actors/index.js';
import type { Logger } from '../log/index.js';
import type { NodeSpec, NodeState, QueueSpec, Resources } from '../model/index.js';
import type { NodeChange, ReleaseItem } from '../placement/index.js';
import type { AgentPort, TaskLaunch } from './agent-port.js';
import type { Clock } from './clock.js';
import type { EventSink, SinkNotices } from './durable-sequencer.js';
import { DurableSequencer } from './durable-sequencer.js';
import type { SchedulerEvent } from './events.js';
import { Drains } from './drains.js';
import { FeasibilityCache } from './feasibility.js';
import { JobDirectory } from './job-directory.js';
import { launchFor } from './launch.js';
import { LiveAttempts } from './live-attempts.js';
import type { DispatcherInbox, NodeMsg, QueueMsg, Refusal, SiteMsg } from './messages.js';
import type { RecoveredAttempt } from './node-actor.js';
import type { RetentionPolicy } from './retention.js';
import { Retirement } from './retirement.js';
import { nodeActor } from './node-actor.js';
import { queueActor } from './queue-actor.js';
import type { SiteEntry } from './site-registry.js';
import { SiteRegistry } from './site-registry.js';
import type { SchedulerState } from './state.js';
import { groupOf } from './tasks.js';

export interface RouterOptions {
  readonly system: ActorSystem;
  readonly self: ActorRef<DispatcherInbox>;
  readonly tell: <T>(to: ActorRef<T>, message: T) => void;
  readonly clock: Clock;
  readonly agents: AgentPort;
  readonly log: Logger;
  readonly sink: EventSink;
  readonly notices: SinkNotices;
  readonly lastSeq: number;
  readonly sites: ReadonlyMap<string, ActorRef<SiteMsg>>;
  /** Resources were freed: a cycle may place something now. */
  readonly released: () => void;
  /** Finished jobs leave the live state and keys expire by this (retention.ts); none: kept for ever. */
  readonly retention?: RetentionPolicy | undefined;
  /** A drain's deadline passed (drains.ts): what still runs on the node is to be ended. */
  readonly drainExpired: (node: string, deadline: number) => void;
}

export interface QueueEntry {
  readonly ref: ActorRef<QueueMsg>;
  spec: QueueSpec;
}

/** The refusal of every request the store's failure leaves unanswerable. */
export function storeFailed(failure: string): Refusal {
  return { ok: false, code: 'MUSTER_ERR_STORE_FAILED', message: `the event store failed: ${failure}` };
}

export class EventRouter {
  readonly directory: JobDirectory;
  readonly registry = new SiteRegistry();
  readonly queues = new Map<string, QueueEntry>();
  readonly nodes = new Map<string, ActorRef<NodeMsg>>();
  readonly live = new LiveAttempts();
  /** Whether a job could ever run on the nodes known now (feasibility.ts), cached per job shape. */
  readonly feasibility = new FeasibilityCache(this.registry);
  /** Nodes an operator drained, with their deadlines' timers. */
  readonly drains: Drains;
  /** Numbers events, writes them, and holds what must wait for them to be durable (durable-sequencer.ts). */
  readonly events: DurableSequencer;
  /** Actors routed to since the last barrier began: a barrier waits for each of them. */
  readonly touched = new Set<ActorRef<QueueMsg> | ActorRef<NodeMsg>>();
  readonly #o: RouterOptions;
  /** Releases waiting to go to their site, taken at the start of each cycle (one message per site). */
  #releases = new Map<SiteEntry, ReleaseItem[]>();
  /** Decides which ended jobs leave the live state (retirement.ts), when there is a retention policy. */
  readonly retirement: Retirement | undefined;

  constructor(options: RouterOptions) {
    this.#o = options;
    this.directory = new JobDirectory(options.retention?.keyWindowMs);
    this.retirement = options.retention && new Retirement(this, options.retention, options);
    this.drains = new Drains(options.clock, options.drainExpired);
    this.events = new DurableSequencer(options.sink, options.lastSeq, options.notices, options.log);
    for (const [name, ref] of options.sites) this.registry.addSite(name, ref);
  }

  emit(e: SchedulerEvent): void {
    this.events.emit(e);
    this.#route(e);
  }

  /**
   * Runs `action` once every event emitted so far is durable. Everything that leaves the scheduler — a
   * reply to a command, an allocation or a kill sent towards a node's agent — goes through here, so nothing
   * is acknowledged or dispatched that a crash could take back. If the store fails first, `refuse` runs
   * instead (replies); without it the action is dropped (messages towards agents).
   */
  afterDurable(action: () => void, refuse?: (failure: string) => void): void {
    this.events.afterDurable(action, refuse);
  }

  /**
   * Replies `message` once every event emitted so far is durable; if the store fails first, replies at
   * once with the refusal (`MUSTER_ERR_STORE_FAILED`), so no request waits for an answer that cannot come.
   */
  replyDurable<T>(to: ActorRef<T>, message: T, refused: (error: Refusal) => T): void {
    this.afterDurable(
      () => this.#o.tell(to, message),
      (failure) => this.#o.tell(to, refused(storeFailed(failure))),
    );
  }

  toQueue(name: string, message: QueueMsg): void {
    const ref = this.queueRef(name);
    this.touched.add(ref);
    this.#o.tell(ref, message);
  }

  /** Messages towards a node (and so its agent) leave only once every event so far is durable. */
  toNode(name: string, message: NodeMsg): void {
    const ref = this.#touchNode(name);
    if (ref) this.afterDurable(() => this.#o.tell(ref, message));
  }

  /** The node's actor, marked touched by this event (undefined: no such node). */
  #touchNode(name: string): ActorRef<NodeMsg> | undefined {
    const ref = this.nodes.get(name);
    if (ref) this.touched.add(ref);
    return ref;
  }

  /** The queue's actor, made on first use (an implicit queue of default weight) from `slice` if given. */
  queueRef(name: string, tenant = 'default', slice?: SchedulerState): ActorRef<QueueMsg> {
    let queue = this.queues.get(name);
    if (!queue) {
      const ref = this.#o.system.spawnLocal(queueActor(name, this.#o.self, slice));
      queue = { ref, spec: { tenant, name, weight: 1, priority: 0, guaranteedShare: 0, borrow: true } };
      this.queues.set(name, queue);
    }
    return queue.ref;
  }

  spawnNode(name: string, state: NodeState, running?: readonly RecoveredAttempt[]): void {
    const deps = { dispatcher: this.#o.self, agents: this.#o.agents, clock: this.#o.clock };
    this.nodes.set(name, this.#o.system.spawnLocal(nodeActor(name, state, deps, running)));
  }

  /** What was freed since the last call, per site (the cycle gives it to each site first). */
  takeReleases(): Map<SiteEntry, ReleaseItem[]> {
    const releases = this.#releases;
    this.#releases = new Map();
    return releases;
  }

  #route(e: SchedulerEvent): void {
    switch (e.kind) {
      case 'QueueDefined':
        this.queueRef(e.queue.name, e.queue.tenant);
        this.queues.get(e.queue.name)!.spec = e.queue;
        this.toQueue(e.queue.name, { kind: 'event', event: e });
        break;
      case 'QueueDeleted': {
        // The actor answers what it was sent before (an offer, a barrier), then stops; nothing more goes to it.
        const queue = this.queues.get(e.queue);
        if (!queue) break;
        this.#o.tell(queue.ref, { kind: 'deleted' });
        this.queues.delete(e.queue);
        this.touched.delete(queue.ref);
        break;
      }
      case 'NodeJoined':
        this.#routeNodeJoined(e.node);
        break;
      case 'NodeStateChanged': {
        const node = this.registry.node(e.node);
        const site = node && this.registry.site(node.site);
        if (node && site) {
          node.spec = { ...node.spec, state: e.state };
          this.#o.tell(site.ref, { kind: 'nodes', changes: [{ kind: 'update', id: node.id, state: e.state }] });
        }
        this.toNode(e.node, { kind: 'state', state: e.state, at: e.at });
        break;
      }
      case 'NodeDrainRequested':
        this.drains.set(e.node, e.deadline);
        break;
      case 'NodeUndrained':
        this.drains.clear(e.node);
        break;
      case 'JobSubmitted':
        this.#routeSubmitted(e);
        break;
      case 'JobHeld':
      case 'JobReleased': {
        const entry = this.directory.get(e.job);
        if (entry) this.toQueue(entry.queue, { kind: 'event', event: e });
        break;
      }
      case 'JobCancelRequested':
      case 'TaskStarted': {
        const entry = this.directory.get(e.job);
        if (entry) this.toQueue(entry.queue, { kind: 'event', event: e });
        // Only an attempt with a time limit needs its node to know when it started (for the deadline).
        if (e.kind === 'TaskStarted' && entry && groupOf(entry.spec, entry.perElement, e.task).timeLimitMs !== undefined) {
          const live = this.live.get(e.job, e.task);
          if (live?.attempt === e.attempt) this.toNode(live.node, { kind: 'started', job: e.job, task: e.task, attempt: e.attempt, at: e.at });
        }
        break;
      }
      case 'TaskEnded': {
        const entry = this.directory.get(e.job);
        if (entry) this.toQueue(entry.queue, { kind: 'event', event: e });
        this.toNode(e.node, { kind: 'ended', job: e.job, task: e.task, attempt: e.attempt });
        // The live attempt's resources go back to its site's table (with the next cycle's releases).
        const ended = this.live.end(e.job, e.task, e.attempt);
        if (ended && entry) this.#release(ended.node, groupOf(entry.spec, entry.perElement, e.task).resources);
        if (ended && entry?.outcome) this.retirement?.attemptEnded(e.job, e.at);
        break;
      }
      case 'TasksPlaced':
        this.#routePlaced(e);
        break;
      case 'TasksPreempted': {
        // Each preempted job's queue records it; the dispatcher sends the kills (dispatcher.ts `preempt`).
        const queues = new Set<string>();
        for (const p of e.attempts) {
          const entry = this.directory.get(p.job);
          if (entry) queues.add(entry.queue);
        }
        for (const q of queues) this.toQueue(q, { kind: 'event', event: e });
        break;
      }
      case 'JobEnded': {
        const entry = this.directory.get(e.job);
        const first = entry !== undefined && entry.outcome === undefined;
        this.directory.ended(e.job, e.outcome);
        if (entry && first) this.retirement?.jobEnded(e, entry);
        const queues = new Set<string>();
        if (entry) queues.add(entry.queue);
        for (const id of this.directory.dependents(e.job)) {
          const dependent = this.directory.get(id);
          if (dependent && !dependent.outcome) queues.add(dependent.queue);
        }
        for (const q of queues) this.toQueue(q, { kind: 'event', event: e });
        break;
      }
      case 'JobsRetired': {
        // Each queue is told of its own jobs only.
        const byQueue = new Map<string, string[]>();
        for (const id of e.jobs) {
          const entry = this.directory.retire(id);
          if (!entry) continue;
          const list = byQueue.get(entry.queue);
          if (list) list.push(id);
          else byQueue.set(entry.queue, [id]);
        }
        for (const [q, jobs] of byQueue) this.toQueue(q, { kind: 'event', event: { ...e, jobs } });
        break;
      }
      case 'KeysExpired':
        this.directory.keys.expire(e.before);
        break;
      default:
        assertNever(e);
    }
  }

  #routeSubmitted(e: Extract<SchedulerEvent, { kind: 'JobSubmitted' }>): void {
    this.directory.addNew(e.job, e.tenant, e.spec, e.at);
    this.queueRef(e.spec.queue, e.tenant);
    const outcomes: Record<string, NonNullable<ReturnType<JobDirectory['get']>>['outcome'] & string> = {};
    let unknown: string | undefined;
    for (const dep of e.spec.dependencies) {
      const entry = dep.job === e.job ? undefined : this.directory.get(dep.job);
      if (!entry) unknown ??= this.directory.retired(dep.job) ? `dependency ${dep.type}:${dep.job} names a job retired from the live state (its record is in the history)` : `dependency ${dep.type}:${dep.job} names no known job`;
      else if (entry.outcome) outcomes[dep.job] = entry.outcome;
    }
    this.toQueue(e.spec.queue, { kind: 'event', event: e, ...(Object.keys(outcomes).length ? { outcomes } : {}) });
    if (unknown) this.emit({ kind: 'JobEnded', at: e.at, job: e.job, outcome: 'failed', reason: unknown });
  }

  #release(nodeName: string, resources: Resources): void {
    const node = this.registry.node(nodeName);
    const site = node && this.registry.site(node.site);
    if (!node || !site) return;
    const list = this.#releases.get(site);
    if (list) list.push({ node: node.id, resources });
    else this.#releases.set(site, [{ node: node.id, resources }]);
    this.#o.released();
  }

  #routeNodeJoined(spec: NodeSpec): void {
    let site = this.registry.site(spec.site);
    if (!site) {
      this.#o.log.error({ node: spec.name, site: spec.site }, 'node joined a site with no site actor');
      return;
    }
    const known = this.registry.node(spec.name);
    let change: NodeChange;
    if (known && known.site === spec.site) {
      known.spec = spec;
      this.registry.touch();
      change = { kind: 'update', id: known.id, capacity: spec.capacity, labels: spec.labels, state: spec.state };
    } else {
      if (known) {
        const old = this.registry.site(known.site);
        this.registry.removeNode(spec.name);
        if (old) this.#o.tell(old.ref, { kind: 'nodes', changes: [{ kind: 'remove', id: known.id }] });
      }
      const entry = this.registry.addNode(site, spec);
      change = { kind: 'add', node: { id: entry.id, capacity: spec.capacity, labels: spec.labels, state: spec.state } };
      if (!this.nodes.has(spec.name)) this.spawnNode(spec.name, spec.state);
    }
    site = this.registry.site(spec.site)!;
    this.#o.tell(site.ref, { kind: 'nodes', changes: [change] });
  }

  #routePlaced(e: Extract<SchedulerEvent, { kind: 'TasksPlaced' }>): void {
    const queues = new Set<string>();
    const byNode = new Map<string, { launch: TaskLaunch }[]>();
    for (const p of e.placements) {
      const entry = this.directory.get(p.job);
      if (!entry) continue;
      queues.add(entry.queue);
      const launch = launchFor(entry.spec, entry.perElement, p.job, p.task, p.attempt, p.node, e.epoch);
      this.live.placed(p.job, p.task, p.attempt, p.node, launch.resources, e.at, launch.timeLimitMs);
      const list = byNode.get(p.node);
      if (list) list.push({ launch });
      else byNode.set(p.node, [{ launch }]);
    }
    for (const q of queues) this.toQueue(q, { kind: 'event', event: e });
    // One action for the event's nodes, not one per node (a cycle on a large fleet allocates on thousands):
    // the same order as `toNode` each, with one entry waiting for durability instead of thousands.
    const tells: [ActorRef<NodeMsg>, NodeMsg][] = [];
    for (const [node, allocations] of byNode) {
      const ref = this.#touchNode(node);
      if (ref) tells.push([ref, { kind: 'allocate', allocations }]);
    }
    if (tells.length > 0) this.afterDurable(() => {
      for (const [ref, message] of tells) this.#o.tell(ref, message);
    });
  }
}
