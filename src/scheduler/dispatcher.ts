/**
 * The dispatcher: the scheduler's hub on the main thread, an actor that joins the parts below and answers
 * the core's commands. Each part is one concept in its own file:
 *
 * | part | file | does |
 * |---|---|---|
 * | sequencer and router | event-router.ts | numbers every event, writes it, routes it to the actors that own what it changes; the job directory, the site registry, the live attempts |
 * | agents' reports | agent-reports.ts | checks starts, ends and registrations against the live attempts; acknowledges ends once durable |
 * | preemption | preemption.ts | which of the attempts a policy asks to preempt may be (live, preemptible, whole gang elements) |
 * | cycles | cycle-coordinator.ts | one object per dispatch cycle, with a generation and a deadline |
 * | site tables | site-tables.ts | rebuilds a site's table from the dispatcher's truth when the site restarted or missed a reply |
 * | snapshots | snapshot-coordinator.ts | names a snapshot's point: the last event, once durable (the state is folded off the main thread) |
 * | barriers | barrier.ts | settling, for tests and simulations |
 * | queries | read-model.ts | locate, owners, listings |
 */
import type { ActorDefinition, ActorRef, ActorSystem } from '../actors/index.js';
import { assertNever, defineActor, same } from '../actors/index.js';
import type { Logger } from '../log/index.js';
import type { JobSpec, Resources } from '../model/index.js';
import { DEFAULT_PROTECT_FOR_MS, internJob } from '../model/index.js';
import { PlacementResult } from '../placement/index.js';
import type { AgentPort } from './agent-port.js';
import { AgentReports } from './agent-reports.js';
import { Barrier } from './barrier.js';
import type { Clock } from './clock.js';
import type { CycleOutcome } from './cycle-coordinator.js';
import { CYCLE_DEADLINE_MS, CycleCoordinator } from './cycle-coordinator.js';
import type { EventSink } from './durable-sequencer.js';
import type { Placement, PreemptedBy } from './events.js';
import { EventRouter, storeFailed } from './event-router.js';
import type { CommandResult, CoreCommand, CycleReport, DispatcherInbox, DispatcherMsg, PreemptResult, ProblemsResult, Refusal, SiteMsg, SubmitResult, UnplacedInfo } from './messages.js';
import { neverRunsMessage } from './feasibility.js';
import { elementCount, elementOf } from './tasks.js';
import { queueDeletion } from './queue-deletion.js';
import { queueRefusal } from './queue-ownership.js';
import { attemptsToPreempt } from './preemption.js';
import { answerQuery, isQuery } from './read-model.js';
import { restoreActors } from './restore.js';
import type { RetentionPolicy } from './retention.js';
import type { PlanNode, Release } from './reservation-plan.js';
import type { ClusterView } from './reservations.js';
import type { ReclaimView } from './reclaim.js';
import { attemptsOf, Reclaimer } from './reclaim.js';
import type { QueueTree } from './queue-tree.js';
import { ReservationBook } from './reservations.js';
import { RETIRE_BATCH } from './retention.js';
import { SiteTables } from './site-tables.js';
import { SnapshotCoordinator } from './snapshot-coordinator.js';
import type { SchedulerState } from './state.js';

export { MAX_CYCLE_CANDIDATES, MAX_ROUNDS, CYCLE_DEADLINE_MS } from './cycle-coordinator.js';

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
  /** The whole state rebuilt from the log: the actors start from it (see restore.ts). */
  readonly recovered?: SchedulerState;
  /** How long a cycle waits for silent sites and queues (real time). Default `CYCLE_DEADLINE_MS`. */
  readonly cycleDeadlineMs?: number;
  /** Finished jobs leave the live state and keys expire by this (retention.ts); none: kept for ever. */
  readonly retention?: RetentionPolicy;
  /** Backfill with reservations for blocked queue heads (reservations.ts). */
  readonly reservations: boolean;
}


/**
 * Placements in one TasksPlaced event: with job ids and node names of a few dozen bytes, about 0.15 MiB
 * encoded, and under 1 MiB even with names near their longest: under every store's record limit.
 */
