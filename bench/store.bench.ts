/**
 * The embedded store (src/store): durable events per second.
 *
 * - `fsync-per-append` (baseline, recorded first): the appenders and appends of `group-commit` (1,024
 *   concurrent appenders, 4 events per append), but a zero window and a group limit of one append's
 *   events, so every append costs one write and one fsync of its own: what a log without group commit
 *   does. The ratio of the two is what group commit alone buys.
 * - `group-commit`: 1,024 concurrent appenders, 4 events per append, the default window and batch limits:
 *   appends that arrive together share one write and one fsync.
 *
 * Events are JobSubmitted-like (test/store/fixtures/events.ts, shared with the tests: ~200 bytes of
 * msgpack). Every sample runs on a fresh data folder in the OS temporary folder; a sample ends when every
 * append has resolved (is durable). Before a case is recorded, its folder is reopened and recovered, and
 * every event must be there, in order, exactly as written.
 *
 * Cases are functions in `CASES`, run in order with a shared `Scratch` (temporary folders, removed at the
 * end). To add one: write `async function name(ctx, scratch)`
 * that measures, verifies and calls `ctx.record`, and append it to `CASES` (after its baseline, if any).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { createLogger } from '../src/log/index.js';
import { GROUP_COMMIT_MAX_BYTES, GROUP_COMMIT_MAX_EVENTS, GROUP_COMMIT_WINDOW_MS, openEmbeddedStore, type EmbeddedStoreOptions } from '../src/store/index.js';
import { isJobSubmitted, jobSubmitted } from '../test/store/fixtures/events.js';
import { defineBenchmark, sampleRate, type BenchContext, RUNNER } from './lib/index.js';
import { pendingMemoryCase, pendingMemoryDistinctCase, recoveryCase, recoveryDistinctCase } from './store-state.js';

/** Temporary data folders for one run; all removed when the run ends. */
export class Scratch {
  readonly #root = mkdtempSync(join(tmpdir(), 'muster-bench-store-'));
  #count = 0;

