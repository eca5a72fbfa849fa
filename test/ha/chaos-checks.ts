/**
 * What the chaos run (chaos-run.ts) must show at its end, as one pure function of what it recorded: the
 * submitter's acknowledgements, the final job views read from the last leader, the durable log as an
 * observer followed it from etcd (chaos-log.ts), the marker tasks' own records (test/faults/marker-task.ts)
 * and the epochs the agents were told at registration. Each check yields a list of findings (empty when all
 * is well), so the test asserts each list is empty and `npm run chaos` prints them.
 *
 * - **No acknowledged job lost**: every acknowledged key names exactly one job on the final leader, with the
 *   acknowledged id; resubmitting the key gives that id back, `existing`; no key was ever acknowledged with
 *   two ids.
 * - **No start under a stale epoch**: per node, in the order the agent carried its starts out, the start's
 *   epoch (MUSTER_EPOCH, written in the start marker) never goes down, and is never below an epoch the agent
 *   was told at an earlier registration. The order is the attempt folder's birth time (the executor makes it
 *   right after accepting the start, before the process exists), or the marker's clock where the file system
 *   keeps no birth time.
 * - **No task with two attempts alive at once**: test/faults' witnesses (the task's flock, the attempts'
 *   intervals: `findDoubleRuns`), and every attempt that started has a recorded end.
 * - **Every job terminal exactly once**: its final view is `succeeded` or `failed`, the one its design calls
 *   for; the log holds exactly one `JobEnded` for it, with that outcome; every attempt the log placed ended
 *   exactly once there.
 * - **No task rescheduled because of a failover alone**: there are no agent faults in this campaign, so every
 *   attempt after a task's first must follow a previous attempt that failed on its own with the job's
 *   designed exit code (the marker job's failing first attempt): in the log (the previous `TaskEnded` is
 *   `failed` with that code), in the markers (the previous attempt's end marker has that code), and in the
 *   final view (attempts and failures are what the design makes them). Every recorded end is a real one:
 *   `succeeded` or `failed` with the exit code the marker wrote; `lost`, `killed` or `timeout` can only come
 *   from a fault this campaign does not inject.
 * - **The log itself**: the observer saw every event once and in order (no reload from a snapshot, no seq
 *   jump), and the epochs of the writers never go down along it (a deposed leader wrote nothing after a newer
 *   one).
 */
import { findDoubleRuns } from '../faults/findings.js';
import type { DoubleRun } from '../faults/findings.js';
import type { AttemptRecord, MarkerJob } from '../faults/marker-task.js';
import { attemptKey } from '../faults/marker-task.js';
import type { LogFacts } from './chaos-log.js';

/** A job as the final leader shows it (its detail view, reduced). */
export interface FinalJob {
  readonly id: string;
  readonly name?: string;
  readonly status: string;
  readonly tasks: readonly { readonly index: number; readonly attempt: number; readonly failures: number }[];
}

/** What a resubmission of an acknowledged key was answered. */
export interface Resubmitted {
  readonly ok: boolean;
  readonly job?: string;
  readonly existing?: boolean;
}

/** An agent's `registered` log line: the epoch it was told, and when (its log's clock, ms). */
export interface Registration {
  readonly node: string;
  readonly epoch: number;
  readonly atMs: number;
}

/** A start the agent carried out: its marker record, and when the agent accepted it (ns, wall clock). */
export interface CarriedStart {
  readonly attempt: AttemptRecord;
  readonly acceptedNs: bigint;
}

export interface ChaosRecords {
  /** Key → the id acknowledged for it. */
  readonly acked: ReadonlyMap<string, string>;
  /** Keys the submitter saw acknowledged with two ids. */
  readonly ackConflicts: readonly string[];
  /** Key → how the job was designed (sleep, exit code of its first attempt to end, retries, tasks). */
  readonly designs: ReadonlyMap<string, MarkerJob>;
  /** Every job the final leader lists. */
  readonly jobs: readonly FinalJob[];
  /** Key → the answer to submitting it again after the run. */
  readonly resubmitted: ReadonlyMap<string, Resubmitted>;
  readonly starts: readonly CarriedStart[];
  readonly registrations: readonly Registration[];
  readonly log: LogFacts;
}

