/**
 * What a fault run must show, checked from the tasks' own markers (marker-task.ts), their shims' status
 * files, the job events the server streamed and its final job views. Each check yields findings (a list of
 * what went wrong, empty when all is well), so a test asserts each list is empty and a benchmark counts.
 *
 * - **No task ran twice at once.** Two witnesses, either one is a finding:
 *   - the lock: an attempt that found its task's flock held started while a process of an earlier attempt
 *     was alive (exact: the kernel releases the lock when the last process holding it is gone);
 *   - the intervals: an attempt runs from its start marker until its shim recorded its end (the status
 *     file's mtime: the shim writes it after the task's leader has exited and the rest of its group has been
 *     SIGKILLed, so it is never before the attempt's processes were gone, bar the kernel's coarse file
 *     clock, a few ms), or, with no status, its end marker; a later attempt of the same task that started
 *     inside that interval overlapped it. An attempt with neither is reported apart (`unended`): once
 *     every process of a run is gone, every attempt that started has a recorded end.
 * - **Each attempt ends once**: every attempt the server placed has exactly one `task-ended` event.
 * - **Recorded outcomes are the real ones.** `succeeded` only for an attempt whose shim recorded `exit 0`;
 *   `failed` only with the exit code its shim recorded; `lost` is what the server may say when it cannot
 *   know better: its node was lost (`node N lost`), its agent gave it up at the fence (`fenced: …`, with the
 *   real exit code if it names one), or it was reconciled away; but an attempt that really ended on its
 *   own, unfenced, recorded `lost` for any reason other than its node's loss is a finding (a real outcome
 *   thrown away). `killed` and `timeout` are findings: these runs cancel nothing and set no time limit.
 * - **Every job reaches exactly one terminal state**: one `ended` event, and its view says the same.
 */
import type { JobEvent, JobView } from '../../src/client/index.js';
import type { AttemptRecord } from './marker-task.js';
import { attemptKey } from './marker-task.js';

/** Two attempts of one task seen alive at once. */
export interface DoubleRun {
  readonly job: string;
  readonly task: number;
  readonly earlier?: number;
  readonly later: number;
  readonly by: 'lock' | 'interval';
  /** For `interval`: how long they overlapped, in ms. */
  readonly overlapMs?: number;
}

export interface Findings {
  readonly doubleRuns: readonly DoubleRun[];
  /** Distinct tasks (job#task) in `doubleRuns`: the benchmark's `double-runs`. */
  readonly tasksRunTwice: number;
  readonly unended: readonly string[];
  readonly endsPerAttempt: readonly string[];
  readonly wrongOutcomes: readonly string[];
  readonly notTerminal: readonly string[];
  /** Not findings, for the report: attempts whose real end was recorded as the agent's fence. */
  readonly realEndsRecordedFenced: number;
}

const NODE_LOST = /^node \S+ lost$/;
const FENCED = 'fenced:';

/**
 * The attempt's real end, as its shim recorded it; without a shim status (an agent that runs no shims),
 * as its end marker says (a task killed between writing it and exiting would be misread: with shims, never).
 */
function realEnd(a: AttemptRecord | undefined): { exit?: number; signal?: number; fenced: boolean } | undefined {
  if (!a?.shim) return a?.end ? { exit: a.end.code, fenced: false } : undefined;
  const [word, n] = a.shim.status.split(' ');
  if (word === 'exit') return { exit: Number(n), fenced: a.shim.fenced };
  if (word === 'signal') return { signal: Number(n), fenced: a.shim.fenced };
  return { fenced: a.shim.fenced };
}

function endNs(a: AttemptRecord): bigint | undefined {
  return a.shim?.atNs ?? a.end?.atNs;
}

export function findDoubleRuns(attempts: readonly AttemptRecord[]): { doubleRuns: DoubleRun[]; unended: string[] } {
  const byTask = new Map<string, AttemptRecord[]>();
  for (const a of attempts) {
    const key = `${a.job}#${a.task}`;
    byTask.set(key, [...(byTask.get(key) ?? []), a]);
  }
  const doubleRuns: DoubleRun[] = [];
  const unended: string[] = [];
  for (const list of byTask.values()) {
    list.sort((x, y) => (x.startNs < y.startNs ? -1 : x.startNs > y.startNs ? 1 : 0));
    list.forEach((later, j) => {
      const earlier = list.slice(0, j).filter((e) => {
        const end = endNs(e);
        return end !== undefined && later.startNs < end;
      });
      if (later.overlapAtStart) {
        doubleRuns.push({ job: later.job, task: later.task, ...(earlier[0] ? { earlier: earlier[0].attempt } : {}), later: later.attempt, by: 'lock' });
      }
      for (const e of earlier) {
        doubleRuns.push({ job: e.job, task: e.task, earlier: e.attempt, later: later.attempt, by: 'interval', overlapMs: Number(endNs(e)! - later.startNs) / 1e6 });
      }
    });
    for (const a of list) if (endNs(a) === undefined) unended.push(`${attemptKey(a)} (pid ${a.pid} on ${a.node}) has no end marker and no shim status`);
  }
  return { doubleRuns, unended };
}

