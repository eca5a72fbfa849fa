// The scheduling core: queues, sites and nodes as actors; the job lifecycle; fair share; why pending.
// See README.md for the actors, the flow of a dispatch cycle and a glossary.
export type { SchedulerEvent, SchedulerEventKind, Placement, TaskOutcome, JobOutcome, TaskStartReport, TaskEndReport } from './events.js';
export { TASK_OUTCOMES, JOB_OUTCOMES } from './events.js';
export type { SchedulerState, JobRecord, TaskRecord, QueueRecord, NodeRecord, Allocation, TaskState, JobStatus } from './state.js';
export { createState, isTerminal } from './state.js';
export { applyEvent } from './apply.js';
export { encodeState, decodeState, packSnapshot, unpackSnapshot, SNAPSHOT_VERSION } from './snapshot.js';
export type { Consequences, Kill, DependencyVerdict } from './decide.js';
export { consequences, dependencies } from './decide.js';
export type { Clock } from './clock.js';
export { realClock, VirtualClock } from './clock.js';
export type { AgentPort, TaskLaunch, AttemptRef, KillReason, ReportRefusal } from './agent-port.js';
export type { SchedulerCoreOptions, WhyAnswer } from './core.js';
export type { EventSink } from './durable-sequencer.js';
export type { RecoveredScheduler } from './durable.js';
export { storeSink, recoverScheduler } from './durable.js';
export { SchedulerCore, DEFAULT_MAX_NODES_PER_SITE } from './core.js';
export type { LivenessOptions, LivenessChange, Liveness } from './liveness.js';
export { NodeLiveness, DEFAULT_LIVENESS, MIN_FENCE_MARGIN_MS, resolveLiveness } from './liveness.js';
export type { CycleReport, SubmitResult, NodeSnapshot, SiteStats, JobOwner, NodeListing } from './messages.js';
export type { JobView, JobDetail, JobPage, JobQuery, TaskView, TaskCounts, QueueView, NodeView, SiteView } from './views.js';
export type { WhyPending, PendingReason } from './why-pending.js';
export type { SiteSummary } from './site-choice.js';
export type { SimScript, SimJob, AttemptBehaviour } from './sim/script.js';
export type { SimulationOptions, SimulationReport, Overcommit } from './sim/harness.js';
export { Simulation } from './sim/harness.js';
export { VirtualFleet } from './sim/fleet.js';
