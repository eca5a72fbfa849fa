/**
 * The messages between the scheduler's actors. Public unions (what other actors send) are here; private
 * ones (timers) live with their actor.
 *
 *   dispatcher ──event──▶ queue actor ──propose──▶ dispatcher        (job lifecycle, in one order)
 *   dispatcher ──offer──▶ queue actor ──offered──▶ dispatcher        (candidates for a cycle)
 *   dispatcher ──place──▶ site actor (worker) ──placed──▶ dispatcher (one batch per site per round)
 *   dispatcher ──allocate/kill/…──▶ node actor ──▶ agent port
 */
import type { ActorRef } from '../actors/index.js';
import type { ErrorCode } from '../errors/index.js';
import type { JobSpec, NodeSpec, NodeState, Problem, QueueSpec, Resources } from '../model/index.js';
import type { NodeChange, PlacementRequest, ReasonCounts, ReleaseItem } from '../placement/index.js';
import type { AttemptRef, KillReason, TaskLaunch } from './agent-port.js';
import type { Candidate } from './candidates.js';
import type { Kill } from './decide.js';
import type { Infeasibility } from './feasibility.js';
import type { Hold } from './reservation-plan.js';
import type { JobOutcome, Placement, PreemptedBy, SchedulerEvent, TaskEndReport, TaskStartReport } from './events.js';
import type { SiteSummary } from './site-choice.js';
import type { SchedulerState } from './state.js';
import type { JobDetail, JobQuery, JobSlicePage, QueueView } from './views.js';

/** Why one candidate was not placed in one cycle: per site, a summary exclusion or the solver's counts. */
export interface UnplacedInfo {
  readonly job: string;
  readonly at: number;
  /** Site → a sentence (ruled out from its summary) or the solver's per-reason node counts. */
  readonly sites: Readonly<Record<string, string | (ReasonCounts & { readonly group: number })>>;
  /** Set when a cap of the queue or an ancestor held the job back (which, as a sentence). */
  readonly limit?: string;
  /** Set when reclaim or priority preemption acted for the job, or would and could not (reclaim.ts): why. */
  readonly preemption?: string;
  /** Set when the job is its queue's blocked head and has a reservation (reservations.ts). */
  readonly reservation?: { readonly start: number; readonly site: string; readonly nodes: number };
  /** Set when all ready nodes together had too little free capacity, so no site was asked. */
  readonly busy?: string;
}

// ---------------------------------------------------------------------------------------------- queue

export type QueueMsg =
  /** `outcomes`: how the job's dependencies that ended before it was submitted ended. */
  | { readonly kind: 'event'; readonly event: SchedulerEvent; readonly outcomes?: Readonly<Record<string, JobOutcome>> }
  /** `budget`: the cluster's free cpu, memory and gpus: a queue offers no more than that in all. */
  | {
      readonly kind: 'offer';
      /** The cycle asking: its answer names it (an answer to an older cycle is ignored). */
      readonly generation: number;
      readonly now: number;
      readonly max: number;
      readonly budget: { readonly cpu: number; readonly memory: number; readonly gpu: number };
      /**
       * For a queue below its guarantee: how much short of it it is (resources it has a guarantee in). It
       * names, as `claims`, candidates beyond the budget up to that much, for reclaim (reclaim.ts).
       */
      readonly claim?: Resources;
      /** Jobs of the queue that room is held for (reservations.ts): offered first, whatever the budget. */
      readonly reserved?: readonly string[];
      readonly replyTo: ActorRef<DispatcherMsg>;
    }
  | { readonly kind: 'unplaced'; readonly items: readonly UnplacedInfo[] }
  | { readonly kind: 'why'; readonly job: string; readonly replyTo: ActorRef<QueueWhy> }
  | { readonly kind: 'barrier'; readonly replyTo: ActorRef<DispatcherMsg> }
  | { readonly kind: 'inspect'; readonly replyTo: ActorRef<SchedulerState> }
  // Queries for the API (views.ts): each answers from the actor's own records, copying only the answer.
  | { readonly kind: 'jobs'; readonly query: JobQuery; readonly replyTo: ActorRef<JobSlicePage> }
  | { readonly kind: 'job'; readonly job: string; readonly replyTo: ActorRef<{ readonly detail: JobDetail | undefined }> }
  /** The node an attempt ran (or runs) on: what an agent shipping its output is checked against. */
  | { readonly kind: 'attemptNode'; readonly job: string; readonly task: number; readonly attempt: number; readonly replyTo: ActorRef<{ readonly node: string | undefined }> }
  | { readonly kind: 'queueView'; readonly spec: QueueSpec; readonly replyTo: ActorRef<QueueView> }
  /**
   * The queue was deleted: the actor stops once it has handled what came before (an offer or a barrier
   * already sent is answered); the router sends it nothing more.
   */
  | { readonly kind: 'deleted' };