  /** A new, empty folder path (the store creates it). */
  folder(label: string): string {
    return join(this.#root, `${label}-${++this.#count}`);
  }

  remove(): void {
    rmSync(this.#root, { recursive: true, force: true });
  }
}

type StoreCase = (ctx: BenchContext, scratch: Scratch) => Promise<void>;

const silent = createLogger({ name: 'store', level: 'silent' });

/** Appenders in the group-commit case: a busy control plane has this many requests and turns in flight. */
const APPENDERS = 1024;
/**
 * Events per append in the group-commit case: a submission writes a few (JobSubmitted and its tasks), a
 * dispatcher turn writes its placements in one append. (One event per append reaches about 160-190k
 * events/s on the 2-core CI machine: msgpack encoding alone is 2-3 µs per event there, and each append
 * adds its promise.)
 */
const EVENTS_PER_APPEND = 4;

/**
 * Events 1..count (`events[i]` is event i + 1), built before a sample starts: building them is the
 * callers' work, not the store's.
 */
function buildEvents(count: number): unknown[] {
  return Array.from({ length: count }, (_, i) => jobSubmitted(i + 1));
}

/**
 * Appends `events` to a fresh store in `dir` with `appenders` concurrent loops (`perAppend` events per
 * append) and returns their count once every append has resolved. Opening and recovering the empty folder is
 * timed too (it is a few ms).
 */
async function appendAll(dir: string, events: readonly unknown[], appenders: number, perAppend: number, options: Partial<EmbeddedStoreOptions>): Promise<number> {
  const store = await openEmbeddedStore({ logger: silent, ...options, dir });
  const { epoch } = await store.recover();
  let next = 0;
  const loop = async (): Promise<void> => {
    while (next < events.length) {
      const index = next;
      next += perAppend;
      const { firstSeq } = await store.append(epoch, events.slice(index, index + perAppend));
      if (firstSeq !== index + 1) throw new Error(`event ${index + 1} got seq ${firstSeq}`);
    }
  };
  await Promise.all(Array.from({ length: appenders }, loop));
  await store.close();
  return events.length;
}

/** Reopens `dir` and checks that events 1..count are there, in order, exactly as written. */
async function verify(dir: string, count: number): Promise<void> {
  const store = await openEmbeddedStore({ dir, logger: silent });
  const { events, lastSeq } = await store.recover();
  await store.close();
  if (lastSeq !== count || events.length !== count) throw new Error(`${dir}: ${events.length} events, last seq ${lastSeq}; ${count} were appended`);
  events.forEach((e, i) => {
    if (e.seq !== i + 1 || !isJobSubmitted(e.event, i + 1)) throw new Error(`${dir}: event ${i + 1} is wrong (seq ${e.seq})`);
  });
}

/** Runs `samples` fresh folders of `count` events each (after one warm-up folder), verifies each, returns the rates. */
async function measure(scratch: Scratch, label: string, samples: number, count: number, appenders: number, perAppend: number, options: Partial<EmbeddedStoreOptions>): Promise<number[]> {
  const folders: string[] = [];
  const events = buildEvents(count);
  const rates = await sampleRate({ warmup: 1, samples }, () => {
    const dir = scratch.folder(label);
    folders.push(dir);
    return appendAll(dir, events, appenders, perAppend, options);
  });
  for (const dir of folders) await verify(dir, count);
  return rates;
}

/**
 * Appends each appender makes in the baseline: at least one, so that every appender takes part (an fsync
 * each: ~1,000/s here, so 2 are a few seconds per sample).
 */
const BASELINE_APPENDS_PER_APPENDER = { quick: 1, full: 2 } as const;

const fsyncPerAppend: StoreCase = async (ctx, scratch) => {
  const count = APPENDERS * EVENTS_PER_APPEND * (ctx.quick ? BASELINE_APPENDS_PER_APPENDER.quick : BASELINE_APPENDS_PER_APPENDER.full);
  // A group is never split and is sealed once it holds maxEvents: one append per group, one fsync per append.
  const options = { commitWindowMs: 0, commitMaxEvents: EVENTS_PER_APPEND };
  ctx.config({ fsyncPerAppendEvents: count, fsyncPerAppend: { appenders: APPENDERS, eventsPerAppend: EVENTS_PER_APPEND, ...options } });
  const rates = await measure(scratch, 'fsync-per-append', ctx.quick ? 3 : 5, count, APPENDERS, EVENTS_PER_APPEND, options);
  ctx.record({ id: 'fsync-per-append', unit: 'events/s', samples: rates });
};

const groupCommit: StoreCase = async (ctx, scratch) => {
  const count = ctx.quick ? 50_000 : 200_000;
  ctx.config({ groupCommitEvents: count, appenders: APPENDERS, eventsPerAppend: EVENTS_PER_APPEND, windowMs: GROUP_COMMIT_WINDOW_MS, maxBatchBytes: GROUP_COMMIT_MAX_BYTES, maxBatchEvents: GROUP_COMMIT_MAX_EVENTS });
  const rates = await measure(scratch, 'group-commit', ctx.quick ? 3 : 5, count, APPENDERS, EVENTS_PER_APPEND, {});
  ctx.record({ id: 'group-commit', unit: 'events/s', samples: rates, baseline: 'fsync-per-append' });
};

/** In run order; a case's baseline comes before it. */
// recovery-1m and bytes-per-pending-job, on each workload, measure the scheduler's state on the store (bench/store-state.ts).
const CASES: readonly StoreCase[] = [fsyncPerAppend, groupCommit, recoveryCase, recoveryDistinctCase, pendingMemoryCase, pendingMemoryDistinctCase];

export default defineBenchmark({
  name: 'store',
  measures: ['src/store', 'src/model', 'src/api', 'src/scheduler', 'src/placement', 'src/actors', 'src/errors', 'src/log', 'native', 'wasm', 'bench/store*', 'test/store/fixtures', ...RUNNER],
  async run(ctx) {
    const scratch = new Scratch();
    ctx.env({ dataFolder: tmpdir() });
    ctx.config({ eventMsgpackBytes: pack(jobSubmitted(1)).length });
    try {
      for (const run of CASES) await run(ctx, scratch);
    } finally {
      scratch.remove();
    }
  },
});
