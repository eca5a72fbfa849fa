/**
 * Where an attempt's files live in the agent's work folder:
 *
 *   WORK/jobs/JOB/TASK/ATTEMPT/stdout   the attempt's standard output (the process writes it directly)
 *   WORK/jobs/JOB/TASK/ATTEMPT/stderr   its standard error
 *   WORK/jobs/JOB/TASK/ATTEMPT/work/    its default working directory
 *
 * `jobs/` keeps the rest of WORK free for the agent's own files. The folder of an attempt is also the
 * executor's memory of it: an attempt whose folder exists has run here and is never started again.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AttemptRef } from '../../scheduler/index.js';
import type { LogStream, Refusal } from './types.js';

export const JOBS_FOLDER = 'jobs';

/**
 * A job id as PROTOCOL.md defines it: it becomes one path segment, so it must never be `..`, hold a slash
 * or be long enough to hit NAME_MAX. Checked here again because the agent trusts no path from the wire.
 */
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
/** PROTOCOL.md: a job id is at most 64 bytes. */
const MAX_JOB_ID_BYTES = 64;

export interface AttemptPaths {
  readonly dir: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly work: string;
}

export class WorkFolder {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  taskDir(job: string, task: number): string {
    return join(this.root, JOBS_FOLDER, job, String(task));
  }

  attempt(ref: AttemptRef): AttemptPaths {
    const dir = join(this.taskDir(ref.job, ref.task), String(ref.attempt));
    return { dir, stdout: join(dir, 'stdout'), stderr: join(dir, 'stderr'), work: join(dir, 'work') };
  }

  log(ref: AttemptRef, stream: LogStream): string {
    return this.attempt(ref)[stream];
  }

  /** The highest attempt number with a folder here, if any. */
  async newestAttempt(job: string, task: number): Promise<number | undefined> {
    let names: string[];
    try {
      names = await readdir(this.taskDir(job, task));
    } catch {
      return undefined;
    }
    let newest: number | undefined;
    for (const name of names) {
      if (!/^\d+$/.test(name)) continue;
      const n = Number(name);
      if (newest === undefined || n > newest) newest = n;
    }
    return newest;
  }
}

/** Refuses an attempt identity that cannot safely name a folder. */
export function checkAttemptRef(ref: AttemptRef): Refusal | undefined {
  if (typeof ref.job !== 'string' || !JOB_ID.test(ref.job) || Buffer.byteLength(ref.job) > MAX_JOB_ID_BYTES) {
    return { ok: false, code: 'MUSTER_ERR_INVALID_NAME', message: `${JSON.stringify(ref.job)} is not a job id` };
  }
  for (const field of ['task', 'attempt'] as const) {
    const n = ref[field];
    if (!Number.isSafeInteger(n) || n < 0) {
      return { ok: false, code: 'MUSTER_ERR_INVALID_VALUE', message: `${field} ${String(n)} is not a non-negative integer` };
    }
  }
  return undefined;
}

export function attemptKey(ref: AttemptRef): string {
  return `${ref.job}/${ref.task}/${ref.attempt}`;
}