export interface ChaosFindings {
  readonly ackedLost: readonly string[];
  readonly duplicateKeys: readonly string[];
  readonly resubmitChanged: readonly string[];
  readonly ackConflicts: readonly string[];
  readonly staleStarts: readonly string[];
  readonly doubleRuns: readonly DoubleRun[];
  readonly unended: readonly string[];
  readonly notTerminal: readonly string[];
  readonly endedNotOnce: readonly string[];
  readonly attemptEnds: readonly string[];
  readonly unexplainedRetries: readonly string[];
  readonly unrealEnds: readonly string[];
  readonly logProblems: readonly string[];
}

/** The first attempt of a task is attempt 1 (a pending task is at 0). */
const FIRST_ATTEMPT = 1;
const TERMINAL = new Set(['succeeded', 'failed']);

/** What the design makes of a task: its final attempt number, its failures, and its job's outcome. */
export function expectedTask(design: MarkerJob): { attempt: number; failures: number; status: 'succeeded' | 'failed' } {
  if (design.exitCode === 0) return { attempt: FIRST_ATTEMPT, failures: 0, status: 'succeeded' };
  if (design.retries === 0) return { attempt: FIRST_ATTEMPT, failures: 1, status: 'failed' };
  return { attempt: FIRST_ATTEMPT + 1, failures: 1, status: 'succeeded' };
}

const byTime = <T>(at: (x: T) => bigint) => (a: T, b: T): number => (at(a) < at(b) ? -1 : at(a) > at(b) ? 1 : 0);

function checkAcks(r: ChaosRecords): Pick<ChaosFindings, 'ackedLost' | 'duplicateKeys' | 'resubmitChanged'> {
  const byKey = new Map<string, string[]>();
  for (const job of r.jobs) if (job.name !== undefined) byKey.set(job.name, [...(byKey.get(job.name) ?? []), job.id]);
  const ackedLost = [...r.acked]
    .filter(([key, id]) => byKey.get(key)?.length !== 1 || byKey.get(key)![0] !== id)
    .map(([key, id]) => `${key} acknowledged as ${id}: the final leader lists ${JSON.stringify(byKey.get(key) ?? [])}`);
  const duplicateKeys = [...byKey].filter(([, ids]) => ids.length > 1).map(([key, ids]) => `${key} names ${ids.join(', ')}`);
  const resubmitChanged = [...r.acked]
    .filter(([key, id]) => {
      const again = r.resubmitted.get(key);
      return !(again?.ok === true && again.existing === true && again.job === id);
    })
    .map(([key, id]) => `${key} → ${id}: resubmitted, ${JSON.stringify(r.resubmitted.get(key) ?? 'not answered')}`);
  return { ackedLost, duplicateKeys, resubmitChanged };
}

function checkEpochs(r: ChaosRecords): string[] {
  const found: string[] = [];
  const nodes = new Set([...r.starts.map((s) => s.attempt.node), ...r.registrations.map((g) => g.node)]);
  for (const node of nodes) {
    type Seen = { at: bigint; epoch: number | undefined; what: string; start: boolean };
    const seen: Seen[] = [
      ...r.registrations.filter((g) => g.node === node).map((g): Seen => ({ at: BigInt(g.atMs) * 1_000_000n, epoch: g.epoch, what: `registered under epoch ${g.epoch}`, start: false })),
      ...r.starts.filter((s) => s.attempt.node === node).map((s): Seen => ({ at: s.acceptedNs, epoch: s.attempt.epoch, what: `start of ${attemptKey(s.attempt)}`, start: true })),
    ];
    // A registration and a start at the same instant: the registration first (the stricter reading).
    seen.sort((a, b) => byTime<Seen>((x) => x.at)(a, b) || Number(a.start) - Number(b.start));
    let newest: Seen | undefined;
    for (const s of seen) {
      if (s.epoch === undefined) {
        found.push(`${node}: ${s.what} carries no epoch (MUSTER_EPOCH unset: an agent built before it?)`);
        continue;
      }
      if (s.start && newest?.epoch !== undefined && s.epoch < newest.epoch) {
        found.push(`${node}: ${s.what} under epoch ${s.epoch}, after it had seen epoch ${newest.epoch} (${newest.what}, ${Number(s.at - newest.at) / 1e6} ms before)`);
      }
      if (newest?.epoch === undefined || s.epoch > newest.epoch) newest = s;
    }
  }
  return found;
}