export interface QueueWhy {
  readonly position: number | undefined;
  readonly unplaced: UnplacedInfo | undefined;
  readonly waitingOn: string | undefined;
  readonly backoffUntil: number | undefined;
  /** Held: its pending tasks wait for a release. */
  readonly held: boolean;
  /** The latest preemption that sent one of its pending tasks back (the task's last attempt was preempted). */
  readonly preempted?: { readonly by: PreemptedBy; readonly at: number };
}

// ----------------------------------------------------------------------------------------------- node

export interface NodeAllocation {
  readonly launch: TaskLaunch;
}

export type NodeMsg =
  | { readonly kind: 'allocate'; readonly allocations: readonly NodeAllocation[] }
  | { readonly kind: 'started'; readonly job: string; readonly task: number; readonly attempt: number; readonly at: number }
  | { readonly kind: 'ended'; readonly job: string; readonly task: number; readonly attempt: number }
  | { readonly kind: 'state'; readonly state: NodeState; readonly at: number }
  /** `graceMs`: the kill's own grace (a preemption's), else the agent port's default. */
  | { readonly kind: 'kill'; readonly attempt: Placement; readonly reason: KillReason; readonly graceMs?: number }
  /** A drain's deadline passed: every live attempt ends `killed` now (proposed), and its agent kills it. */
  | { readonly kind: 'evict'; readonly at: number; readonly reason: string }
  /** The node's agent registered and runs `running`: what to kill, what is lost (see node-actor.ts). */
  | { readonly kind: 'reconcile'; readonly running: readonly AttemptRef[]; readonly replyTo: ActorRef<ReconcileResult> }
  | { readonly kind: 'barrier'; readonly replyTo: ActorRef<DispatcherMsg> }
  | { readonly kind: 'inspect'; readonly replyTo: ActorRef<NodeSnapshot> };

/**
 * A registration reconciled: `kill` the reported attempts the node does not hold live (the agent kills them
 * and reports nothing), `unreported` the live attempts the agent neither runs nor reported ended (lost,
 * unless their start is still on its way to the agent).
 */
export type ReconcileResult =
  | { readonly ok: true; readonly kill: readonly AttemptRef[]; readonly unreported: readonly AttemptRef[] }
  | Extract<CommandResult, { ok: false }>;

/** An agent's report may carry its frame's id, so a refusal can name it. */
type ReportId = { readonly id?: string | number };

/** An agent's report of an attempt starting or ending (`id`: the report's, to name in a refusal). */
export type AgentReport = ({ readonly kind: 'started' } & TaskStartReport & ReportId) | ({ readonly kind: 'ended' } & TaskEndReport & ReportId);

export interface NodeSnapshot {
  readonly name: string;
  readonly state: NodeState;
  readonly allocations: readonly { readonly job: string; readonly task: number; readonly attempt: number; readonly resources: Resources }[];
}

// ----------------------------------------------------------------------------------------------- site

