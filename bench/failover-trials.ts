/**
 * Failover trials: three real etcd members (test/helpers/etcd-cluster.ts), three `muster server --etcd …
 * --lease-ttl 2` replicas (the built CLI) on fixed ports, and a client given all three URLs submitting a
 * small frame every 50 ms (bench/failover-submitter.ts). A trial:
 *
 * 1. waits until the cluster is steady: every replica answers `GET /v1/leader`, one as the leader, the
 *    others as standbys naming it with its epoch; every standby has been running for `CATCH_UP_MS` (a
 *    standby's progress through the log is not observable from outside: neither `GET /v1/leader` nor
 *    `/metrics` says its seq, so a replica restarted a moment ago may still be reading the whole log); and
 *    the client has had an ack from that leader since;
 * 2. waits a random 0–`KILL_JITTER_MS` (so kills fall at every point of the leader's keepalive cycle and of
 *    the client's frames, not always at the same one), then SIGKILLs the leader;
 * 3. measures the seconds from the kill to the first submission acknowledged by another replica, and checks
 *    that replica leads, under a higher epoch;
 * 4. checks nothing acknowledged was lost: every job acknowledged before the kill (and every one the killed
 *    leader acknowledged) is on the new leader — sent again to it alone with the same idempotency keys, each
 *    comes back `existing` with the same id — and the new leader's queues hold at least as many pending jobs
 *    as were ever acknowledged (there are no nodes: every job stays pending);
 * 5. starts the killed replica again on its port and data folder, as a standby (once the port is out of
 *    TIME_WAIT: a minute on Linux), and breaks the failover down from the logs (bench/failover-breakdown.ts).
 *
 * A trial whose new leader read more than `FOLLOWING_MAX_EVENTS` events at its takeover was not following
 * the log when the leader was killed: the cluster was not steady, so the trial does not count towards the
 * cases; it is reported (log and result config) and another is run in its place, at most `MAX_DISCARDED`
 * times. Any refused or failed submission, a lost job, or a wrong leader fails the run: no number is reported.
 */
import { performance } from 'node:perf_hooks';
import { EtcdCluster } from '../test/helpers/etcd-cluster.js';
import { until } from '../test/helpers/until.js';
import { ADMIN, ReplicaSet, probe } from '../test/ha/replica-fixture.js';
import type { RunningChild } from '../test/ha/replica-fixture.js';
import type { FailoverSteps, KillMark, StepSources } from './failover-breakdown.js';
import { describeSteps, failoverSteps, timeline } from './failover-breakdown.js';
import { ElectionWatch } from './failover-election-watch.js';
import type { Ack, AckedJob } from './failover-submitter.js';
import { ContinuousSubmitter, benchJob, origin } from './failover-submitter.js';
import type { BenchContext } from './lib/index.js';
import { importBuilt } from './lib/index.js';

type ClientModule = typeof import('../src/client/index.js');

/** The lease TTL the issue's target is stated for (seconds; `--lease-ttl`). */
export const LEASE_TTL_SECONDS = 2;

/** Replicas: a leader and two standbys, so a standby is always there while the killed one restarts. */
const REPLICAS = 3;

/** The etcd key prefix (the server's default, `--etcd-prefix`). */
const ETCD_PREFIX = '/muster';

/**
 * The kill comes a random 0–500 ms after the cluster is steady: longer than a keepalive period (375 ms at a
 * 2 s TTL) and than 10 of the client's frames, so the kills sample every phase of both.
 */
const KILL_JITTER_MS = 500;

/**
 * How long every standby must have been running before a kill: a replica that starts reads the whole log
 * (the snapshot, then every log key, three per request), which took up to 10 s here at 64,000 events on a
 * loaded machine (a takeover that had to do it, in a first run); 30 s is three times that. A wait on the
 * replica's age because its progress is not observable (see the header).
 */
const CATCH_UP_MS = 30_000;

/**
 * A standby that follows the log is at most a few groups behind when elected (0 events in every takeover
 * of a following standby seen here); one that reads more than this many events at its takeover was not
 * following (a thousand is some fifty seconds of this benchmark's submissions).
 */
const FOLLOWING_MAX_EVENTS = 1_000;

/** Trials discarded for a standby that was not following before the run gives up: the harness is then at fault. */
const MAX_DISCARDED = 3;

