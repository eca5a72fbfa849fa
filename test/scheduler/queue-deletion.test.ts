/**
 * `QueueDeleted`: the reducer takes the queue out of the state (and a snapshot of that state agrees), and
 * refuses a whole state that still has jobs of it; the core deletes only queues nothing live needs (no job
 * that has not ended, no ended job a waiting job depends on, no child left behind), all or none, retires
 * their ended jobs first, stops their actors (cycles go on without them), never retires those jobs twice,
 * and a job submitted into the name later makes the queue again.
 */
import t from 'tap';
import type { SchedulerEvent } from '../../src/scheduler/index.js';
import { applyEvent, createState, decodeState, encodeState, SchedulerCore, VirtualClock } from '../../src/scheduler/index.js';
import { RETENTION_SWEEP_MS } from '../../src/scheduler/retention.js';
import { RecordingAgents, closeSharedSystem, job, node, queue, rebuild, sharedSystem } from '../helpers/scheduler.js';

t.teardown(closeSharedSystem);


t.test('reducer: the queue leaves the state, and a snapshot of it; a whole state with its jobs is inconsistent', async (t) => {
  const state = rebuild([
    { kind: 'QueueDefined', at: 1, queue: queue({ tenant: 'default', name: 'a', weight: 2 }) },
    { kind: 'QueueDefined', at: 1, queue: queue({ tenant: 'default', name: 'b' }) },
    { kind: 'QueueDeleted', at: 2, queue: 'a' },
  ]);
  t.same([...state.queues.keys()], ['b']);
  t.same([...decodeState(encodeState(state)).queues.keys()], ['b'], 'recovered from a snapshot, the queue is still gone');
  applyEvent(state, { kind: 'QueueDeleted', at: 3, queue: 'a' });
  t.same([...state.queues.keys()], ['b'], 'deleting a queue that is not there changes nothing');

  applyEvent(state, { kind: 'JobSubmitted', at: 4, job: 'j-1', tenant: 'default', spec: job({ queue: 'b' }) });
  t.throws(() => applyEvent(state, { kind: 'QueueDeleted', at: 5, queue: 'b' }), { code: 'MUSTER_ERR_INTERNAL' }, 'a whole state: its job would name a queue that is gone');
  const slice = createState(true);
  applyEvent(slice, { kind: 'JobSubmitted', at: 4, job: 'j-1', tenant: 'default', spec: job({ queue: 'b' }) });
  applyEvent(slice, { kind: 'QueueDeleted', at: 5, queue: 'b' });
  t.notOk(slice.queues.has('b'), 'a slice does not judge');
});

