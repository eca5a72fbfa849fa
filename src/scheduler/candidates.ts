/**
 * Candidates: the placeable work of a job right now, as one placement request. The dispatcher asks queues
 * for candidates, orders them by fair share, and sends them to sites.
 *
 * - A gang element is one candidate, offered only when all its tasks are pending and past their backoff.
 * - A distinctNodes element is one candidate (its tasks must land on different nodes).
 * - Otherwise tasks are independent: one candidate carries up to MAX_CANDIDATE_TASKS pending tasks of the job,
 *   across elements, grouped by task group, so a large array flows in few requests.
 */
import type { Resources } from '../model/index.js';
import type { PlacementRequest, TaskRequest } from '../placement/index.js';
import type { JobRecord } from './state.js';

/**
 * Most tasks in one candidate of independent tasks: large enough that an array of a million flows in few
 * requests per cycle, small enough that one job cannot fill a whole cycle's batch alone.
 */
export const MAX_CANDIDATE_TASKS = 256;

export interface Candidate {
  readonly queue: string;
  readonly job: string;
  /** Task indexes, in the order of the request's groups (the order of the placement result's nodes). */
  readonly tasks: readonly number[];
  /** The attempt number each task gets if placed now (same order as `tasks`). */
  readonly attempts: readonly number[];
  readonly request: PlacementRequest;
  /** Sum of the resources of all the candidate's tasks. */
  readonly demand: Resources;
  /** Sites the job allows; empty means any. */
  readonly sites: readonly string[];
  /** The longest time limit of its tasks (ms), Infinity when one has none: how long it may hold what it takes. */
  readonly runsFor: number;
}

/** The longest time limit of the job's task groups, Infinity when one has none (interned specs: kept per spec). */
const runsForOf = new WeakMap<JobRecord['spec'], number>();
function runsFor(spec: JobRecord['spec']): number {
  let ms = runsForOf.get(spec);
  if (ms === undefined) {
    ms = 0;
    for (const g of spec.tasks) ms = Math.max(ms, g.timeLimitMs ?? Infinity);
    runsForOf.set(spec, ms);
  }
  return ms;
}

function sumDemand(groups: readonly TaskRequest[]): Resources {
  const d = { cpu: 0, memory: 0, gpu: 0, extended: {} as Record<string, number> };
  for (const g of groups) {
    d.cpu += g.resources.cpu * g.count;
    d.memory += g.resources.memory * g.count;
    d.gpu += g.resources.gpu * g.count;
    for (const name in g.resources.extended) d.extended[name] = (d.extended[name] ?? 0) + (g.resources.extended[name] ?? 0) * g.count;
  }
  return d;
}

function groupIndex(job: JobRecord, task: number): number {
  let k = task % job.perElement;
  const groups = job.spec.tasks;
  for (let g = 0; g < groups.length; g++) {
    const count = groups[g]?.count ?? 0;
    if (k < count) return g;
    k -= count;
  }
  return groups.length - 1;
}

function build(job: JobRecord, tasks: number[]): Candidate {
  const groups = job.spec.tasks;
  if (groups.length === 1) return buildOneGroup(job, tasks);
  // Order the tasks by group, keeping index order inside a group, and count them per group.
  const byGroup: number[][] = groups.map(() => []);
  for (const t of tasks) byGroup[groupIndex(job, t)]?.push(t);
  const taskRequests: TaskRequest[] = [];
  const ordered: number[] = [];
  byGroup.forEach((list, g) => {
    if (list.length === 0) return;
    taskRequests.push({ count: list.length, resources: (groups[g] ?? groups[0])!.resources });
    ordered.push(...list);
  });
  const spec = job.spec;
  const request: PlacementRequest = {
    tasks: taskRequests,
    selectors: spec.constraints.selectors,
    strategy: spec.strategy,
    distinctNodes: spec.distinctNodes,
    gang: spec.gang,
  };
  const attempts = ordered.map((t) => (job.tasks[t]?.attempt ?? 0) + 1);
  return { queue: spec.queue, job: job.id, tasks: ordered, attempts, request, demand: sumDemand(taskRequests), sites: spec.constraints.sites, runsFor: runsFor(spec) };
}