/** Bounds a wait for the cluster (a restarted replica following the log, a first ack) only to report a failure. */
const WAIT_MS = 120_000;

/** Jobs per frame when acknowledged jobs are sent again to the new leader to check them. */
const CHECK_FRAME_JOBS = 1_000;

/**
 * The replicas' configuration: the token-bucket rate limit lifted (the checks send thousands of jobs at
 * once; this measures the failover, not the limiter).
 */
const REPLICA_CONFIG = { limits: { ratePerSecond: 1_000_000_000, rateBurst: 1_000_000_000 } };

export interface TrialResult {
  readonly seconds: number;
  readonly from: string;
  readonly to: string;
  readonly epochs: readonly [number, number];
  /** Jobs checked on the new leader in this trial. */
  readonly checked: number;
  readonly steps: FailoverSteps;
  /** The new leader's log lines from the kill to the first ack (failover-breakdown.ts, `timeline`). */
  readonly timeline: readonly string[];
}

export interface TrialRun {
  /** The trials that count, in order. */
  readonly counted: readonly TrialResult[];
  /** Trials whose new leader was not following the log (more than `FOLLOWING_MAX_EVENTS` read at takeover). */
  readonly discarded: readonly TrialResult[];
  /** Jobs acknowledged over the whole run, each found on the leader that followed its acknowledger. */
  readonly acknowledged: number;
}

export const TRIAL_BOUNDS = { catchUpMs: CATCH_UP_MS, followingMaxEvents: FOLLOWING_MAX_EVENTS, maxDiscarded: MAX_DISCARDED, killJitterMs: KILL_JITTER_MS } as const;

interface Steady {
  readonly leader: number;
  readonly epoch: number;
}

/** Every replica answers; one leads; the others are standbys naming it with its epoch. */
async function steadyCluster(urls: readonly string[]): Promise<Steady> {
  const read = async (): Promise<Steady | undefined> => {
    const views = await Promise.all(urls.map((u) => probe(u, '/v1/leader')));
    const leaders = views.flatMap((v, i) => (v.status === 200 && v.body?.role === 'leader' && v.body.self === true ? [i] : []));
    if (leaders.length !== 1) return undefined;
    const leader = leaders[0]!;
    const epoch = views[leader]!.body.epoch as number;
    const followers = views.every((v, i) => i === leader || (v.status === 200 && v.body?.role === 'standby' && v.body.leader === urls[leader] && v.body.epoch === epoch));
    return followers ? { leader, epoch } : undefined;
  };
  return (await until('a steady cluster (one leader, two standbys naming it)', read, (s) => s !== undefined, WAIT_MS))!;
}

/**
 * Sends `jobs` again to `leader` alone, with their keys: each must come back `existing` with the id it was
 * first given. Throws naming the first that does not.
 */
async function checkPresent(lib: ClientModule, leader: string, jobs: readonly AckedJob[]): Promise<void> {
  const client = lib.createClient({ endpoints: leader, token: ADMIN, requestTimeoutMs: WAIT_MS, batch: { maxJobs: CHECK_FRAME_JOBS, windowMs: 0 } });
  try {
    for (let i = 0; i < jobs.length; i += CHECK_FRAME_JOBS) {
      const part = jobs.slice(i, i + CHECK_FRAME_JOBS);
      const results = await client.submit(part.map((j) => benchJob(j.key)));
      for (const [k, r] of results.entries()) {
        const job = part[k]!;
        if (!r.ok) throw new Error(`acknowledged job ${job.id} (${job.key}) sent again to the new leader was refused: ${r.code}: ${r.message}`);
        if (r.existing !== true || r.job !== job.id) throw new Error(`acknowledged job ${job.id} (${job.key}) is not on the new leader: sent again it came back ${r.existing ? 'as' : 'new, as'} ${r.job}`);
      }
    }
    if (client.leader === undefined || origin(client.leader) !== leader) throw new Error(`the check was answered by ${client.leader}, not ${leader}`);
  } finally {
    await client.close();
  }
}

