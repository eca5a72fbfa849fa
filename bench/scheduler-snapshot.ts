/**
 * The `snapshot-stall-ms` case of the scheduler benchmark (bench/scheduler.bench.ts runs it): the longest
 * pause of the main thread's event loop while the server's snapshot of 1,000,000 pending jobs with distinct
 * arguments is taken, end to end as src/server/snapshots.ts takes it — the point (`core.snapshotPoint()`),
 * the fold on the CPU pool, whose thread also writes the snapshot file (`stageSnapshotAt`), the store's
 * adoption of that file (`store.adoptSnapshot`, a rename), `store.compact()` — plus a tail after it (a
 * collection the snapshot causes lands there). Target ≤ 50 ms.
 *
 * Set-up: a scheduling core on a real embedded store in a temporary folder, one site without nodes (every
 * job stays pending), 1,000,000 jobs submitted in frames of 10,000, each with its own name, key and
 * arguments. Samples: three snapshots; the first folds the whole log, the next ones the previous snapshot and
 * the 10,000 jobs submitted since. Pauses: a 1 ms timer on the main thread; a pause is the gap between two
 * of its ticks less the 1 ms, attributed to the step it ended in (`monitorEventLoopDelay` is read as a
 * cross-check). The main thread's own collections in the window are listed too (a `gc` performance
 * observer): with a million jobs its heap is over 1 GB, and V8 collects it when it likes, snapshot or not.
 * Before each snapshot the run waits for that heap to be quiet, then watches it idle as long
 * (`idle-stall-ms`: the floor of this machine and heap). Baseline, in the same run: `encode-on-main-ms`, the
 * time the previous design spent encoding the queue actors' slices on the main thread (one sample: it is a
 * single blocking call).
 *
 * Each snapshot is checked before its number counts, read back from the file the store adopted (after the
 * sample's window, so the check's own work is not counted): it decodes to exactly the jobs submitted up to its
 * point, all pending, each with its own arguments, and it is large (tens of MiB). `--quick`: 100,000 jobs.
 * Runs in a fresh process (bench/lib/fresh-process.ts): the heap of the benchmark's other cases would add
 * collections of its own to the pauses.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { closeCpuPool, cpuPool, createActorSystem } from '../src/actors/index.js';
import { createLogger } from '../src/log/index.js';
import type { JobSpec } from '../src/model/index.js';
import { validateJob, validateQueue } from '../src/model/index.js';
import { encodeState, recoverScheduler, SchedulerCore, stageSnapshotAt, storeSink, unpackSnapshot } from '../src/scheduler/index.js';
import { openEmbeddedStore, readPoint } from '../src/store/index.js';
import type { BenchContext } from './lib/index.js';
import { inFreshProcess, isFreshProcessOf, reportFromFreshProcess } from './lib/fresh-process.js';

const quiet = createLogger({ name: 'bench', level: 'warn' });

/** Snapshots measured; the first folds the log alone, the others a snapshot and the log after it. */
const SAMPLES = 3;
/** Jobs per submission frame (the protocol's largest) and jobs added between two snapshots. */
const FRAME = 10_000;
/** The timer that sees pauses: 1 ms is the finest a Node timer fires at. */
const TICK_MS = 1;
/** Watched after a snapshot ends: a collection the snapshot's bytes cause comes within it. */
const TAIL_MS = 500;
/**
 * Quiet: this long without a collection of the main thread's heap before a sample starts (at most the cap).
 * V8's memory reducer starts collecting a heap 8 s after a full collection when little is allocated, in
 * rounds about 1.5 s apart: 10 s of quiet means it is done, or not coming.
 */
const QUIET_MS = 10_000;
const QUIET_CAP_MS = 60_000;
/** The idle watch before each snapshot, for the floor of pauses without one. */
const IDLE_MS = 5000;
/** A snapshot of this many jobs below this size would not be carrying their distinct arguments. */
const MIN_BYTES_PER_JOB = 40;

const STEPS = ['point', 'fold', 'adopt', 'compact', 'tail'] as const;
type Step = (typeof STEPS)[number];

interface Sample {
  /** Longest pause in the whole snapshot, ms. */
  readonly stallMs: number;
  readonly byStep: Record<Step, { readonly ms: number; readonly longestPauseMs: number }>;
  /** `monitorEventLoopDelay`'s maximum over the same window, ms. */
  readonly histogramMaxMs: number;
  /** The longest collection of the main thread's heap in the window, ms (0: none). */
  readonly gcMaxMs: number;
  /** The longest pause over `IDLE_MS` of the same process just before, without a snapshot. */
  readonly idleStallMs: number;
  readonly bytes: number;
  readonly jobs: number;
}

interface Measured {
  readonly jobs: number;
  readonly samples: readonly Sample[];
  readonly encodeOnMainMs: number;
  readonly submitSeconds: number;
  readonly poolThreads: number;
}

