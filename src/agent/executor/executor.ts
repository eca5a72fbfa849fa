/**
 * The executor: runs task attempts as real processes on this machine, each under a shim (../shim: a small
 * supervisor process that outlives the agent), keeps a journal of them (journal.ts) so that a restarted
 * agent finds them again, and reports how they end.
 *
 * One attempt, from `start` to `ended`:
 *
 *   start(launch) ── refused? (shutting down, stale epoch, bad id, already started here) → Refusal
 *        │ registered as live at once, so kills and `running()` see it while it waits and is prepared
 *        ▼ queued: at most MAX_LAUNCHING are prepared at once
 *   prepare: WORK/jobs/JOB/TASK/ATTEMPT/{work/, stdout, stderr}; the working directory; journal entry
 *        ▼ at most SPAWNS_PER_TURN spawns per turn of the event loop (heartbeats are never starved)
 *   spawn the shim (detached) ── shim: fork, setpgid, exec ── "started PGID" → 'started'
 *        │ time limit armed                                 kill(ref) / time limit / shutdown / fence
 *        ▼                                                        │ journaled, then SIGTERM to the group,
 *   the leader exits; the shim kills the rest of its group,       │ SIGKILL after the grace
 *   writes ATTEMPT/status and exits ◀─────────────────────────────┘
 *        ▼
 *   'ended' { outcome, exitCode?, signal?, reason? }   (outcome.ts has the table); journaled first, emitted
 *        once journaled (in `running()` until then) and kept in the journal until acknowledged
 *
 * After a restart (`recover`, recovery.ts), the journal says which attempts there were: those whose shim
 * still runs are adopted (watched through /proc, since the new agent is not their parent), the others' ends
 * are read from their status files (or are `lost` when there is none).
 *
 * Nothing a task does can throw out of the executor: launch and preparation failures are attempts that
 * ended `failed` with a reason. The task writes its log files directly, so its output does not pass through
 * the agent's event loop and survives a restart of the agent.
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { chown, mkdir, open, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { assertNever, RingBuffer } from '../../actors/index.js';
import { MusterError, rangeError } from '../../errors/index.js';
import type { ErrorCode } from '../../errors/index.js';
import { createLogger } from '../../log/index.js';
import type { Logger } from '../../log/index.js';
import { formatDuration } from '../../model/index.js';
import type { AttemptRef, KillReason, TaskLaunch } from '../../scheduler/index.js';
import type { ProcessIdentity, Shim } from '../shim/index.js';
import { allProcesses, identify, killOrphanedTask, LEASE_FILE, readStatus, selectShim, spawnShim, stillRuns } from '../shim/index.js';
import { processesOnce, recoverEntry } from './recovery.js';
import type { JournalEntry, JournalStop } from './journal.js';
import { AttemptJournal } from './journal.js';
import { longTimer } from './long-timer.js';
import type { LongTimer } from './long-timer.js';
import type { ProcessEnd } from './outcome.js';
import { launchFailure, supervisedOutcome } from './outcome.js';
import { attemptEnvironment, baseEnvironment } from './process-env.js';
import type { Environment } from './process-env.js';
import { signalGroup } from './process-group.js';
import { openLog, readFileChunks } from './read-log.js';
import { resolveRunAs } from './run-as.js';
import type { RunAs } from './run-as.js';
import { TurnGate } from './turn-gate.js';
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
/**
 * Attempts prepared at once (folders, log files, journal entry): each holds two open log files until its
 * spawn, and the preparation's file work queues on libuv's four threads; more in flight gains nothing.
 */
export const MAX_LAUNCHING = 16;
/**
 * Shim spawns per turn of the event loop. A spawn forks the agent (a few ms for a node process of some
 * hundred MiB); four per turn keep a turn well under the heartbeat interval on a loaded machine and still
 * launch hundreds of attempts a second.
 */