function checkTerminal(r: ChaosRecords): Pick<ChaosFindings, 'notTerminal' | 'endedNotOnce' | 'attemptEnds'> {
  const notTerminal: string[] = [];
  const endedNotOnce: string[] = [];
  const attemptEnds: string[] = [];
  const jobEnds = new Map<string, string[]>();
  for (const e of r.log.jobEnded) jobEnds.set(e.job, [...(jobEnds.get(e.job) ?? []), e.outcome]);
  for (const job of r.jobs) {
    const design = job.name !== undefined ? r.designs.get(job.name) : undefined;
    const expected = design ? expectedTask(design).status : undefined;
    if (!TERMINAL.has(job.status)) notTerminal.push(`${job.id} (${job.name}): ${job.status}`);
    else if (expected !== undefined && job.status !== expected) notTerminal.push(`${job.id} (${job.name}): ${job.status}, designed to end ${expected}`);
    else if (design === undefined) notTerminal.push(`${job.id} (${job.name}): no job of this run has that name`);
    const ends = jobEnds.get(job.id) ?? [];
    if (ends.length !== 1) endedNotOnce.push(`${job.id} (${job.name}): ${ends.length} JobEnded in the log${ends.length > 1 ? ` (${ends.join(', ')})` : ''}`);
    else if (ends[0] !== job.status) endedNotOnce.push(`${job.id} (${job.name}): the log ended it ${ends[0]}, its view says ${job.status}`);
  }
  const listed = new Set(r.jobs.map((j) => j.id));
  for (const [id, name] of r.log.submitted) if (!listed.has(id)) endedNotOnce.push(`${id} (${name}): submitted in the log, not listed by the final leader`);
  const ended = new Map<string, number>();
  for (const e of r.log.ended) ended.set(attemptKey(e), (ended.get(attemptKey(e)) ?? 0) + 1);
  for (const p of r.log.placed) {
    const n = ended.get(attemptKey(p)) ?? 0;
    if (n !== 1) attemptEnds.push(`${attemptKey(p)} on ${p.node} (placed under epoch ${p.epoch}): ${n} TaskEnded in the log`);
  }
  const placed = new Set(r.log.placed.map(attemptKey));
  for (const e of r.log.ended) if (!placed.has(attemptKey(e))) attemptEnds.push(`${attemptKey(e)}: ended in the log, never placed`);
  return { notTerminal, endedNotOnce, attemptEnds };
}

