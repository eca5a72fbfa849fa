/**
 * The executor: runs task attempts as real child processes on this machine and reports how they end.
 *
 * One attempt, from `start` to `ended`:
 *
 *   start(launch) ── refused? (shutting down, stale epoch, bad id, already started here) → Refusal
 *        │ registered as live at once, so kills and `running()` see it while it is prepared
 *        ▼
 *   prepare: WORK/jobs/JOB/TASK/ATTEMPT/{work/, stdout, stderr}; the working directory
 *        ▼
 *   spawn (detached: its own process group; stdout/stderr are the files themselves) → 'started'
 *        │ time limit armed                                 kill(ref) / time limit / shutdown
 *        ▼                                                        │ SIGTERM to the group,
 *   the leader exits ◀──────────────────────────────────────────── │ SIGKILL after the grace
 *        │ SIGKILL to what is left of its group
 *        ▼
 *   'ended' { outcome, exitCode?, signal?, reason? }   (see outcome.ts for the table)
 *
 * Nothing a task does can throw out of the executor: launch and preparation failures are attempts that
 * ended `failed` with a reason. The process writes its log files directly, so its output does not pass
 * through the agent's event loop and survives a restart of the agent.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { chown, mkdir, open, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { MusterError, rangeError } from '../../errors/index.js';
import type { ErrorCode } from '../../errors/index.js';
import { createLogger } from '../../log/index.js';
import type { Logger } from '../../log/index.js';
import { formatDuration } from '../../model/index.js';
import type { AttemptRef, KillReason, TaskLaunch } from '../../scheduler/index.js';
import { longTimer } from './long-timer.js';
import type { LongTimer } from './long-timer.js';
import type { StopRequest, ProcessEnd } from './outcome.js';
import { launchFailure, processOutcome } from './outcome.js';
import { attemptEnvironment, baseEnvironment } from './process-env.js';
import type { Environment } from './process-env.js';
import { signalGroup } from './process-group.js';
import { openLog, readFileChunks } from './read-log.js';
import { resolveRunAs } from './run-as.js';
import type { RunAs } from './run-as.js';
import type {
  AttemptEnded,
  ExecutorEvents,
  ExecutorOptions,
  KillOptions,
  KillResult,
  LiveAttempt,
  LogStream,
  ReadLogRequest,
  Refusal,
  StartResult,
} from './types.js';
import { WorkFolder, attemptKey, checkAttemptRef } from './work-folder.js';
import type { AttemptPaths } from './work-folder.js';

/**
 * SIGTERM → SIGKILL grace when a kill names none: long enough for a task to flush and checkpoint, short
 * enough that a cancelled job frees its node promptly (Nomad waits 5 s, Slurm and Kubernetes 30 s).
 */
export const DEFAULT_GRACE_MS = 10_000;
/** The shell of `shell: true` tasks: POSIX sh, on every Unix, as PROTOCOL.md and the spec promise. */
export const SHELL = '/bin/sh';
/** `$0` of a shell task; its `args` become `$1`, `$2`, … */
const SHELL_ARGV0 = 'muster-task';
/** Attempt folders are created readable by all: with --run-as the task's user must reach its `work/`. */
const FOLDER_MODE = 0o755;
const LOG_MODE = 0o644;

/** An attempt the executor is responsible for, from `start` until its `ended`. */
interface Attempt {
  readonly launch: TaskLaunch;
  readonly key: string;
  readonly paths: AttemptPaths;
  /** Set once spawned. */
  pid?: number;
  /** Set once muster asked it to stop (first request wins; a later one may only shorten the grace). */
  stop?: StopRequest;
  /** When SIGKILL is due (performance.now()), once SIGTERM has been sent. */
  killDue?: number;
  grace?: NodeJS.Timeout;
  limit?: LongTimer;
  /** false: a reconciliation kill asked for no `ended` event. */
  report: boolean;
  settled: boolean;
  readonly ended: Deferred<AttemptEnded>;
  /** Settles once the log files exist (or the attempt ended without them). */
  readonly logsReady: Deferred<void>;
}

export class Executor extends EventEmitter<ExecutorEvents> {
  readonly #work: WorkFolder;
  readonly #graceMs: number;
  readonly #runAs: RunAs | undefined;
  readonly #baseEnv: Readonly<Environment>;
  readonly #log: Logger;
  readonly #live = new Map<string, Attempt>();
  #epoch = 0;
  #closing = false;