export type SiteMsg =
  | { readonly kind: 'nodes'; readonly changes: readonly NodeChange[] }
  | { readonly kind: 'release'; readonly items: readonly ReleaseItem[] }
  /** The whole table from the dispatcher's truth (site-tables.ts): what the site had is replaced. */
  | { readonly kind: 'reset'; readonly changes: readonly NodeChange[] }
  /**
   * `reserved` (with `bound`, one bit mask per request): the holds of the site's reservations; each request
   * is placed with the holds of the reservations its mask names taken off the table (held-placement.ts).
   */
  | {
      readonly kind: 'place';
      readonly generation: number;
      readonly round: number;
      readonly requests: readonly PlacementRequest[];
      readonly reserved?: readonly (readonly Hold[])[];
      readonly bound?: readonly number[];
      /** Per request, the reservation it is the owner of (-1: none): once placed, its holds are lifted. */
      readonly owns?: readonly number[];
      readonly replyTo: ActorRef<DispatcherMsg>;
    }
  /** `generation`: the cycle asking (absent: a query for the API). */
  | { readonly kind: 'summary'; readonly generation?: number; readonly replyTo: ActorRef<DispatcherMsg> }
  | { readonly kind: 'stats'; readonly replyTo: ActorRef<SiteStats> };

/** Time the site's solver spent placing, for benchmarks and metrics. */
export interface SiteStats {
  readonly site: string;
  readonly calls: number;
  readonly placedTasks: number;
  readonly placeMs: number;
}

// ----------------------------------------------------------------------------------------- dispatcher

export interface CycleReport {
  /** Tasks placed in the cycle. */
  readonly placed: number;
  /** Candidates that found no place. */
  readonly unplaced: number;
  /** Attempts preempted at the cycle's end: their ends free room, so another cycle should follow them. */
  readonly preempted: number;
  /** Earliest time a backoff ends (a cycle should run then), or undefined. */
  readonly wakeAt: number | undefined;
}

export type DispatcherMsg =
  | { readonly kind: 'propose'; readonly events: readonly SchedulerEvent[] }
  | { readonly kind: 'kill'; readonly kills: readonly Kill[] }
  | {
      readonly kind: 'offered';
      readonly generation: number;
      readonly queue: string;
      readonly candidates: readonly Candidate[];
      /** The queue's head (its first job that could run but for capacity), whole, offered or not (reservations.ts). */
      readonly head?: Candidate;
      /**
       * Candidates of jobs not offered, for reclaim.ts: beyond the budget up to the offer's `claim`, in service
       * order, then those near the front that may preempt (`mayPreempt`).
       */
      readonly claims?: readonly Candidate[];
      readonly usage: Resources;
      readonly wakeAt: number;
    }
  | {
      readonly kind: 'placed';
      readonly site: string;
      readonly generation: number;
      readonly round: number;
      /** false: the site restarted and has no table yet (it placed nothing). */
      readonly synced: boolean;
      readonly result: Int32Array;
      readonly taskStart: Int32Array;
      readonly summary: SiteSummary;
    }
  | { readonly kind: 'summary'; readonly generation?: number; readonly synced: boolean; readonly summary: SiteSummary }
  | { readonly kind: 'barrier-ack' }
  /** Private to the dispatcher: its sink made events up to `seq` durable, or failed. */
  | { readonly kind: 'durable'; readonly seq: number }
  | { readonly kind: 'sink-failed'; readonly message: string }
  /** Private to the dispatcher: a drain's deadline passed (drains.ts). */
  | { readonly kind: 'drain-expired'; readonly node: string; readonly deadline: number }
  /** A retry backoff or a dependency's wait is over (auto-cycling servers): something may be placeable. */
  | { readonly kind: 'wake' }
  /** Private to the dispatcher: time for a retirement sweep (retirement.ts). */
  | { readonly kind: 'retire' }
  /** Private to the dispatcher: a cycle's deadline passed. */
  | { readonly kind: 'cycle-deadline'; readonly generation: number };

// ------------------------------------------------------------------------ commands (the core's interface)

