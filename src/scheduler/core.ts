/**
 * The scheduling core: what the gateway, the agents' endpoint and simulations drive. It owns the actor
 * topology — a dispatcher, queue and node actors on the main thread, one site actor per site spread over
 * the worker hosts — and turns method calls into messages.
 */
import type { ActorRef, ActorSystem, Producer } from '../actors/index.js';
import { producer, siblingModule } from '../actors/index.js';
import { codeOf, MusterError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { createLogger } from '../log/index.js';
import { add, ZERO } from '../model/index.js';
import type { JobSpec, NodeSpec, NodeState, QueueSpec } from '../model/index.js';
import type { BackendName } from '../placement/index.js';
import type { AgentPort } from './agent-port.js';
import type { Clock } from './clock.js';
import { realClock } from './clock.js';
import { dispatcherActor } from './dispatcher.js';
import type { EventSink } from './durable-sequencer.js';
import type { Placement, PreemptedBy, TaskEndReport, TaskStartReport } from './events.js';
import type { AttemptRef } from './agent-port.js';
import type {
  AgentReport,
  CommandResult,
  CycleReport,
  DispatcherInbox,
  DispatcherMsg,
  JobLocation,
  JobOwner,
  NodeListing,
  NodeMsg,
  NodeSnapshot,
  ProblemsResult,
  PreemptResult,
  QueueListing,
  QueueMsg,
  QueueWhy,
  ReconcileResult,
  Refusal,
  SchedulerHealth,
  SiteMsg,
  SnapshotPoint,
  SiteStats,
  SubmitResult,
} from './messages.js';
import type { makeSiteActor, SiteActorArgs } from './site-actor.js';
import type { JobHistory } from './job-history.js';
import type { RetentionPolicy } from './retention.js';
import type { SchedulerState } from './state.js';
import type { WhyPending } from './why-pending.js';
import { explainPending } from './why-pending.js';
import type { JobDetail, JobPage, JobQuery, JobSlicePage, NodeView, QueueView, SiteView } from './views.js';
import { mergeJobPages, nodeView, siteView } from './views.js';
import { QueueTree } from './queue-tree.js';

export interface SchedulerCoreOptions {
  readonly system: ActorSystem;
  /** Site names; each gets a site actor on a worker host (round robin), or on the main thread with no workers. */
  readonly sites: readonly string[];
  readonly agents: AgentPort;
  readonly clock?: Clock;
  /** The epoch decisions carry (the leader's fencing token). */
  readonly epoch?: number;
  /**
   * Receives every event in order and says when they are durable (the store). Replies and dispatches wait
   * for it. Default: events are kept nowhere and count as durable at once (tests, simulations).
   */
  readonly sink?: EventSink;
  /** Sequence number of the last event already in the sink's log (after recovery). */
  readonly lastSeq?: number;
  /** The whole state rebuilt from the log (snapshot + events): the actors start from it. */
  readonly recovered?: SchedulerState;
  /** Run cycles by themselves (servers). Simulations leave this off and call `cycle()`. */
  readonly autoCycle?: boolean;
  /** Node slots per site table. */
  readonly maxNodesPerSite?: number;
  readonly backend?: BackendName;
  readonly log?: Logger;
  /** How long a dispatch cycle waits for silent sites and queues (real time). Default `CYCLE_DEADLINE_MS`. */
  readonly cycleDeadlineMs?: number;
  /** Finished jobs leave the live state and idempotency keys expire by this (retention.ts); none: kept for ever. */
  readonly retention?: RetentionPolicy;
  /** Backfill with reservations for blocked queue heads (reservations.ts). Default on; off only to compare. */
  readonly reservations?: boolean;
  /** Where retired jobs are read back from (job-history.ts); none: a retired job is unknown. */
  readonly history?: JobHistory;
  /**
   * The site actors' producer (default: `makeSiteActor` of site-actor.ts) and extra arguments for it: a
   * module whose export wraps `makeSiteActor` can inject faults into real site actors on real workers
   * (the scheduler's fault tests do).
   */
  readonly siteActor?: { readonly producer: Producer<SiteActorArgs, SiteMsg>; readonly args?: Readonly<Record<string, unknown>> };
}

/**
 * How long a submission may take to be answered: the dispatcher's turn plus the group commit, a few ms in
 * the common case; seconds when the machine is loaded or the disk slow. Well past the actors' default ask
 * timeout (5 s), and more for a large batch (interning and routing each job, one event each), so a healthy
 * but busy server answers; past it the client is told `MUSTER_ERR_BUSY` and resends with the same keys.
 */
export const SUBMIT_DEADLINE_MS = 30_000;
export const SUBMIT_DEADLINE_PER_JOB_MS = 1;

export function submitDeadlineMs(jobs: number): number {
  return SUBMIT_DEADLINE_MS + jobs * SUBMIT_DEADLINE_PER_JOB_MS;
}

/** Default node slots per site: the kernel's table is sized once; 65,536 covers any site we plan for. */
export const DEFAULT_MAX_NODES_PER_SITE = 65_536;

const siteProducer = producer<typeof makeSiteActor>(siblingModule(import.meta.url, 'site-actor'), 'makeSiteActor');

export type WhyAnswer = { readonly status: 'pending'; readonly why: WhyPending } | { readonly status: 'unknown' | 'ended' | 'active'; readonly message: string };

export class SchedulerCore {
  readonly #system: ActorSystem;
  readonly #dispatcher: ActorRef<DispatcherInbox>;
  readonly #sites: ReadonlyMap<string, ActorRef<SiteMsg>>;
  readonly #history: JobHistory | undefined;

  private constructor(system: ActorSystem, dispatcher: ActorRef<DispatcherInbox>, sites: ReadonlyMap<string, ActorRef<SiteMsg>>, history: JobHistory | undefined) {
    this.#system = system;
    this.#dispatcher = dispatcher;
    this.#sites = sites;
    this.#history = history;
  }

  /**
   * Resolves once every event emitted so far is durable and what waited for it (replies, dispatches) has
   * left; throws `MUSTER_ERR_STORE_FAILED` when the store failed first.
   */
  async sync(): Promise<true> {
    const answer = await this.#ask<true | Refusal>((replyTo) => ({ kind: 'sync', replyTo }));
    if (answer !== true) throw new MusterError(answer.code, answer.message);
    return true;
  }

  /**
   * The point to take a snapshot at: the sequence number of the last event emitted so far, once that event
   * is durable; throws `MUSTER_ERR_STORE_FAILED` when the store failed first. The snapshot itself is folded
   * from the store's files, off the main thread: `snapshotAt({ dir, seq })` (snapshot-fold.ts).
   */
  async snapshotPoint(): Promise<number> {
    const answer = await this.#ask<SnapshotPoint | Refusal>((replyTo) => ({ kind: 'snapshotPoint', replyTo }));
    if ('ok' in answer) throw new MusterError(answer.code, answer.message);
    return answer.seq;
  }

  /** How the dispatch cycles are doing: when the last finished, how many closed at their deadline. */
  health(): Promise<SchedulerHealth> {
    return this.#ask((replyTo) => ({ kind: 'health', replyTo }));
  }

  /** How long each site's solver has spent placing (for benchmarks and metrics). */
  siteStats(): Promise<SiteStats[]> {
    return Promise.all([...this.#sites.values()].map((ref) => this.#system.ask<SiteStats, SiteMsg>(ref, (replyTo) => ({ kind: 'stats', replyTo }))));
  }

  static async create(options: SchedulerCoreOptions): Promise<SchedulerCore> {
    const { system } = options;
    const hosts = system.workerHosts.length > 0 ? system.workerHosts : [0];
    const sites = new Map<string, ActorRef<SiteMsg>>();
    await Promise.all(
      options.sites.map(async (site, i) => {
        const args = { ...options.siteActor?.args, site, capacity: options.maxNodesPerSite ?? DEFAULT_MAX_NODES_PER_SITE, ...(options.backend ? { backend: options.backend } : {}) };
        sites.set(site, await system.spawn(hosts[i % hosts.length]!, options.siteActor?.producer ?? siteProducer, args));
      }),
    );
    const dispatcher = system.spawnLocal(
      dispatcherActor({
        system,
        clock: options.clock ?? realClock,
        agents: options.agents,
        epoch: options.epoch ?? 1,
        log: options.log ?? createLogger({ name: 'scheduler' }),
        sink: options.sink ?? { write: () => undefined },
        ...(options.lastSeq !== undefined ? { lastSeq: options.lastSeq } : {}),
        ...(options.recovered ? { recovered: options.recovered } : {}),
        sites: new Map([...sites].sort(([a], [b]) => (a < b ? -1 : 1))),
        autoCycle: options.autoCycle ?? false,
        ...(options.cycleDeadlineMs !== undefined ? { cycleDeadlineMs: options.cycleDeadlineMs } : {}),
        ...(options.retention ? { retention: options.retention } : {}),
        reservations: options.reservations ?? true,
      }),
    );
    return new SchedulerCore(system, dispatcher, sites, options.history);
  }

  #ask<R>(make: (replyTo: ActorRef<R>) => DispatcherInbox, timeoutMs?: number): Promise<R> {
    return this.#system.ask<R, DispatcherInbox>(this.#dispatcher, make, timeoutMs);
  }

  async #command(make: (replyTo: ActorRef<CommandResult>) => DispatcherInbox): Promise<void> {
    const result = await this.#ask(make);
    if (!result.ok) throw new MusterError(result.code, result.message);
  }

  defineQueue(spec: QueueSpec): Promise<void> {
    return this.#command((replyTo) => ({ kind: 'defineQueue', spec, replyTo }));
  }

  /** Defines or updates queues, all in one durable batch (`muster queue apply`). */
  defineQueues(specs: readonly QueueSpec[]): Promise<void> {
    return this.#command((replyTo) => ({ kind: 'defineQueues', specs, replyTo }));
  }

  /**
   * Deletes queues, all or none, in one durable batch (`muster queue delete`): done, or refused with every
   * problem found (queue-deletion.ts says when a queue may go).
   */
  deleteQueues(names: readonly string[]): Promise<ProblemsResult> {
    return this.#ask((replyTo) => ({ kind: 'deleteQueues', names, replyTo }));
  }

  joinNode(spec: NodeSpec): Promise<void> {
    return this.#command((replyTo) => ({ kind: 'joinNode', spec, replyTo }));
  }

  setNodeState(node: string, state: NodeState, reason?: string): Promise<void> {
    return this.#command((replyTo) => ({ kind: 'nodeState', node, state, ...(reason ? { reason } : {}), replyTo }));
  }

  /**
   * Drains node `node`: nothing new is placed on it; what runs finishes, and `deadlineMs` from now (if
   * given) what still runs ends `killed` (requeued without spending a retry). Throws `MUSTER_ERR_UNKNOWN_NODE`.
   */
  drainNode(node: string, deadlineMs?: number): Promise<void> {
    return this.#command((replyTo) => ({ kind: 'drain', node, ...(deadlineMs !== undefined ? { deadlineMs } : {}), replyTo }));
  }

  /** Ends a drain: the node takes work again once ready. Harmless on a node not drained. */
  undrainNode(node: string): Promise<void> {
    return this.#command((replyTo) => ({ kind: 'undrain', node, replyTo }));
  }

  /**
   * Submits jobs; each gets an id, or a coded refusal (another tenant's queue, a job no known node could
   * ever run: `MUSTER_ERR_UNSATISFIABLE` unless `holdUnsatisfiable`).
   */
  submit(tenant: string, specs: readonly JobSpec[], options: { readonly holdUnsatisfiable?: boolean } = {}): Promise<readonly SubmitResult[]> {
    // The answer waits for the batch to be durable: the deadline grows with the batch (submitDeadlineMs).
    const hold = options.holdUnsatisfiable === true ? { holdUnsatisfiable: true } : {};
    return this.#ask((replyTo) => ({ kind: 'submit', tenant, specs, ...hold, replyTo }), submitDeadlineMs(specs.length));
  }

  /** Cancels a job, or (`element`) one element of an array job. */
  cancel(job: string, element?: number): Promise<void> {
    return this.#command((replyTo) => ({ kind: 'cancel', job, ...(element !== undefined ? { element } : {}), replyTo }));
  }

  /** Holds a job: its pending tasks are not placed until `release` (what runs goes on). */
  hold(job: string): Promise<void> {
    return this.#command((replyTo) => ({ kind: 'hold', job, replyTo }));
  }

  release(job: string): Promise<void> {
    return this.#command((replyTo) => ({ kind: 'release', job, replyTo }));
  }

  /**
   * Requeues a job: its placed and running attempts are killed; each ends `killed` as its agent reports it
   * and goes back to pending, without spending a retry. Throws `MUSTER_ERR_NOT_RUNNING` when none is live.
   */
  requeue(job: string): Promise<void> {
    return this.#command((replyTo) => ({ kind: 'requeue', job, replyTo }));
  }

  /**
   * Preempts live attempts for job `by.job` of queue `by.queue` (the preemption policy's entry point): of
   * `attempts`, those live as named and of a preemptible job that has not ended — with every live member of
   * their gang elements — are recorded preempted (`TasksPreempted`) and, once that is durable, killed by
   * their agents (reason `preempted`, SIGKILL after the job's `gracePeriod`). Each runs until its end is
   * reported; ended `killed`, its task goes back to pending without spending a retry. Resolves, once the
   * event is durable, with the attempts preempted (none: nothing was live, no event).
   */
  async preempt(request: { readonly attempts: readonly Placement[]; readonly by: PreemptedBy; readonly reason?: string }): Promise<readonly Placement[]> {
    const result = await this.#ask<PreemptResult>((replyTo) => ({ kind: 'preempt', attempts: request.attempts, by: request.by, ...(request.reason !== undefined ? { reason: request.reason } : {}), replyTo }));
    if (!result.ok) throw new MusterError(result.code, result.message);
    return result.preempted;
  }

  /**
   * An agent reports that an attempt started. Recorded once, if it is the node's live attempt; a report
   * about an attempt live on another node is refused through the agent port (`id`: the report's, to name).
   */
  taskStarted(report: TaskStartReport, id?: string | number): void {
    this.#system.tell(this.#dispatcher, { kind: 'started', ...report, ...(id !== undefined ? { id } : {}) });
  }

  /**
   * An agent reports how an attempt ended. Recorded once, if it is the node's live attempt (an end of an
   * attempt that ended already changes nothing); acknowledged through the agent port once durable, or
   * refused through it when the attempt is live on another node.
   */
  taskEnded(report: TaskEndReport, id?: string | number): void {
    this.#system.tell(this.#dispatcher, { kind: 'ended', ...report, ...(id !== undefined ? { id } : {}) });
  }

  /**
   * Starts and ends reported together (one agent frame), in order: each as `taskStarted` or `taskEnded`
   * would, in one message to the dispatcher, so their events go to the store as one batch.
   */
  taskReports(reports: readonly AgentReport[]): void {
    if (reports.length > 0) this.#system.tell(this.#dispatcher, { kind: 'reports', reports });
  }

  /**
   * A node's agent (re)registered, running `running` and holding `ended` unacknowledged: applies those
   * ends, then reconciles. Resolves, once the ends are durable, with the reported attempts to kill and the
   * live ones the agent did not report; throws (coded) for an unknown node or a failed store.
   */
  async reconcileNode(node: string, running: readonly AttemptRef[], ended: readonly TaskEndReport[]): Promise<{ readonly kill: readonly AttemptRef[]; readonly unreported: readonly AttemptRef[] }> {
    const result = await this.#ask<ReconcileResult>((replyTo) => ({ kind: 'reconcile', node, running, ended, replyTo }));
    if (!result.ok) throw new MusterError(result.code, result.message);
    return { kill: result.kill, unreported: result.unreported };
  }

  /**
   * Attempts of `node` its agent did not report at registration: one placed but never started gets its
   * `start` again (through the agent port: held on the node's link until the registration's reply has
   * gone); the others end as `lost`, once. Resolves with the lost ones.
   */
  async settleUnreported(node: string, attempts: readonly AttemptRef[], reason: string): Promise<readonly AttemptRef[]> {
    if (attempts.length === 0) return [];
    return this.#ask<readonly AttemptRef[]>((replyTo) => ({ kind: 'unreported', node, attempts, reason, replyTo }));
  }


  /** Runs one dispatch cycle (after the ones already asked for). */
  cycle(): Promise<CycleReport> {
    return this.#ask((replyTo) => ({ kind: 'cycle', replyTo }));
  }

  /** Resolves once everything sent so far, and everything it caused, has been handled by every actor. */
  settle(): Promise<true> {
    return this.#ask((replyTo) => ({ kind: 'settle', replyTo }));
  }

  async whyPending(job: string): Promise<WhyAnswer> {
    const where = await this.#ask<JobLocation>((replyTo) => ({ kind: 'locate', job, explain: true, replyTo }));
    if (!where.queue) return this.#whyRetired(job);
    if (where.outcome) return { status: 'ended', message: `job ${job} ${where.outcome}` };
    const q = await this.#askQueue<QueueWhy>(where.queue, (replyTo) => ({ kind: 'why', job, replyTo }));
    if (!q) return this.#whyRetired(job);
    if (!q.held && q.position === undefined && q.unplaced === undefined && q.waitingOn === undefined && q.backoffUntil === undefined) {
      return { status: 'active', message: `job ${job} has no pending task` };
    }
    return { status: 'pending', why: explainPending(job, q, where) };
  }

  async #whyRetired(job: string): Promise<WhyAnswer> {
    const retired = await this.#history?.find(job);
    if (retired) return { status: 'ended', message: `job ${job} ${retired.status} (retired from the live state: its record is read from the history)` };
    return { status: 'unknown', message: `job ${job} does not exist` };
  }

  /** The queue actors' refs (fault tests send them what they cannot handle). */
  queueRefs(): Promise<readonly ActorRef<QueueMsg>[]> {
    return this.#ask((replyTo) => ({ kind: 'inspectQueues', replyTo }));
  }

  /** The live state of the queue actors, one slice per queue (tests compare it with a rebuild from events). */
  async queueSlices(): Promise<SchedulerState[]> {
    const refs = await this.#ask<readonly ActorRef<QueueMsg>[]>((replyTo) => ({ kind: 'inspectQueues', replyTo }));
    return Promise.all(refs.map((ref) => this.#system.ask<SchedulerState, QueueMsg>(ref, (replyTo) => ({ kind: 'inspect', replyTo }))));
  }

  // ------------------------------------------------------------------ queries for the API (views.ts)
  // Each asks the actors that own the records; only the answer is copied, never the whole state.

  /** Who owns each job, in order (undefined: no such job). */
  jobOwners(jobs: readonly string[]): Promise<readonly (JobOwner | undefined)[]> {
    return this.#ask((replyTo) => ({ kind: 'owners', jobs, replyTo }));
  }

  /** A page of jobs in submission order, from every queue or from one. */
  async listJobs(query: JobQuery & { readonly queue?: string }): Promise<JobPage> {
    const { queue, ...slice } = query;
    const queues = await this.#ask<readonly QueueListing[]>((replyTo) => ({ kind: 'listQueues', replyTo }));
    const asked = queue === undefined ? queues : queues.filter((q) => q.spec.name === queue);
    const pages = await Promise.all(asked.map((q) => this.#askQueue<JobSlicePage>(q.ref, (replyTo) => ({ kind: 'jobs', query: slice, replyTo }))));
    return mergeJobPages(pages.filter((p) => p !== undefined), query.limit);
  }

  /** One job with its spec and tasks, or undefined when there is no such job. */
  async jobDetail(job: string): Promise<JobDetail | undefined> {
    const where = await this.#ask<JobLocation>((replyTo) => ({ kind: 'locate', job, replyTo }));
    // A job retired from the live state is read back from the history (marked `retired`).
    if (!where.queue) return this.#history?.find(job);
    const answer = await this.#askQueue<{ readonly detail: JobDetail | undefined }>(where.queue, (replyTo) => ({ kind: 'job', job, replyTo }));
    return answer ? answer.detail : this.#history?.find(job);
  }

  /**
   * The node an attempt of a live job ran (or runs) on; undefined for no such attempt, or a job not in the
   * live state (retired). Cheap: one lookup, not a job's whole detail.
   */
  async attemptNode(job: string, task: number, attempt: number): Promise<string | undefined> {
    const where = await this.#ask<JobLocation>((replyTo) => ({ kind: 'locate', job, replyTo }));
    if (!where.queue) return undefined;
    const answer = await this.#askQueue<{ readonly node: string | undefined }>(where.queue, (replyTo) => ({ kind: 'attemptNode', job, task, attempt, replyTo }));
    return answer?.node;
  }

  /** Every queue, with its effective guarantee on the cluster as it is now. */
  async queueViews(): Promise<QueueView[]> {
    const queues = await this.#ask<readonly QueueListing[]>((replyTo) => ({ kind: 'listQueues', replyTo }));
    const [views, sites] = await Promise.all([
      Promise.all(queues.map((q) => this.#askQueue<QueueView>(q.ref, (replyTo) => ({ kind: 'queueView', spec: q.spec, replyTo })))),
      this.siteViews(),
    ]);
    const total = sites.reduce((sum, s) => add(sum, s.capacity), ZERO);
    const tree = new QueueTree(queues.map((q) => q.spec), new Map(), total);
    return views.filter((v) => v !== undefined).map((v) => ({ ...v, guaranteed: tree.account(v.name)?.guarantee ?? v.guaranteed }));
  }

  /** Every queue's spec (cheap: one message). */
  async queueSpecs(): Promise<QueueSpec[]> {
    const queues = await this.#ask<readonly QueueListing[]>((replyTo) => ({ kind: 'listQueues', replyTo }));
    return queues.map((q) => q.spec);
  }
  /**
   * Asks a queue actor the dispatcher named; undefined when the actor stopped in between (its queue was
   * deleted after the lookup: the question is answered as if the lookup had come after the deletion).
   */
  async #askQueue<R>(ref: ActorRef<QueueMsg>, make: (replyTo: ActorRef<R>) => QueueMsg): Promise<R | undefined> {
    try {
      return await this.#system.ask<R, QueueMsg>(ref, make);
    } catch (err) {
      if (codeOf(err) === 'MUSTER_ERR_ACTOR_STOPPED') return undefined;
      throw err;
    }
  }

  /** Every node's spec (with its current state), or those named: cheap, one message. */
  nodeListing(names?: readonly string[]): Promise<readonly NodeListing[]> {
    return this.#ask((replyTo) => ({ kind: 'listNodes', ...(names ? { names } : {}), replyTo }));
  }

  /** Nodes with their allocations, filtered by site and state before their actors are asked. */
  async nodeViews(filter: { readonly site?: string; readonly state?: string } = {}): Promise<NodeView[]> {
    const listing = await this.nodeListing();
    const chosen = listing.filter((n) => (filter.site === undefined || n.spec.site === filter.site) && (filter.state === undefined || n.spec.state === filter.state));
    return Promise.all(chosen.map(async (n) => nodeView(n.spec, await this.#system.ask<NodeSnapshot, NodeMsg>(n.ref, (replyTo) => ({ kind: 'inspect', replyTo })), n.drain)));
  }

  /** The attempts the scheduler holds live on a node (placed or running), or undefined for an unknown node. */
  async nodeAttempts(node: string): Promise<readonly AttemptRef[] | undefined> {
    const [entry] = await this.nodeListing([node]);
    if (!entry) return undefined;
    const live = await this.#system.ask<NodeSnapshot, NodeMsg>(entry.ref, (replyTo) => ({ kind: 'inspect', replyTo }));
    return live.allocations.map(({ job, task, attempt }) => ({ job, task, attempt }));
  }

  /** Each site's summary, fresh from its site actor. */
  siteViews(): Promise<SiteView[]> {
    return Promise.all(
      [...this.#sites.values()].map(async (ref) => {
        const answer = await this.#system.ask<DispatcherMsg, SiteMsg>(ref, (replyTo) => ({ kind: 'summary', replyTo }));
        if (answer.kind !== 'summary') throw new MusterError('MUSTER_ERR_INTERNAL', `a site answered a summary request with ${answer.kind}`);
        return siteView(answer.summary);
      }),
    );
  }

  async nodeSnapshots(): Promise<NodeSnapshot[]> {
    const refs = await this.#ask<readonly ActorRef<NodeMsg>[]>((replyTo) => ({ kind: 'inspectNodes', replyTo }));
    return Promise.all(refs.map((ref) => this.#system.ask<NodeSnapshot, NodeMsg>(ref, (replyTo) => ({ kind: 'inspect', replyTo }))));
  }
}