export const PLACEMENTS_PER_EVENT = 2_048;
export class Dispatcher {
  readonly #o: DispatcherOptions;
  readonly #self: ActorRef<DispatcherInbox>;
  readonly #tell: <T>(to: ActorRef<T>, message: T) => void;
  readonly #router: EventRouter;
  readonly #reports: AgentReports;
  readonly #tables: SiteTables;
  readonly #snapshots: SnapshotCoordinator;
  readonly #barrier: Barrier;
  #cycle: CycleCoordinator | undefined;
  #generation = 0;
  #deadline: NodeJS.Timeout | undefined;
  #cycleWaiters: ActorRef<CycleReport>[] = [];
  #cycleQueued = false;
  /** When the last cycle finished (real time, ms), for the watchdog metric. */
  #lastCycleAt = Date.now();
  #cycleStartedAt: number | undefined;
  #cyclesCut = 0;
  /** Reservations: blocked queue heads' (backfill, when on) and room freed by preemption. */
  readonly #reservations = new ReservationBook();
  /** Guarantee reclaim and priority preemption (reclaim.ts), with its ledger of recent preemptions. */
  readonly #reclaimer = new Reclaimer();
  /** How far below its guarantee each queue was at the last cycle's end: the next offers claim that much. */
  #deficits = new Map<string, Resources>();
  /** When a spent disruption budget has room again, if a preemption waits for it. */
  #reclaimWakeAt = Infinity;
  /** Attempts the last cycle's end preempted. */
  #preemptedLast = 0;
  /** Commands that wait for the running cycle to finish (queue deletions). */
  #afterCycle: CoreCommand[] = [];

