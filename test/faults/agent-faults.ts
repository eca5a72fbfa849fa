/**
 * The agent fault runs (issue 12, item 8), shared by the fault tests (one round each) and the faults
 * benchmark (more rounds). Each starts a FaultCluster of two real agents, `a1` (the one faulted) and `a2`,
 * three cores each, submits a wave of marker jobs that fills both, and injects its fault while the wave
 * runs. Where the fault gives `a1`'s tasks to others, a third agent, `spare`, is started first, so that they
 * can run again at once, while `a1`'s attempts would still be running were they not stopped: a wave's
 * tasks sleep far longer than the lost timeout, so an attempt that nobody killed would overlap its
 * replacement for seconds (this is how the issue saw its double runs). The spare is stopped again (SIGTERM)
 * at the end of the round.
 *
 * Besides the findings every run checks (findings.ts), a fault adds what it must show itself:
 * - whenever the server declares the faulted node lost, none of that node's tasks may still run (the
 *   fence, by the agent or by the shims, comes first): checked when the lost state is seen, so a task
 *   alive then was alive at the declaration;
 * - while the server is stopped, the agents' fence kills every task within the fence time (and a bit);
 * - a server that was itself stopped blames no node for its pause: no attempt ends `node … lost`.
 */
import type { RunReport } from './fault-cluster.js';
import { FAULT_FENCE_MS, FAULT_LIVENESS, FaultCluster } from './fault-cluster.js';
import type { AttemptRecord, MarkerJob } from './marker-task.js';
import { processGone } from './processes.js';

export interface RunOptions {
  /** How many times the fault (with its waves) is repeated in one cluster. */
  readonly rounds: number;
}

/** The agents of every run: a1 and a2 fill up with a wave; the spare joins when a1's tasks must move. */
const AGENTS = [
  { name: 'a1', cpu: 3 },
  { name: 'a2', cpu: 3 },
  { name: 'spare', cpu: 3, spare: true },
] as const;
/** Tasks of a wave: as many as a1 and a2 have cores, so both are full and nothing waits for the spare. */
const WAVE_TASKS = [1, 2, 1, 1, 1] as const;
/** The exit codes of the first attempt of each task to end on its own, in turn. */
const EXIT_CODES = [0, 3, 0, 42, 0] as const;
/** Retries of the jobs: enough for a lost attempt or two and a failure; the last job of a wave has none. */
const RETRIES = [6, 6, 6, 6, 0] as const;
/** Every task of a wave runs on a1 or a2 before a fault. */
const A1_TASKS = 3;
const A2_TASKS = 3;

/**
 * How long a task of a wave that a fault strikes sleeps: far past the lost timeout plus a placement and a
 * start elsewhere, so an attempt that outlived its fault would overlap its replacement for seconds.
 */
const LONG_TASK_SECONDS = 8;
/** Tasks that must end during the fault (a link cut while they end, a restart that re-adopts them). */
const SHORT_TASK_SECONDS = 1;
/** The fence kills a task within the fence time of the last contact; allow this much more on a loaded machine. */
const FENCE_SLACK_MS = 2_000;
/** How long past the lost timeout the server stays stopped: a few heartbeats, so every node would be judged. */
const SERVER_STOP_PAST_LOST_MS = 4 * FAULT_LIVENESS.heartbeatMs;

/** A wave of marker jobs named `PREFIX-I` filling a1 and a2: mixed exit codes, one job of two tasks, one without retries. */
export function wave(prefix: string, sleepSeconds: number): MarkerJob[] {
  return WAVE_TASKS.map((tasks, i) => ({ name: `${prefix}-${i}`, sleepSeconds, exitCode: EXIT_CODES[i]!, retries: RETRIES[i]!, tasks }));
}

