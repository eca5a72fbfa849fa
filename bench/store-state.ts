/**
 * The scheduler-state cases of the store benchmark (bench/store.bench.ts runs them), each on two workloads:
 *
 * - `recovery-1m`: seconds to rebuild a state of 1,000,000 jobs from the store: the newest snapshot
 *   (900,000 jobs) decoded, and the 100,000 JobSubmitted events after it replayed with the reducer; each
 *   sample in a fresh process, as a server recovers when it starts.
 * - `bytes-per-pending-job`: resident memory the running scheduler core holds per pending job, with every
 *   job's spec its own object (as specs decoded from clients' frames are).
 *
 * The workloads: without a suffix, `shared`: single-task jobs whose task lists take 256 forms (128
 * arguments × 2 CPU requests: the best case for interning, which keeps one copy of each); with `-distinct`, the gateway's workload
 * (bench/workloads/submit-batches.ts: every job has an argument of its own, and arrays, environments,
 * constraints, retries and sidecars in its mix), where interning shares little.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Packr } from 'msgpackr';
import { createActorSystem } from '../src/actors/index.js';
import { decodeFrame, DEFAULT_LIMITS, isPrepared, prepareSubmit, RateLimiter, readClientRequest } from '../src/api/index.js';
import { createLogger } from '../src/log/index.js';
import type { JobSpec } from '../src/model/index.js';
import type { SchedulerEvent } from '../src/scheduler/index.js';
import { applyEvent, createState, recoverScheduler, SchedulerCore, snapshotBytes } from '../src/scheduler/index.js';
import { openEmbeddedStore } from '../src/store/index.js';
import type { BenchContext } from './lib/index.js';
import { inFreshProcess, isFreshProcessOf, reportFromFreshProcess } from './lib/fresh-process.js';
import { writtenJobs } from './workloads/submit-batches.js';

const quiet = createLogger({ name: 'bench', level: 'warn' });

/**
 * Written jobs as the server gets them: packed into a submit frame as a client sends it, and read by the
 * gateway's own path (decode, the one-pass job reader, `validateJob` for what it leaves), so each spec is
 * the objects and strings a server holds. Built here with template literals and validated directly, the
 * strings were concatenations (a cons string and its parts: ~3 per job, ~100 bytes of the distinct
 * workload's heap); through msgpackr's generic decoder they are slices of one string per frame.
 */
const frames = new Packr({ useRecords: false });
const SUBMITTER = { tenant: 'acme', role: 'submitter' } as const;
const UNLIMITED = new RateLimiter(1e15, 1e15);

function asSubmitted(written: readonly Record<string, unknown>[]): readonly JobSpec[] {
  const decoded = decodeFrame(frames.pack({ kind: 'submit', id: 1, jobs: written }), true);
  if (!decoded.ok) throw new Error(decoded.error.message);
  const read = readClientRequest(decoded.frame, DEFAULT_LIMITS);
  if (!read.ok || read.request.kind !== 'submit') throw new Error('bench: not a submit frame');
  const prepared = prepareSubmit(SUBMITTER, read.request, decoded.jobSizes, DEFAULT_LIMITS, UNLIMITED);
  if (!isPrepared(prepared) || prepared.specs.length !== written.length) throw new Error('bench: a workload job was refused');
  return prepared.specs;
}

/** A job of its own (distinct name and idempotency key). */
function writtenJob(i: number): Record<string, unknown> {
  return {
    name: `job-${i}`,
    queue: i % 10 === 0 ? 'interactive' : 'batch',
    idempotencyKey: `key-${i}`,
    tasks: [{ resources: { cpu: i % 3 === 0 ? '2' : '500m', memory: '1Gi' }, command: 'run', args: ['--shard', String(i % 128)] }],
  };
}

/** Jobs `first..first + count - 1` of a workload, as specs; `suffix` ends its case ids; `sites` are the ones its constraints name. */
interface Workload {
  readonly suffix: '' | '-distinct';
  readonly sites: readonly string[];
  specs(first: number, count: number): readonly JobSpec[];
}

const SHARED: Workload = {
  suffix: '',
  sites: ['a'],
  specs: (first, count) => asSubmitted(Array.from({ length: count }, (_, k) => writtenJob(first + k))),
};

const DISTINCT: Workload = {
  suffix: '-distinct',
  // Its constraints name sites a and b (submit-batches.ts); the core must know both or refuse those jobs.
  sites: ['a', 'b'],
  specs: (first, count) =>
    asSubmitted(writtenJobs(count, first + 1, first)),
};

/** Jobs built and written (or submitted) at a time: the rest of a million is not held while one slice is. */
const SLICE = 10_000;