/** Job `i`: its own name, idempotency key and arguments (nothing for the interner to share but the shape). */
function jobSpec(i: number): JobSpec {
  const v = validateJob({
    name: `sweep-${i}`,
    queue: 'batch',
    idempotencyKey: `key-${i}`,
    tasks: [{ resources: { cpu: '1', memory: '2Gi' }, command: 'train', args: ['--input', `s3://datasets/part-${i}`, '--seed', String((i * 7919) % 1_000_003)] }],
  });
  if (!v.ok) throw new Error('bench spec is invalid');
  return v.value;
}

/** Collections of the main thread's heap (a `gc` performance observer): when each ended and how long it took. */
class GcLog {
  readonly #entries: { readonly end: number; readonly ms: number }[] = [];
  readonly #observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) this.#entries.push({ end: e.startTime + e.duration, ms: e.duration });
  });

  constructor() {
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  /** The longest collection that ended in (from, to]. */
  longest(from: number, to: number): number {
    let max = 0;
    for (const e of this.#entries) if (e.end > from && e.end <= to && e.ms > max) max = e.ms;
    return max;
  }

  /** Resolves once `QUIET_MS` have passed without a collection (or after `QUIET_CAP_MS`). */
  async quiet(): Promise<void> {
    const started = performance.now();
    for (;;) {
      const now = performance.now();
      const last = this.#entries.at(-1)?.end ?? 0;
      if (now - last >= QUIET_MS || now - started >= QUIET_CAP_MS) return;
      await sleep(QUIET_MS - (now - last));
    }
  }

  close(): void {
    this.#observer.disconnect();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The main thread's event-loop pauses, from a 1 ms timer: gaps between ticks, less the tick. */
class PauseWatch {
  readonly #pauses: { readonly at: number; readonly ms: number }[] = [];
  #last = 0;
  #timer: NodeJS.Timeout | undefined;

  start(): void {
    this.#last = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.#pauses.push({ at: now, ms: Math.max(0, now - this.#last - TICK_MS) });
      this.#last = now;
    }, TICK_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
    // A pause still going on when the watch stops ends now.
    const now = performance.now();
    this.#pauses.push({ at: now, ms: Math.max(0, now - this.#last - TICK_MS) });
  }

  /** The longest pause that ended in (from, to]. */
  longest(from: number, to: number): number {
    let max = 0;
    for (const p of this.#pauses) if (p.at > from && p.at <= to && p.ms > max) max = p.ms;
    return max;
  }
}

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('snapshot-stall-ms needs --expose-gc');
  for (let i = 0; i < 2; i++) gc();
}

async function measure(jobs: number): Promise<Measured> {
  const dir = await mkdtemp(join(tmpdir(), 'muster-bench-snapshot-'));
  const system = await createActorSystem({ workers: 1, log: quiet });
  const store = await openEmbeddedStore({ dir, logger: quiet });
  try {
    const recovered = await recoverScheduler(store);
    const agents = { start() {}, kill() {}, acknowledge() {}, refuse() {} };
    const core = await SchedulerCore.create({ system, sites: ['a'], agents, sink: storeSink(store, recovered.epoch), epoch: recovered.epoch, log: quiet });
    const batch = validateQueue({ tenant: 'acme', name: 'batch' });
    if (!batch.ok) throw new Error('bench queue is invalid');
    await core.defineQueue(batch.value);

    let submitted = 0;
    const submit = async (count: number): Promise<void> => {
      for (let end = submitted + count; submitted < end; ) {
        const specs: JobSpec[] = [];
        for (let k = 0; k < FRAME && submitted + k < end; k++) specs.push(jobSpec(submitted + k));
        const results = await core.submit('acme', specs);
        if (results.some((r) => !r.ok)) throw new Error('a submission was refused');
        submitted += specs.length;
      }
      await core.sync();
    };
    const submitStarted = performance.now();
    await submit(jobs);
    const submitSeconds = (performance.now() - submitStarted) / 1000;
    process.stderr.write(`  ${jobs} pending jobs submitted in ${submitSeconds.toFixed(0)} s\n`);
    // The pool's thread starts with the server, not with a snapshot.
    const pool = await cpuPool();

    const samples: Sample[] = [];
    const gcs = new GcLog();
    for (let s = 0; s < SAMPLES; s++) {
      if (s > 0) await submit(FRAME);
      await gcs.quiet();
      const idle = new PauseWatch();
      idle.start();
      await sleep(IDLE_MS);
      idle.stop();
      const idleStallMs = idle.longest(0, Infinity);
      const histogram = monitorEventLoopDelay({ resolution: TICK_MS });
      const watch = new PauseWatch();
      histogram.enable();
      watch.start();
      const at: number[] = [performance.now()];
      const seq = await core.snapshotPoint();
      at.push(performance.now());
      const staged = await stageSnapshotAt({ dir, seq });
      at.push(performance.now());
      await store.adoptSnapshot(seq, staged.path);
      at.push(performance.now());
      await store.compact();
      at.push(performance.now());
      await sleep(TAIL_MS);
      at.push(performance.now());
      watch.stop();
      histogram.disable();
      const byStep = Object.fromEntries(STEPS.map((step, i) => [step, { ms: at[i + 1]! - at[i]!, longestPauseMs: watch.longest(at[i]!, at[i + 1]!) }])) as Sample['byStep'];
      const sample: Sample = { stallMs: watch.longest(at[0]!, at.at(-1)!), byStep, histogramMaxMs: histogram.max / 1e6, gcMaxMs: gcs.longest(at[0]!, at.at(-1)!), idleStallMs, bytes: staged.bytes, jobs: submitted };
      const written = (await readPoint(dir, seq, { logger: quiet })).snapshot;
      if (written?.seq !== seq) throw new Error(`the store's newest snapshot is at seq ${written?.seq}, not ${seq}`);
      check(written.state, submitted);
      samples.push(sample);
      process.stderr.write(
        `  snapshot ${s + 1} at seq ${seq}: ${(staged.bytes / 2 ** 20).toFixed(1)} MiB, longest pause ${sample.stallMs.toFixed(1)} ms (` +
          STEPS.map((step) => `${step} ${byStep[step].ms.toFixed(0)} ms, pause ${byStep[step].longestPauseMs.toFixed(1)}`).join('; ') +
          `; histogram max ${sample.histogramMaxMs.toFixed(1)} ms; longest collection ${sample.gcMaxMs.toFixed(1)} ms; idle before: longest pause ${idleStallMs.toFixed(1)} ms)\n`,
      );
    }
    gcs.close();

    // Baseline: what the previous design did on the main thread, each queue actor encoding its slice.
    collectGarbage();
    const slices = await core.queueSlices();
    const started = performance.now();
    let encoded = 0;
    for (const slice of slices) encoded += encodeState(slice).length;
    const encodeOnMainMs = performance.now() - started;
    if (encoded < submitted * MIN_BYTES_PER_JOB) throw new Error(`the baseline encoded only ${encoded} bytes`);
    process.stderr.write(`  baseline: encoding the queue actors' slices on the main thread took ${encodeOnMainMs.toFixed(0)} ms\n`);
    return { jobs, samples, encodeOnMainMs, submitSeconds, poolThreads: pool.threads };
  } finally {
    await closeCpuPool();
    await system.shutdown();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The snapshot holds exactly the `jobs` submitted, all pending, each with its own arguments. */
function check(bytes: Uint8Array, jobs: number): void {
  if (bytes.length < jobs * MIN_BYTES_PER_JOB) throw new Error(`a snapshot of ${jobs} jobs is only ${bytes.length} bytes`);
  const state = unpackSnapshot(bytes);
  if (state.jobs.size !== jobs || state.submitted !== jobs) throw new Error(`the snapshot holds ${state.jobs.size} jobs (${state.submitted} submitted), expected ${jobs}`);
  const inputs = new Set<string>();
  for (const job of state.jobs.values()) {
    if (job.status !== 'pending') throw new Error(`job ${job.id} is ${job.status} in the snapshot`);
    inputs.add(job.spec.tasks[0]!.args[1]!);
  }
  if (inputs.size !== jobs) throw new Error(`${inputs.size} distinct arguments among ${jobs} jobs`);
  collectGarbage();
}

export async function snapshotStallCase(ctx: BenchContext): Promise<void> {
  const jobs = ctx.quick ? 100_000 : 1_000_000;
  ctx.log(`snapshot-stall-ms: snapshots of ${jobs} pending jobs with distinct arguments${ctx.quick ? ' (--quick: fewer jobs than the 1,000,000 of the target)' : ''}, in a fresh process`);
  const m = await inFreshProcess<Measured>(ctx, import.meta.url, [String(jobs)]);
  ctx.config({ snapshotJobs: m.jobs, snapshotSamples: m.samples.length, poolThreads: m.poolThreads });
  ctx.record({ id: 'encode-on-main-ms', unit: 'ms', samples: [m.encodeOnMainMs] });
  ctx.record({ id: 'snapshot-stall-ms', unit: 'ms', samples: m.samples.map((s) => s.stallMs), baseline: 'encode-on-main-ms' });
  ctx.record({ id: 'idle-stall-ms', unit: 'ms', samples: m.samples.map((s) => s.idleStallMs) });
  ctx.record({ id: 'snapshot-gc-max-ms', unit: 'ms', samples: m.samples.map((s) => s.gcMaxMs) });
  for (const step of STEPS) ctx.record({ id: `snapshot-stall-${step}-ms`, unit: 'ms', samples: m.samples.map((s) => s.byStep[step].longestPauseMs) });
  ctx.record({ id: 'snapshot-fold-s', unit: 's', samples: m.samples.map((s) => s.byStep.fold.ms / 1000) });
  ctx.record({ id: 'snapshot-mib', unit: 'MiB', samples: m.samples.map((s) => s.bytes / 2 ** 20) });
}

if (isFreshProcessOf(import.meta.url)) reportFromFreshProcess(() => measure(Number(process.argv[2])));
