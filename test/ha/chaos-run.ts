/**
 * The chaos campaign of issue 14, shared by the bounded CI test (chaos.test.ts, ≥ 20 faults) and
 * `npm run chaos -- --faults N [--seed S]` (chaos-main.ts): a ChaosCluster (three etcd members, three
 * replicas on fixed ports, real agents running marker tasks), steady submission load (chaos-load.ts), an
 * observer of the durable log (chaos-log.ts), and faults one after another, each drawn with the seed from:
 *
 * - `kill-leader`: SIGKILL of the leader; another replica leads and serves; the killed one is started again
 *   on its port and data folder and comes back as a standby;
 * - `pause-leader`: SIGSTOP of the leader until another replica leads and serves (so past its TTL: nobody is
 *   elected before the lease expires), then SIGCONT: it must step down by itself and follow the new leader;
 * - `kill-etcd-member`: SIGKILL of one etcd member, then its restart on its data folder;
 * - `kill-standby`: SIGKILL of a standby, then its restart.
 *
 * Kinds are drawn from a shuffled deck of all four (a new deck every four faults), so every kind comes up
 * evenly and a run of 20 has five of each. After each fault the run waits for the cluster to recover, on
 * state only: every etcd member healthy, every replica up and naming one leader that is ready, every node
 * ready on it, a submission acknowledged and a task started under the leader's epoch since the fault. Each
 * fault is logged with its timings: how long until a new leader served (for leader faults), the new
 * leader's own takeover time, how long a paused leader took to step down after SIGCONT, how long until the
 * cluster settled.
 *
 * At the end the load stops (its last batch acknowledged), every job is waited for to end, no task may run,
 * every acknowledged key is submitted again, the final state is read from the leader, the log observer
 * catches up, everything is stopped cleanly, and chaos-checks.ts judges the records.
 */
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seeded } from '../../bench/workloads/random.js';
import type { JobDetailView } from '../../src/client/index.js';
import { until } from '../helpers/until.js';
import type { AttemptRecord } from '../faults/marker-task.js';
import { markerJobSpec, readAttempts } from '../faults/marker-task.js';
import type { NamedProcess } from '../faults/processes.js';
import { processesNaming } from '../faults/processes.js';
import type { CarriedStart, ChaosFindings, FinalJob, Resubmitted } from './chaos-checks.js';
import { chaosFindings } from './chaos-checks.js';
import type { LeaderInfo, ReplicaSlot } from './chaos-cluster.js';
import { CHAOS_ADMIN, CHAOS_ETCD_PREFIX, ChaosCluster } from './chaos-cluster.js';
import { ChaosLoad } from './chaos-load.js';
import { ChaosLogObserver } from './chaos-log.js';
import type { LogFacts } from './chaos-log.js';

