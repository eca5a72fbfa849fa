/**
 * The scheduler-state cases of the store benchmark (bench/store.bench.ts runs them):
 *
 * - `recovery-1m`: seconds to rebuild a state of 1,000,000 jobs from the store: the newest snapshot
 *   (900,000 jobs) decoded, and the 100,000 JobSubmitted events after it replayed with the reducer.
 * - `bytes-per-pending-job`: resident memory the running scheduler core holds per pending job, with every
 *   job's spec its own object (as specs decoded from clients' frames are).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createActorSystem } from '../src/actors/index.js';
import { createLogger } from '../src/log/index.js';
import type { JobSpec } from '../src/model/index.js';
import { validateJob } from '../src/model/index.js';
import type { SchedulerEvent } from '../src/scheduler/index.js';
import { applyEvent, createState, recoverScheduler, SchedulerCore, snapshotBytes } from '../src/scheduler/index.js';
import { openEmbeddedStore } from '../src/store/index.js';
import type { BenchContext } from './lib/index.js';

const quiet = createLogger({ name: 'bench', level: 'warn' });

/** A job spec of its own (distinct name and idempotency key), like one decoded from a client's frame. */
function jobSpec(i: number): JobSpec {
  const v = validateJob({
    name: `job-${i}`,
    queue: i % 10 === 0 ? 'interactive' : 'batch',
    idempotencyKey: `key-${i}`,
    tasks: [{ resources: { cpu: i % 3 === 0 ? '2' : '500m', memory: '1Gi' }, command: 'run', args: ['--shard', String(i % 128)] }],
  });
  if (!v.ok) throw new Error('bench spec is invalid');
  return v.value;
}

function submitted(i: number): SchedulerEvent {
  return { kind: 'JobSubmitted', at: i, job: `j-${i + 1}`, tenant: 'acme', spec: jobSpec(i) };
}

export async function recoveryCase(ctx: BenchContext): Promise<void> {
  const jobs = ctx.quick ? 100_000 : 1_000_000;
  const inSnapshot = Math.floor(jobs * 0.9);
  const dir = await mkdtemp(join(tmpdir(), 'muster-bench-recovery-'));
  try {
    // Set up: the log of every submission, then a snapshot after 90 % of them, then compaction.
    let store = await openEmbeddedStore({ dir, logger: quiet });
    let { epoch } = await store.recover();
    const state = createState(false);
    const batch = 10_000;
    for (let i = 0; i < jobs; i += batch) {
      const events: SchedulerEvent[] = [];
      for (let k = i; k < Math.min(jobs, i + batch); k++) events.push(submitted(k));
      await store.append(epoch, events);
      if (i + batch <= inSnapshot) for (const e of events) applyEvent(state, e);
      if (i + batch === inSnapshot) {
        const bytes = snapshotBytes(state);
        await store.writeSnapshot(inSnapshot, bytes);
        ctx.log(`snapshot of ${inSnapshot} jobs: ${(bytes.length / 2 ** 20).toFixed(1)} MiB`);
      }
    }
    await store.compact();
    await store.close();

    const samples: number[] = [];
    for (let run = 0; run < 3; run++) {
      store = await openEmbeddedStore({ dir, logger: quiet });
      const started = performance.now();
      const recovered = await recoverScheduler(store);
      const seconds = (performance.now() - started) / 1000;
      await store.close();
      if (recovered.state.jobs.size !== jobs || recovered.replayed !== jobs - inSnapshot) {
        throw new Error(`recovered ${recovered.state.jobs.size} jobs (${recovered.replayed} replayed), expected ${jobs}`);
      }
      samples.push(seconds);
      ({ epoch } = recovered);
    }
    ctx.record({ id: ctx.quick ? 'recovery-100k' : 'recovery-1m', unit: 's', samples });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function settleMemory(): NodeJS.MemoryUsage {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('bytes-per-pending-job needs --expose-gc (npm run bench passes it)');
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage();
}

export async function pendingMemoryCase(ctx: BenchContext): Promise<void> {
  const jobs = ctx.quick ? 100_000 : 1_000_000;
  const system = await createActorSystem({ workers: 1, log: quiet });
  try {
    const core = await SchedulerCore.create({ system, sites: ['a'], agents: { start() {}, kill() {}, acknowledge() {}, refuse() {} }, log: quiet });
    const before = settleMemory();
    const batch = 10_000;
    for (let i = 0; i < jobs; i += batch) {
      const specs: JobSpec[] = [];
      for (let k = i; k < Math.min(jobs, i + batch); k++) specs.push(jobSpec(k));
      const results = await core.submit('acme', specs);
      if (results.some((r) => !r.ok)) throw new Error('a submission was refused');
    }
    await core.settle();
    const after = settleMemory();
    const slices = await core.queueSlices();
    const pending = slices.reduce((n, s) => n + [...s.jobs.values()].filter((j) => j.status === 'pending').length, 0);
    if (pending !== jobs) throw new Error(`${pending} pending jobs, expected ${jobs}`);
    const rss = (after.rss - before.rss) / jobs;
    const heap = (after.heapUsed - before.heapUsed) / jobs;
    ctx.log(`pending jobs: ${jobs}; rss +${((after.rss - before.rss) / 2 ** 20).toFixed(0)} MiB, heap +${((after.heapUsed - before.heapUsed) / 2 ** 20).toFixed(0)} MiB`);
    ctx.record({ id: 'bytes-per-pending-job', unit: 'bytes', samples: [rss] });
    ctx.record({ id: 'heap-bytes-per-pending-job', unit: 'bytes', samples: [heap] });
  } finally {
    await system.shutdown();
  }
}
