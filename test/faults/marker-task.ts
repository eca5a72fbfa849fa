/**
 * The task the agent fault runs submit, and what it leaves behind: a shell script that proves, from the
 * kernel's side, whether an earlier attempt of its task was still running when it started, and that
 * records when it started, where it ran and how it ended.
 *
 * Each attempt, at its start:
 *
 * 1. opens the task's lock file (one per job and task, shared by every attempt on every node: the agents
 *    share this machine's file system) and tries `flock -n` on it. A flock belongs to the open file, which
 *    the attempt's processes (the shell and its `sleep`) hold until the last of them is gone; the kernel
 *    releases it then, whoever killed them and however. So the try fails exactly when a process of an
 *    earlier attempt of the same task is still alive: `overlap`. This needs no clock and no polling, so it
 *    cannot miss a short overlap nor see one that was not there;
 * 2. writes `JOB.TASK.ATTEMPT.start`: its pid (the shell, its process group's leader), the wall clock in
 *    ns, `alone` or `overlap`, its node, the epoch of the `start` command that launched it
 *    (`MUSTER_EPOCH`; `-` when the agent did not set one), and its working directory (`…/ATTEMPT/work` in
 *    its agent's work folder, next to where its shim writes `status`).
 *
 * Then it sleeps `FAULT_SLEEP` seconds and ends with an exit code: `FAULT_EXIT` if no attempt of the task
 * has ended on its own before (no `.end` marker yet), else 0, so a job with a non-zero code fails once and
 * its retry succeeds; the code is written to `JOB.TASK.ATTEMPT.end` with the wall clock just before `exit`.
 * An attempt that is killed writes no `.end`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The script (`/bin/sh -c`); its inputs come from the task's environment (FAULT_*, MUSTER_*). */
export const MARKER_SCRIPT = [
  'm="$FAULT_MARKERS/$MUSTER_JOB_ID.$MUSTER_TASK_INDEX.$MUSTER_ATTEMPT"',
  'exec 9>>"$FAULT_LOCKS/$MUSTER_JOB_ID.$MUSTER_TASK_INDEX"',
  'if flock -n 9; then held=alone; else held=overlap; fi',
  'echo "$$ $(date +%s%N) $held $MUSTER_NODE ${MUSTER_EPOCH:--} $(pwd)" > "$m.start"',
  'sleep "$FAULT_SLEEP"',
  'if ls "$FAULT_MARKERS/$MUSTER_JOB_ID.$MUSTER_TASK_INDEX".*.end > /dev/null 2>&1; then code=0; else code=$FAULT_EXIT; fi',
  'echo "$(date +%s%N) $code" > "$m.end"',
  'exit $code',
].join('\n');

/** One job of a fault run. */
export interface MarkerJob {
  /** The job's name and idempotency key (unique in a run). */
  readonly name: string;
  readonly sleepSeconds: number;
  /** The exit code of the first attempt of each task to end on its own (later ones exit 0). */
  readonly exitCode: number;
  /** Failed or lost attempts retried (each counts). */
  readonly retries: number;
  /** Tasks in the job (default 1). */
  readonly tasks?: number;
}

/** Where a run's tasks write: markers and lock files (both inside the run's scratch folder). */
export interface MarkerFolders {
  readonly markers: string;
  readonly locks: string;
}

/** Retry backoff: short, so a retried task runs again within the run, long enough to be a real wait. */
const RETRY_BACKOFF = '100ms';

export function markerJobSpec(job: MarkerJob, folders: MarkerFolders): Record<string, unknown> {
  return {
    queue: 'default',
    name: job.name,
    idempotencyKey: job.name,
    retries: { max: job.retries, backoff: RETRY_BACKOFF },
    tasks: [
      {
        count: job.tasks ?? 1,
        resources: { cpu: '1', memory: '32Mi' },
        shell: true,
        command: MARKER_SCRIPT,
        env: { FAULT_MARKERS: folders.markers, FAULT_LOCKS: folders.locks, FAULT_SLEEP: String(job.sleepSeconds), FAULT_EXIT: String(job.exitCode) },
      },
    ],
  };
}

/** How the attempt's shim recorded its end (`ATTEMPT/status`), and when (the file's mtime). */
export interface ShimEnd {
  /** `exit N`, `signal N`, `error …` or `aborted`, as the shim wrote it (first line). */
  readonly status: string;
  readonly fenced: boolean;
  readonly atNs: bigint;
}

/** One attempt that started, from its markers and its shim's status. */
export interface AttemptRecord {
  readonly job: string;
  readonly task: number;
  readonly attempt: number;
  readonly pid: number;
  readonly node: string;
  readonly startNs: bigint;
  /** The task's lock was held when it started: an earlier attempt of the task was still alive. */
  readonly overlapAtStart: boolean;
  /** The epoch of the `start` the agent carried out (`MUSTER_EPOCH`), when the marker has one. */
  readonly epoch?: number;
  /** The attempt's folder in its agent's work folder (`…/ATTEMPT`, its working directory's parent). */
  readonly dir?: string;
  /** Written just before `exit`: the attempt ended on its own with `code`. */
  readonly end?: { readonly atNs: bigint; readonly code: number };
  readonly shim?: ShimEnd;
}

export const attemptKey = (a: { job: string; task: number; attempt: number }): string => `${a.job}#${a.task}#${a.attempt}`;

function readShimEnd(attemptDir: string): ShimEnd | undefined {
  const path = join(attemptDir, 'status');
  try {
    const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
    return { status: lines[0] ?? '', fenced: lines.includes('fenced'), atNs: statSync(path, { bigint: true }).mtimeNs };
  } catch {
    return undefined; // not written (yet)
  }
}

/** Every attempt that has written its start marker so far. */
export function readAttempts(markers: string): AttemptRecord[] {
  const records: AttemptRecord[] = [];
  for (const file of readdirSync(markers)) {
    const match = /^(.+)\.(\d+)\.(\d+)\.start$/.exec(file);
    if (!match) continue;
    const text = readFileSync(join(markers, file), 'utf8');
    // The epoch field came later: a marker without it still reads (the working directory is absolute).
    const start = /^(\d+) (\d+) (alone|overlap) (\S+) (?:(\d+|-) )?(\/.*)\n$/.exec(text);
    if (!start) continue; // being written: the next read has it
    const [, job, task, attempt] = match;
    const base = join(markers, `${job}.${task}.${attempt}`);
    let end: AttemptRecord['end'];
    try {
      const e = /^(\d+) (\d+)\n$/.exec(readFileSync(`${base}.end`, 'utf8'));
      if (e) end = { atNs: BigInt(e[1]!), code: Number(e[2]) };
    } catch {
      // no end marker: killed, or still running
    }
    const shim = readShimEnd(dirname(start[6]!));
    records.push({
      job: job!,
      task: Number(task),
      attempt: Number(attempt),
      pid: Number(start[1]),
      startNs: BigInt(start[2]!),
      overlapAtStart: start[3] === 'overlap',
      node: start[4]!,
      ...(start[5] !== undefined && start[5] !== '-' ? { epoch: Number(start[5]) } : {}),
      dir: dirname(start[6]!),
      ...(end ? { end } : {}),
      ...(shim ? { shim } : {}),
    });
  }
  return records;
}