/** Pending jobs in every queue of `leader` (read over HTTP). */
async function pendingJobs(leader: string): Promise<number> {
  const r = await probe(leader, '/v1/queues');
  if (r.status !== 200) throw new Error(`GET /v1/queues on the new leader: ${r.status} ${JSON.stringify(r.body)}`);
  const queues = r.body.queues as { pending: number }[];
  return queues.reduce((sum, q) => sum + q.pending, 0);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Lines at warn or above (pino level ≥ 40) each replica logged since `wall`, for the trial's report. */
function warnings(names: readonly string[], running: readonly RunningChild[], wall: number): string[] {
  return running.flatMap((r, i) => r.child.logs.filter((l) => l.level >= 40 && typeof l['time'] === 'number' && l['time'] >= wall).map((l) => `${names[i]}: +${(l['time'] as number) - wall} ms ${l.msg}`));
}

/** The cluster under test: etcd, the replicas, the election watch and the client. */
interface Rig {
  readonly lib: ClientModule;
  readonly replicas: ReplicaSet;
  readonly names: readonly string[];
  readonly urls: readonly string[];
  readonly running: RunningChild[];
  /** `performance.now()` when each replica last started. */
  readonly startedAt: number[];
  readonly election: ElectionWatch;
  readonly submitter: ContinuousSubmitter;
  /** Acks whose jobs were found on a later leader. */
  readonly checked: Set<Ack>;
}

/** One trial (see the header): measured, checked, broken down; the killed replica restarted. */
async function trial(ctx: BenchContext, rig: Rig, label: string): Promise<TrialResult> {
  const { names, urls, running, submitter, election } = rig;
  const steady = await steadyCluster(urls);
  await delay(Math.max(...rig.startedAt) + CATCH_UP_MS - performance.now());
  const steadyAt = performance.now();
  const oldLeader = urls[steady.leader]!;
  await submitter.waitForAck((a) => a.replica === oldLeader && a.at >= steadyAt, 0, WAIT_MS);
  // A random point of the leader's keepalive cycle and of the client's frames.
  await delay(Math.random() * KILL_JITTER_MS);

  const from = submitter.acks.length;
  const kill: KillMark = { at: performance.now(), wall: Date.now() };
  await running[steady.leader]!.child.kill();
  const first = await submitter.waitForAck((a) => a.at >= kill.at && a.replica !== oldLeader, from, WAIT_MS);
  const seconds = (first.at - kill.at) / 1000;

  // The replica that answered leads, under a higher epoch.
  const view = await probe(first.replica, '/v1/leader');
  const to = urls.indexOf(first.replica);
  if (to < 0 || view.status !== 200 || view.body?.role !== 'leader' || !(view.body.epoch > steady.epoch)) {
    throw new Error(`${label}: the first ack after the kill came from ${first.replica}, which answers ${JSON.stringify(view.body)} (the killed leader had epoch ${steady.epoch})`);
  }
  const newEpoch = view.body.epoch as number;

  // Nothing acknowledged lost: what was acknowledged before the kill, and everything the killed leader acknowledged.
  const toCheck = submitter.acks.filter((a) => !rig.checked.has(a) && (a.at < kill.at || a.replica === oldLeader));
  const jobs = toCheck.flatMap((a) => a.jobs);
  await checkPresent(rig.lib, first.replica, jobs);
  for (const a of toCheck) rig.checked.add(a);
  const everAcked = submitter.acks.reduce((n, a) => n + a.jobs.length, 0);
  const pending = await pendingJobs(first.replica);
  if (pending < everAcked) throw new Error(`${label}: the new leader holds ${pending} pending jobs, fewer than the ${everAcked} acknowledged`);

  const newChild = running[to]!.child;
  await until('the new leader logged its takeover', async () => newChild.logs.some((l) => typeof l['time'] === 'number' && l['time'] >= kill.wall && l.msg.startsWith('leading (epoch ')), (found) => found, WAIT_MS);
  const sources: StepSources = { kill, logs: newChild.logs, election, connections: submitter.connections, newLeader: first.replica, firstAckAt: first.at };
  const steps = failoverSteps(sources);
  const told = timeline(sources).map((line) => `${names[to]}: ${line}`);
  ctx.log(
    `${label}: ${seconds.toFixed(3)} s, ${names[steady.leader]} (epoch ${steady.epoch}) → ${names[to]} (epoch ${newEpoch}); ` +
      `${jobs.length} acknowledged jobs checked on the new leader, ${pending} pending ≥ ${everAcked} ever acknowledged`,
  );
  ctx.log(`  ${describeSteps(steps)}`);
  for (const line of warnings(names, running, kill.wall).slice(0, 10)) ctx.log(`  warning since the kill: ${line}`);

  // The killed replica comes back on its port and folder, as a standby.
  running[steady.leader] = await rig.replicas.restart(names[steady.leader]!, urls[steady.leader]!);
  rig.startedAt[steady.leader] = performance.now();
  return { seconds, from: names[steady.leader]!, to: names[to]!, epochs: [steady.epoch, newEpoch], checked: jobs.length, steps, timeline: told };
}

/** Runs failovers until `trials` count (see the header). */
export async function runFailoverTrials(ctx: BenchContext, trials: number): Promise<TrialRun> {
  const lib = await importBuilt<ClientModule>('client/index.js');
  const cluster = await EtcdCluster.start({ members: 3 });
  const replicas = new ReplicaSet(cluster.endpoints, { args: ['--lease-ttl', String(LEASE_TTL_SECONDS)], config: REPLICA_CONFIG });
  let election: ElectionWatch | undefined;
  let submitter: ContinuousSubmitter | undefined;
  try {
    election = await ElectionWatch.start(cluster.endpoints, ETCD_PREFIX);
    const names = Array.from({ length: REPLICAS }, (_, i) => `r${i}`);
    const running: RunningChild[] = [];
    const startedAt: number[] = [];
    // The first leads (started alone until ready), the others join as standbys behind it.
    running.push(await replicas.start(names[0]!));
    startedAt.push(performance.now());
    await running[0]!.child.line(/^ready: /);
    for (const name of names.slice(1)) {
      running.push(await replicas.start(name));
      startedAt.push(performance.now());
    }
    const urls = running.map((r) => origin(r.url));
    submitter = await ContinuousSubmitter.start(urls, ADMIN);
    const rig: Rig = { lib, replicas, names, urls, running, startedAt, election, submitter, checked: new Set() };

    const counted: TrialResult[] = [];
    const discarded: TrialResult[] = [];
    while (counted.length < trials) {
      const label = `failover ${counted.length + 1}/${trials}${discarded.length > 0 ? ` (${discarded.length} discarded)` : ''}`;
      const result = await trial(ctx, rig, label);
      if (counted.length === 0 && discarded.length === 0) for (const line of result.timeline) ctx.log(`  ${line}`);
      const read = result.steps.eventsRead;
      if (read !== undefined && read <= FOLLOWING_MAX_EVENTS) {
        counted.push(result);
        continue;
      }
      discarded.push(result);
      ctx.log(`  NOT COUNTED: ${result.to} read ${read ?? 'an unknown number of'} events at its takeover: it was not following the log when the leader was killed`);
      for (const line of result.timeline) ctx.log(`  ${line}`);
      if (discarded.length > MAX_DISCARDED) throw new Error(`${discarded.length} trials began with a standby that was not following the log: the benchmark cannot establish a steady cluster`);
    }
    // The last leader holds every job ever acknowledged.
    const steady = await steadyCluster(urls);
    const rest = submitter.acks.filter((a) => !rig.checked.has(a)).flatMap((a) => a.jobs);
    await checkPresent(lib, urls[steady.leader]!, rest);
    if (submitter.failures.length > 0) throw new Error(`a submission failed: ${submitter.failures[0]}`);
    const slowest = counted.reduce((a, b) => (b.seconds > a.seconds ? b : a));
    ctx.log(`the slowest counted failover (${slowest.seconds.toFixed(3)} s, ${slowest.from} → ${slowest.to}) by its new leader's logs:`);
    for (const line of slowest.timeline) ctx.log(`  ${line}`);
    ctx.log(`  ${describeSteps(slowest.steps)}`);
    const acknowledged = submitter.acks.reduce((n, a) => n + a.jobs.length, 0);
    ctx.log(`after ${counted.length + discarded.length} failovers: ${acknowledged} jobs acknowledged, every one found on the leader that followed; the last ${rest.length} on the last leader`);
    return { counted, discarded, acknowledged };
  } finally {
    await submitter?.stop().catch(() => undefined);
    await election?.close().catch(() => undefined);
    await replicas.close();
    await cluster.close();
  }
}