export type SubmitResult =
  | { readonly ok: true; readonly job: string; /** The idempotency key named a job submitted before. */ readonly existing: boolean }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string; /** `MUSTER_ERR_UNSATISFIABLE`: every reason. */ readonly problems?: readonly Problem[] };

export type CommandResult = { readonly ok: true } | Refusal;

/** A command refused for every problem found at once (each with its field path), or done. */
export type ProblemsResult = { readonly ok: true } | (Refusal & { readonly problems?: readonly Problem[] });
/** The attempts preempted (a gang's whole element included), answered once their event is durable. */
export type PreemptResult = { readonly ok: true; readonly preempted: readonly Placement[] } | Refusal;

/** A command refused (a failed store refuses everything that waits for durability with this). */
export interface Refusal {
  readonly ok: false;
  readonly code: ErrorCode;
  readonly message: string;
}

/** Where a snapshot stands: after event `seq`, answered once `seq` is durable (snapshot-coordinator.ts). */
export interface SnapshotPoint {
  readonly seq: number;
}

export interface JobLocation {
  readonly queue: ActorRef<QueueMsg> | undefined;
  readonly outcome: JobOutcome | undefined;
  readonly tenant: string | undefined;
  readonly sites: readonly SiteSummary[];
  /** Why the job can never run on the nodes known now (feasibility.ts); empty when it could. */
  readonly never: readonly Infeasibility[];
  /** Nodes that have joined, in any state. */
  readonly nodes: number;
  /** When only nodes that are not ready now could run it: those nodes and their states (asked with `explain`). */
  readonly onlyUnready: readonly { readonly name: string; readonly state: NodeState }[];
}

/** Who owns a job (for the API's tenant checks), and how it ended. */
export interface JobOwner {
  readonly tenant: string;
  readonly queue: string;
  readonly outcome: JobOutcome | undefined;
}

export interface QueueListing {
  readonly spec: QueueSpec;
  readonly ref: ActorRef<QueueMsg>;
}

export interface NodeListing {
  /** As joined, with its current state. */
  readonly spec: NodeSpec;
  readonly ref: ActorRef<NodeMsg>;
  /** Set while an operator drains it. */
  readonly drain?: { readonly deadline: number | undefined };
}