export const FAULT_KINDS = ['kill-leader', 'pause-leader', 'kill-etcd-member', 'kill-standby'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ChaosOptions {
  readonly faults: number;
  readonly seed: number;
  /** Progress lines (the test prints them as comments, the CLI on stdout). */
  readonly log?: (line: string) => void;
  /** Where to write every process's log and the fault list at the end (chaos-cluster.ts `writeLogs`), if anywhere. */
  readonly logDir?: string;
}

export interface FaultRecord {
  readonly n: number;
  readonly kind: FaultKind;
  /** The replica or etcd member struck. */
  readonly target: string;
  readonly leaderBefore: { readonly name: string; readonly epoch: number };
  readonly leaderAfter: { readonly name: string; readonly epoch: number };
  /** Leader faults: from the signal until another replica led and answered /readyz 200. */
  readonly failoverMs?: number;
  /** Leader faults: the new leader's own `took over in N ms` (follower closed to serving). */
  readonly tookOverMs?: number;
  /** pause-leader: from SIGCONT until the paused replica answered as a standby naming the new leader. */
  readonly stepDownMs?: number;
  /** From the fault's signal until the cluster had recovered (see the header). */
  readonly settledMs: number;
}

export interface ChaosReport {
  readonly seed: number;
  readonly faults: readonly FaultRecord[];
  readonly acked: number;
  readonly jobs: number;
  readonly attempts: number;
  readonly submissionsRetried: number;
  readonly submitFailures: Readonly<Record<string, number>>;
  readonly log: Pick<LogFacts, 'events' | 'lastSeq' | 'epochs'>;
  readonly findings: ChaosFindings;
  /** What a fault or the load did not do as it must (a leader that did not step down, keys never acknowledged, a bad exit). */
  readonly faultFindings: readonly string[];
  /** Task processes alive once every job had ended. */
  readonly tasksAfterEnd: readonly NamedProcess[];
  /** Processes naming the run's folder after the clean stop. */
  readonly leftovers: readonly NamedProcess[];
  readonly errorLogs: readonly string[];
  readonly notes: readonly string[];
  readonly seconds: number;
}

/** Three agents of three cores: nine marker tasks at once, on three nodes. */
const AGENTS = [
  { name: 'a1', cpu: 3 },
  { name: 'a2', cpu: 3 },
  { name: 'a3', cpu: 3 },
] as const;
/**
 * The load: two jobs every 600 ms, about 3 jobs (3.5 tasks, ~1.4 s each) a second, well under what nine
 * cores run, so work does not pile up behind a failover's pause of a few seconds and the run drains quickly.
 */
const LOAD = { batch: 2, paceMs: 600 } as const;
/** Every job of the run ends within this after the load stops (the last ones sleep 2.5 s; a retry doubles that). */
const JOBS_DEADLINE_MS = 120_000;
/** Once every job has ended, a task in its last instant is gone within this (a marker task writes its end and exits). */
const TASKS_GONE_DEADLINE_MS = 10_000;
/** Acknowledged keys per resubmission. */
const RESUBMIT_BATCH = 500;

const ms = (from: number): number => Math.round(performance.now() - from);
const seconds = (n: number | undefined): string => (n === undefined ? '?' : `${(n / 1000).toFixed(1)} s`);

/** The kinds of `faults` faults: a shuffled deck of every kind, a new deck every FAULT_KINDS.length faults. */
export function drawFaults(faults: number, random: () => number): FaultKind[] {
  const drawn: FaultKind[] = [];
  while (drawn.length < faults) {
    const deck = [...FAULT_KINDS];
    for (let i = deck.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [deck[i], deck[j]] = [deck[j]!, deck[i]!];
    }
    drawn.push(...deck);
  }
  return drawn.slice(0, faults);
}

class Campaign {
  readonly cluster: ChaosCluster;
  readonly load: ChaosLoad;
  readonly observer: ChaosLogObserver;
  readonly faults: FaultRecord[] = [];
  readonly faultFindings: string[] = [];
  readonly #random: () => number;
  readonly #log: (line: string) => void;

  constructor(cluster: ChaosCluster, load: ChaosLoad, observer: ChaosLogObserver, random: () => number, log: (line: string) => void) {
    this.cluster = cluster;
    this.load = load;
    this.observer = observer;
    this.#random = random;
    this.#log = log;
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#random() * items.length)]!;
  }

  /** Recovered: etcd healthy, one agreed leader that is ready, nodes ready, a submission acknowledged and a start under that leader since the fault. */
  async #settle(sinceNs: bigint, acked: number): Promise<LeaderInfo> {
    await this.cluster.waitEtcdHealthy();
    const leader = await this.cluster.waitAgreed();
    await this.cluster.waitNodesReady();
    await until('a submission acknowledged since the fault', async () => this.load.acked.size, (n) => n > acked, undefined, () => this.cluster.describe());
    await this.cluster.waitStartUnder(leader.epoch, sinceNs);
    return leader;
  }

  /** Strikes the leader and waits until another replica leads under a higher epoch and serves. */
  async #failover(before: LeaderInfo, strike: () => Promise<void>): Promise<LeaderInfo & { failoverMs: number; tookOverMs: number | undefined }> {
    const started = performance.now();
    await strike();
    const next = await this.cluster.waitNewLeader(before.slot, before.epoch);
    return { ...next, failoverMs: ms(started), tookOverMs: this.cluster.tookOverMs(next.slot, next.epoch) };
  }

  async fault(n: number, kind: FaultKind): Promise<void> {
    const before = await this.cluster.waitAgreed();
    const acked = this.load.acked.size;
    const sinceNs = BigInt(Date.now()) * 1_000_000n;
    const started = performance.now();
    let target: string;
    let failoverMs: number | undefined;
    let tookOverMs: number | undefined;
    let stepDownMs: number | undefined;
    switch (kind) {
      case 'kill-leader': {
        const old = before.slot;
        target = old.name;
        const next = await this.#failover(before, () => this.cluster.killReplica(old));
        ({ failoverMs, tookOverMs } = next);
        await this.cluster.restartReplica(old);
        await this.cluster.waitStandby(old, next);
        break;
      }
      case 'pause-leader': {
        const old = before.slot;
        target = old.name;
        const next = await this.#failover(before, () => this.cluster.pauseReplica(old));
        ({ failoverMs, tookOverMs } = next);
        const resumed = performance.now();
        this.cluster.resumeReplica(old);
        await this.cluster.waitStandby(old, next).catch((err: Error) => {
          this.faultFindings.push(`fault ${n}: ${old.name}, paused while leading under epoch ${before.epoch}, did not step down after SIGCONT: ${err.message}`);
        });
        stepDownMs = ms(resumed);
        break;
      }
      case 'kill-etcd-member': {
        const i = Math.floor(this.#random() * this.cluster.etcd.members.length);
        target = this.cluster.etcd.members[i]!.name;
        await this.cluster.etcd.kill(i);
        await this.cluster.etcd.restart(i);
        break;
      }
      case 'kill-standby': {
        const standby = this.#pick(this.cluster.slots.filter((s) => s !== before.slot));
        target = standby.name;
        await this.cluster.killReplica(standby);
        await this.cluster.restartReplica(standby);
        break;
      }
    }
    const after = await this.#settle(sinceNs, acked);
    const record: FaultRecord = {
      n,
      kind,
      target,
      leaderBefore: { name: before.slot.name, epoch: before.epoch },
      leaderAfter: { name: after.slot.name, epoch: after.epoch },
      ...(failoverMs !== undefined ? { failoverMs } : {}),
      ...(tookOverMs !== undefined ? { tookOverMs } : {}),
      ...(stepDownMs !== undefined ? { stepDownMs } : {}),
      settledMs: ms(started),
    };
    this.faults.push(record);
    this.#log(describeFault(record, this.load.acked.size));
  }
}