  /** Throws (coded) when `runAs` cannot be honoured or `graceMs` is not a duration. */
  constructor(options: ExecutorOptions) {
    super();
    const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    if (!Number.isFinite(graceMs) || graceMs < 0) throw rangeError('MUSTER_ERR_INVALID_VALUE', `graceMs ${graceMs} is not a duration`);
    this.#graceMs = graceMs;
    this.#work = new WorkFolder(resolve(options.workDir));
    this.#log = options.log ?? createLogger({ name: 'executor' });
    this.#runAs = options.runAs === undefined ? undefined : resolveRunAs(options.runAs);
    this.#baseEnv = baseEnvironment(process.env, this.#runAs, options.inheritEnv ?? false);
    if (this.#runAs) this.#checkReachable(this.#runAs);
  }

  get workDir(): string {
    return this.#work.root;
  }

  /** The newest epoch seen, in a command or through `observeEpoch`. */
  get epoch(): number {
    return this.#epoch;
  }

  /** The leader's epoch (from `registered`, or any command): commands older than it are refused from now on. */
  observeEpoch(epoch: number): void {
    if (epoch > this.#epoch) this.#epoch = epoch;
  }

  /** Starts an attempt and returns at once; its end arrives as an `ended` event. */
  start(launch: TaskLaunch): StartResult {
    const name = `${launch.job}/${launch.task}/${launch.attempt}`;
    if (this.#closing) return refuse('MUSTER_ERR_NOT_READY', `the agent is shutting down and starts nothing (${name})`);
    if (launch.epoch < this.#epoch) {
      return refuse('MUSTER_ERR_STALE_EPOCH', `start of ${name} carries epoch ${launch.epoch}, older than ${this.#epoch}`);
    }
    const bad = checkAttemptRef(launch);
    if (bad) return bad;
    const key = attemptKey(launch);
    const paths = this.#work.attempt(launch);
    if (this.#live.has(key) || existsSync(paths.dir)) {
      return refuse('MUSTER_ERR_INVALID_VALUE', `attempt ${name} has already been started on this agent`);
    }
    this.observeEpoch(launch.epoch);
    const attempt: Attempt = { launch, key, paths, report: true, settled: false, ended: deferred(), logsReady: deferred() };
    this.#live.set(key, attempt);
    void this.#run(attempt);
    return { ok: true };
  }

  /**
   * Stops a live attempt: SIGTERM to its process group, SIGKILL after the grace. Its `ended` event carries
   * outcome `timeout` for reason `timeout`, else `killed`, with the reason.
   */
  kill(ref: AttemptRef, reason: KillReason, options: KillOptions = {}): KillResult {
    if (options.epoch !== undefined) {
      if (options.epoch < this.#epoch) {
        return refuse('MUSTER_ERR_STALE_EPOCH', `kill of ${attemptKey(ref)} carries epoch ${options.epoch}, older than ${this.#epoch}`);
      }
      this.observeEpoch(options.epoch);
    }
    const attempt = this.#live.get(attemptKey(ref));
    if (!attempt) return { ok: true, running: false };
    if (options.report === false) attempt.report = false;
    this.#stop(attempt, { outcome: reason === 'timeout' ? 'timeout' : 'killed', reason }, options.graceMs ?? this.#graceMs);
    return { ok: true, running: true };
  }

  /** Every attempt live now (preparing or running): what the agent reports when it (re)registers. */
  running(): LiveAttempt[] {
    return [...this.#live.values()].map(({ launch, pid }) => ({
      job: launch.job,
      task: launch.task,
      attempt: launch.attempt,
      epoch: launch.epoch,
      ...(pid !== undefined ? { pid } : {}),
    }));
  }

  /** The file an attempt's stream is written to (WORK/jobs/JOB/TASK/ATTEMPT/STREAM). */
  logPath(ref: AttemptRef, stream: LogStream): string {
    return this.#work.log(ref, stream);
  }

  /**
   * An attempt's output from `offset`, as chunks of at most `LOG_CHUNK_BYTES`. Throws (coded) when the
   * request is malformed or no such attempt has run here.
   */
  async *readLog(request: ReadLogRequest): AsyncGenerator<Buffer> {
    const { job, task, stream } = request;
    const offset = request.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw rangeError('MUSTER_ERR_INVALID_VALUE', `offset ${offset} is not a byte offset`);
    const bad = checkAttemptRef({ job, task, attempt: request.attempt ?? 0 });
    if (bad) throw new MusterError(bad.code, bad.message);
    const attempt = request.attempt ?? (await this.#newestAttempt(job, task));
    const missing = (): MusterError => new MusterError('MUSTER_ERR_UNKNOWN_JOB', `no ${stream} of job ${job} task ${task}${attempt === undefined ? '' : ` attempt ${attempt}`} on this agent`);
    if (attempt === undefined) throw missing();
    const ref = { job, task, attempt };
    const live = this.#live.get(attemptKey(ref));
    if (live) await live.logsReady.promise;
    const handle = await openLog(this.#work.log(ref, stream));
    if (!handle) throw missing();
    try {
      yield* readFileChunks(handle, offset, request.follow === true ? live?.ended.promise : undefined);
    } finally {
      await handle.close();
    }
  }

  /** Kills every live attempt (SIGTERM, SIGKILL after `graceMs`), refuses new ones, and waits for them all to end. */
  async shutdown(graceMs: number = this.#graceMs): Promise<void> {
    this.#closing = true;
    const all = [...this.#live.values()];
    for (const attempt of all) this.#stop(attempt, { outcome: 'killed', reason: 'agent shutdown' }, graceMs);
    await Promise.all(all.map((attempt) => attempt.ended.promise));
  }

  async #run(attempt: Attempt): Promise<void> {
    let stdout: FileHandle | undefined;
    let stderr: FileHandle | undefined;
    let cwd: string;
    try {
      await mkdir(attempt.paths.work, { recursive: true, mode: FOLDER_MODE });
      if (this.#runAs) await chown(attempt.paths.work, this.#runAs.uid, this.#runAs.gid);
      stdout = await open(attempt.paths.stdout, 'a', LOG_MODE);
      stderr = await open(attempt.paths.stderr, 'a', LOG_MODE);
      attempt.logsReady.resolve();
      cwd = await this.#workingDir(attempt);
    } catch (err) {
      await closeAll(stdout, stderr);
      this.#end(attempt, { outcome: 'failed', reason: `could not prepare the attempt: ${messageOf(err)}` });
      return;
    }
    try {
      // A kill that arrived while the attempt was being prepared: it never starts.
      if (attempt.stop) this.#end(attempt, { outcome: attempt.stop.outcome, reason: attempt.stop.reason });
      else this.#spawn(attempt, cwd, stdout.fd, stderr.fd);
    } finally {
      // The child has its own copies of the descriptors from the moment spawn returns.
      await closeAll(stdout, stderr);
    }
  }

  /**
   * The task's `workingDir`: an absolute one must exist; a relative one is made inside the attempt's `work/`
   * (and may not leave it). None: `work/` itself.
   */
  async #workingDir(attempt: Attempt): Promise<string> {
    const asked = attempt.launch.workingDir;
    if (asked === undefined || asked === '') return attempt.paths.work;
    if (isAbsolute(asked)) {
      const info = await stat(asked).catch(() => undefined);
      if (!info?.isDirectory()) throw new Error(`working directory ${asked} does not exist or is not a directory`);
      return asked;
    }
    const dir = resolve(attempt.paths.work, asked);
    const inside = relative(attempt.paths.work, dir);
    if (inside.startsWith('..') || isAbsolute(inside)) throw new Error(`working directory ${asked} leaves the attempt's folder`);
    await mkdir(dir, { recursive: true, mode: FOLDER_MODE });
    if (this.#runAs) await chown(dir, this.#runAs.uid, this.#runAs.gid);
    return dir;
  }

  #spawn(attempt: Attempt, cwd: string, stdoutFd: number, stderrFd: number): void {
    const { launch } = attempt;
    const [file, argv] = launch.shell ? [SHELL, ['-c', launch.command, SHELL_ARGV0, ...launch.args]] : [launch.command, [...launch.args]];
    let child: ChildProcess;
    try {
      child = spawn(file, argv, {
        cwd,
        env: attemptEnvironment(this.#baseEnv, launch),
        stdio: ['ignore', stdoutFd, stderrFd],
        detached: true,
        ...(this.#runAs ? { uid: this.#runAs.uid, gid: this.#runAs.gid } : {}),
      });
    } catch (err) {
      // Invalid arguments (a NUL byte in an argument or the environment), or a failure libuv reports by throwing.
      this.#end(attempt, launchFailure(launch.command, err));
      return;
    }
    if (child.pid !== undefined) attempt.pid = child.pid;
    let spawned = false;
    child.once('spawn', () => {
      spawned = true;
      this.#started(attempt);
    });
    // An 'error' before 'spawn' is a launch failure (not found, not executable); later ones cannot end the attempt.
    child.on('error', (err) => {
      if (!spawned) this.#end(attempt, launchFailure(launch.command, err));
      else this.#log.warn({ job: launch.job, task: launch.task, attempt: launch.attempt, err }, 'child process error');
    });
    child.once('exit', (code, signal) => {
      // Whatever the leader left in its group (background jobs, pipeline members) ends with it.
      if (attempt.pid !== undefined) signalGroup(attempt.pid, 'SIGKILL');
      this.#end(attempt, processOutcome(code, signal, attempt.stop));
    });
  }

  #started(attempt: Attempt): void {
    const { launch, pid } = attempt;
    if (pid === undefined || attempt.settled) return;
    this.#log.info({ job: launch.job, task: launch.task, attempt: launch.attempt, pid }, 'attempt started');
    this.#emit('started', { job: launch.job, task: launch.task, attempt: launch.attempt, epoch: launch.epoch, pid });
    const limitMs = launch.timeLimitMs;
    if (limitMs !== undefined && !attempt.stop) {
      attempt.limit = longTimer(limitMs, () => {
        this.#stop(attempt, { outcome: 'timeout', reason: `time limit of ${formatDuration(limitMs)} reached` }, this.#graceMs);
      });
    }
  }

  #stop(attempt: Attempt, request: StopRequest, graceMs: number): void {
    attempt.stop ??= request;
    attempt.limit?.cancel();
    const pid = attempt.pid;
    // Not spawned yet: #run sees `stop` and never spawns. Already ended: nothing to do.
    if (pid === undefined || attempt.settled) return;
    const due = performance.now() + Math.max(0, graceMs);
    if (attempt.killDue !== undefined && attempt.killDue <= due) return; // already going, at least as fast
    const first = attempt.killDue === undefined;
    attempt.killDue = due;
    clearTimeout(attempt.grace);
    if (graceMs <= 0) {
      signalGroup(pid, 'SIGKILL');
      return;
    }
    if (first) signalGroup(pid, 'SIGTERM');
    attempt.grace = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
  }

  #end(attempt: Attempt, end: ProcessEnd): void {
    if (attempt.settled) return;
    attempt.settled = true;
    attempt.limit?.cancel();
    clearTimeout(attempt.grace);
    this.#live.delete(attempt.key);
    const { job, task, attempt: number } = attempt.launch;
    const ended: AttemptEnded = { job, task, attempt: number, ...end };
    this.#log.info({ job, task, attempt: number, outcome: end.outcome, exitCode: end.exitCode, signal: end.signal, reason: end.reason }, 'attempt ended');
    attempt.logsReady.resolve();
    attempt.ended.resolve(ended);
    if (attempt.report) this.#emit('ended', ended);
  }

  /**
   * A listener that throws is a bug in the listener; it must take down neither the agent (and every other
   * task) nor the listeners after it, so each one is called on its own (raw, so `once` listeners go away).
   */
  #emit<K extends keyof ExecutorEvents>(event: K, ...args: ExecutorEvents[K]): void {
    for (const listener of this.rawListeners(event) as ((...a: ExecutorEvents[K]) => unknown)[]) {
      try {
        listener(...args);
      } catch (err) {
        this.#log.error({ err, event }, 'an executor listener threw');
      }
    }
  }

  async #newestAttempt(job: string, task: number): Promise<number | undefined> {
    let newest = await this.#work.newestAttempt(job, task);
    for (const { launch } of this.#live.values()) {
      if (launch.job === job && launch.task === task && (newest === undefined || launch.attempt > newest)) newest = launch.attempt;
    }
    return newest;
  }

  /** With --run-as, the task's user must be able to pass through the work folder to reach its `work/`. */
  #checkReachable(runAs: RunAs): void {
    for (let dir = this.#work.root; ; dir = resolve(dir, '..')) {
      const info = statOrUndefined(dir);
      if (info && (info.mode & 0o001) === 0 && info.uid !== runAs.uid) {
        this.#log.warn({ dir, user: runAs.user }, 'the work folder is not reachable by the --run-as user (no x permission for others); attempts will fail to start');
        return;
      }
      if (dir === resolve(dir, '..')) return;
    }
  }
}

function refuse(code: ErrorCode, message: string): Refusal {
  return { ok: false, code, message };
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  readonly resolve: (value: T) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function closeAll(...handles: (FileHandle | undefined)[]): Promise<void> {
  await Promise.allSettled(handles.map((h) => h?.close()));
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
