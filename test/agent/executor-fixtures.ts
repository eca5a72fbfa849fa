/**
 * Fixtures for the executor tests: an executor on a fresh work folder that is shut down after the test,
 * launches with defaults, a runner that subscribes to an attempt's events before starting it, and checks on
 * real processes.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Executor } from '../../src/agent/index.js';
import type { AttemptEnded, AttemptStarted, ExecutorOptions, LogStream, StartResult } from '../../src/agent/index.js';
import { createLogger } from '../../src/log/index.js';
import { ZERO } from '../../src/model/index.js';
import type { AttemptRef, TaskLaunch } from '../../src/scheduler/index.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function tempFolder(t: Teardown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'muster-executor-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** An executor on a fresh work folder; at the end of the test whatever still runs is SIGKILLed, then the folder removed. */
export async function makeExecutor(t: Teardown, options: Partial<ExecutorOptions> = {}): Promise<Executor> {
  const workDir = await mkdtemp(join(tmpdir(), 'muster-executor-'));
  const ex = new Executor({ workDir, graceMs: 500, log: createLogger({ name: 'executor-test', level: 'silent' }), ...options });
  t.teardown(async () => {
    await ex.shutdown(0);
    await rm(workDir, { recursive: true, force: true });
  });
  return ex;
}

let nextTask = 0;

/** A launch of `command` with defaults: job `j-1`, a task number unique in this process, attempt 0, epoch 1. */
export function launch(command: string, fields: Partial<TaskLaunch> = {}): TaskLaunch {
  return { job: 'j-1', task: nextTask++, arrayIndex: 0, attempt: 0, epoch: 1, node: 'n-1', command, args: [], shell: false, env: {}, resources: ZERO, ...fields };
}

/** A shell-mode launch: `script` runs under /bin/sh -c. */
export function script(text: string, fields: Partial<TaskLaunch> = {}): TaskLaunch {
  return launch(text, { shell: true, ...fields });
}

export interface Run {
  readonly result: StartResult;
  readonly started: Promise<AttemptStarted>;
  readonly ended: Promise<AttemptEnded>;
  readonly ref: AttemptRef;
}

const same = (a: AttemptRef, b: AttemptRef): boolean => a.job === b.job && a.task === b.task && a.attempt === b.attempt;

/** Starts `l`, having subscribed to its events first (so none can be missed). */
export function run(ex: Executor, l: TaskLaunch): Run {
  const ref = { job: l.job, task: l.task, attempt: l.attempt };
  const started = new Promise<AttemptStarted>((resolve) => {
    const on = (e: AttemptStarted): void => {
      if (!same(e, ref)) return;
      ex.off('started', on);
      resolve(e);
    };
    ex.on('started', on);
  });
  const ended = new Promise<AttemptEnded>((resolve) => {
    const on = (e: AttemptEnded): void => {
      if (!same(e, ref)) return;
      ex.off('ended', on);
      resolve(e);
    };
    ex.on('ended', on);
  });
  return { result: ex.start(l), started, ended, ref };
}

export async function output(ex: Executor, ref: AttemptRef, stream: LogStream = 'stdout'): Promise<string> {
  return readFile(ex.logPath(ref, stream), 'utf8').catch(() => '');
}

/** Polls `check` until it holds (a condition on a real process or file, not a fixed sleep); fails after `ms`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * Whether a process is gone. A zombie counts as gone: it has exited and only waits to be reaped, which in
 * a container whose init does not reap can take forever.
 */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** The first line of an attempt's stdout that is a pid, once it has been written. */
export async function pidFromOutput(ex: Executor, ref: AttemptRef): Promise<number> {
  let pid = 0;
  await until('the task to print a pid', async () => {
    const line = (await output(ex, ref)).split('\n').find((l) => /^\d+$/.test(l));
    pid = Number(line ?? 0);
    return pid > 0;
  });
  return pid;
}
