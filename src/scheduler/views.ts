/**
 * Read-only views of the scheduler's state for the API: a job, its tasks, a page of jobs, a queue, a node,
 * a site. Each view is built by the actor that owns the record (a queue actor for jobs and queues, a node
 * actor for its allocations, a site actor for its summary), inside its turn, so a query copies only what it
 * answers, never the whole state.
 *
 * Views are plain data (they cross to the gateway and out as JSON or msgpack): numbers in muster's units
 * (cpu in millicores, memory in MiB), times in ms since the epoch.
 */
import type { JobSpec, NodeSpec, NodeState, QueueSpec, Resources } from '../model/index.js';
import type { NodeSnapshot } from './messages.js';
import type { SiteSummary } from './site-choice.js';
import type { AttemptRecord, JobRecord, JobStatus, QueueRecord, SchedulerState, TaskState } from './state.js';

/** How many of a job's tasks are in each state. */
export interface TaskCounts {
  total: number;
  pending: number;
  placed: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

export interface JobView {
  readonly id: string;
  readonly tenant: string;
  readonly queue: string;
  readonly name?: string;
  readonly status: JobStatus;
  readonly submittedAt: number;
  readonly endedAt?: number;
  readonly reason?: string;
  /** When its first attempt started (ms); absent while none has. */
  readonly startedAt?: number;
  /**
   * The exit code that decided how it ended: 0 when it succeeded; for a failure, the exit code of the last
   * attempt of the task that failed first (absent when that attempt has none: a time limit, a signal, a task
   * that could not start).
   */
  readonly exitCode?: number;
  /** The command of its first task group, its words joined by spaces (a shell script as written). */
  readonly command: string;
  readonly tasks: TaskCounts;
  /** The job has left the live state (retention) and was read back from the history. */
  readonly retired?: true;
}

export interface TaskView {
  readonly index: number;
  readonly state: TaskState;
  /** Attempts placed so far (the live attempt's number while placed or running). */
  readonly attempt: number;
  readonly failures: number;
  readonly node?: string;
  /** Where each attempt ran, attempt 1 first (present once the task has had more than one). */
  readonly nodes?: readonly string[];
  /** Every attempt, attempt 1 first (absent before the first placement). */
  readonly attempts?: readonly AttemptRecord[];
}

export interface JobDetail extends JobView {
  readonly spec: JobSpec;
  readonly taskList: readonly TaskView[];
}

/** What a page of jobs is asked for: every field is a filter, all must hold. */
export interface JobQuery {
  readonly tenant?: string;
  readonly status?: JobStatus;
  /** The job's name, exactly. */
  readonly name?: string;
  /** Submitted at or after this time (ms). */
  readonly since?: number;
  /** Submitted before this time (ms). */
  readonly until?: number;
  /** Only jobs submitted after job `j-<after>` (the previous page's cursor: its last job's number). */
  readonly after?: number;
  readonly limit: number;
}

/** One queue's answer to a `JobQuery`: views in submission order, each with its order (its id's number: the cursor). */
export interface JobSlicePage {
  readonly jobs: readonly { readonly order: number; readonly view: JobView }[];
  /** The queue holds more matching jobs after the last one returned. */
  readonly more: boolean;
}

/** A page across queues; `next` is the cursor of the following page, absent on the last one. */
export interface JobPage {
  readonly jobs: readonly JobView[];
  readonly next?: string;
}

export interface QueueView {
  readonly name: string;
  readonly tenant: string;
  readonly weight: number;
  readonly priority: number;
  readonly guaranteedShare: number;
  readonly guarantee?: QueueSpec['guarantee'];
  readonly borrow: boolean;
  readonly borrowLimit?: QueueSpec['borrowLimit'];
  readonly limit?: QueueSpec['limit'];
  /**
   * The guarantee in absolute amounts on the cluster as it is now (shares resolved down the tree, scaled
   * to fit: src/scheduler/queue-tree.ts).
   */
  readonly guaranteed: Resources;
  /** Jobs that have not ended. */
  readonly active: number;
  /** Jobs with at least one task waiting to be placed. */
  readonly pending: number;
  /** Resources held by the queue's placed and running tasks. */
  readonly usage: Resources;
}

export interface NodeView {
  readonly name: string;
  readonly site: string;
  readonly state: NodeState;
  readonly capacity: Resources;
  readonly allocated: Resources;
  readonly labels: NodeSpec['labels'];
  /** Live attempts on the node. */
  readonly allocations: number;
  /** Set while an operator drains it (whatever its liveness state): `deadline` (ms) or null when unbounded. */
  readonly drain?: { readonly deadline: number | null };
}

export interface SiteView {
  readonly name: string;
  readonly nodes: number;
  readonly ready: number;
  /** Totals over the site's ready nodes. */
  readonly capacity: Resources;
  readonly allocated: Resources;
}

export function taskCounts(job: JobRecord): TaskCounts {
  const counts: TaskCounts = { total: job.tasks.length, pending: 0, placed: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
  for (const task of job.tasks) counts[task.state]++;
  return counts;
}

/** A task group's command as one line: the program and its arguments, or the shell script. */
function commandLine(spec: JobSpec): string {
  const group = spec.tasks[0];
  if (group === undefined) return '';
  return group.shell ? group.command : [group.command, ...group.args].join(' ');
}

/** When the job's first attempt started, and the exit code that decided its end (see `JobView`). */
function attemptFacts(job: JobRecord): { startedAt?: number; exitCode?: number } {
  let startedAt: number | undefined;
  let deciding: AttemptRecord | undefined;
  for (const task of job.tasks) {
    const attempts = task.attempts;
    if (attempts === undefined) continue;
    for (const a of attempts) if (a.startedAt !== undefined && (startedAt === undefined || a.startedAt < startedAt)) startedAt = a.startedAt;
    const last = attempts[attempts.length - 1];
    if (task.state === 'failed' && last !== undefined && (deciding === undefined || (last.endedAt ?? Infinity) < (deciding.endedAt ?? Infinity))) deciding = last;
  }
  const exitCode = job.status === 'succeeded' ? 0 : job.status === 'failed' ? deciding?.exitCode : undefined;
  return { ...(startedAt !== undefined ? { startedAt } : {}), ...(exitCode !== undefined ? { exitCode } : {}) };
}

export function jobView(job: JobRecord): JobView {
  const view: { -readonly [K in keyof JobView]: JobView[K] } = {
    id: job.id,
    tenant: job.tenant,
    queue: job.spec.queue,
    status: job.status,
    submittedAt: job.submittedAt,
    command: commandLine(job.spec),
    tasks: taskCounts(job),
  };
  if (job.spec.name !== undefined) view.name = job.spec.name;
  if (job.endedAt !== undefined) view.endedAt = job.endedAt;
  if (job.reason !== undefined) view.reason = job.reason;
  Object.assign(view, attemptFacts(job));
  return view;
}

export function jobDetail(job: JobRecord): JobDetail {
  const taskList = job.tasks.map((t, index): TaskView => ({
    index,
    state: t.state,
    attempt: t.attempt,
    failures: t.failures,
    // The node of the live attempt, or of the last one that ran (where its output lies).
    ...(t.node !== undefined ? { node: t.node } : {}),
    ...(t.earlier !== undefined && t.node !== undefined ? { nodes: [...t.earlier, t.node] } : {}),
    ...(t.attempts !== undefined ? { attempts: t.attempts } : {}),
  }));
  return { ...jobView(job), spec: job.spec, taskList };
}

/** The node attempt `attempt` (1-based) of task `task` ran or runs on; undefined when there is no such attempt. */
export function attemptNode(job: JobRecord, task: number, attempt: number): string | undefined {
  const t = job.tasks[task];
  if (!t || attempt < 1 || attempt > t.attempt) return undefined;
  return attempt === t.attempt ? t.node : t.earlier?.[attempt - 1];
}

function matches(job: JobRecord, query: JobQuery): boolean {
  return (
    (query.after === undefined || job.order > query.after) &&
    (query.tenant === undefined || job.tenant === query.tenant) &&
    (query.status === undefined || job.status === query.status) &&
    (query.name === undefined || job.spec.name === query.name) &&
    (query.since === undefined || job.submittedAt >= query.since) &&
    (query.until === undefined || job.submittedAt < query.until)
  );
}

/**
 * The first `query.limit` matching jobs of a queue's slice in submission order. The slice's map is in
 * submission order in practice (jobs are added as they are submitted, or restored in order), so the scan
 * stops once it has one more than it needs; if it ever meets jobs out of order it scans to the end and sorts.
 */
export function jobSlicePage(slice: SchedulerState, query: JobQuery): JobSlicePage {
  const found: JobRecord[] = [];
  let ordered = true;
  let last = -1;
  for (const job of slice.jobs.values()) {
    if (job.order < last) ordered = false;
    last = job.order;
    if (!matches(job, query)) continue;
    found.push(job);
    if (ordered && found.length > query.limit) break;
  }
  if (!ordered) found.sort((a, b) => a.order - b.order);
  const page = found.slice(0, query.limit);
  return { jobs: page.map((job) => ({ order: job.order, view: jobView(job) })), more: found.length > page.length };
}

/** Merges the queues' pages into one, in submission order, and names the cursor of the next page. */
export function mergeJobPages(pages: readonly JobSlicePage[], limit: number): JobPage {
  const all = pages.flatMap((p) => p.jobs).sort((a, b) => a.order - b.order);
  const taken = all.slice(0, limit);
  const more = all.length > taken.length || pages.some((p) => p.more);
  const lastOrder = taken[taken.length - 1]?.order;
  return { jobs: taken.map((j) => j.view), ...(more && lastOrder !== undefined ? { next: String(lastOrder) } : {}) };
}

export function queueView(spec: QueueSpec, record: QueueRecord | undefined, pending: number): QueueView {
  const zero: Resources = { cpu: 0, memory: 0, gpu: 0, extended: {} };
  return {
    name: spec.name,
    tenant: spec.tenant,
    weight: spec.weight,
    priority: spec.priority,
    guaranteedShare: spec.guaranteedShare,
    ...(spec.guarantee ? { guarantee: spec.guarantee } : {}),
    borrow: spec.borrow,
    ...(spec.borrowLimit ? { borrowLimit: spec.borrowLimit } : {}),
    ...(spec.limit ? { limit: spec.limit } : {}),
    guaranteed: zero,
    active: record?.active ?? 0,
    pending,
    usage: record?.usage ?? zero,
  };
}

export function siteView(summary: SiteSummary): SiteView {
  const c = summary.capacity;
  const f = summary.free;
  const extended: Record<string, number> = {};
  for (const name in c.extended) extended[name] = (c.extended[name] ?? 0) - (f.extended[name] ?? 0);
  return {
    name: summary.site,
    nodes: summary.nodes,
    ready: summary.readyNodes,
    capacity: c,
    allocated: { cpu: c.cpu - f.cpu, memory: c.memory - f.memory, gpu: c.gpu - f.gpu, extended },
  };
}

/** A node from its spec (the dispatcher's registry) and its actor's live allocations. */
export function nodeView(spec: NodeSpec, live: NodeSnapshot, drain?: { readonly deadline: number | undefined }): NodeView {
  const allocated = { cpu: 0, memory: 0, gpu: 0, extended: {} as Record<string, number> };
  for (const { resources: r } of live.allocations) {
    allocated.cpu += r.cpu;
    allocated.memory += r.memory;
    allocated.gpu += r.gpu;
    for (const name in r.extended) allocated.extended[name] = (allocated.extended[name] ?? 0) + (r.extended[name] ?? 0);
  }
  const view: NodeView = { name: spec.name, site: spec.site, state: live.state, capacity: spec.capacity, allocated, labels: spec.labels, allocations: live.allocations.length };
  return drain ? { ...view, drain: { deadline: drain.deadline ?? null } } : view;
}
