import t from 'tap';
import { SchedulerCore, VirtualClock } from '../../src/scheduler/index.js';
import { RecordingAgents, closeSharedSystem, job, liveJobs, node, rebuild, rebuiltJobs, sharedSystem, simulate } from '../helpers/scheduler.js';

t.teardown(closeSharedSystem);



t.test('a core started from a rebuilt state carries on where the log ends', async (t) => {
  // Before the "crash": 2 nodes of 4 cpu, 12 one-cpu jobs of 10 s; at t = 5 s, 8 run and 4 wait.
  const before = await simulate(
    { sites: ['a'], nodes: [{ spec: node('n1') }, { spec: node('n2') }], jobs: Array.from({ length: 12 }, (_, i) => ({ at: i < 10 ? 0 : 1000, spec: job(), durationMs: 10_000 })) },
    5_000,
  );
  const events = before.events;
  const state = rebuild(events);
  t.equal([...state.jobs.values()].filter((j) => j.status === 'running').length, 8);

  const agents = new RecordingAgents();
  const clock = new VirtualClock(5_000);
  const after = await SchedulerCore.create({ system: await sharedSystem(), sites: ['a'], agents, clock, recovered: state, lastSeq: events.length });
  const probe = { core: after } as unknown as Parameters<typeof liveJobs>[0];
  t.same(await liveJobs(probe), rebuiltJobs(rebuild(events)), 'queue actors hold exactly the recovered jobs');
  const nodes = await after.nodeSnapshots();
  t.same(
    nodes.map((n) => [n.name, n.allocations.length]).sort(),
    [['n1', 4], ['n2', 4]],
    'node actors hold the running attempts',
  );
  t.equal(agents.started.length, 0, 'nothing running is launched again');

  // Nothing fits until something ends: the recovered tables know what the nodes hold.
  t.equal((await after.cycle()).placed, 0, 'a full cluster stays full after recovery');
  const running = [...state.jobs.values()].filter((j) => j.status === 'running');
  const first = running[0]!;
  // (The recovered records now belong to the queue actors, which change them: read what is needed first.)
  const freed = first.tasks[0]!.node!;
  after.taskEnded({ job: first.id, task: 0, attempt: 1, node: freed, outcome: 'succeeded' });
  await after.settle();
  t.equal((await after.cycle()).placed, 1, 'the freed slot takes one waiting job');
  await after.settle();
  t.equal(agents.started.length, 1);
  t.equal(agents.started[0]!.node, freed, 'on the node that freed it');

  // The queue is the recovered jobs' tenant's (queues belong to tenants): the same tenant submits into it.
  const [submitted] = await after.submit('default', [job()]);
  t.match(submitted, { ok: true, job: 'j-13' }, 'job ids continue after the recovered ones');
  t.match(await after.whyPending('j-13'), { status: 'pending' });
});
