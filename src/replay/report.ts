/**
 * The report of one run (the recording, or a simulation of it): what happened over a window of time.
 * `ReportBuilder` watches the events as the reducer applies them and reads the state after each; the same
 * builder serves the recorded history and both simulated runs, so their reports compare like for like.
 *
 * - jobs by status at the window's end (succeeded, failed, cancelled, running, placed, pending);
 * - per queue: jobs submitted, the wait from submission to the job's first task running (p50, p90, max,
 *   over the jobs that started), and the cpu the queue held (placed and running tasks) integrated over
 *   time, with its share of all queues' cpu·time;
 * - per site: nodes joined, nodes that ever held an allocation, busy nodes (holding at least one
 *   allocation) on average over time, and cpu utilisation (allocated ÷ offered) per time bucket and
 *   overall. A node offers its capacity while `ready` or `suspect`; while `draining`, only the cpu it still
 *   holds (it takes no new work, so an idle draining node is not idle capacity); `lost` or `down`, nothing.
 */
import { assertNever } from '../actors/index.js';
import type { NodeState } from '../model/index.js';
import type { JobStatus, SchedulerEvent, SchedulerState } from '../scheduler/index.js';
import { StepSeries } from './step-series.js';

/** Job statuses in report order: outcomes first, then the work still going on. */
export const REPORT_STATUSES = ['succeeded', 'failed', 'cancelled', 'running', 'placed', 'pending'] as const satisfies readonly JobStatus[];

/** Node states whose whole capacity is offered. A draining node offers only what it still runs; lost or down, nothing. */
const OFFERING: ReadonlySet<NodeState> = new Set(['ready', 'suspect']);

export interface WaitStats {
  /** Jobs that had a task running within the window. */
  readonly count: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly maxMs: number;
}

export interface QueueReport {
  readonly queue: string;
  readonly submitted: number;
  /** Undefined when no job of the queue started. */
  readonly wait: WaitStats | undefined;
  /** The cpu the queue held, integrated over the window, in millicore·ms. */
  readonly cpuTime: number;
  /** `cpuTime` ÷ all queues' cpuTime; undefined when no queue held any cpu. */
  readonly share: number | undefined;
}

export interface SiteReport {
  readonly site: string;
  readonly nodes: number;
  /** Nodes that held at least one allocation at some time. */
  readonly nodesUsed: number;
  /** Nodes holding at least one allocation, on average over the window. */
  readonly busyNodes: number | undefined;
  /** Allocated cpu ÷ offered cpu per bucket; undefined where the site offered nothing. */
  readonly utilisation: readonly (number | undefined)[];
  /** The same over the whole window. */
  readonly meanUtilisation: number | undefined;
}

export interface ReplayReport {
  readonly windowMs: number;
  readonly buckets: number;
  readonly jobs: Readonly<Record<(typeof REPORT_STATUSES)[number], number>>;
  /** By queue name. */
  readonly queues: readonly QueueReport[];
  /** By site name. */
  readonly sites: readonly SiteReport[];
}

interface NodeView {
  readonly site: string;
  readonly allocated: number;
  readonly offered: number;
  readonly busy: number;
}

export class ReportBuilder {
  /** Times in events minus this are the window's times (the window starts at 0). */
  readonly #origin: number;
  readonly #allocated = new StepSeries();
  readonly #offered = new StepSeries();
  readonly #busy = new StepSeries();
  readonly #queueCpu = new StepSeries();
  readonly #nodes = new Map<string, NodeView>();
  readonly #used = new Map<string, Set<string>>();
  readonly #started = new Set<string>();
  readonly #waits = new Map<string, number[]>();
  /** Jobs retired from the state before the end (retention): counted here, as the state no longer holds them. */
  readonly #retired = new Map<string, { status: (typeof REPORT_STATUSES)[number]; queue: string; count: number }>();

  constructor(origin: number) {
    this.#origin = origin;
  }

