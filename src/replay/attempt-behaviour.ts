/**
 * How a task attempt behaves when the history is re-run: as recorded where the recording knows, by a stated
 * rule where it cannot. The rules, in order:
 *
 * 1. An attempt that started and ended `succeeded` or `failed` runs as long as it ran, and ends the same way
 *    (with its exit code).
 * 2. An attempt that ended in `timeout` runs until its time limit stops it again.
 * 3. An attempt still running when the history stops succeeds after the longer of the time it had run by
 *    then and the fallback length (rule 4): it ran at least that long, and nothing says how much longer.
 *    (Running it forever instead would make a what-if that starts it earlier hold its cpus to the end.)
 * 4. Anything else — an attempt that never started, one `lost` with its node or `killed` by muster (its
 *    natural length is unknown), an attempt the recording does not have (the re-run retries differently) —
 *    succeeds after the **fallback length**: the median of the job's attempts that ran to an end (rule 1);
 *    else its task group's time limit (less 1 ms, so it ends inside the limit instead of racing it); else
 *    the median of every such attempt in the history; else `DEFAULT_ATTEMPT_MS`.
 *
 * Kills (cancels, a gang sibling's failure) and losses (a node's scripted loss) are then the simulation's
 * doing, as they were the scheduler's in the recording.
 */
import type { AttemptBehaviour } from '../scheduler/index.js';
import { attemptKey, type RecordedAttempt, type RecordedJob } from './recording.js';

/** The fallback length when the history has no attempt that ran to an end: one minute, a typical short batch task. */
export const DEFAULT_ATTEMPT_MS = 60_000;

/** How long the attempt ran, if it ran to an end the simulation can reproduce (rule 1). */
function measured(attempt: RecordedAttempt): number | undefined {
  if (attempt.startedAt === undefined || attempt.endedAt === undefined) return undefined;
  return attempt.outcome === 'succeeded' || attempt.outcome === 'failed' ? attempt.endedAt - attempt.startedAt : undefined;
}

export function measuredLengths(job: RecordedJob): number[] {
  const lengths: number[] = [];
  for (const attempt of job.attempts.values()) {
    const ms = measured(attempt);
    if (ms !== undefined) lengths.push(ms);
  }
  return lengths;
}

/** The lower median (an observed value, never an average of two). */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** The time limit of task `task`'s group (tasks are numbered through the groups, element after element). */
function timeLimitOf(job: RecordedJob, task: number): number | undefined {
  const perElement = job.spec.tasks.reduce((sum, g) => sum + g.count, 0);
  let index = perElement > 0 ? task % perElement : 0;
  for (const group of job.spec.tasks) {
    if (index < group.count) return group.timeLimitMs;
    index -= group.count;
  }
  return undefined;
}

export interface HistoryFacts {
  /** When the history stops (rule 3), in window time. */
  readonly endMs: number;
  /** The median length of every attempt of the history that ran to an end (rule 4's third choice). */
  readonly medianMs: number | undefined;
}

/** The behaviour of every attempt of `job`'s tasks. */
export function attemptBehaviour(job: RecordedJob, history: HistoryFacts): (task: number, attempt: number) => AttemptBehaviour {
  const jobMedian = median(measuredLengths(job));
  const fallback = (task: number): number => {
    const limit = timeLimitOf(job, task);
    return jobMedian ?? (limit !== undefined ? Math.max(0, limit - 1) : undefined) ?? history.medianMs ?? DEFAULT_ATTEMPT_MS;
  };
  return (task, attempt) => {
    const recorded = job.attempts.get(attemptKey(task, attempt));
    const ms = recorded && measured(recorded);
    if (recorded && ms !== undefined) {
      const outcome = recorded.outcome === 'failed' ? 'failed' : 'succeeded';
      return { durationMs: ms, outcome, ...(recorded.exitCode !== undefined ? { exitCode: recorded.exitCode } : {}) };
    }
    if (recorded?.outcome === 'timeout') return 'hang';
    if (recorded?.startedAt !== undefined && recorded.endedAt === undefined) {
      return { durationMs: Math.max(history.endMs - recorded.startedAt, fallback(task)), outcome: 'succeeded' };
    }
    return { durationMs: fallback(task), outcome: 'succeeded' };
  };
}