t.test('core: refused while needed (all or none); then deleted with its ended jobs retired once, its actor gone; the name made again', async (t) => {
  const clock = new VirtualClock(0);
  const seen: SchedulerEvent[] = [];
  const agents = new RecordingAgents();
  const policy = { maxAgeMs: 1000, maxEndedPerTenant: 100, keyWindowMs: 60_000 };
  const core = await SchedulerCore.create({ system: await sharedSystem(), sites: ['a'], agents, clock, retention: policy, sink: { write: (batch) => void seen.push(...batch) } });
  await core.defineQueues(['a', 'a/b', 'c', 'keep'].map((name) => queue({ tenant: 'default', name })));
  await core.joinNode(node('n1'));
  const [ran, waits] = await core.submit('default', [job({ queue: 'c' }), job({ queue: 'a/b' }, { resources: { cpu: '64', memory: '1Gi' } })], { holdUnsatisfiable: true });
  const ranId = (ran as { job: string }).job;
  const waitsId = (waits as { job: string }).job;
  t.equal((await core.cycle()).placed, 1);
  const refs = (await core.queueRefs()).length;

  const refused = await core.deleteQueues(['a', 'c', 'x', 'c']);
  t.match(refused, { ok: false, code: 'MUSTER_ERR_CONFLICT' });
  t.same(
    (refused.ok ? [] : refused.problems ?? []).map((p) => [p.path, p.code, p.message.replace(/:.*/, '')]),
    [
      ['queues[0]', 'MUSTER_ERR_CONFLICT', 'queue a has 1 child queue (a/b)'],
      ['queues[1]', 'MUSTER_ERR_CONFLICT', 'queue c has 1 job that has not ended (pending, held or running)'],
      ['queues[2]', 'MUSTER_ERR_UNKNOWN_QUEUE', 'queue x does not exist'],
      ['queues[3]', 'MUSTER_ERR_INVALID_VALUE', 'queue c is also queues[1]'],
    ],
  );
  t.match(await core.deleteQueues(['a', 'a/b']), { ok: false, problems: [{ path: 'queues[1]', message: /queue a\/b has 1 job that has not ended/ }] }, 'the child named too: its job keeps both');
  t.notOk(seen.some((e) => e.kind === 'QueueDeleted' || e.kind === 'JobsRetired'), 'nothing deleted, nothing retired');

  core.taskEnded({ job: ranId, task: 0, attempt: 1, node: 'n1', outcome: 'succeeded', exitCode: 0 });
  await core.cancel(waitsId);
  await core.settle();
  // A job still waiting in another queue depends on an ended job of c: c stays until it no longer waits.
  const [dependent] = await core.submit('default', [job({ queue: 'keep', dependencies: [`afterany:${waitsId}`, `afterok:${ranId}`] }, { resources: { cpu: '64', memory: '1Gi' } })], { holdUnsatisfiable: true });
  await core.settle();
  t.match(await core.deleteQueues(['a/b', 'a', 'c']), { ok: false, problems: [{ path: 'queues[0]', message: /queue a\/b has 1 ended job \(j-\d+\) that jobs still waiting depend on/ }, { path: 'queues[2]', message: /queue c has 1 ended job/ }] });
  await core.cancel((dependent as { job: string }).job);
  await core.settle();
  // Asked before the deletion, answered after: the listing named actors that have stopped since.
  const views = core.queueViews();
  const listed = core.listJobs({ limit: 10 });
  t.same(await core.deleteQueues(['a/b', 'a', 'c']), { ok: true });
  t.notOk((await views).some((q) => q.name === 'c'), 'a view asked meanwhile leaves the deleted queue out');
  t.notOk((await listed).jobs.some((j) => j.id === ranId), 'so does a job listing');
  const kinds = seen.filter((e) => e.kind === 'QueueDeleted' || e.kind === 'JobsRetired');
  t.same(kinds.map((e) => (e.kind === 'JobsRetired' ? [e.kind, [...e.jobs].sort()] : [e.kind, e.queue])), [
    ['JobsRetired', [ranId, waitsId].sort()],
    ['QueueDeleted', 'a/b'],
    ['QueueDeleted', 'a'],
    ['QueueDeleted', 'c'],
  ], 'the ended jobs leave the live state first');
  await core.settle();
  t.equal((await core.queueRefs()).length, refs - 3, 'their actors are gone from the table');
  const names = (await core.queueViews()).map((q) => q.name);
  t.same(names.filter((n) => ['a', 'a/b', 'c'].includes(n)), [], 'gone from the queue views');
  t.ok(names.includes('keep'), 'the others stay');
  t.same(await core.jobDetail(ranId), undefined, 'no longer in the live state (the history, where there is one, answers)');
  t.match(await core.cycle(), { placed: 0 }, 'a cycle goes on without them');
  t.equal(rebuild(seen).queues.has('c'), false, 'a rebuild from the log agrees (and finds it consistent)');

  // Past their age, retention does not retire them again (a rebuild would find that inconsistent).
  clock.advanceTo(policy.maxAgeMs + RETENTION_SWEEP_MS + 1);
  await core.settle();
  const retired = seen.flatMap((e) => (e.kind === 'JobsRetired' ? e.jobs : []));
  t.same(retired.filter((id) => id === ranId || id === waitsId).sort(), [ranId, waitsId].sort(), 'retired once');
  rebuild(seen);

  const [again] = await core.submit('default', [job({ queue: 'c' })]);
  t.match(again, { ok: true });
  t.match((await core.queueViews()).find((q) => q.name === 'c'), { name: 'c', tenant: 'default', weight: 1 }, 'the first job naming it makes it again');
});
