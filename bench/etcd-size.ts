/**
 * What a million jobs cost in etcd's database with the etcd store (src/store/README.md, "What a million
 * jobs cost"). Not a benchmark of speed: a measurement of bytes, run by hand in a fresh process:
 *
 *   node --import=tsx --expose-gc bench/etcd-size.ts [--jobs 1000000] [--members 1]
 *
 * It starts its own etcd (test/helpers/etcd-cluster.ts) and writes, through the etcd store, the scheduler's
 * real events for every job's life as a server writes them — JobSubmitted (a validated spec of its own),
 * TasksPlaced (500 placements per cycle), TaskStarted, TaskEnded, JobEnded, JobsRetired (1,000 per
 * sweep) — folding them with the scheduler's reducer, and takes a snapshot of the real state every
 * 100,000 events (`SNAPSHOT_EVERY_EVENTS`), then compacts, as the server's snapshotter does. Every
 * 100,000 jobs it prints etcd's `dbSize` (the file) and `dbSizeInUse` (its live pages); at the end the same
 * after a defragmentation. A second phase leaves the last 100,000 jobs pending (the state's worst case)
 * and prints the size with their snapshot in force. Each number is checked to be non-trivial, and the
 * store's log to recover whole, before it is printed.
 */
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { createLogger } from '../src/log/index.js';
import { validateJob, validateNode, type JobSpec, type NodeSpec } from '../src/model/index.js';
import { applyEvent, createState, snapshotBytes, type SchedulerEvent } from '../src/scheduler/index.js';
import { openEtcdStore, type EtcdStore } from '../src/store/index.js';
import { EtcdCluster } from '../test/helpers/etcd-cluster.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const JOBS = option('jobs', 1_000_000);
const MEMBERS = option('members', 1);
const WAVE = 10_000; // jobs submitted together, then placed, started, ended and retired
const SNAPSHOT_EVERY_EVENTS = 100_000; // the server's default (src/server/config.ts)
const NODES = 200;
const MiB = 2 ** 20;

const quiet = createLogger({ name: 'etcd-size', level: 'warn' });

function jobSpec(i: number): JobSpec {
  const v = validateJob({
    name: `job-${i}`,
    queue: 'batch',
    idempotencyKey: `key-${i}`,
    tasks: [{ resources: { cpu: i % 3 === 0 ? '2' : '500m', memory: '1Gi' }, command: 'run', args: ['--shard', String(i % 128)] }],
  });
  if (!v.ok) throw new Error(`bench spec ${i} is invalid`);
  return v.value;
}

function nodeSpec(i: number): NodeSpec {
  const v = validateNode({ name: `node-${String(i).padStart(4, '0')}`, site: 'a', capacity: { cpu: '64', memory: '256Gi' } });
  if (!v.ok) throw new Error(`bench node ${i} is invalid`);
  return v.value;
}

/** The events of one wave of jobs `from..from+count-1`, as appends (arrays of events) in the order a server makes them. */
function wave(from: number, count: number, at: number, end: boolean): SchedulerEvent[][] {
  const ids = Array.from({ length: count }, (_, k) => `j-${from + k}`);
  const appends: SchedulerEvent[][] = [];
  for (let k = 0; k < count; k += 1000) appends.push(ids.slice(k, k + 1000).map((job, n) => ({ kind: 'JobSubmitted', at, job, tenant: 'acme', spec: jobSpec(from + k + n) })));
  if (!end) return appends;
  for (let k = 0; k < count; k += 500) {
    const placements = ids.slice(k, k + 500).map((job, n) => ({ job, task: 0, attempt: 1, node: `node-${String((k + n) % NODES).padStart(4, '0')}` }));
    appends.push([{ kind: 'TasksPlaced', at: at + 1, epoch: 1, placements }]);
  }
  for (let k = 0; k < count; k += 100) appends.push(ids.slice(k, k + 100).map((job) => ({ kind: 'TaskStarted', at: at + 2, job, task: 0, attempt: 1 })));
  for (let k = 0; k < count; k += 100) {
    appends.push(
      ids.slice(k, k + 100).flatMap((job, n): SchedulerEvent[] => [
        { kind: 'TaskEnded', at: at + 3, job, task: 0, attempt: 1, node: `node-${String((k + n) % NODES).padStart(4, '0')}`, outcome: 'succeeded', exitCode: 0 },
        { kind: 'JobEnded', at: at + 3, job, outcome: 'succeeded' },
      ]),
    );
  }
  for (let k = 0; k < count; k += 1000) appends.push([{ kind: 'JobsRetired', at: at + 4, jobs: ids.slice(k, k + 1000) }]);
  return appends;
}

interface Sizes {
  readonly dbSize: number;
  readonly inUse: number;
}

async function status(client: Etcd3): Promise<Sizes> {
  const s = await client.maintenance.status();
  return { dbSize: Number(s.dbSize), inUse: Number(s.dbSizeInUse) };
}

/**
 * The sizes once etcd has physically applied the compaction the store asked for (etcd applies it in the
 * background): a compaction of our own at a newer revision, with `physical`, waits for every one before it.
 */
async function sizes(client: Etcd3): Promise<Sizes> {
  const put = await client.kv.put({ key: Buffer.from('/bench-mark'), value: Buffer.from('x') });
  await client.kv.compact({ revision: put.header.revision, physical: true });
  return status(client);
}

const show = (s: Sizes): string => `dbSize ${(s.dbSize / MiB).toFixed(1)} MiB, in use ${(s.inUse / MiB).toFixed(1)} MiB`;