/** Submits a wave and waits until all of it runs: a1's tasks are returned (those the fault strikes). */
async function runWave(cluster: FaultCluster, prefix: string, sleepSeconds: number): Promise<{ ids: Set<string>; onA1: AttemptRecord[] }> {
  const ids = new Set(await cluster.submit(wave(prefix, sleepSeconds)));
  const onA1 = await cluster.waitLiveAttempts('a1', A1_TASKS);
  await cluster.waitLiveAttempts('a2', A2_TASKS);
  return { ids, onA1 };
}

/** Waits until the server says the agent's node is lost, then checks that none of `attempts` still runs. */
async function lostAfterFence(cluster: FaultCluster, agent: string, attempts: readonly AttemptRecord[]): Promise<void> {
  await cluster.waitNodeState(agent, 'lost');
  const alive = attempts.filter((a) => !processGone(a.pid));
  if (alive.length > 0) cluster.faultFindings.push(`${cluster.nodeOf(agent)} declared lost while its tasks still ran: ${alive.map((a) => `${a.job}#${a.task}#${a.attempt} (pid ${a.pid})`).join(', ')}`);
}

/** Starts a cluster (a1, a2), runs `round` `rounds` times in it, and ends with its report. */
async function inCluster(label: string, options: RunOptions, round: (cluster: FaultCluster, r: number) => Promise<void>): Promise<RunReport> {
  const cluster = await FaultCluster.start({ label, agents: AGENTS });
  try {
    for (let r = 1; r <= options.rounds; r++) await round(cluster, r);
    return await cluster.finish();
  } finally {
    await cluster.close();
  }
}

/**
 * SIGKILL of an agent with tasks running, restarted at once (it re-adopts them: they run once and end with
 * their real codes), then SIGKILLed again and restarted only after the server has declared its node lost
 * (its shims have fenced the tasks; they run again on the spare; the restarted agent reports them lost).
 */
export function agentKillRun(options: RunOptions): Promise<RunReport> {
  return inCluster('agent-kill', options, async (cluster, r) => {
    const quick = await runWave(cluster, `kill-quick-${r}`, SHORT_TASK_SECONDS * 2);
    await cluster.killAgent('a1');
    await cluster.startAgent('a1');
    await cluster.waitAllEnded();
    cluster.notes.push(`round ${r}: a1 SIGKILLed with ${quick.onA1.length} tasks running and restarted at once`);

    const late = await runWave(cluster, `kill-late-${r}`, LONG_TASK_SECONDS);
    await cluster.startAgent('spare');
    await cluster.killAgent('a1');
    await lostAfterFence(cluster, 'a1', late.onA1);
    await cluster.waitRetried(late.onA1);
    await cluster.startAgent('a1');
    await cluster.waitAllEnded();
    await cluster.terminateAgent('spare');
    cluster.notes.push(`round ${r}: a1 SIGKILLed with ${late.onA1.length} tasks running, restarted after its node was lost and they were placed again`);
  });
}

/**
 * SIGSTOP of an agent with tasks running, past the server's lost timeout: its shims kill the tasks at the
 * fence while it is stopped, the server runs them again on the spare; SIGCONT: the agent is heard from again
 * and reports them lost (fenced); the replaced attempts, were any still running, would be killed.
 */
export function agentStopRun(options: RunOptions): Promise<RunReport> {
  return inCluster('agent-stop', options, async (cluster, r) => {
    const { onA1 } = await runWave(cluster, `stop-${r}`, LONG_TASK_SECONDS);
    await cluster.startAgent('spare');
    await cluster.stopAgent('a1');
    await lostAfterFence(cluster, 'a1', onA1);
    await cluster.waitRetried(onA1);
    cluster.continueAgent('a1');
    await cluster.waitNodeState('a1', 'ready');
    await cluster.waitAllEnded();
    await cluster.terminateAgent('spare');
    cluster.notes.push(`round ${r}: a1 SIGSTOPped with ${onA1.length} tasks running until its node was lost and they were placed again`);
  });
}

/**
 * SIGSTOP of the server with tasks running on both agents, past its lost timeout: the agents' fence kills
 * every task (no contact); SIGCONT: the server notices its own stall and gives every node a fresh grace
 * period (nobody is declared lost), the agents come back and report the tasks lost (fenced); they run again.
 */
export function serverStopRun(options: RunOptions): Promise<RunReport> {
  return inCluster('server-stop', options, async (cluster, r) => {
    const { ids } = await runWave(cluster, `server-stop-${r}`, LONG_TASK_SECONDS);
    const running = [...cluster.liveAttemptsOn('a1'), ...cluster.liveAttemptsOn('a2')];
    await cluster.stopServer();
    const stoppedAt = performance.now();
    await cluster.waitGone(running, FAULT_FENCE_MS + FENCE_SLACK_MS).catch(() => {
      const alive = running.filter((a) => !processGone(a.pid));
      cluster.faultFindings.push(`the server stopped for ${Math.round(performance.now() - stoppedAt)} ms, past the fence, and these tasks still ran: ${alive.map((a) => `${a.job}#${a.task}#${a.attempt}`).join(', ')}`);
    });
    const fencedAfterMs = performance.now() - stoppedAt;
    // The fault's length is time itself: the server stays stopped until it is past its lost timeout.
    const rest = FAULT_LIVENESS.lostAfterMs + SERVER_STOP_PAST_LOST_MS - (performance.now() - stoppedAt);
    if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
    cluster.continueServer();
    const stoppedMs = performance.now() - stoppedAt;
    await cluster.waitAllEnded();
    cluster.notes.push(`round ${r}: the server SIGSTOPped for ${Math.round(stoppedMs)} ms; its ${running.length} running tasks were gone ${Math.round(fencedAfterMs)} ms after the stop`);
    const blamed = cluster.events.filter((e) => ids.has(e.job) && e.type === 'task-ended' && /^node \S+ lost$/.test(e.reason ?? ''));
    for (const e of blamed) cluster.faultFindings.push(`${e.job}#${e.task}#${e.attempt}: ${e.reason} after the server's own stall`);
  });
}

/**
 * An agent's link cut while its tasks end, then mended: the ends are kept and reported with their real
 * outcomes; then cut past the lost timeout: the agent fences its tasks itself before the server declares
 * the node lost and runs them on the spare; mended, the agent registers again and reports them lost (fenced).
 */
export function linkCutRun(options: RunOptions): Promise<RunReport> {
  return inCluster('link-cut', options, async (cluster, r) => {
    const short = await runWave(cluster, `cut-short-${r}`, SHORT_TASK_SECONDS);
    cluster.cut('a1');
    await cluster.waitGone(short.onA1);
    cluster.mend('a1');
    await cluster.waitAllEnded();
    const real = short.onA1.filter((a) => cluster.events.some((e) => e.type === 'task-ended' && e.job === a.job && e.task === a.task && e.attempt === a.attempt && e.outcome !== 'lost')).length;
    cluster.notes.push(`round ${r}: a1's link cut while ${short.onA1.length} of its tasks ended; ${real} of those ends recorded with their real outcome`);

    const long = await runWave(cluster, `cut-long-${r}`, LONG_TASK_SECONDS);
    await cluster.startAgent('spare');
    cluster.cut('a1');
    await lostAfterFence(cluster, 'a1', long.onA1);
    await cluster.waitRetried(long.onA1);
    cluster.mend('a1');
    await cluster.waitNodeState('a1', 'ready');
    await cluster.waitAllEnded();
    await cluster.terminateAgent('spare');
    cluster.notes.push(`round ${r}: a1's link cut with ${long.onA1.length} tasks running until its node was lost and they were placed again`);
  });
}

/** Every agent fault run, by name. */
export const AGENT_FAULT_RUNS = {
  'agent-kill': agentKillRun,
  'agent-stop': agentStopRun,
  'server-stop': serverStopRun,
  'link-cut': linkCutRun,
} as const;