function checkRetries(r: ChaosRecords): Pick<ChaosFindings, 'unexplainedRetries' | 'unrealEnds'> {
  const unexplained: string[] = [];
  const unreal: string[] = [];
  const names = r.log.submitted;
  const designOf = (job: string): MarkerJob | undefined => {
    const name = names.get(job);
    return name !== undefined ? r.designs.get(name) : undefined;
  };
  const ends = new Map(r.log.ended.map((e) => [attemptKey(e), e]));
  const placements = new Map(r.log.placed.map((p) => [attemptKey(p), p]));
  const markers = new Map(r.starts.map((s) => [attemptKey(s.attempt), s.attempt]));

  // The log: each placement after a task's first follows a designed failure of the attempt before it.
  for (const p of r.log.placed) {
    if (p.attempt <= FIRST_ATTEMPT) continue;
    const before = ends.get(attemptKey({ ...p, attempt: p.attempt - 1 }));
    const design = designOf(p.job);
    const designed = design !== undefined && design.exitCode !== 0 && before?.outcome === 'failed' && before.exitCode === design.exitCode;
    if (!designed) {
      const earlier = placements.get(attemptKey({ ...p, attempt: p.attempt - 1 }));
      unexplained.push(`${attemptKey(p)} placed on ${p.node} under epoch ${p.epoch} after attempt ${p.attempt - 1}${earlier ? ` (placed on ${earlier.node} under epoch ${earlier.epoch})` : ''} ended ${before ? `${before.outcome}${before.exitCode !== undefined ? ` ${before.exitCode}` : ''}${before.reason ? ` (${before.reason})` : ''}` : 'with no end in the log'} (designed exit code ${design?.exitCode ?? '?'})`);
    }
  }
  // The markers: an attempt after the first started only after the attempt before it failed on its own.
  for (const s of r.starts) {
    const a = s.attempt;
    if (a.attempt <= FIRST_ATTEMPT) continue;
    const before = markers.get(attemptKey({ ...a, attempt: a.attempt - 1 }));
    const design = designOf(a.job);
    if (!(design !== undefined && design.exitCode !== 0 && before?.end?.code === design.exitCode)) {
      unexplained.push(`${attemptKey(a)} ran on ${a.node}, but attempt ${a.attempt - 1} ${before ? (before.end ? `ended on its own with ${before.end.code}` : 'did not end on its own (killed)') : 'never started'}`);
    }
  }
  // The final views: attempts and failures are what the design makes them.
  for (const job of r.jobs) {
    const design = job.name !== undefined ? r.designs.get(job.name) : undefined;
    if (!design) continue;
    const want = expectedTask(design);
    for (const task of job.tasks) {
      if (task.attempt !== want.attempt || task.failures !== want.failures) {
        unexplained.push(`${job.id}#${task.index} (${job.name}): attempt ${task.attempt} with ${task.failures} failures, designed ${want.attempt} with ${want.failures}`);
      }
    }
  }
  // Every recorded end is the real one.
  for (const e of r.log.ended) {
    const m = markers.get(attemptKey(e));
    const said = `${e.outcome}${e.exitCode !== undefined ? ` ${e.exitCode}` : ''}${e.reason ? ` (${e.reason})` : ''}`;
    const real = m?.end ? `exit ${m.end.code}` : m ? 'no end marker' : 'never started';
    const ok = (e.outcome === 'succeeded' && m?.end?.code === 0) || (e.outcome === 'failed' && e.exitCode !== undefined && m?.end?.code === e.exitCode);
    if (!ok) unreal.push(`${attemptKey(e)} on ${e.node}: recorded ${said}, really ${real}`);
  }
  return { unexplainedRetries: unexplained, unrealEnds: unreal };
}

function checkLog(log: LogFacts): string[] {
  return [...log.gaps.map((g) => `the observer missed events: ${g}`), ...log.epochDescents.map((d) => `the log's epoch went down: ${d}`)];
}

export function chaosFindings(r: ChaosRecords): ChaosFindings {
  const { doubleRuns, unended } = findDoubleRuns(r.starts.map((s) => s.attempt));
  return {
    ...checkAcks(r),
    ackConflicts: r.ackConflicts,
    staleStarts: checkEpochs(r),
    doubleRuns,
    unended,
    ...checkTerminal(r),
    ...checkRetries(r),
    logProblems: checkLog(r.log),
  };
}

/** Every finding as one line each, for reports (empty: nothing found). */
export function findingLines(f: ChaosFindings): string[] {
  return [
    ...f.ackedLost.map((x) => `acked-lost: ${x}`),
    ...f.duplicateKeys.map((x) => `duplicate-key: ${x}`),
    ...f.resubmitChanged.map((x) => `resubmit-changed: ${x}`),
    ...f.ackConflicts.map((x) => `ack-conflict: ${x}`),
    ...f.staleStarts.map((x) => `stale-start: ${x}`),
    ...f.doubleRuns.map((d) => `double-run: ${JSON.stringify(d)}`),
    ...f.unended.map((x) => `unended: ${x}`),
    ...f.notTerminal.map((x) => `not-terminal: ${x}`),
    ...f.endedNotOnce.map((x) => `ended-not-once: ${x}`),
    ...f.attemptEnds.map((x) => `attempt-ends: ${x}`),
    ...f.unexplainedRetries.map((x) => `unexplained-retry: ${x}`),
    ...f.unrealEnds.map((x) => `unreal-end: ${x}`),
    ...f.logProblems.map((x) => `log: ${x}`),
  ];
}
