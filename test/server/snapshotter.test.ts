/**
 * The server's snapshotter (src/server/snapshots.ts) on a real store and the real CPU pool: it takes the point
 * from the core, has the pool fold the state there, writes and compacts; a stop abandons a fold.
 */
import t from 'tap';
import { closeCpuPool } from '../../src/actors/index.js';
import { createLogger } from '../../src/log/index.js';
import type { SchedulerCore, SchedulerEvent, SchedulerState } from '../../src/scheduler/index.js';
import { applyEvent, createState, recoverScheduler } from '../../src/scheduler/index.js';
import { embeddedSnapshots, Snapshotter } from '../../src/server/snapshots.js';
import { openEmbeddedStore } from '../../src/store/index.js';
import { job, node } from '../helpers/scheduler.js';

t.teardown(closeCpuPool);

const quiet = createLogger({ name: 'test-store', level: 'silent' });

/** A log of `count` submissions on one node, appended durably; the events as written. */
function events(count: number): SchedulerEvent[] {
  const out: SchedulerEvent[] = [{ kind: 'NodeJoined', at: 1, node: node('n1') }];
  for (let i = 1; i <= count; i++) out.push({ kind: 'JobSubmitted', at: 1 + i, job: `j-${i}`, tenant: 'acme', spec: job({ name: `job-${i}` }) });
  return out;
}

function replayed(list: readonly SchedulerEvent[]): SchedulerState {
  const state = createState(false);
  for (const e of list) applyEvent(state, e);
  return state;
}

/** The only part of the core the snapshotter uses: the point, here the store's last seq. */
function coreAt(seq: number): SchedulerCore {
  return { snapshotPoint: () => Promise.resolve(seq) } as unknown as SchedulerCore;
}

/** Log lines, parsed. */
function capture(): { lines: { msg: string; level: number }[]; log: ReturnType<typeof createLogger> } {
  const lines: { msg: string; level: number }[] = [];
  const log = createLogger({ name: 'snapshots', level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string; level: number }) } });
  return { lines, log };
}

t.test('a trigger folds the state at the core’s point on the pool, writes it and compacts; recovery starts from it', async (t) => {
  const dir = t.testdir();
  const written = events(200);
  const store = await openEmbeddedStore({ dir, logger: quiet, segmentBytes: 8192 });
  const { epoch } = await store.recover();
  await store.append(epoch, written);
  const { lines, log } = capture();
  const snapshots = new Snapshotter({ core: coreAt(written.length), writer: embeddedSnapshots(store), log, everyEvents: 1_000_000, everySeconds: 3600 });
  await snapshots.trigger();
  t.equal(snapshots.written, 1);
  t.match(lines, [{ msg: 'snapshot written, log compacted', seq: written.length, writeMs: Number, bytes: Number }]);
  await snapshots.stop();
  await store.close();

  const reopened = await openEmbeddedStore({ dir, logger: quiet });
  t.teardown(() => reopened.close());
  const recovered = await recoverScheduler(reopened);
  t.equal(recovered.replayed, 0, 'nothing left to replay after the snapshot');
  t.same([...recovered.state.jobs.keys()], [...replayed(written).jobs.keys()], 'the jobs of the whole log');
  t.equal(recovered.state.submitted, 200);
});

t.test('a stop abandons a fold in progress: nothing is written, the line says why, the next start is clean', async (t) => {
  const dir = t.testdir();
  const store = await openEmbeddedStore({ dir, logger: quiet });
  t.teardown(() => store.close());
  const { epoch } = await store.recover();
  const written = events(50);
  await store.append(epoch, written);
  const { lines, log } = capture();
  const snapshots = new Snapshotter({ core: coreAt(written.length), writer: embeddedSnapshots(store), log, everyEvents: 1_000_000, everySeconds: 3600 });
  const running = snapshots.trigger();
  await snapshots.stop();
  await running;
  t.equal(snapshots.written, 0, 'no snapshot written');
  t.match(lines, [{ msg: /snapshot abandoned: the server is stopping/, level: 30 }], 'logged at info, not as a failure');
  t.notOk(lines.some((l) => l.level >= 50), 'nothing at error');
});