async function main(): Promise<void> {
  console.log(`etcd-size: ${JOBS} jobs, ${MEMBERS} member(s), Node ${process.version}, etcd ${(await import('node:child_process')).execFileSync('/usr/bin/etcd', ['--version']).toString().split('\n')[0]}`);
  const cluster = await EtcdCluster.start({ members: MEMBERS });
  const client = new Etcd3({ hosts: cluster.endpoints });
  let store: EtcdStore | undefined;
  try {
    await client.put('/bench-leader').value('x');
    const epoch = Number((await client.kv.range({ key: Buffer.from('/bench-leader') })).kvs[0]?.create_revision);
    store = await openEtcdStore({ client, prefix: '/muster', fence: { key: '/bench-leader', epoch }, logger: quiet });
    await store.recover();
    const state = createState(false);
    const nodes: SchedulerEvent[] = Array.from({ length: NODES }, (_, i) => ({ kind: 'NodeJoined', at: 0, node: nodeSpec(i) }));
    let lastSeq = (await store.append(epoch, nodes)).lastSeq;
    for (const e of nodes) applyEvent(state, e);
    let sinceSnapshot = lastSeq;
    let peak: Sizes = { dbSize: 0, inUse: 0 }; // before a snapshot: the log since the last one in use
    let least: Sizes = { dbSize: 0, inUse: 0 }; // after one and its compaction (the biggest seen)
    let valueBytes = 0;
    let events = 0;
    let snapshots = 0;
    let snapshotBytesLast = 0;
    const started = performance.now();

    const snapshot = async (): Promise<void> => {
      const bytes = snapshotBytes(state);
      await store!.writeSnapshot(lastSeq, bytes);
      await store!.compact();
      snapshots++;
      snapshotBytesLast = bytes.length;
      sinceSnapshot = 0;
    };

    const run = async (from: number, count: number, end: boolean): Promise<void> => {
      for (const events_ of wave(from, count, from, end)) {
        const r = await store!.append(epoch, events_);
        lastSeq = r.lastSeq;
        for (const e of events_) applyEvent(state, e);
        events += events_.length;
        sinceSnapshot += events_.length;
        valueBytes += Buffer.byteLength(JSON.stringify(events_)); // for orientation only; msgpack is smaller
        if (sinceSnapshot >= SNAPSHOT_EVERY_EVENTS) {
          const before = await status(client); // the most the log grows between two compactions
          if (before.inUse > peak.inUse) peak = before;
          await snapshot();
          const after = await sizes(client);
          if (after.inUse > least.inUse) least = after;
        }
      }
    };

    // Phase 1: every job runs to its end and is retired, as under sustained load.
    for (let from = 1; from <= JOBS; from += WAVE) {
      await run(from, Math.min(WAVE, JOBS - from + 1), true);
      if ((from - 1 + WAVE) % 100_000 === 0) console.log(`${from - 1 + WAVE} jobs, ${events} events, ${snapshots} snapshots (last ${(snapshotBytesLast / 1024).toFixed(0)} KiB): ${show(await sizes(client))}, ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
    await snapshot();
    const afterRun = await sizes(client);
    if (state.jobs.size !== 0 || events < JOBS * 4) throw new Error(`expected every job retired and ${JOBS * 4}+ events, found ${state.jobs.size} jobs and ${events} events`);
    console.log(`phase 1: ${JOBS} jobs run and retired (${events} events, about ${(valueBytes / MiB).toFixed(0)} MiB as JSON), snapshot + compaction every ${SNAPSHOT_EVERY_EVENTS} events`);
    console.log(`  before a snapshot (the most in use): ${show(peak)}`);
    console.log(`  after a snapshot and its compaction (the most in use): ${show(least)}`);
    console.log(`  after the last snapshot + compaction: ${show(afterRun)}`);
    await client.maintenance.defragment();
    console.log(`  after defragmentation: ${show(await sizes(client))}`);

    // Phase 2: 100,000 more jobs submitted and left pending, their snapshot in force.
    const pending = Math.min(100_000, JOBS);
    for (let from = JOBS + 1; from <= JOBS + pending; from += WAVE) await run(from, WAVE, false);
    await snapshot();
    const pendingSizes = await sizes(client);
    await client.maintenance.defragment();
    const pendingDefrag = await sizes(client);
    if (state.jobs.size !== pending) throw new Error(`expected ${pending} pending jobs, found ${state.jobs.size}`);
    console.log(`phase 2: ${pending} jobs pending, snapshot ${(snapshotBytesLast / MiB).toFixed(1)} MiB (${(snapshotBytesLast / pending).toFixed(0)} bytes a job): ${show(pendingSizes)}; after defragmentation ${show(pendingDefrag)}`);

    // The log recovers whole: the snapshot at the last seq, nothing after it.
    await store.close();
    store = await openEtcdStore({ client, prefix: '/muster', fence: { key: '/bench-leader', epoch }, logger: quiet });
    const r = await store.recover();
    if (r.lastSeq !== lastSeq || r.snapshot?.seq !== lastSeq || r.snapshot.state.length !== snapshotBytesLast) throw new Error(`recovered last seq ${r.lastSeq}, snapshot ${r.snapshot?.seq}, expected ${lastSeq}`);
    console.log(`recovered: snapshot at seq ${r.snapshot.seq}, ${r.events.length} events after it; ${((performance.now() - started) / 1000).toFixed(0)} s in all`);
  } catch (err) {
    for (const m of cluster.members) console.error(`member ${m.name}: exit ${m.process?.exitCode ?? m.process?.signalCode ?? 'running'}; last output:\n${m.output.join('').slice(-3000)}`);
    throw err;
  } finally {
    await store?.close().catch(() => undefined);
    client.close();
    await cluster.close();
  }
}

await main();
