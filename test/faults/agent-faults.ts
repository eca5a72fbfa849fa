/**
 * The agent fault runs (issue 12, item 8), shared by the fault tests (one run each, `rounds: 1`) and the
 * faults benchmark (more rounds). Each starts a FaultCluster of two real agents (three cores each, so a
 * wave of marker jobs fills both and some wait), submits waves of marker jobs, injects its fault while
 * tasks run on the faulted agent, and ends with the cluster's report (fault-cluster.ts, findings.ts).
 *
 * Besides the findings every run checks, a fault adds what it must show itself:
 * - whenever the server declares the faulted node lost, none of that node's tasks may still run (the
 *   fence, by the agent or by the shims, comes first): checked when the lost state is seen, so a task
 *   alive then was alive at the declaration;
 * - a server that was itself stopped blames no node for its pause: no attempt ends `node … lost`.
 */
import type { RunReport } from './fault-cluster.js';
import { FAULT_LIVENESS, FaultCluster } from './fault-cluster.js';
import type { AttemptRecord, MarkerJob } from './marker-task.js';
import { processGone } from './processes.js';

export interface RunOptions {
  /** How many times the fault (with its waves) is repeated in one cluster. */
  readonly rounds: number;
}

/** Jobs per wave: as many as the two agents' six cores, plus the second task of some, so some wait. */
const WAVE_JOBS = 6;
/** Tasks that must run on the faulted agent when the fault strikes. */
const LIVE_AT_FAULT = 2;
/** The exit codes of the first attempt of each task to end on its own, in turn. */
const EXIT_CODES = [0, 3, 0, 42] as const;
/** Retries of most jobs: enough for a lost attempt or two and one failure; every fifth job has none. */
const RETRIES = 6;

/** A wave of marker jobs named `PREFIX-I`: mixed exit codes, some with two tasks, some without retries. */
export function wave(prefix: string, sleepSeconds: number, jobs = WAVE_JOBS): MarkerJob[] {
  return Array.from({ length: jobs }, (_, i) => ({
    name: `${prefix}-${i}`,
    sleepSeconds,
    exitCode: EXIT_CODES[i % EXIT_CODES.length]!,
    retries: i % 5 === 4 ? 0 : RETRIES,
    ...(i % 4 === 1 ? { tasks: 2 } : {}),
  }));
}

const TWO_AGENTS = [
  { name: 'a1', cpu: 3 },
  { name: 'a2', cpu: 3 },
] as const;

/** Starts a cluster of the two agents, runs `round` `rounds` times in it, and ends with its report. */
async function inCluster(label: string, options: RunOptions, round: (cluster: FaultCluster, r: number) => Promise<void>): Promise<RunReport> {
  const cluster = await FaultCluster.start({ label, agents: TWO_AGENTS });
  try {
    for (let r = 1; r <= options.rounds; r++) await round(cluster, r);
    return await cluster.finish();
  } finally {
    await cluster.close();
  }
}

