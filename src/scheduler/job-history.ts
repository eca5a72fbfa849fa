/**
 * Retired jobs, read back from the history: a job that has left the live state (retention.ts) is rebuilt
 * from its own events — the reducer applied to them alone, in a slice of its own — and shown as a job view
 * marked `retired`. The port is one method, so another history (a later PostgreSQL one) can answer the
 * same question from its own tables.
 *
 * On the embedded store, the events of a job are found through the store's history index
 * (src/store/history-index.ts), keyed by job number (`j-N` → N): sidecar files on disk, not memory per job.
 */
import { openHistoryIndex } from '../store/index.js';
import type { Logger } from '../log/index.js';
import { applyEvent } from './apply.js';
import type { SchedulerEvent } from './events.js';
import { jobNumber } from './key-window.js';
import { createState } from './state.js';
import type { JobDetail } from './views.js';
import { jobDetail } from './views.js';

/** Where retired jobs are found. */
export interface JobHistory {
  /** The job as it stood when it left the live state (`retired: true`), or undefined when the history has no record of it. */
  find(job: string): Promise<JobDetail | undefined>;
}

/** The job numbers an event is about (the history index's keys). */
export function jobNumbersOf(event: unknown): number[] {
  const e = event as SchedulerEvent;
  const numbers: number[] = [];
  const add = (id: string): void => {
    const n = jobNumber(id);
    if (n !== undefined) numbers.push(n);
  };
  switch (e?.kind) {
    case 'JobSubmitted':
    case 'JobCancelRequested':
    case 'TaskStarted':
    case 'TaskEnded':
    case 'JobEnded':
      add(e.job);
      break;
    case 'TasksPlaced':
      for (const p of e.placements) add(p.job);
      break;
    case 'TasksPreempted':
      for (const p of e.attempts) add(p.job);
      break;
    case 'JobsRetired':
      for (const id of e.jobs) add(id);
      break;
    default:
      break;
  }
  return numbers;
}

/** A job rebuilt from its own events (in log order), or undefined when they do not start with its submission. */
export function retiredJob(job: string, events: Iterable<SchedulerEvent>): JobDetail | undefined {
  const state = createState(true);
  for (const e of events) {
    if (e.kind === 'JobsRetired' || e.kind === 'KeysExpired') continue;
    if (e.kind === 'TasksPlaced') {
      const placements = e.placements.filter((p) => p.job === job);
      if (placements.length > 0) applyEvent(state, { ...e, placements });
    } else if (e.kind === 'TasksPreempted') {
      const attempts = e.attempts.filter((p) => p.job === job);
      if (attempts.length > 0) applyEvent(state, { ...e, attempts });
    } else if ('job' in e && e.job === job) applyEvent(state, e);
  }
  const record = state.jobs.get(job);
  return record && { ...jobDetail(record), retired: true };
}

/** The history of a store's data folder, through its index. */
export function storeJobHistory(dir: string, log?: Logger): JobHistory {
  const index = openHistoryIndex(dir, { keysOf: jobNumbersOf, ...(log ? { logger: log } : {}) });
  return {
    async find(job) {
      const n = jobNumber(job);
      if (n === undefined) return undefined;
      const stored = await index.lookup(n);
      return retiredJob(
        job,
        stored.map((s) => s.event as SchedulerEvent),
      );
    },
  };
}