  /** Call after the reducer has applied `e` to `state`. */
  observe(e: SchedulerEvent, state: SchedulerState): void {
    const at = e.at - this.#origin;
    switch (e.kind) {
      case 'NodeJoined':
        this.#refreshNode(e.node.name, state, at);
        break;
      case 'NodeStateChanged':
        this.#refreshNode(e.node, state, at);
        break;
      case 'TasksPlaced':
        for (const p of e.placements) {
          this.#refreshNode(p.node, state, at);
          this.#refreshQueue(p.job, state, at);
          const site = state.nodes.get(p.node)?.spec.site;
          if (site !== undefined) this.#usedIn(site).add(p.node);
        }
        break;
      case 'TaskEnded':
        this.#refreshNode(e.node, state, at);
        this.#refreshQueue(e.job, state, at);
        break;
      case 'TaskStarted': {
        const job = state.jobs.get(e.job);
        if (!job || this.#started.has(e.job)) break;
        this.#started.add(e.job);
        const waits = this.#waits.get(job.spec.queue);
        if (waits) waits.push(e.at - job.submittedAt);
        else this.#waits.set(job.spec.queue, [e.at - job.submittedAt]);
        break;
      }
      case 'QueueDefined':
      case 'QueueDeleted':
      case 'NodeDrainRequested':
      case 'NodeUndrained':
      case 'JobHeld':
      case 'JobReleased':
      case 'JobSubmitted':
      case 'JobCancelRequested':
      case 'JobEnded':
      case 'JobsRetired':
      case 'KeysExpired':
      // A preempted attempt holds its node until its end (TaskEnded) is recorded.
      case 'TasksPreempted':
        break; // no quantity the report integrates changes (jobs are counted from the state at the end)
      default:
        assertNever(e);
    }
  }

  /** Call before the reducer applies a `JobsRetired`: the jobs it takes out of the state still count. */
  retiring(e: Extract<SchedulerEvent, { kind: 'JobsRetired' }>, state: SchedulerState): void {
    for (const id of e.jobs) {
      const job = state.jobs.get(id);
      if (!job) continue;
      const key = `${job.status}\u0000${job.spec.queue}`;
      const tally = this.#retired.get(key);
      if (tally) tally.count++;
      else this.#retired.set(key, { status: job.status, queue: job.spec.queue, count: 1 });
    }
  }

  /** The report over [0, `windowMs`] in `buckets` equal buckets, from the state at the window's end. */
  finish(state: SchedulerState, windowMs: number, buckets: number): ReplayReport {
    const jobs = Object.fromEntries(REPORT_STATUSES.map((s) => [s, 0])) as Record<(typeof REPORT_STATUSES)[number], number>;
    const submitted = new Map<string, number>();
    for (const job of state.jobs.values()) {
      jobs[job.status]++;
      submitted.set(job.spec.queue, (submitted.get(job.spec.queue) ?? 0) + 1);
    }
    for (const { status, queue, count } of this.#retired.values()) {
      jobs[status] += count;
      submitted.set(queue, (submitted.get(queue) ?? 0) + count);
    }
    const queueNames = [...new Set([...state.queues.keys(), ...submitted.keys()])].sort();
    const cpuTimes = queueNames.map((q) => this.#queueCpu.integrate(q, 0, windowMs, 1).total);
    const allCpu = cpuTimes.reduce((sum, v) => sum + v, 0);
    const queues = queueNames.map((queue, i): QueueReport => {
      const cpuTime = cpuTimes[i] as number;
      return { queue, submitted: submitted.get(queue) ?? 0, wait: waitStats(this.#waits.get(queue)), cpuTime, share: allCpu > 0 ? cpuTime / allCpu : undefined };
    });
    const nodesPerSite = new Map<string, number>();
    for (const node of state.nodes.values()) nodesPerSite.set(node.spec.site, (nodesPerSite.get(node.spec.site) ?? 0) + 1);
    const sites = [...nodesPerSite.keys()].sort().map((site): SiteReport => {
      const allocated = this.#allocated.integrate(site, 0, windowMs, buckets);
      const offered = this.#offered.integrate(site, 0, windowMs, buckets);
      const busy = this.#busy.integrate(site, 0, windowMs, 1);
      return {
        site,
        nodes: nodesPerSite.get(site) ?? 0,
        nodesUsed: this.#used.get(site)?.size ?? 0,
        busyNodes: windowMs > 0 ? busy.total / windowMs : undefined,
        utilisation: allocated.buckets.map((a, b) => ratio(a, offered.buckets[b] ?? 0)),
        meanUtilisation: ratio(allocated.total, offered.total),
      };
    });
    return { windowMs, buckets, jobs, queues, sites };
  }

  #usedIn(site: string): Set<string> {
    let used = this.#used.get(site);
    if (!used) this.#used.set(site, (used = new Set()));
    return used;
  }

  /** Moves the node's contribution to its site's totals to what the state now says. */
  #refreshNode(name: string, state: SchedulerState, at: number): void {
    const node = state.nodes.get(name);
    if (!node) return;
    const before = this.#nodes.get(name);
    const after: NodeView = {
      site: node.spec.site,
      allocated: node.allocated.cpu,
      offered: OFFERING.has(node.state) ? node.spec.capacity.cpu : node.state === 'draining' ? node.allocated.cpu : 0,
      busy: node.allocations.size > 0 ? 1 : 0,
    };
    this.#nodes.set(name, after);
    for (const [series, field] of [
      [this.#allocated, 'allocated'],
      [this.#offered, 'offered'],
      [this.#busy, 'busy'],
    ] as const) {
      if (before) series.set(before.site, series.get(before.site) - before[field], at);
      series.set(after.site, series.get(after.site) + after[field], at);
    }
  }

  #refreshQueue(job: string, state: SchedulerState, at: number): void {
    const queue = state.jobs.get(job)?.spec.queue;
    if (queue !== undefined) this.#queueCpu.set(queue, state.queues.get(queue)?.usage.cpu ?? 0, at);
  }
}

function ratio(part: number, whole: number): number | undefined {
  return whole > 0 ? part / whole : undefined;
}

/** Nearest-rank percentiles: the smallest wait at or above the fraction `p` of the sorted waits. */
function waitStats(waits: readonly number[] | undefined): WaitStats | undefined {
  if (!waits || waits.length === 0) return undefined;
  const sorted = [...waits].sort((a, b) => a - b);
  const rank = (p: number): number => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] as number;
  return { count: sorted.length, p50Ms: rank(0.5), p90Ms: rank(0.9), maxMs: sorted[sorted.length - 1] as number };
}
