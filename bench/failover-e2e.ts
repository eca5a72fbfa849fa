/**
 * `accept-etcd-batch-1000` against `accept-batch-1000`: jobs per second durably acknowledged by one `muster
 * server` on the etcd store (a replica with `--etcd`, alone, on a one-member etcd started here on free ports
 * with a temporary folder) and by one on the embedded store, in this run. The workload, client and load
 * generator are the gateway's accept-batch-1000 (bench/submit-throughput.ts, bench/gateway-load.ts): frames of
 * 1,000 jobs, about 8,000 jobs in flight, every ack checked ok, new and distinct.
 *
 * Both servers run side by side (the idle one costs next to nothing) and their samples alternate, embedded
 * then etcd, so that load from elsewhere on this shared machine falls on both alike. Around each etcd sample
 * the etcd member's own metrics are read: transactions committed, WAL fsyncs and their mean time, which say
 * whether etcd's fsync or the server is the bound.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdCluster } from '../test/helpers/etcd-cluster.js';
import { ADMIN } from '../test/ha/replica-fixture.js';
import type { ServerProcess } from '../test/client/server-process.js';
import { THROUGHPUT_CASES } from './gateway-accept.js';
import { LoadGenerator } from './load-generator.js';
import type { BenchContext } from './lib/index.js';
import { checkJobBudget, freshServer, framesInFlight, throughputSample, throughputSampleCount } from './submit-throughput.js';
import type { ThroughputRun } from './submit-throughput.js';
import { LEASE_TTL_SECONDS } from './failover-trials.js';

/** The gateway case this one is measured beside. */
const BATCH = 1_000;

/** What etcd's /metrics say about its disk and its raft log, summed over every label. */
interface EtcdCounters {
  readonly proposals: number;
  readonly fsyncs: number;
  readonly fsyncSeconds: number;
  readonly backendCommits: number;
}

function metric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function etcdCounters(clientUrl: string): Promise<EtcdCounters> {
  const text = await (await fetch(`${clientUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  return {
    proposals: metric(text, 'etcd_server_proposals_committed_total'),
    fsyncs: metric(text, 'etcd_disk_wal_fsync_duration_seconds_count'),
    fsyncSeconds: metric(text, 'etcd_disk_wal_fsync_duration_seconds_sum'),
    backendCommits: metric(text, 'etcd_disk_backend_commit_duration_seconds_count'),
  };
}

export async function embeddedVersusEtcdCases(ctx: BenchContext): Promise<void> {
  const base = THROUGHPUT_CASES.find((c) => c.batch === BATCH);
  if (base === undefined) throw new Error(`the gateway has no accept-batch-${BATCH} case to compare with`);
  const jobs = base.jobs[ctx.quick ? 1 : 0];
  const samples = throughputSampleCount(ctx.quick);
  checkJobBudget(`accept-batch-${BATCH}`, samples, jobs);
  const scratch = mkdtempSync(join(tmpdir(), 'muster-bench-failover-e2e-'));
  const load = new LoadGenerator();
  let etcd: EtcdCluster | undefined;
  let embedded: ServerProcess | undefined;
  let onEtcd: ServerProcess | undefined;
  ctx.config({ accept: { batch: BATCH, jobsPerSample: jobs, framesInFlight: framesInFlight(BATCH), samples, order: 'alternating, embedded first', etcdMembers: 1, leaseTtlSeconds: LEASE_TTL_SECONDS } });
  try {
    etcd = await EtcdCluster.start({ members: 1 });
    const member = etcd.members[0]!;
    // Replicas on etcd must share a token file; the embedded server is given the same one, so the two
    // differ only in the store.
    const tokens = join(scratch, 'tokens.json');
    writeFileSync(tokens, JSON.stringify([{ token: ADMIN, tenant: 'ops', role: 'admin' }]));
    embedded = await freshServer(scratch, 'embedded-batch-1000', ['--tokens', tokens]);
    onEtcd = await freshServer(scratch, 'etcd-batch-1000', ['--tokens', tokens, '--etcd', member.clientUrl, '--lease-ttl', String(LEASE_TTL_SECONDS)]);
    embedded.token = ADMIN;
    onEtcd.token = ADMIN;
    let seed = 50_000;
    const runs: { server: ServerProcess; run: ThroughputRun; rates: number[] }[] = [
      { server: embedded, run: { label: `accept-batch-${BATCH}`, batch: BATCH, jobs, seed: () => seed++ }, rates: [] },
      { server: onEtcd, run: { label: `accept-etcd-batch-${BATCH}`, batch: BATCH, jobs, seed: () => seed++ }, rates: [] },
    ];
    for (let s = 0; s <= samples; s++) {
      for (const r of runs) {
        const watched = r.server === onEtcd ? [{ name: 'etcd', pid: member.process?.pid }] : [];
        const before = r.server === onEtcd ? await etcdCounters(member.clientUrl) : undefined;
        const rate = await throughputSample(ctx, load, r.server, r.run, s, watched);
        if (s > 0) r.rates.push(rate);
        if (before !== undefined) {
          const after = await etcdCounters(member.clientUrl);
          const txns = after.proposals - before.proposals;
          const fsyncs = after.fsyncs - before.fsyncs;
          const fsyncMs = fsyncs > 0 ? ((after.fsyncSeconds - before.fsyncSeconds) / fsyncs) * 1000 : NaN;
          ctx.log(
            `  etcd: ${txns} proposals committed (${(jobs / Math.max(1, txns)).toFixed(0)} jobs each), ${fsyncs} WAL fsyncs of ${fsyncMs.toFixed(2)} ms mean, ` +
              `${after.backendCommits - before.backendCommits} backend commits`,
          );
        }
      }
    }
    ctx.record({ id: `accept-batch-${BATCH}`, unit: 'jobs/s', samples: runs[0]!.rates });
    ctx.record({ id: `accept-etcd-batch-${BATCH}`, unit: 'jobs/s', samples: runs[1]!.rates, baseline: `accept-batch-${BATCH}` });
  } finally {
    load.stop();
    await embedded?.stop();
    await onEtcd?.stop();
    await etcd?.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}