export function describeFault(f: FaultRecord, acked?: number): string {
  const leader = `${f.leaderBefore.name}@${f.leaderBefore.epoch} → ${f.leaderAfter.name}@${f.leaderAfter.epoch}`;
  const failover = f.failoverMs !== undefined ? `; a new leader served after ${seconds(f.failoverMs)} (took over in ${f.tookOverMs ?? '?'} ms)` : '';
  const stepDown = f.stepDownMs !== undefined ? `; stepped down ${seconds(f.stepDownMs)} after SIGCONT` : '';
  return `fault ${f.n} ${f.kind} ${f.target} (leader ${leader})${failover}${stepDown}; settled in ${seconds(f.settledMs)}${acked !== undefined ? `; ${acked} jobs acknowledged so far` : ''}`;
}

/** When the agent accepted each start: its attempt folder's birth time, else the marker's clock. */
function carriedStarts(attempts: readonly AttemptRecord[]): CarriedStart[] {
  return attempts.map((attempt) => {
    let born = 0n;
    try {
      if (attempt.dir !== undefined) born = statSync(attempt.dir, { bigint: true }).birthtimeNs;
    } catch {
      // the folder is gone: the marker's clock it is
    }
    return { attempt, acceptedNs: born > 0n ? born : attempt.startNs };
  });
}

async function finalJobs(load: ChaosLoad): Promise<FinalJob[]> {
  const jobs: FinalJob[] = [];
  for await (const view of load.client.allJobs({ limit: 1_000 })) {
    const detail = (await load.client.job(view.id)) as JobDetailView;
    jobs.push({ id: view.id, ...(view.name !== undefined ? { name: view.name } : {}), status: detail.status, tasks: detail.taskList.map((t) => ({ index: t.index, attempt: t.attempt, failures: t.failures })) });
  }
  return jobs;
}

async function resubmit(load: ChaosLoad, folders: ChaosCluster['folders']): Promise<Map<string, Resubmitted>> {
  const answers = new Map<string, Resubmitted>();
  const keys = [...load.acked.keys()];
  for (let i = 0; i < keys.length; i += RESUBMIT_BATCH) {
    const chunk = keys.slice(i, i + RESUBMIT_BATCH);
    const results = await load.client.submit(chunk.map((k) => markerJobSpec(load.designs.get(k)!, folders)));
    results.forEach((r, k) => answers.set(chunk[k]!, r.ok ? { ok: true, job: r.job, ...(r.existing !== undefined ? { existing: r.existing } : {}) } : { ok: false }));
  }
  return answers;
}