export const SPAWNS_PER_TURN = 4;
/** How often attempts adopted from a previous agent are looked at: they are not our children, so no exit event comes. */
export const ADOPTED_POLL_MS = 250;
/** `$0` of a shell task; its `args` become `$1`, `$2`, … */
const SHELL_ARGV0 = 'muster-task';
/** Attempt folders are created readable by all: with --run-as the task's user must reach its `work/`. */
const FOLDER_MODE = 0o755;
const LOG_MODE = 0o644;

/** What an attempt is, from its launch or from its journal entry. */
interface Identity extends AttemptRef {
  readonly epoch: number;
  readonly node: string;
  readonly command: string;
  readonly timeLimitMs?: number;
}

/** An attempt the executor is responsible for, from `start` (or adoption) until its `ended`. */
interface Attempt {
  readonly id: Identity;
  readonly key: string;
  readonly paths: AttemptPaths;
  /** What to run, until it is spawned; absent for an attempt adopted from a previous agent. */
  launch: TaskLaunch | undefined;
  /** The shim, once spawned (or adopted). */
  shim?: ProcessIdentity;
  /** The shim as our child process (absent for an adopted attempt). */
  child?: ChildProcess;
  /** The task's process group (its leader's pid), once it runs. */
  pgid?: number;
  /** When the task started (monotonic ms). */
  startedAtMs?: number;
  /** Set once muster asked it to stop (first request wins; a later one may only shorten the grace). */
  stop?: JournalStop;
  /** When SIGKILL is due (performance.now()), once a stop was asked. */
  killDue?: number;
  /** Whether the stop is journaled: signals are sent only after it is, so a restart knows why the task died. */
  stopJournaled: boolean;
  termSent: boolean;
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
  readonly #shim: Shim;
  readonly #journal: AttemptJournal;
  readonly #live = new Map<string, Attempt>();
  /**
   * Attempts that ended and whose end is being journaled, not yet emitted: still in `running()`, so a
   * register sent in that window lists them (else the server, hearing of neither a run nor an end, would
   * record a finished attempt as lost; chaos found it).
   */
  readonly #reporting = new Map<string, Identity>();
  /** Accepted starts waiting to be prepared, oldest first. */
  readonly #waiting = new RingBuffer<Attempt>();
  readonly #spawns = new TurnGate(SPAWNS_PER_TURN);
  #launching = 0;
  #watch: NodeJS.Timeout | undefined;
  #watching = false;
  #epoch = 0;
  #closing = false;