export type CoreCommand =
  | { readonly kind: 'defineQueue'; readonly spec: QueueSpec; readonly replyTo: ActorRef<CommandResult> }
  /** Several queues at once: their events go in one turn, so one durable batch holds them all. */
  | { readonly kind: 'defineQueues'; readonly specs: readonly QueueSpec[]; readonly replyTo: ActorRef<CommandResult> }
  /** Deletes queues, all or none (queue-deletion.ts says when a queue may go): one durable batch. */
  | { readonly kind: 'deleteQueues'; readonly names: readonly string[]; readonly replyTo: ActorRef<ProblemsResult> }
  | { readonly kind: 'joinNode'; readonly spec: NodeSpec; readonly replyTo: ActorRef<CommandResult> }
  | { readonly kind: 'nodeState'; readonly node: string; readonly state: NodeState; readonly reason?: string; readonly replyTo: ActorRef<CommandResult> }
  /** An operator drains a node: no new work; after `deadlineMs` (from now), if given, what still runs ends. */
  | { readonly kind: 'drain'; readonly node: string; readonly deadlineMs?: number; readonly replyTo: ActorRef<CommandResult> }
  | { readonly kind: 'undrain'; readonly node: string; readonly replyTo: ActorRef<CommandResult> }
  /** `holdUnsatisfiable`: keep (pending) a job no known node could ever run, instead of refusing it. */
  | { readonly kind: 'submit'; readonly tenant: string; readonly specs: readonly JobSpec[]; readonly holdUnsatisfiable?: boolean; readonly replyTo: ActorRef<readonly SubmitResult[]> }
  /** `element`: only that element of an array job. */
  | { readonly kind: 'cancel'; readonly job: string; readonly element?: number; readonly replyTo: ActorRef<CommandResult> }
  | { readonly kind: 'hold' | 'release'; readonly job: string; readonly replyTo: ActorRef<CommandResult> }
  /** Kills the job's live attempts; they end `killed` and go back to pending (no retry spent). */
  | { readonly kind: 'requeue'; readonly job: string; readonly replyTo: ActorRef<CommandResult> }
  /** Preempts live attempts for `by` (preemption.ts): one `TasksPreempted`, then the kills. */
  | { readonly kind: 'preempt'; readonly attempts: readonly Placement[]; readonly by: PreemptedBy; readonly reason?: string; readonly replyTo: ActorRef<PreemptResult> }
  | AgentReport
  /**
   * An agent connection's reports of one frame, in order: one message, one turn and one durable batch for
   * a frame that carries thousands (a simulated fleet's connection), instead of one of each per report.
   */
  | { readonly kind: 'reports'; readonly reports: readonly AgentReport[] }
  /**
   * A node's agent (re)registered: apply the ends it had not had acknowledged, then reconcile what it runs
   * with what the node holds live. Answered once those ends are durable.
   */
  | { readonly kind: 'reconcile'; readonly node: string; readonly running: readonly AttemptRef[]; readonly ended: readonly TaskEndReport[]; readonly replyTo: ActorRef<ReconcileResult> }
  /**
   * Attempts of `node` its agent did not report at registration: one placed but never started is started
   * again (its `start` never reached the agent: the leader that placed it died, or the agent was away); the
   * others end as `lost`. Answers with those that ended lost.
   */
  | { readonly kind: 'unreported'; readonly node: string; readonly attempts: readonly AttemptRef[]; readonly reason: string; readonly replyTo: ActorRef<readonly AttemptRef[]> }
  | { readonly kind: 'cycle'; readonly replyTo: ActorRef<CycleReport> }
  | { readonly kind: 'settle'; readonly replyTo: ActorRef<true> }
  /** `explain`: also say which nodes could run it (for why-pending; a walk over the nodes). */
  | { readonly kind: 'locate'; readonly job: string; readonly explain?: boolean; readonly replyTo: ActorRef<JobLocation> }
  | { readonly kind: 'inspectNodes'; readonly replyTo: ActorRef<readonly ActorRef<NodeMsg>[]> }
  | { readonly kind: 'inspectQueues'; readonly replyTo: ActorRef<readonly ActorRef<QueueMsg>[]> }
  /** Replies once every event emitted so far is durable (and everything waiting for them has been sent). */
  | { readonly kind: 'sync'; readonly replyTo: ActorRef<true | Refusal> }
  /** The point a snapshot stands at: the last event emitted, answered once that event is durable. */
  | { readonly kind: 'snapshotPoint'; readonly replyTo: ActorRef<SnapshotPoint | Refusal> }
  // Queries for the API: answered from the dispatcher's directory and registry, at once (not after durability).
  | { readonly kind: 'owners'; readonly jobs: readonly string[]; readonly replyTo: ActorRef<readonly (JobOwner | undefined)[]> }
  | { readonly kind: 'listQueues'; readonly replyTo: ActorRef<readonly QueueListing[]> }
  /** Every node, or those named. */
  | { readonly kind: 'listNodes'; readonly names?: readonly string[]; readonly replyTo: ActorRef<readonly NodeListing[]> }
  /** How the cycles are doing (the watchdog metric). */
  | { readonly kind: 'health'; readonly replyTo: ActorRef<SchedulerHealth> };

export interface SchedulerHealth {
  /** When the last dispatch cycle finished (wall clock, ms). */
  readonly lastCycleAt: number;
  /** When the cycle now open started (wall clock, ms), if one is. */
  readonly cycleStartedAt: number | undefined;
  /** Cycles started so far. */
  readonly cycles: number;
  /** Cycles that closed at their deadline without a part that did not answer. */
  readonly cyclesCut: number;
  /** Site tables rebuilt from the dispatcher's truth (one per site at start included). */
  readonly siteRebuilds: number;
}

export type DispatcherInbox = DispatcherMsg | CoreCommand;