export async function chaosRun(options: ChaosOptions): Promise<ChaosReport> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const random = seeded(options.seed);
  const kinds = drawFaults(options.faults, random);
  const cluster = await ChaosCluster.start({ agents: AGENTS });
  const notes: string[] = [];
  try {
    const observer = new ChaosLogObserver(cluster.etcd.endpoints, CHAOS_ETCD_PREFIX);
    const load = new ChaosLoad({ endpoints: cluster.urls, token: CHAOS_ADMIN, folders: cluster.folders, ...LOAD, random: seeded(options.seed + 1) });
    try {
      log(`seed ${options.seed}: ${options.faults} faults (${kinds.join(', ')}); replicas ${cluster.slots.map((s) => `${s.name} ${s.url}`).join(', ')}; cluster up in ${seconds(ms(started))}`);
      load.start();
      const campaign = new Campaign(cluster, load, observer, random, log);
      await until('the first jobs acknowledged', async () => load.acked.size, (n) => n > 0, undefined, () => cluster.describe());
      for (const [i, kind] of kinds.entries()) await campaign.fault(i + 1, kind);

      await load.stop();
      const leader = await cluster.waitAgreed();
      log(`load stopped: ${load.acked.size} jobs acknowledged, ${load.failures} submissions sent again; waiting for every job to end`);
      const acked = new Set(load.acked.values());
      await until(
        `the ${acked.size} acknowledged jobs to end`,
        async () => {
          let left = 0;
          for await (const view of load.client.allJobs({ limit: 1_000 })) if (acked.has(view.id) && view.status !== 'succeeded' && view.status !== 'failed') left++;
          return left;
        },
        (left) => left === 0,
        JOBS_DEADLINE_MS,
        () => cluster.describe(),
      );
      const tasksAfterEnd = await until('every task process to be gone', async () => processesNaming(cluster.folders.markers), (p) => p.length === 0, TASKS_GONE_DEADLINE_MS).catch(() => processesNaming(cluster.folders.markers));
      const resubmitted = await resubmit(load, cluster.folders);
      const jobs = await finalJobs(load);
      await observer.caughtUp();
      const facts = observer.facts();
      const attempts = readAttempts(cluster.folders.markers);
      const findings = chaosFindings({
        acked: load.acked,
        ackConflicts: load.conflicts,
        designs: load.designs,
        jobs,
        resubmitted,
        starts: carriedStarts(attempts),
        registrations: cluster.registrations(),
        log: facts,
      });
      notes.push(`final leader ${leader.slot.name} (epoch ${leader.epoch}); the log: ${facts.events} events to seq ${facts.lastSeq}, written under ${facts.epochs.length} epochs`);
      const over = cluster.restartsOverLeftSockets;
      notes.push(`replicas restarted on their ports at once: ${over.restarts} of them over ${over.sockets} sockets the killed process left there (TIME_WAIT and the like)`);
      if (observer.errors.length > 0) notes.push(`the log observer retried: ${observer.errors.slice(0, 5).join('; ')}${observer.errors.length > 5 ? ` (+${observer.errors.length - 5})` : ''}`);
      await load.close();
      await observer.close();
      const { exits, leftovers } = await cluster.stop();
      if (options.logDir !== undefined) {
        cluster.writeLogs(options.logDir);
        writeFileSync(join(options.logDir, 'faults.txt'), campaign.faults.map((f) => describeFault(f)).join('\n') + '\n');
        writeFileSync(join(options.logDir, 'log-facts.json'), JSON.stringify({ ...facts, submitted: [...facts.submitted] }, null, 1));
      }
      const faultFindings = [
        ...campaign.faultFindings,
        ...exits,
        ...load.refused.map((r) => `the leader refused a job: ${r}`),
        ...load.unacked.map((k) => `${k} was never acknowledged`),
      ];
      return {
        seed: options.seed,
        faults: campaign.faults,
        acked: load.acked.size,
        jobs: jobs.length,
        attempts: attempts.length,
        submissionsRetried: load.failures,
        submitFailures: Object.fromEntries(load.failureCodes),
        log: { events: facts.events, lastSeq: facts.lastSeq, epochs: facts.epochs },
        findings,
        faultFindings,
        tasksAfterEnd,
        leftovers,
        errorLogs: cluster.errorLogs(),
        notes: [...cluster.notes, ...notes],
        seconds: (performance.now() - started) / 1000,
      };
    } finally {
      await load.close();
      await observer.close();
    }
  } finally {
    await cluster.close();
  }
}