  /** Throws (coded) when `runAs` cannot be honoured, `graceMs` is not a duration or the shim asked for is not there. */
  constructor(options: ExecutorOptions) {
    super();
    const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    if (!Number.isFinite(graceMs) || graceMs < 0) throw rangeError('MUSTER_ERR_INVALID_VALUE', `graceMs ${graceMs} is not a duration`);
    this.#graceMs = graceMs;
    this.#work = new WorkFolder(resolve(options.workDir));
    this.#log = options.log ?? createLogger({ name: 'executor' });
    this.#runAs = options.runAs === undefined ? undefined : resolveRunAs(options.runAs);
    this.#baseEnv = baseEnvironment(process.env, this.#runAs, options.inheritEnv ?? false);
    this.#shim = selectShim(options.shim);
    this.#journal = new AttemptJournal(this.#work.root, this.#log);
    this.#log.info({ shim: this.#shim.kind, command: this.#shim.command }, `attempts run under the ${this.#shim.kind} shim`);
    if (this.#runAs) this.#checkReachable(this.#runAs);
  }

  get workDir(): string {
    return this.#work.root;
  }

  /** The lease file every shim reads (the agent writes it: see ../shim/lease.ts). */
  get leasePath(): string {
    return join(this.#work.root, LEASE_FILE);
  }

  /** Which shim supervises attempts: `native` or `node`. */
  get shimKind(): Shim['kind'] {
    return this.#shim.kind;
  }

  /** The newest epoch seen, in a command or through `observeEpoch`. */
  get epoch(): number {
    return this.#epoch;
  }

  /** The leader's epoch (from `registered`, or any command): commands older than it are refused from now on. */
  observeEpoch(epoch: number): void {
    if (epoch > this.#epoch) this.#epoch = epoch;
  }

  /**
   * Finds the attempts of a previous agent on this work folder (its journal): adopts those whose shim
   * still runs (they are in `running()` from now on and end through 'ended' as usual) and returns the ends
   * not yet acknowledged (those recorded, and those of attempts that ended while no agent ran), which the
   * agent reports at its registration. Call once, before the first `start`.
   */
  async recover(): Promise<AttemptEnded[]> {
    const ends: AttemptEnded[] = [];
    const processes = processesOnce();
    const orphans = (ref: AttemptRef, killed: number): void => this.#orphansKilled(ref, killed);
    let adopted = 0;
    for (const entry of await this.#journal.load()) {
      const ref: AttemptRef = { job: entry.job, task: entry.task, attempt: entry.attempt };
      const paths = this.#work.attempt(ref);
      this.observeEpoch(entry.epoch);
      const found = await recoverEntry(entry, paths.dir, processes, orphans);
      switch (found.kind) {
        case 'adopt':
          this.#adopt(entry, paths, found.shim, found.pgid);
          adopted++;
          break;
        case 'ended':
          if (!entry.end) void this.#journal.put({ ...entry, end: found.end });
          ends.push({ ...ref, ...found.end });
          break;
        case 'forget':
          void this.#journal.remove(ref);
          break;
        default:
          assertNever(found);
      }
    }
    if (adopted > 0 || ends.length > 0) this.#log.info({ adopted, ended: ends.length }, 'found the attempts of the previous agent');
    return ends;
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
    // One stat of a folder: the attempt's memory across restarts (an attempt that ran here never runs again).
    if (this.#live.has(key) || existsSync(paths.dir)) {
      return refuse('MUSTER_ERR_INVALID_VALUE', `attempt ${name} has already been started on this agent`);
    }
    this.observeEpoch(launch.epoch);
    const id: Identity = {
      job: launch.job,
      task: launch.task,
      attempt: launch.attempt,
      epoch: launch.epoch,
      node: launch.node,
      command: launch.command,
      ...(launch.timeLimitMs !== undefined ? { timeLimitMs: launch.timeLimitMs } : {}),
    };
    const attempt = newAttempt(id, key, paths, launch);
    this.#live.set(key, attempt);
    this.#waiting.push(attempt);
    this.#launchMore();
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
    this.#stop(attempt, { outcome: reason === 'timeout' ? 'timeout' : 'killed', reason, ...(options.report === false ? { silent: true } : {}) }, options.graceMs ?? this.#graceMs);
    return { ok: true, running: true };
  }

  /**
   * The fence ran out: the control plane may have given every attempt here to other nodes. Each is killed
   * at once (SIGKILL) and ends `lost` with `reason` (which starts with `fenced:`).
   */
  fence(reason: string): number {
    const all = [...this.#live.values()];
    for (const attempt of all) this.#stop(attempt, { outcome: 'lost', reason }, 0);
    return all.length;
  }

  /** The server has recorded these ends: they leave the journal. */
  acknowledged(refs: readonly AttemptRef[]): void {
    for (const ref of refs) if (!this.#live.has(attemptKey(ref))) void this.#journal.remove(ref);
  }

  /**
   * Every attempt live now (waiting, preparing, running, or ended with its `ended` event not yet emitted): what
   * the agent reports when it (re)registers. An attempt leaves it only as its end is handed on.
   */
  running(): LiveAttempt[] {
    const live: LiveAttempt[] = [...this.#live.values()].map(({ id, pgid }) => ({
      job: id.job,
      task: id.task,
      attempt: id.attempt,
      epoch: id.epoch,
      ...(pgid !== undefined ? { pid: pgid } : {}),
    }));
    for (const id of this.#reporting.values()) live.push({ job: id.job, task: id.task, attempt: id.attempt, epoch: id.epoch });
    return live;
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

  /**
   * Kills every live attempt (SIGTERM, SIGKILL after `graceMs`), refuses new ones, and waits for them all to
   * end and for the journal to hold their ends.
   */
  async shutdown(graceMs: number = this.#graceMs): Promise<void> {
    this.#closing = true;
    const all = [...this.#live.values()];
    for (const attempt of all) this.#stop(attempt, { outcome: 'killed', reason: 'agent shutdown' }, graceMs);
    await Promise.all(all.map((attempt) => attempt.ended.promise));
    clearInterval(this.#watch);
    this.#watch = undefined;
    await this.#journal.settled();
  }

  #launchMore(): void {
    while (this.#launching < MAX_LAUNCHING && this.#waiting.size > 0) {
      const attempt = this.#waiting.shift()!;
      this.#launching++;
      void this.#launch(attempt).finally(() => {
        this.#launching--;
        this.#launchMore();
      });
    }
  }

  async #launch(attempt: Attempt): Promise<void> {
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
      // Journaled before the spawn: a shim never runs that a restarted agent could not know about.
      if (!attempt.stop) await this.#journal.put(this.#entry(attempt));
      if (!attempt.stop) await this.#spawns.turn();
      // A kill that arrived while the attempt was being prepared: it never starts.
      if (attempt.stop) this.#end(attempt, { outcome: attempt.stop.outcome, reason: attempt.stop.reason });
      else this.#spawn(attempt, cwd, stdout.fd, stderr.fd);
    } finally {
      // The shim has its own copies of the descriptors from the moment spawn returns.
      await closeAll(stdout, stderr);
    }
  }

  /**
   * The task's `workingDir`: an absolute one must exist; a relative one is made inside the attempt's `work/`
   * (and may not leave it). None: `work/` itself.
   */
  async #workingDir(attempt: Attempt): Promise<string> {
    const asked = attempt.launch?.workingDir;
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
    const launch = attempt.launch!;
    attempt.launch = undefined; // what to run is the shim's business from here
    const [file, args] = launch.shell ? [SHELL, ['-c', launch.command, SHELL_ARGV0, ...launch.args]] : [launch.command, [...launch.args]];
    let child: ChildProcess;
    try {
      child = spawnShim(
        this.#shim,
        { dir: attempt.paths.dir, lease: this.leasePath, cwd, file, args, env: attemptEnvironment(this.#baseEnv, launch), stdout: stdoutFd, stderr: stderrFd, ...(this.#runAs ? { runAs: this.#runAs } : {}) },
        {
          started: (pgid) => this.#started(attempt, pgid),
          closed: () => void this.#shimEnded(attempt),
          failed: (err) => this.#end(attempt, { outcome: 'failed', reason: `could not start the ${this.#shim.kind} shim: ${err.message}` }),
        },
      );
    } catch (err) {
      // Arguments no process can carry (a NUL byte in an argument or the environment).
      this.#end(attempt, launchFailure(launch.command, err));
      return;
    }
    attempt.child = child;
    const shim = child.pid !== undefined ? identify(child.pid) : undefined;
    if (shim) {
      attempt.shim = shim;
      void this.#journal.put(this.#entry(attempt));
    }
  }

  #started(attempt: Attempt, pgid: number): void {
    if (attempt.settled || attempt.pgid !== undefined) return;
    attempt.pgid = pgid;
    attempt.startedAtMs = monotonicMs();
    void this.#journal.put(this.#entry(attempt));
    const { id } = attempt;
    this.#log.info({ job: id.job, task: id.task, attempt: id.attempt, pid: pgid, shim: attempt.shim?.pid }, 'attempt started');
    this.#emit('started', { job: id.job, task: id.task, attempt: id.attempt, epoch: id.epoch, pid: pgid });
    this.#armLimit(attempt);
    this.#signalStop(attempt);
  }

  /** Arms the time limit (from when the task started: an adopted attempt has had some of it already). */
  #armLimit(attempt: Attempt): void {
    const limitMs = attempt.id.timeLimitMs;
    if (limitMs === undefined || attempt.stop || attempt.startedAtMs === undefined) return;
    const left = Math.max(0, limitMs - (monotonicMs() - attempt.startedAtMs));
    attempt.limit = longTimer(left, () => {
      this.#stop(attempt, { outcome: 'timeout', reason: `time limit of ${formatDuration(limitMs)} reached` }, this.#graceMs);
    });
  }

  /** The shim is gone: its status file says how the task ended (none: the shim was killed; what it left is killed). */
  async #shimEnded(attempt: Attempt): Promise<void> {
    if (attempt.settled) return;
    const status = await readStatus(attempt.paths.dir);
    if (!status && attempt.shim) await this.#killOrphan(attempt.id, attempt.shim, attempt.pgid);
    this.#end(attempt, supervisedOutcome(status, attempt.stop, attempt.id.command));
  }

