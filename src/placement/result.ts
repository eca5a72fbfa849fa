/**
 * The answer of one place() call, as the kernel writes it: one flat Int32Array, the same on every
 * backend, so decisions compare with one array comparison.
 *
 *   [job 0: status, failedGroup, reasons×7] … [job n−1 …] [node of each task of job 0] [… of job 1] …
 *
 * status 0 placed, 1 partial (some tasks of a non-gang job), 2 unplaced. failedGroup is the task group of
 * the first task that found no node (−1 when all were placed); the reasons are counted for that task.
 */
import { JOB_OUT } from './limits.js';
import type { JobStatus, PlacementRequest, ReasonCounts } from './types.js';
import { REASONS } from './types.js';

const STATUS: readonly JobStatus[] = ['placed', 'partial', 'unplaced'];

export interface JobOutcome {
  readonly status: JobStatus;
  /** Node of each task, in group order; −1 for a task not placed. */
  readonly nodes: readonly number[];
  /** Present when some task was not placed. */
  readonly failedGroup?: number;
  readonly reasons?: ReasonCounts;
}

export class PlacementResult {
  readonly data: Int32Array;
  readonly jobCount: number;
  /** Index of each job's first task among the batch's tasks (jobCount + 1 entries). */
  readonly taskStart: Int32Array;

  constructor(data: Int32Array, jobCount: number, taskStart: Int32Array) {
    this.data = data;
    this.jobCount = jobCount;
    this.taskStart = taskStart;
  }

  /** The answer of a call that placed nothing (a site without its table): every job unplaced, no reason counted. */
  static nothingPlaced(requests: readonly PlacementRequest[]): PlacementResult {
    const taskStart = new Int32Array(requests.length + 1);
    requests.forEach((r, j) => (taskStart[j + 1] = taskStart[j]! + r.tasks.reduce((n, g) => n + g.count, 0)));
    const data = new Int32Array(requests.length * JOB_OUT + taskStart[requests.length]!);
    for (let j = 0; j < requests.length; j++) data[j * JOB_OUT] = STATUS.indexOf('unplaced');
    data.fill(-1, requests.length * JOB_OUT);
    return new PlacementResult(data, requests.length, taskStart);
  }

  status(job: number): JobStatus {
    return STATUS[this.data[job * JOB_OUT] ?? 0] ?? 'unplaced';
  }

  /** Node of each task of the job (a view, not a copy). */
  nodes(job: number): Int32Array {
    const base = this.jobCount * JOB_OUT;
    return this.data.subarray(base + (this.taskStart[job] ?? 0), base + (this.taskStart[job + 1] ?? 0));
  }

  /** The task group of the job's first task that found no node (−1 when all were placed). */
  failedGroup(job: number): number {
    return this.data[job * JOB_OUT + 1] ?? -1;
  }

  reasons(job: number): ReasonCounts | undefined {
    if (this.status(job) === 'placed') return undefined;
    const at = job * JOB_OUT + 2;
    const counts = {} as Record<(typeof REASONS)[number], number>;
    REASONS.forEach((name, i) => (counts[name] = this.data[at + i] ?? 0));
    return counts;
  }

  /** Tasks placed over the whole batch. */
  placedTasks(): number {
    let placed = 0;
    for (let i = this.jobCount * JOB_OUT; i < this.data.length; i++) if ((this.data[i] ?? -1) >= 0) placed++;
    return placed;
  }

  job(job: number): JobOutcome {
    const status = this.status(job);
    const nodes = Array.from(this.nodes(job));
    if (status === 'placed') return { status, nodes };
    return { status, nodes, failedGroup: this.failedGroup(job), reasons: this.reasons(job) as ReasonCounts };
  }

  jobs(): JobOutcome[] {
    return Array.from({ length: this.jobCount }, (_, j) => this.job(j));
  }

  /** Same decisions (every status, reason count and node). */
  equals(other: PlacementResult): boolean {
    if (other.data.length !== this.data.length) return false;
    for (let i = 0; i < this.data.length; i++) if (this.data[i] !== other.data[i]) return false;
    return true;
  }

  /** Index of the first differing int32, or −1: for test failure messages. */
  firstDifference(other: PlacementResult): number {
    const n = Math.max(this.data.length, other.data.length);
    for (let i = 0; i < n; i++) if (this.data[i] !== other.data[i]) return i;
    return -1;
  }
}