/** Waits until the server says the agent's node is lost, then checks that none of `attempts` still runs. */
async function lostAfterFence(cluster: FaultCluster, agent: string, attempts: readonly AttemptRecord[]): Promise<void> {
  await cluster.waitNodeState(agent, 'lost');
  const alive = attempts.filter((a) => !processGone(a.pid));
  if (alive.length > 0) cluster.faultFindings.push(`${cluster.nodeOf(agent)} declared lost while its tasks still ran: ${alive.map((a) => `${a.job}#${a.task}#${a.attempt} (pid ${a.pid})`).join(', ')}`);
}

/**
 * SIGKILL of an agent with tasks running, restarted at once (it re-adopts them: they run once and end with
 * their real codes), then SIGKILLed again and restarted only after the server has declared its node lost
 * (its shims have fenced the tasks; they run again elsewhere; the restarted agent reports them lost).
 */
export function agentKillRun(options: RunOptions): Promise<RunReport> {
  return inCluster('agent-kill', options, async (cluster, r) => {
    await cluster.submit(wave(`kill-quick-${r}`, 2));
    const adopted = await cluster.waitLiveAttempts('a1', LIVE_AT_FAULT);
    await cluster.killAgent('a1');
    await cluster.startAgent('a1');
    await cluster.waitAllEnded();
    cluster.notes.push(`round ${r}: a1 SIGKILLed with ${adopted.length} tasks running and restarted at once`);

    await cluster.submit(wave(`kill-late-${r}`, 3));
    const fenced = await cluster.waitLiveAttempts('a1', LIVE_AT_FAULT);
    await cluster.killAgent('a1');
    await lostAfterFence(cluster, 'a1', fenced);
    await cluster.waitRetried(fenced);
    await cluster.startAgent('a1');
    await cluster.waitAllEnded();
    cluster.notes.push(`round ${r}: a1 SIGKILLed with ${fenced.length} tasks running, restarted after its node was lost and they were placed again`);
  });
}

/**
 * SIGSTOP of an agent with tasks running, past the server's lost timeout: its shims kill the tasks at the
 * fence while it is stopped, the server runs them again elsewhere; SIGCONT: the agent is heard from again
 * and reports them lost (fenced); the replaced attempts, were any still running, would be killed.
 */
export function agentStopRun(options: RunOptions): Promise<RunReport> {
  return inCluster('agent-stop', options, async (cluster, r) => {
    await cluster.submit(wave(`stop-${r}`, 4));
    const fenced = await cluster.waitLiveAttempts('a1', LIVE_AT_FAULT);
    await cluster.stopAgent('a1');
    await lostAfterFence(cluster, 'a1', fenced);
    await cluster.waitRetried(fenced);
    cluster.continueAgent('a1');
    await cluster.waitNodeState('a1', 'ready');
    await cluster.waitAllEnded();
    cluster.notes.push(`round ${r}: a1 SIGSTOPped with ${fenced.length} tasks running until its node was lost and they were placed again`);
  });
}

/** How long past the lost timeout the server stays stopped: a few heartbeats, so every node would be judged. */
const SERVER_STOP_PAST_LOST_MS = 4 * FAULT_LIVENESS.heartbeatMs;

/**
 * SIGSTOP of the server with tasks running on both agents, past its lost timeout: the agents' fence kills
 * every task (no contact); SIGCONT: the server notices its own stall and gives every node a fresh grace
 * period (nobody is declared lost), the agents come back and report the tasks lost (fenced); they run again.
 */
export function serverStopRun(options: RunOptions): Promise<RunReport> {
  return inCluster('server-stop', options, async (cluster, r) => {
    const ids = new Set(await cluster.submit(wave(`server-stop-${r}`, 5)));
    const running = [...(await cluster.waitLiveAttempts('a1', LIVE_AT_FAULT)), ...(await cluster.waitLiveAttempts('a2', LIVE_AT_FAULT))];
    await cluster.stopServer();
    const stoppedAt = performance.now();
    await cluster.waitGone(running);
    const fencedAfterMs = performance.now() - stoppedAt;
    // The fault's length is time itself: the server stays stopped until it is past its lost timeout.
    const rest = FAULT_LIVENESS.lostAfterMs + SERVER_STOP_PAST_LOST_MS - (performance.now() - stoppedAt);
    if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
    cluster.continueServer();
    const stoppedMs = performance.now() - stoppedAt;
    await cluster.waitAllEnded();
    cluster.notes.push(`round ${r}: the server SIGSTOPped for ${Math.round(stoppedMs)} ms; its ${running.length} running tasks were fenced within ${Math.round(fencedAfterMs)} ms`);
    const blamed = cluster.events.filter((e) => ids.has(e.job) && e.type === 'task-ended' && /^node \S+ lost$/.test(e.reason ?? ''));
    for (const e of blamed) cluster.faultFindings.push(`${e.job}#${e.task}#${e.attempt}: ${e.reason} after the server's own stall`);
  });
}

/**
 * An agent's link cut while its tasks end, then mended: the ends are kept and reported with their real
 * outcomes; then cut past the lost timeout: the agent fences its tasks itself before the server declares
 * the node lost and runs them elsewhere; mended, the agent registers again and reports them lost (fenced).
 */
export function linkCutRun(options: RunOptions): Promise<RunReport> {
  return inCluster('link-cut', options, async (cluster, r) => {
    await cluster.submit(wave(`cut-short-${r}`, 1));
    const ending = await cluster.waitLiveAttempts('a1', LIVE_AT_FAULT);
    cluster.cut('a1');
    await cluster.waitGone(ending);
    cluster.mend('a1');
    await cluster.waitAllEnded();
    const real = ending.filter((a) => cluster.events.some((e) => e.type === 'task-ended' && e.job === a.job && e.task === a.task && e.attempt === a.attempt && e.outcome !== 'lost')).length;
    cluster.notes.push(`round ${r}: a1's link cut while ${ending.length} of its tasks ended; ${real} of those ends recorded with their real outcome`);

    await cluster.submit(wave(`cut-long-${r}`, 4));
    const fenced = await cluster.waitLiveAttempts('a1', LIVE_AT_FAULT);
    cluster.cut('a1');
    await lostAfterFence(cluster, 'a1', fenced);
    await cluster.waitRetried(fenced);
    cluster.mend('a1');
    await cluster.waitNodeState('a1', 'ready');
    await cluster.waitAllEnded();
    cluster.notes.push(`round ${r}: a1's link cut with ${fenced.length} tasks running until its node was lost and they were placed again`);
  });
}

/** Every agent fault run, by name. */
export const AGENT_FAULT_RUNS = {
  'agent-kill': agentKillRun,
  'agent-stop': agentStopRun,
  'server-stop': serverStopRun,
  'link-cut': linkCutRun,
} as const;