export interface CandidateScan {
  readonly candidates: Candidate[];
  /** Where the next scan may start: every task before it is not pending. */
  readonly next: number;
  /** Earliest backoff end among the pending tasks passed over, or Infinity. */
  readonly wakeAt: number;
}

/** The common case, one task group: no regrouping, fewer arrays (this runs for every candidate). */
function buildOneGroup(job: JobRecord, tasks: number[]): Candidate {
  const spec = job.spec;
  const r = spec.tasks[0]!.resources;
  const n = tasks.length;
  const attempts = new Array<number>(n);
  for (let i = 0; i < n; i++) attempts[i] = (job.tasks[tasks[i]!]?.attempt ?? 0) + 1;
  const request: PlacementRequest = {
    tasks: [{ count: n, resources: r }],
    selectors: spec.constraints.selectors,
    strategy: spec.strategy,
    distinctNodes: spec.distinctNodes,
    gang: spec.gang,
  };
  const demand = n === 1 ? r : { cpu: r.cpu * n, memory: r.memory * n, gpu: r.gpu * n, extended: scaleExtended(r.extended, n) };
  return { queue: spec.queue, job: job.id, tasks, attempts, request, demand, sites: spec.constraints.sites, runsFor: runsFor(spec) };
}

function scaleExtended(e: Readonly<Record<string, number>>, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name in e) out[name] = (e[name] ?? 0) * n;
  return out;
}

/**
 * The job's candidates at time `now`, at most `max`, scanning tasks from `from` (a cursor the caller keeps
 * per job, so a large array is not rescanned from its start every cycle; it must be moved back when a task
 * before it becomes pending again).
 */
export function candidatesOf(job: JobRecord, now: number, max: number, from = 0): CandidateScan {
  const out: Candidate[] = [];
  const spec = job.spec;
  const per = job.perElement;
  let next = -1;
  let wakeAt = Infinity;
  if (spec.gang || spec.distinctNodes) {
    for (let first = from - (from % per); first < job.tasks.length && out.length < max; first += per) {
      const tasks: number[] = [];
      let waiting = false;
      for (let t = first; t < first + per; t++) {
        const task = job.tasks[t]!;
        if (task.state !== 'pending') continue;
        if (task.notBefore <= now) tasks.push(t);
        else {
          waiting = true;
          wakeAt = Math.min(wakeAt, task.notBefore);
        }
      }
      if (next < 0 && (tasks.length > 0 || waiting)) next = first;
      // A gang element goes whole: every task pending and past its backoff.
      if (spec.gang ? tasks.length === per : tasks.length > 0) out.push(build(job, tasks));
    }
    return { candidates: out, next: next < 0 ? job.tasks.length : next, wakeAt };
  }
  let tasks: number[] = [];
  let t = from;
  for (; t < job.tasks.length && out.length < max; t++) {
    const task = job.tasks[t]!;
    if (task.state !== 'pending') continue;
    if (next < 0) next = t;
    if (task.notBefore > now) {
      wakeAt = Math.min(wakeAt, task.notBefore);
      continue;
    }
    tasks.push(t);
    if (tasks.length === MAX_CANDIDATE_TASKS) {
      out.push(build(job, tasks));
      tasks = [];
    }
  }
  if (tasks.length > 0 && out.length < max) out.push(build(job, tasks));
  return { candidates: out, next: next < 0 ? t : next, wakeAt };
}

/**
 * The first `k` tasks of a candidate of independent tasks from one group (k ≥ 1), or undefined when the
 * candidate cannot be cut (a gang, distinct nodes, several groups).
 */
export function firstTasks(c: Candidate, k: number): Candidate | undefined {
  const group = c.request.tasks[0];
  if (c.request.gang || c.request.distinctNodes || c.request.tasks.length !== 1 || !group || k < 1 || k >= c.tasks.length) return undefined;
  const tasks = [{ count: k, resources: group.resources }];
  return { ...c, tasks: c.tasks.slice(0, k), attempts: c.attempts.slice(0, k), request: { ...c.request, tasks }, demand: sumDemand(tasks) };
}