/** Whether the recorded end `e` of attempt `a` is one the server may record; a finding's text if not. */
function outcomeProblem(e: JobEvent, a: AttemptRecord | undefined): string | undefined {
  const real = realEnd(a);
  const said = `${e.outcome}${e.exitCode !== undefined ? ` ${e.exitCode}` : ''}${e.reason ? ` (${e.reason})` : ''}`;
  const was = real === undefined ? 'no end recorded by a shim or a marker' : real.exit !== undefined ? `exit ${real.exit}${real.fenced ? ' fenced' : ''}` : real.signal !== undefined ? `signal ${real.signal}${real.fenced ? ' fenced' : ''}` : a?.shim?.status;
  const wrong = `${attemptKey(e as { job: string; task: number; attempt: number })} on ${e.node}: recorded ${said}, really ${was}`;
  switch (e.outcome) {
    case 'succeeded':
      return real?.exit === 0 && !real.fenced ? undefined : wrong;
    case 'failed':
      return e.exitCode !== undefined && real?.exit === e.exitCode && !real.fenced ? undefined : wrong;
    case 'lost': {
      const reason = e.reason ?? '';
      if (NODE_LOST.test(reason)) return undefined;
      if (reason.startsWith(FENCED)) return e.exitCode === undefined || e.exitCode === real?.exit ? undefined : wrong;
      const endedOnItsOwn = real !== undefined && real.exit !== undefined && !real.fenced;
      return endedOnItsOwn ? wrong : undefined;
    }
    default:
      return wrong;
  }
}

export function findings(attempts: readonly AttemptRecord[], events: readonly JobEvent[], jobs: ReadonlyMap<string, JobView>): Findings {
  const { doubleRuns, unended } = findDoubleRuns(attempts);
  const byAttempt = new Map(attempts.map((a) => [attemptKey(a), a]));
  const ends = new Map<string, JobEvent[]>();
  const placed = new Set<string>();
  const jobEnds = new Map<string, JobEvent[]>();
  for (const e of events) {
    if (e.type === 'placed') placed.add(attemptKey(e as { job: string; task: number; attempt: number }));
    if (e.type === 'task-ended') {
      const key = attemptKey(e as { job: string; task: number; attempt: number });
      ends.set(key, [...(ends.get(key) ?? []), e]);
    }
    if (e.type === 'ended') jobEnds.set(e.job, [...(jobEnds.get(e.job) ?? []), e]);
  }
  const endsPerAttempt: string[] = [];
  for (const key of new Set([...placed, ...byAttempt.keys()])) {
    const n = ends.get(key)?.length ?? 0;
    if (n !== 1) endsPerAttempt.push(`${key}: ${n} task-ended events${n > 1 ? `: ${ends.get(key)!.map((e) => `${e.outcome} (${e.reason ?? ''})`).join(', ')}` : ''}`);
  }
  const wrongOutcomes: string[] = [];
  let realEndsRecordedFenced = 0;
  for (const [key, list] of ends) {
    const a = byAttempt.get(key);
    for (const e of list) {
      const problem = outcomeProblem(e, a);
      if (problem) wrongOutcomes.push(problem);
      const real = realEnd(a);
      if (e.outcome === 'lost' && e.reason?.startsWith(FENCED) && real?.exit !== undefined && !real.fenced) realEndsRecordedFenced++;
    }
  }
  const notTerminal: string[] = [];
  for (const [id, view] of jobs) {
    const ended = jobEnds.get(id) ?? [];
    if (ended.length !== 1) notTerminal.push(`${id} (${view.name}): ${ended.length} ended events`);
    else if (view.status !== ended[0]!.outcome) notTerminal.push(`${id} (${view.name}): ended ${ended[0]!.outcome} but its view says ${view.status}`);
    if (view.status !== 'succeeded' && view.status !== 'failed') notTerminal.push(`${id} (${view.name}): ${view.status}`);
  }
  return {
    doubleRuns,
    tasksRunTwice: new Set(doubleRuns.map((d) => `${d.job}#${d.task}`)).size,
    unended,
    endsPerAttempt,
    wrongOutcomes,
    notTerminal,
    realEndsRecordedFenced,
  };
}
