import t from 'tap';
import { closeCpuPool } from '../../src/actors/index.js';
import { createLogger } from '../../src/log/index.js';
import type { SchedulerEvent, SchedulerState } from '../../src/scheduler/index.js';
import { applyEvent, createState, recoverScheduler, SchedulerCore, snapshotAt, storeSink, VirtualClock } from '../../src/scheduler/index.js';
import { openEmbeddedStore } from '../../src/store/index.js';
import { RecordingAgents, closeSharedSystem, job, node, rebuiltJobs, sharedSystem } from '../helpers/scheduler.js';

t.teardown(closeSharedSystem);
t.teardown(closeCpuPool);


const quiet = createLogger({ name: 'test-store', level: 'silent' });

function strip(state: SchedulerState): unknown {
  return [...rebuiltJobs(state)].sort(([a], [b]) => (a < b ? -1 : 1));
}

t.test('the core on the embedded store: what it acknowledged survives a restart, from snapshot + log', async (t) => {
  const dir = t.testdir();
  const written: SchedulerEvent[] = [];

  // First life: a cluster, jobs, placements, a snapshot in the middle, more work after it.
  {
    const store = await openEmbeddedStore({ dir, logger: quiet });
    const recovered = await recoverScheduler(store);
    t.equal(recovered.lastSeq, 0);
    const sink = storeSink(store, recovered.epoch);
    const tee = { write: (events: readonly SchedulerEvent[], first: number) => (written.push(...events), sink.write(events, first)) };
    const agents = new RecordingAgents();
    const core = await SchedulerCore.create({ system: await sharedSystem(), sites: ['a'], agents, clock: new VirtualClock(0), sink: tee, epoch: recovered.epoch });
    await core.joinNode(node('n1'));
    await core.joinNode(node('n2'));
    const first = await core.submit('acme', Array.from({ length: 10 }, () => job()));
    t.ok(first.every((r) => r.ok));
    await core.cycle();
    await core.sync();
    await core.settle();
    t.equal(agents.started.length, 8, 'placements were dispatched once durable');
    for (const l of agents.started.slice(0, 3)) {
      core.taskStarted({ job: l.job, task: l.task, attempt: l.attempt, node: l.node });
      core.taskEnded({ job: l.job, task: l.task, attempt: l.attempt, node: l.node, outcome: 'succeeded' });
    }
    await core.settle();
    const seq = await core.snapshotPoint();
    await store.writeSnapshot(seq, await snapshotAt({ dir, seq }));
    await store.compact();
    await core.submit('acme', [job(), job()]);
    await core.cancel('j-12');
    await core.cycle();
    await core.sync();
    await store.close();
  }

  // Second life: the same folder, a new epoch, the same state.
  const store = await openEmbeddedStore({ dir, logger: quiet });
  t.teardown(() => store.close());
  const recovered = await recoverScheduler(store);
  t.equal(recovered.lastSeq, written.length, 'every acknowledged event is there');
  t.ok(recovered.replayed > 0 && recovered.replayed < written.length, `the snapshot covered the start (${recovered.replayed} of ${written.length} events replayed)`);
  t.ok(recovered.epoch > 1, 'a new epoch');
  const expected = createState(false);
  for (const e of written) applyEvent(expected, e);
  t.same(strip(recovered.state), strip(expected), 'snapshot + log rebuild the state the first life had');

  const agents = new RecordingAgents();
  const core = await SchedulerCore.create({
    system: await sharedSystem(),
    sites: ['a'],
    agents,
    clock: new VirtualClock(0),
    sink: storeSink(store, recovered.epoch),
    epoch: recovered.epoch,
    lastSeq: recovered.lastSeq,
    recovered: recovered.state,
  });
  const [next] = await core.submit('acme', [job()]);
  t.match(next, { ok: true, job: 'j-13' }, 'ids continue');
  t.equal(agents.started.length, 0, 'nothing that ran before is launched again');
});