  constructor(options: DispatcherOptions, self: ActorRef<DispatcherInbox>, tell: <T>(to: ActorRef<T>, message: T) => void) {
    this.#o = options;
    this.#self = self;
    this.#tell = tell;
    this.#router = new EventRouter({
      system: options.system,
      self,
      tell,
      clock: options.clock,
      agents: options.agents,
      log: options.log,
      sink: options.sink,
      notices: {
        durable: (seq) => options.system.tell(self, { kind: 'durable', seq }),
        failed: (message) => options.system.tell(self, { kind: 'sink-failed', message }),
      },
      lastSeq: options.lastSeq ?? 0,
      sites: options.sites,
      released: () => this.#wake(),
      retention: options.retention,
      drainExpired: (node, deadline) => options.system.tell(self, { kind: 'drain-expired', node, deadline }),
    });
    this.#reports = new AgentReports(this.#router, options.agents, tell, options.epoch);
    this.#tables = new SiteTables(this.#router, tell, options.log);
    this.#snapshots = new SnapshotCoordinator(this.#router);
    this.#barrier = new Barrier(this.#router, self, tell, () => this.#cycle !== undefined);
    if (options.recovered) {
      restoreActors(this.#router, options.recovered, options.log);
      // Recent preemptions count again for protection and disruption budgets.
      for (const job of options.recovered.jobs.values()) {
        job.tasks.forEach((task, t) => {
          for (const a of task.attempts ?? []) if (a.preemptedAt !== undefined) this.#reclaimer.record(job.spec.queue, job.id, t, a.preemptedAt);
        });
      }
    }
    // Every site starts from the dispatcher's truth (a restarted one will say it needs it again).
    this.#tables.resetAll();
  }

  receive(msg: DispatcherInbox): void {
    this.#handle(msg);
    this.#reports.flush();
    // One sink batch per tick of the actor host, not per message: a tick gives the dispatcher up to
    // `throughput` messages (agents' reports, placements, submissions), and each batch costs an append, a
    // promise and a durable notice back through the mailbox. The microtask runs once the tick's synchronous
    // work is done, before any I/O, so nothing waits longer than that tick for its write to start.
    if (!this.#writeQueued) {
      this.#writeQueued = true;
      queueMicrotask(this.#writeTurn);
    }
  }

  #writeQueued = false;
  readonly #writeTurn = (): void => {
    this.#writeQueued = false;
    this.#router.events.write();
  };

  #handle(msg: DispatcherInbox): void {
    const failed = this.#router.events.failed;
    if (failed !== undefined && 'replyTo' in msg && !ANSWERED_WHEN_FAILED.has(msg.kind)) {
      // Commands that would write, `sync` and `snapshotPoint` are refused at once; queries and barriers answer.
      const refusal = storeFailed(failed);
      if (msg.kind === 'submit') return this.#tell(msg.replyTo, msg.specs.map(() => refusal));
      return this.#tell(msg.replyTo as ActorRef<CommandResult>, refusal);
    }
    switch (msg.kind) {
      case 'durable':
        return this.#router.events.durable(msg.seq);
      case 'sink-failed':
        return this.#router.events.fail(msg.message);
      case 'propose':
        // A node actor's `lost` ends may race an agent's report of the same end: each attempt ends once.
        for (const e of msg.events) {
          if (e.kind === 'TaskEnded') this.#reports.proposedEnd(e);
          else this.#router.emit(e);
        }
        return this.#wake();
      case 'wake':
        return this.#wake();
      case 'drain-expired':
        // Still drained with this deadline: what runs there now ends (requeued, no retry spent).
        if (this.#router.drains.deadline(msg.node) !== msg.deadline) return;
        this.#restartGangsOn(msg.node);
        this.#router.toNode(msg.node, { kind: 'evict', at: this.#o.clock.now(), reason: `node ${msg.node} drained: its deadline passed` });
        return;
      case 'retire':
        return this.#router.retirement?.sweep(this.#o.clock.now());
      case 'kill':
        for (const k of msg.kills) this.#router.toNode(k.attempt.node, { kind: 'kill', attempt: k.attempt, reason: k.reason });
        return;
      case 'offered': {
        const cycle = this.#cycle;
        if (cycle && cycle.generation === msg.generation) cycle.offered(msg);
        return;
      }
      case 'placed':
        return this.#onPlaced(msg);
      case 'summary': {
        const site = this.#router.registry.site(msg.summary.site);
        if (!site) return;
        site.summary = msg.summary;
        this.#tables.observe(site, msg.synced);
        const cycle = this.#cycle;
        if (cycle && cycle.generation === msg.generation) cycle.summary(msg.summary);
        return;
      }
      case 'cycle-deadline': {
        const cycle = this.#cycle;
        if (cycle && cycle.generation === msg.generation) cycle.expire();
        return;
      }
      case 'barrier-ack':
        return this.#barrier.ack();
      default:
        return this.#command(msg);
    }
  }

  #onPlaced(msg: Extract<DispatcherMsg, { kind: 'placed' }>): void {
    const site = this.#router.registry.site(msg.site);
    if (!site) return;
    site.summary = msg.summary;
    this.#tables.observe(site, msg.synced);
    const cycle = this.#cycle;
    if (!cycle || cycle.generation !== msg.generation) {
      // A late answer: the site placed what the dispatcher never recorded, so its table is off the truth.
      this.#tables.stale(site, `a placement of cycle ${msg.generation} came after that cycle closed`);
      return;
    }
    cycle.placed(site, msg.round, new PlacementResult(msg.result, msg.taskStart.length - 1, msg.taskStart), msg.synced);
  }

  // ----------------------------------------------------------------------------------------- commands

  #command(msg: CoreCommand): void {
    const now = this.#o.clock.now();
    const router = this.#router;
    if (isQuery(msg)) return answerQuery(router, msg, this.#tell);
    switch (msg.kind) {
      case 'defineQueue':
        router.emit({ kind: 'QueueDefined', at: now, queue: msg.spec });
        return router.replyDurable<CommandResult>(msg.replyTo, { ok: true }, asIs);
      case 'defineQueues':
        for (const spec of msg.specs) router.emit({ kind: 'QueueDefined', at: now, queue: spec });
        router.replyDurable<CommandResult>(msg.replyTo, { ok: true }, asIs);
        // A raised weight or limit may let waiting jobs run now.
        return this.#wake();
      case 'deleteQueues': {
        // Checked between cycles: a cycle's placements of the queue's jobs are recorded before it is judged.
        if (this.#cycle) {
          this.#afterCycle.push(msg);
          return;
        }
        const { problems, retire } = queueDeletion(router, msg.names);
        if (problems.length > 0) {
          const first = problems[0]!;
          const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
          return this.#tell(msg.replyTo, { ok: false, code: first.code, message: `queues not deleted: ${first.path}: ${first.message}${more}`, problems });
        }
        // Their ended jobs leave the live state first, so no job names a queue that is gone.
        for (let i = 0; i < retire.length; i += RETIRE_BATCH) router.emit({ kind: 'JobsRetired', at: now, jobs: retire.slice(i, i + RETIRE_BATCH) });
        for (const name of msg.names) router.emit({ kind: 'QueueDeleted', at: now, queue: name });
        return router.replyDurable<ProblemsResult>(msg.replyTo, { ok: true }, asIs);
      }
      case 'joinNode': {
        if (!router.registry.site(msg.spec.site)) return this.#tell(msg.replyTo, fail('MUSTER_ERR_UNKNOWN_SITE', `site ${msg.spec.site} is not configured`));
        // A drained node that registers again stays drained.
        const spec = msg.spec.state === 'ready' && router.drains.has(msg.spec.name) ? { ...msg.spec, state: 'draining' as const } : msg.spec;
        router.emit({ kind: 'NodeJoined', at: now, node: spec });
        router.replyDurable<CommandResult>(msg.replyTo, { ok: true }, asIs);
        return this.#wake();
      }
      case 'nodeState': {
        if (!router.registry.node(msg.node)) return this.#tell(msg.replyTo, fail('MUSTER_ERR_UNKNOWN_NODE', `node ${msg.node} has not joined`));
        // A drained node that liveness finds ready is draining: the operator's drain outlives heartbeats.
        const state = msg.state === 'ready' && router.drains.has(msg.node) ? 'draining' : msg.state;
        router.emit({ kind: 'NodeStateChanged', at: now, node: msg.node, state, ...(msg.reason ? { reason: msg.reason } : {}) });
        router.replyDurable<CommandResult>(msg.replyTo, { ok: true }, asIs);
        return this.#wake();
      }
      case 'drain': {
        const node = router.registry.node(msg.node);
        if (!node) return this.#tell(msg.replyTo, fail('MUSTER_ERR_UNKNOWN_NODE', `node ${msg.node} has not joined`));
        const deadline = msg.deadlineMs === undefined ? undefined : now + msg.deadlineMs;
        router.emit({ kind: 'NodeDrainRequested', at: now, node: msg.node, ...(deadline !== undefined ? { deadline } : {}) });
        if (node.spec.state === 'ready') router.emit({ kind: 'NodeStateChanged', at: now, node: msg.node, state: 'draining', reason: 'drained by an operator' });
        return router.replyDurable<CommandResult>(msg.replyTo, { ok: true }, asIs);
      }
      case 'undrain': {
        const node = router.registry.node(msg.node);
        if (!node) return this.#tell(msg.replyTo, fail('MUSTER_ERR_UNKNOWN_NODE', `node ${msg.node} has not joined`));
        if (router.drains.has(msg.node)) {
          router.emit({ kind: 'NodeUndrained', at: now, node: msg.node });
          if (node.spec.state === 'draining') router.emit({ kind: 'NodeStateChanged', at: now, node: msg.node, state: 'ready', reason: 'undrained by an operator' });
        }
        router.replyDurable<CommandResult>(msg.replyTo, { ok: true }, asIs);
        return this.#wake();
      }
      case 'submit': {
        const results: SubmitResult[] = msg.specs.map((spec) => this.#submit(msg.tenant, spec, now, msg.holdUnsatisfiable === true));
        // Every result waits, the `existing` ones too: their jobs' events may be in a batch not yet durable.
        router.replyDurable(msg.replyTo, results, (error) => results.map(() => error));
        return this.#wake();
      }
      case 'cancel': {
        const entry = router.directory.get(msg.job);
        if (!entry) return this.#tell(msg.replyTo, fail('MUSTER_ERR_UNKNOWN_JOB', `job ${msg.job} does not exist`));
        if (entry.outcome) return this.#tell(msg.replyTo, fail('MUSTER_ERR_JOB_ENDED', `job ${msg.job} already ${entry.outcome}`));
        if (msg.element !== undefined) {
          if (entry.spec.array === undefined) return this.#tell(msg.replyTo, fail('MUSTER_ERR_INVALID_VALUE', `element: job ${msg.job} is not an array job (cancel ${msg.job} itself)`));
          if (msg.element >= entry.spec.array) return this.#tell(msg.replyTo, fail('MUSTER_ERR_INVALID_VALUE', `element: job ${msg.job} has elements 0 to ${entry.spec.array - 1}, not ${msg.element}`));
        }
        router.emit({ kind: 'JobCancelRequested', at: now, job: msg.job, ...(msg.element !== undefined ? { element: msg.element } : {}) });
        return router.replyDurable<CommandResult>(msg.replyTo, { ok: true }, asIs);
      }
      case 'hold':
      case 'release': {
        const entry = router.directory.get(msg.job);
        if (!entry) return this.#tell(msg.replyTo, fail('MUSTER_ERR_UNKNOWN_JOB', `job ${msg.job} does not exist`));
        if (entry.outcome) return this.#tell(msg.replyTo, fail('MUSTER_ERR_JOB_ENDED', `job ${msg.job} already ${entry.outcome}`));
        router.emit({ kind: msg.kind === 'hold' ? 'JobHeld' : 'JobReleased', at: now, job: msg.job });
        router.replyDurable<CommandResult>(msg.replyTo, { ok: true }, asIs);
        return this.#wake();
      }
      case 'requeue': {
        const entry = router.directory.get(msg.job);
        if (!entry) return this.#tell(msg.replyTo, fail('MUSTER_ERR_UNKNOWN_JOB', `job ${msg.job} does not exist`));
        if (entry.outcome) return this.#tell(msg.replyTo, fail('MUSTER_ERR_JOB_ENDED', `job ${msg.job} already ${entry.outcome}: an ended job is not requeued (submit it again)`));
        let killed = 0;
        const tasks = entry.perElement * elementCount(entry.spec);
        for (let task = 0; task < tasks; task++) {
          const live = router.live.get(msg.job, task);
          if (!live) continue;
          router.toNode(live.node, { kind: 'kill', attempt: { job: msg.job, task, attempt: live.attempt, node: live.node }, reason: 'requeue' });
          killed++;
        }
        if (killed === 0) return this.#tell(msg.replyTo, fail('MUSTER_ERR_NOT_RUNNING', `job ${msg.job} has no task placed or running: nothing to requeue`));
        return this.#tell(msg.replyTo, { ok: true });
      }
      case 'preempt': {
        const preempted = this.#preempt(msg.attempts, msg.by, msg.reason, now);
        for (const a of preempted) this.#reclaimer.record(router.directory.get(a.job)?.queue ?? '', a.job, a.task, now);
        return router.replyDurable<PreemptResult>(msg.replyTo, { ok: true, preempted }, asIs);
      }
      case 'started':
        return this.#reports.started(msg, now, msg.id);
      case 'ended':
        return this.#reports.ended(msg, now, msg.id);
      case 'reports':
        for (const r of msg.reports) {
          if (r.kind === 'started') this.#reports.started(r, now, r.id);
          else this.#reports.ended(r, now, r.id);
        }
        return;
      case 'reconcile':
        return this.#reports.reconcile(msg, now);
      case 'unreported':
        this.#reports.unreported(msg, now);
        return this.#wake();
      case 'cycle':
        this.#cycleWaiters.push(msg.replyTo);
        if (!this.#cycle) this.#startCycle();
        else this.#cycleQueued = true;
        return;
      case 'settle':
        return this.#barrier.settle(msg.replyTo);
      case 'snapshotPoint':
        return this.#snapshots.point(msg.replyTo);
      case 'sync':
        return router.replyDurable<true | Refusal>(msg.replyTo, true, asIs);
      case 'health':
        return this.#tell(msg.replyTo, { lastCycleAt: this.#lastCycleAt, cycleStartedAt: this.#cycleStartedAt, cycles: this.#generation, cyclesCut: this.#cyclesCut, siteRebuilds: this.#tables.rebuilds });
      default:
        return assertNever(msg as never);
    }
  }

  /**
   * A gang element starts whole: when its members on an evicted node go back to pending, its members on
   * other nodes are killed too (reason `gang`; they end `killed`, pending again, no retry spent).
   */
  #restartGangsOn(node: string): void {
    const router = this.#router;
    const siblings: { job: string; task: number; attempt: number; node: string }[] = [];
    for (const a of router.live.values()) {
      if (a.node !== node) continue;
      const entry = router.directory.get(a.job);
      if (!entry?.spec.gang) continue;
      const first = elementOf(entry.perElement, a.task) * entry.perElement;
      for (let t = first; t < first + entry.perElement; t++) {
        const other = router.live.get(a.job, t);
        if (other && other.node !== node) siblings.push({ job: a.job, task: t, attempt: other.attempt, node: other.node });
      }
    }
    for (const s of siblings) router.toNode(s.node, { kind: 'kill', attempt: s, reason: 'gang' });
  }

  #submit(tenant: string, spec: JobSpec, now: number, holdUnsatisfiable: boolean): SubmitResult {
    // Specs arrive validated and normalized (`validateJob`): the gateway and the CLI check them first.
    const directory = this.#router.directory;
    if (spec.idempotencyKey !== undefined) {
      const existing = directory.byKey(tenant, spec.idempotencyKey, now);
      if (existing) return { ok: true, job: existing, existing: true };
    }
    const refusal = queueRefusal(this.#router.queues, tenant, spec.queue);
    if (refusal) return refusal;
    // Interned here, once: the event, the queue actor's record and the snapshot all share the spec's parts
    // (and the feasibility cache finds like jobs by their shared constraints).
    const interned = internJob(spec);
    if (!holdUnsatisfiable) {
      const never = this.#router.feasibility.neverRuns(interned);
      if (never.length > 0) return { ok: false, code: 'MUSTER_ERR_UNSATISFIABLE', message: `${neverRunsMessage(never)} (submit with holdUnsatisfiable to keep it pending)`, problems: never };
    }
    const job = directory.nextId();
    this.#router.emit({ kind: 'JobSubmitted', at: now, job, tenant, spec: interned });
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
    const generation = ++this.#generation;
    const cycle = new CycleCoordinator(
      {
        registry: this.#router.registry,
        queues: this.#router.queues,
        self: this.#self,
        tell: this.#tell,
        silent: (site) => this.#tables.isSilent(site),
        reservations: this.#reservations,
        claim: (queue) => this.#deficits.get(queue),
      },
      generation,
      this.#o.clock.now(),
      (outcome) => this.#finishCycle(outcome),
    );
    this.#cycle = cycle;
    this.#cycleStartedAt = Date.now();
    this.#cycleQueued = false;
    const releases = this.#router.takeReleases();
    // A site whose table is off the truth gets it whole first (its releases are part of it).
    for (const site of this.#tables.resetDue()) releases.delete(site);
    const deadlineMs = this.#o.cycleDeadlineMs ?? CYCLE_DEADLINE_MS;
    // Real time, not the scheduler's clock: the deadline is about actors not answering, not about scheduling time.
    const self = this.#self;
    this.#deadline = setTimeout(() => this.#o.system.tell(self, { kind: 'cycle-deadline', generation }), deadlineMs);
    this.#deadline.unref();
    cycle.start(releases);
  }

  /**
   * After a cycle's placements are live: reservations for blocked heads, reclaim and priority preemption,
   * the queues' deficits for the next offers, and what each queue's waiting jobs should say (why-pending).
   */
  #afterPlacements(outcome: CycleOutcome): Map<string, UnplacedInfo[]> {
    const now = outcome.now;
    this.#preemptedLast = 0;
    const view = reclaimView(this.#router);
    const placed = new Set(outcome.placements.map((p) => p.job));
    this.#reservations.settleFreed(placed, now);
    if (this.#o.reservations) this.#reservations.update(outcome.heads, outcome.placements.length > 0, now, view);
    const notes = new Map<string, string>();
    if (outcome.tree) {
      const { preemptions, refused, retryAt } = this.#reclaimer.plan(outcome.tree, outcome.waiting, outcome.heads, [...outcome.unplaced.keys(), ...outcome.claims], now, view);
      this.#reclaimWakeAt = retryAt;
      for (const p of preemptions) {
        const preempted = this.#preempt(attemptsOf(p.plan), p.by, p.reason, now);
        this.#preemptedLast += preempted.length;
        for (const a of preempted) this.#reclaimer.record(this.#router.directory.get(a.job)?.queue ?? '', a.job, a.task, now);
        const grace = Math.max(0, ...preempted.map((a) => this.#graceOf(a.job) ?? KILL_GRACE_FALLBACK_MS));
        this.#reservations.reserveFreed(p.by.queue, p.candidate.job, p.site, p.plan.holds, now, now + grace + FREED_SLACK_MS);
        const queues = [...new Set(p.plan.victims.map((u) => u.queue))].join(', ');
        notes.set(p.candidate.job, `preempting ${preempted.length} task${preempted.length === 1 ? '' : 's'} of ${queues} for it (${p.reason}); it runs when they have stopped`);
      }
      for (const [job, why] of refused) notes.set(job, why);
      this.#deficits = deficits(outcome.tree, this.#router.queues.keys());
    }
    const byQueue = new Map<string, UnplacedInfo[]>();
    const add = (queue: string, info: UnplacedInfo): void => {
      const list = byQueue.get(queue);
      if (list) list.push(info);
      else byQueue.set(queue, [info]);
    };
    const told = new Set<string>();
    const withNotes = (info: UnplacedInfo, queue: string): UnplacedInfo => {
      const r = this.#reservations.of(queue);
      const note = notes.get(info.job);
      return {
        ...info,
        ...(r && r.job === info.job ? { reservation: { start: r.start, site: r.site, nodes: r.holds.length } } : {}),
        ...(note ? { preemption: note } : {}),
      };
    };
    for (const [c, found] of outcome.unplaced) {
      told.add(c.job);
      add(c.queue, withNotes(found, c.queue));
    }
    // A head too big to be offered, or a claim, still hears of its reservation or its preemption.
    for (const r of this.#reservations.all()) {
      if (told.has(r.job)) continue;
      told.add(r.job);
      add(r.queue, withNotes({ job: r.job, at: now, sites: {} }, r.queue));
    }
    for (const [job, _] of notes) {
      const queue = this.#router.directory.get(job)?.queue;
      if (queue && !told.has(job)) add(queue, withNotes({ job, at: now, sites: {} }, queue));
    }
    return byQueue;
  }

  /** The job's preemption grace: its own, else its queue's; undefined: the agent's default. */
  #graceOf(job: string): number | undefined {
    const entry = this.#router.directory.get(job);
    return entry?.spec.gracePeriodMs ?? (entry ? this.#router.queues.get(entry.queue)?.spec.gracePeriodMs : undefined);
  }

  /**
   * Preempts what may be of `attempts` (preemption.ts): marked first, in one event, and killed once that is
   * durable (toNode waits), each with its grace; so a restarted leader knows what it preempted.
   */
  #preempt(attempts: readonly Placement[], by: PreemptedBy, reason: string | undefined, now: number): Placement[] {
    const router = this.#router;
    const preempted = attemptsToPreempt(router, attempts);
    if (preempted.length > 0) router.emit({ kind: 'TasksPreempted', at: now, by, attempts: preempted, ...(reason !== undefined ? { reason } : {}) });
    for (const p of preempted) {
      const grace = this.#graceOf(p.job);
      router.toNode(p.node, { kind: 'kill', attempt: p, reason: 'preempted', ...(grace !== undefined ? { graceMs: grace } : {}) });
    }
    return preempted;
  }

  #finishCycle(outcome: CycleOutcome): void {
    clearTimeout(this.#deadline);
    this.#cycle = undefined;
    this.#lastCycleAt = Date.now();
    this.#cycleStartedAt = undefined;
    if (outcome.silent.length > 0) {
      this.#cyclesCut++;
      this.#o.log.error({ generation: outcome.generation, silent: outcome.silent }, 'a dispatch cycle closed at its deadline without parts that did not answer; scheduling goes on without them');
      for (const name of outcome.silent) {
        const site = this.#router.registry.site(name);
        // What a silent site did with this cycle's batch is unknown: its table is rebuilt before it is used
        // again, and until it answers, cycles do not wait for it.
        if (site) this.#tables.silent(site, outcome.generation);
      }
    }
    // One event per PLACEMENTS_PER_EVENT: a cycle on a large fleet places tens of thousands of tasks, and one
    // event must fit one store record (the etcd store's is 1 MiB). They are emitted in one turn, so they are
    // made durable together, in one group.
    for (let i = 0; i < outcome.placements.length; i += PLACEMENTS_PER_EVENT) {
      this.#router.emit({ kind: 'TasksPlaced', at: outcome.now, epoch: this.#o.epoch, placements: outcome.placements.slice(i, i + PLACEMENTS_PER_EVENT) });
    }
    // After the placements are live, so reservations and reclaim see what this cycle placed.
    for (const [q, items] of this.#afterPlacements(outcome)) this.#router.toQueue(q, { kind: 'unplaced', items });
    const wakeAt = Math.min(outcome.wakeAt, this.#reclaimWakeAt);
    const report: CycleReport = { placed: outcome.placements.length, unplaced: outcome.unplaced.size, preempted: this.#preemptedLast, wakeAt: Number.isFinite(wakeAt) ? wakeAt : undefined };
    for (const w of this.#cycleWaiters.splice(0)) this.#tell(w, report);
    if (report.wakeAt !== undefined && this.#o.autoCycle) {
      const self = this.#self;
      this.#o.clock.schedule(report.wakeAt, () => this.#o.system.tell(self, { kind: 'wake' }));
    }
    for (const command of this.#afterCycle.splice(0)) this.#handle(command);
    this.#barrier.cycleFinished();
    // A site that must be rebuilt is rebuilt at the next cycle's start: make sure there is one.
    if (this.#cycleQueued || (this.#o.autoCycle && (report.placed > 0 || this.#tables.anyDue()))) this.#startCycle();
  }
}

/** Slack past a preempted attempt's grace before the room freed for its preemptor is no longer held. */
const FREED_SLACK_MS = 30_000;
/** The grace an agent gives a kill that names none (src/api's KILL_GRACE_MS), for how long to hold freed room. */
const KILL_GRACE_FALLBACK_MS = 10_000;

/** How far below its guarantee each queue is, in the resources it has one for (only queues below it). */
function deficits(tree: QueueTree, queues: Iterable<string>): Map<string, Resources> {
  const out = new Map<string, Resources>();
  for (const name of queues) {
    const a = tree.account(name);
    if (!a) continue;
    const g = a.guarantee;
    const u = a.usage;
    const d = { cpu: Math.max(0, g.cpu - u.cpu), memory: Math.max(0, g.memory - u.memory), gpu: Math.max(0, g.gpu - u.gpu), extended: {} };
    if (d.cpu > 0 || d.memory > 0 || d.gpu > 0) out.set(name, d);
  }
  return out;
}

/** What reclaim reads of the dispatcher: the cluster, the live attempts, jobs and queues' preemption settings. */
function reclaimView(router: EventRouter): ReclaimView {
  return {
    ...clusterView(router),
    job: (id) => router.directory.get(id),
    liveAttempts: () => router.live.values(),
    liveOf: (job, task) => router.live.get(job, task),
    protectForMs: (queue) => router.queues.get(queue)?.spec.protectForMs ?? DEFAULT_PROTECT_FOR_MS,
    disruptionBudget: (queue) => router.queues.get(queue)?.spec.disruptionBudget,
  };
}

/** The cluster as reservation planning reads it: each site's nodes, and what each node's live attempts hold until when. */
function clusterView(router: EventRouter): ClusterView {
  return {
    sites: () => {
      const bySite = new Map<string, PlanNode[]>();
      for (const entry of router.registry.nodeEntries()) {
        const { spec } = entry;
        const list = bySite.get(entry.site) ?? [];
        list.push({ id: entry.id, name: spec.name, capacity: spec.capacity, labels: spec.labels, state: spec.state });
        bySite.set(entry.site, list);
      }
      return [...bySite].sort(([a], [b]) => (a < b ? -1 : 1)).map(([site, nodes]) => ({ site, nodes }));
    },
    live: () => {
      const byNode = new Map<string, Release[]>();
      for (const a of router.live.values()) {
        const list = byNode.get(a.node);
        if (list) list.push(a);
        else byNode.set(a.node, [a]);
      }
      return byNode;
    },
  };
}

/** Commands a failed dispatcher still answers: queries and barriers, which write nothing. */
const ANSWERED_WHEN_FAILED: ReadonlySet<string> = new Set(['locate', 'settle', 'cycle', 'owners', 'listQueues', 'listNodes', 'inspectNodes', 'inspectQueues', 'health']);

/** Requests whose reply may be a refusal (commands, `sync`) are refused with the refusal itself. */
const asIs = (error: Refusal): Refusal => error;

function fail(code: Refusal['code'], message: string): CommandResult {
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
