/**
 * Failover trials: three real etcd members (test/helpers/etcd-cluster.ts), three `muster server --etcd …
 * --lease-ttl 2` replicas (the built CLI) on fixed ports, and a client given all three URLs submitting a
 * small frame every 50 ms (bench/failover-submitter.ts). A trial:
 *
 * 1. waits until the cluster is steady: every replica answers `GET /v1/leader`, one as the leader, the
 *    others as standbys naming it with its epoch, and the client has had an ack from that leader since;
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
 * Any refused or failed submission, a lost job, or a wrong leader fails the run: no number is reported.
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

/** The lease TTL the target is stated for (seconds; `--lease-ttl`). */
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

async function jittered(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * KILL_JITTER_MS));
}

/** Runs `trials` failovers; resolves with each, in order. */
export async function runFailoverTrials(ctx: BenchContext, trials: number): Promise<TrialResult[]> {
  const lib = await importBuilt<ClientModule>('client/index.js');
  const cluster = await EtcdCluster.start({ members: 3 });
  const replicas = new ReplicaSet(cluster.endpoints, { args: ['--lease-ttl', String(LEASE_TTL_SECONDS)], config: REPLICA_CONFIG });
  let election: ElectionWatch | undefined;
  let submitter: ContinuousSubmitter | undefined;
  try {
    election = await ElectionWatch.start(cluster.endpoints, ETCD_PREFIX);
    const names = Array.from({ length: REPLICAS }, (_, i) => `r${i}`);
    const running: RunningChild[] = [];
    // The first leads (started alone until ready), the others join as standbys behind it.
    running.push(await replicas.start(names[0]!));
    await running[0]!.child.line(/^ready: /);
    for (const name of names.slice(1)) running.push(await replicas.start(name));
    const urls = running.map((r) => origin(r.url));
    submitter = await ContinuousSubmitter.start(urls, ADMIN);

    const results: TrialResult[] = [];
    const checked = new Set<Ack>();
    for (let t = 1; t <= trials; t++) {
      const steady = await steadyCluster(urls);
      const steadyAt = performance.now();
      const oldLeader = urls[steady.leader]!;
      await submitter.waitForAck((a) => a.replica === oldLeader && a.at >= steadyAt, 0, WAIT_MS);
      await jittered();

      const from = submitter.acks.length;
      const kill: KillMark = { at: performance.now(), wall: Date.now() };
      await running[steady.leader]!.child.kill();
      const first = await submitter.waitForAck((a) => a.at >= kill.at && a.replica !== oldLeader, from, WAIT_MS);
      const seconds = (first.at - kill.at) / 1000;

      // The replica that answered leads, under a higher epoch.
      const view = await probe(first.replica, '/v1/leader');
      const to = urls.indexOf(first.replica);
      if (to < 0 || view.status !== 200 || view.body?.role !== 'leader' || !(view.body.epoch > steady.epoch)) {
        throw new Error(`trial ${t}: the first ack after the kill came from ${first.replica}, which answers ${JSON.stringify(view.body)} (the killed leader had epoch ${steady.epoch})`);
      }
      const newEpoch = view.body.epoch as number;

      // Nothing acknowledged lost: what was acknowledged before the kill, and everything the killed leader acknowledged.
      const toCheck = submitter.acks.filter((a) => !checked.has(a) && (a.at < kill.at || a.replica === oldLeader));
      const jobs = toCheck.flatMap((a) => a.jobs);
      await checkPresent(lib, first.replica, jobs);
      for (const a of toCheck) checked.add(a);
      const everAcked = submitter.acks.reduce((n, a) => n + a.jobs.length, 0);
      const pending = await pendingJobs(first.replica);
      if (pending < everAcked) throw new Error(`trial ${t}: the new leader holds ${pending} pending jobs, fewer than the ${everAcked} acknowledged`);

      const newChild = running[to]!.child;
      await until('the new leader logged its takeover', async () => newChild.logs.some((l) => typeof l['time'] === 'number' && l['time'] >= kill.wall && l.msg.startsWith('leading (epoch ')), (found) => found, WAIT_MS);
      const sources: StepSources = { kill, logs: newChild.logs, election, connections: submitter.connections, newLeader: first.replica, firstAckAt: first.at };
      const steps = failoverSteps(sources);
      const told = timeline(sources).map((line) => `${names[to]}: ${line}`);
      results.push({ seconds, from: names[steady.leader]!, to: names[to]!, epochs: [steady.epoch, newEpoch], checked: jobs.length, steps, timeline: told });
      ctx.log(
        `failover ${t}/${trials}: ${seconds.toFixed(3)} s, ${names[steady.leader]} (epoch ${steady.epoch}) → ${names[to]} (epoch ${newEpoch}); ` +
          `${jobs.length} acknowledged jobs checked on the new leader, ${pending} pending ≥ ${everAcked} ever acknowledged`,
      );
      ctx.log(`  ${describeSteps(steps)}`);
      if (t === 1) for (const line of told) ctx.log(`  ${line}`);

      // The killed replica comes back on its port and folder, as a standby.
      running[steady.leader] = await replicas.restart(names[steady.leader]!, urls[steady.leader]!);
    }
    // The last leader holds every job ever acknowledged.
    const steady = await steadyCluster(urls);
    const rest = submitter.acks.filter((a) => !checked.has(a)).flatMap((a) => a.jobs);
    await checkPresent(lib, urls[steady.leader]!, rest);
    if (submitter.failures.length > 0) throw new Error(`a submission failed: ${submitter.failures[0]}`);
    const slowest = results.reduce((a, b) => (b.seconds > a.seconds ? b : a));
    ctx.log(`the slowest failover (${slowest.seconds.toFixed(3)} s, ${slowest.from} → ${slowest.to}) by its new leader's logs:`);
    for (const line of slowest.timeline) ctx.log(`  ${line}`);
    ctx.log(`  ${describeSteps(slowest.steps)}`);
    ctx.log(`after ${trials} failovers: ${submitter.acks.reduce((n, a) => n + a.jobs.length, 0)} jobs acknowledged, every one found on the leader that followed; the last ${rest.length} on the last leader`);
    return results;
  } finally {
    await submitter?.stop().catch(() => undefined);
    await election?.close().catch(() => undefined);
    await replicas.close();
    await cluster.close();
  }
}