async function recovery(ctx: BenchContext, workload: Workload): Promise<void> {
  const jobs = ctx.quick ? 100_000 : 1_000_000;
  const inSnapshot = Math.floor(jobs * 0.9);
  const dir = await mkdtemp(join(tmpdir(), 'muster-bench-recovery-'));
  try {
    // Set up: the log of every submission, then a snapshot after 90 % of them, then compaction.
    const store = await openEmbeddedStore({ dir, logger: quiet });
    const { epoch } = await store.recover();
    const state = createState(false);
    for (let i = 0; i < jobs; i += SLICE) {
      const events: SchedulerEvent[] = workload.specs(i, Math.min(SLICE, jobs - i)).map((spec, k) => ({ kind: 'JobSubmitted', at: i + k, job: `j-${i + k + 1}`, tenant: 'acme', spec }));
      await store.append(epoch, events);
      if (i + SLICE <= inSnapshot) for (const e of events) applyEvent(state, e);
      if (i + SLICE === inSnapshot) {
        const bytes = snapshotBytes(state);
        await store.writeSnapshot(inSnapshot, bytes);
        ctx.log(`recovery${workload.suffix}: snapshot of ${inSnapshot} jobs: ${(bytes.length / 2 ** 20).toFixed(1)} MiB`);
      }
    }
    await store.compact();
    await store.close();

    const samples: number[] = [];
    for (let run = 0; run < 3; run++) {
      const r = await inFreshProcess<Recovered>(ctx, import.meta.url, ['recover', dir]);
      if (r.jobs !== jobs || r.replayed !== jobs - inSnapshot) throw new Error(`recovered ${r.jobs} jobs (${r.replayed} replayed), expected ${jobs}`);
      samples.push(r.seconds);
    }
    ctx.record({ id: `${ctx.quick ? 'recovery-100k' : 'recovery-1m'}${workload.suffix}`, unit: 's', samples });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What a fresh process measured for `recovery-1m`: seconds to open the store and rebuild the state, and what it rebuilt. */
interface Recovered {
  readonly seconds: number;
  readonly jobs: number;
  readonly replayed: number;
}

/**
 * In the fresh process: opens the store in `dir` and rebuilds the state, as a server does at start, with
 * a heap holding nothing else (in the benchmark's own process the state built to write the snapshot, and
 * the sample before, stayed alive and made every collection slower).
 */
async function measureRecovery(dir: string): Promise<Recovered> {
  const store = await openEmbeddedStore({ dir, logger: quiet });
  try {
    const started = performance.now();
    const recovered = await recoverScheduler(store);
    const seconds = (performance.now() - started) / 1000;
    return { seconds, jobs: recovered.state.jobs.size, replayed: recovered.replayed };
  } finally {
    await store.close();
  }
}

function settleMemory(): NodeJS.MemoryUsage {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('bytes-per-pending-job needs --expose-gc (npm run bench passes it)');
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage();
}

/** What a fresh process measured for `bytes-per-pending-job`: resident and heap bytes added, for `jobs` pending jobs. */
interface PendingMemory {
  readonly jobs: number;
  readonly rssBytes: number;
  readonly heapBytes: number;
}

/** In the fresh process: submits `jobs` jobs of `workload` to a core with no nodes and measures what they hold. */
async function measurePendingMemory(workload: Workload, jobs: number): Promise<PendingMemory> {
  const system = await createActorSystem({ workers: 1, log: quiet });
  try {
    const core = await SchedulerCore.create({ system, sites: [...workload.sites], agents: { start() {}, kill() {}, acknowledge() {}, refuse() {} }, log: quiet });
    const before = settleMemory();
    for (let i = 0; i < jobs; i += SLICE) {
      const results = await core.submit('acme', workload.specs(i, Math.min(SLICE, jobs - i)));
      if (results.some((r) => !r.ok)) throw new Error('a submission was refused');
    }
    await core.settle();
    const after = settleMemory();
    const slices = await core.queueSlices();
    const pending = slices.reduce((n, s) => n + [...s.jobs.values()].filter((j) => j.status === 'pending').length, 0);
    if (pending !== jobs) throw new Error(`${pending} pending jobs, expected ${jobs}`);
    return { jobs, rssBytes: after.rss - before.rss, heapBytes: after.heapUsed - before.heapUsed };
  } finally {
    await system.shutdown();
  }
}

const WORKLOADS = { shared: SHARED, distinct: DISTINCT } as const;
type WorkloadName = keyof typeof WORKLOADS;

/**
 * Each workload in a fresh process (bench/lib/fresh-process.ts): the heap that the recovery cases, or the
 * other workload, left behind would otherwise hold pages that the jobs then reuse without growing the RSS.
 */
async function pendingMemory(ctx: BenchContext, name: WorkloadName): Promise<void> {
  const { suffix } = WORKLOADS[name];
  const m = await inFreshProcess<PendingMemory>(ctx, import.meta.url, [name, String(ctx.quick ? 100_000 : 1_000_000)]);
  ctx.log(`pending jobs${suffix}: ${m.jobs}; rss +${(m.rssBytes / 2 ** 20).toFixed(0)} MiB, heap +${(m.heapBytes / 2 ** 20).toFixed(0)} MiB`);
  ctx.record({ id: `bytes-per-pending-job${suffix}`, unit: 'bytes', samples: [m.rssBytes / m.jobs] });
  ctx.record({ id: `heap-bytes-per-pending-job${suffix}`, unit: 'bytes', samples: [m.heapBytes / m.jobs] });
}

if (isFreshProcessOf(import.meta.url)) {
  const [name, arg] = process.argv.slice(2);
  if (name === 'recover') reportFromFreshProcess(() => measureRecovery(String(arg)));
  else if (name === 'shared' || name === 'distinct') reportFromFreshProcess(() => measurePendingMemory(WORKLOADS[name], Number(arg)));
  else throw new Error(`store-state: no workload ${String(name)}`);
}

export const recoveryCase = (ctx: BenchContext): Promise<void> => recovery(ctx, SHARED);
export const recoveryDistinctCase = (ctx: BenchContext): Promise<void> => recovery(ctx, DISTINCT);
export const pendingMemoryCase = (ctx: BenchContext): Promise<void> => pendingMemory(ctx, 'shared');
export const pendingMemoryDistinctCase = (ctx: BenchContext): Promise<void> => pendingMemory(ctx, 'distinct');