  /** A shim died without a status: its task, unsupervised and about to be reported lost, must not run on. */
  async #killOrphan(ref: AttemptRef, shim: ProcessIdentity, pgid: number | undefined): Promise<void> {
    this.#orphansKilled(ref, await killOrphanedTask(shim, pgid));
  }

  #orphansKilled(ref: AttemptRef, killed: number): void {
    if (killed > 0) this.#log.warn({ job: ref.job, task: ref.task, attempt: ref.attempt, killed }, 'the shim of an attempt died without recording its end: killed what was left of its task');
  }

  #stop(attempt: Attempt, request: JournalStop, graceMs: number): void {
    if (attempt.settled) return;
    const first = attempt.stop === undefined;
    attempt.stop ??= request;
    attempt.limit?.cancel();
    const due = performance.now() + Math.max(0, graceMs);
    if (attempt.killDue !== undefined && attempt.killDue <= due) return; // already going, at least as fast
    attempt.killDue = due;
    if (!first) return this.#signalStop(attempt);
    // Not spawned yet: #launch sees `stop` and never spawns. Else the stop is journaled before any signal,
    // so that an agent restarted mid-stop still knows why the task died.
    if (attempt.shim === undefined && attempt.child === undefined) return;
    void this.#journal.put(this.#entry(attempt)).then(() => {
      attempt.stopJournaled = true;
      this.#signalStop(attempt);
    });
  }

  /** Sends what a stop calls for by now: SIGTERM once, SIGKILL when the grace is over (re-armed on a shorter one). */
  #signalStop(attempt: Attempt): void {
    const { pgid, killDue } = attempt;
    if (attempt.settled || pgid === undefined || killDue === undefined || !attempt.stopJournaled) return;
    clearTimeout(attempt.grace);
    const left = killDue - performance.now();
    if (left <= 0) {
      signalGroup(pgid, 'SIGKILL');
      return;
    }
    if (!attempt.termSent) {
      attempt.termSent = true;
      signalGroup(pgid, 'SIGTERM');
    }
    attempt.grace = setTimeout(() => this.#signalStop(attempt), left);
  }

  #end(attempt: Attempt, end: ProcessEnd): void {
    if (attempt.settled) return;
    attempt.settled = true;
    attempt.limit?.cancel();
    clearTimeout(attempt.grace);
    this.#live.delete(attempt.key);
    const { job, task, attempt: number } = attempt.id;
    const ended: AttemptEnded = { job, task, attempt: number, ...end };
    this.#log.info({ job, task, attempt: number, outcome: end.outcome, exitCode: end.exitCode, signal: end.signal, reason: end.reason }, 'attempt ended');
    attempt.logsReady.resolve();
    attempt.ended.resolve(ended);
    if (!attempt.report) {
      void this.#journal.remove(attempt.id);
      return;
    }
    // Journaled before it is reported, and kept until the server acknowledges it (`acknowledged`): an end
    // the server may have heard of is never one a restarted agent could not report again.
    this.#reporting.set(attempt.key, attempt.id);
    void this.#journal.put({ ...this.#entry(attempt), end }).then(() => {
      this.#reporting.delete(attempt.key);
      this.#emit('ended', ended);
    });
  }

  /** An attempt of a previous agent whose shim still runs: watched from now on. */
  #adopt(entry: JournalEntry, paths: AttemptPaths, shim: ProcessIdentity, pgid: number | undefined): void {
    const { job, task, attempt: number, epoch, node, command, timeLimitMs } = entry;
    const id: Identity = { job, task, attempt: number, epoch, node, command, ...(timeLimitMs !== undefined ? { timeLimitMs } : {}) };
    const attempt = newAttempt(id, attemptKey(id), paths, undefined);
    attempt.shim = shim;
    if (pgid !== undefined) attempt.pgid = pgid;
    attempt.startedAtMs = entry.startedAtMs ?? monotonicMs();
    attempt.logsReady.resolve();
    this.#live.set(attempt.key, attempt);
    if (entry.stop) {
      // It was being stopped when the previous agent went: the stop goes on, with a fresh grace.
      attempt.stop = entry.stop;
      attempt.report = !entry.stop.silent;
      attempt.killDue = performance.now() + (entry.stop.outcome === 'lost' ? 0 : this.#graceMs);
      attempt.stopJournaled = true;
      this.#signalStop(attempt);
    } else this.#armLimit(attempt);
    void this.#journal.put(this.#entry(attempt));
    this.#log.info({ job, task, attempt: number, shim: shim.pid, pid: pgid }, 'adopted an attempt of the previous agent');
    // Ref'd, as a child process is: an executor with attempts to watch stays alive until they end.
    this.#watch ??= setInterval(() => void this.#lookAtAdopted(), ADOPTED_POLL_MS);
  }

  /** Adopted attempts end without an event (they are not our children): look whether their shim still runs. */
  async #lookAtAdopted(): Promise<void> {
    if (this.#watching) return;
    this.#watching = true;
    try {
      let adopted = 0;
      for (const attempt of this.#live.values()) {
        if (attempt.child || !attempt.shim) continue;
        adopted++;
        if (!(await stillRuns(attempt.shim))) void this.#shimEnded(attempt);
        else if (attempt.pgid === undefined) {
          // Adopted before its shim had forked the task (or said so): the task is the shim's child.
          const task = (await allProcesses()).find((p) => p.ppid === attempt.shim!.pid);
          if (task && !attempt.settled) {
            attempt.pgid = task.pid;
            void this.#journal.put(this.#entry(attempt));
            this.#signalStop(attempt);
          }
        }
      }
      if (adopted === 0) {
        clearInterval(this.#watch);
        this.#watch = undefined;
      }
    } finally {
      this.#watching = false;
    }
  }

  #entry(attempt: Attempt): JournalEntry {
    return {
      ...attempt.id,
      ...(attempt.shim ? { shim: attempt.shim } : {}),
      ...(attempt.pgid !== undefined ? { pgid: attempt.pgid } : {}),
      ...(attempt.startedAtMs !== undefined ? { startedAtMs: attempt.startedAtMs } : {}),
      ...(attempt.stop ? { stop: attempt.stop } : {}),
    };
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
    for (const { id } of this.#live.values()) {
      if (id.job === job && id.task === task && (newest === undefined || id.attempt > newest)) newest = id.attempt;
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

function newAttempt(id: Identity, key: string, paths: AttemptPaths, launch: TaskLaunch | undefined): Attempt {
  return { id, key, paths, launch, report: true, settled: false, stopJournaled: false, termSent: false, ended: deferred(), logsReady: deferred() };
}

/** Milliseconds of CLOCK_MONOTONIC: the same clock for every process of the machine, unmoved by wall-clock changes. */
function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
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
