import t from 'tap';
import type { SchedulerEvent } from '../../src/scheduler/index.js';
import { PLACEMENTS_PER_EVENT } from '../../src/scheduler/index.js';
import { closeSharedSystem, job, liveJobs, node, rebuiltJobs, simulate } from '../helpers/scheduler.js';

t.teardown(closeSharedSystem);

function ofKind<K extends SchedulerEvent['kind']>(events: readonly SchedulerEvent[], kind: K): Extract<SchedulerEvent, { kind: K }>[] {
  return events.filter((e): e is Extract<SchedulerEvent, { kind: K }> => e.kind === kind);
}

function statusOf(sim: Awaited<ReturnType<typeof simulate>>, index: number): string | undefined {
  return sim.state.jobs.get(sim.jobIds[index] ?? '')?.status;
}

t.test('a job goes pending → placed → running → succeeded, with an attempt and an epoch', async (t) => {
  const sim = await simulate({ sites: ['a'], nodes: [{ spec: node('n1') }], jobs: [{ at: 0, spec: job(), durationMs: 300 }] });
  t.same(sim.events.map((e) => e.kind), ['NodeJoined', 'JobSubmitted', 'TasksPlaced', 'TaskStarted', 'TaskEnded', 'JobEnded']);
  const placed = ofKind(sim.events, 'TasksPlaced')[0]!;
  t.equal(placed.epoch, 1);
  t.same(placed.placements, [{ job: 'j-1', task: 0, attempt: 1, node: 'n1' }]);
  t.match(ofKind(sim.events, 'JobEnded')[0], { job: 'j-1', outcome: 'succeeded', at: 300 });
  t.same(await liveJobs(sim), rebuiltJobs(sim.state), 'live queue state equals the rebuild from events');
});

t.test('arrays: N indexed tasks, each with its index, spread over the cluster', async (t) => {
  const sim = await simulate({ sites: ['a'], nodes: [{ spec: node('n1') }, { spec: node('n2') }], jobs: [{ at: 0, spec: job({ array: 10 }), durationMs: 100 }] });
  t.equal(statusOf(sim, 0), 'succeeded');
  const started = ofKind(sim.events, 'TaskStarted').map((e) => e.task).sort((a, b) => a - b);
  t.same(started, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // 2 nodes × 4 cpu hold 8 one-cpu tasks: the last two wait for the first to end.
  t.equal(ofKind(sim.events, 'TasksPlaced')[0]!.placements.length, 8);
  t.equal(sim.clock.now(), 200);
});

t.test('array tasks are launched with their array index', async (t) => {
  const sim = await simulate({ sites: ['a'], nodes: [{ spec: node('n1', 'a', { cpu: '16', memory: '64Gi' }) }], jobs: [] });
  sim.fleet.recordLaunches = true;
  await sim.core.submit('acme', [job({ array: 3 }, { count: 2 })]);
  await sim.run();
  const seen = sim.fleet.launches.map((l) => `${l.task}:${l.arrayIndex}`).sort();
  t.same(seen, ['0:0', '1:0', '2:1', '3:1', '4:2', '5:2']);
});

t.test('gangs: all tasks together or none', async (t) => {
  const sim = await simulate({
    sites: ['a'],
    nodes: [{ spec: node('n1') }, { spec: node('n2') }],
    jobs: [
      { at: 0, spec: job({ gang: true, name: 'fits' }, { count: 3, resources: { cpu: '2', memory: '1Gi' } }), durationMs: 100 },
      { at: 0, spec: job({ gang: true, name: 'too-big' }, { count: 5, resources: { cpu: '2', memory: '1Gi' } }), durationMs: 100 },
    ],
  });
  t.equal(statusOf(sim, 0), 'succeeded');
  const placedFits = ofKind(sim.events, 'TasksPlaced').filter((e) => e.placements.some((p) => p.job === sim.jobIds[0]));
  t.equal(placedFits.length, 1, 'the gang was placed in one decision');
  t.equal(placedFits[0]!.placements.filter((p) => p.job === sim.jobIds[0]).length, 3);
  t.equal(statusOf(sim, 1), 'pending', 'a gang bigger than the cluster never starts');
  t.notOk(ofKind(sim.events, 'TasksPlaced').some((e) => e.placements.some((p) => p.job === sim.jobIds[1])), 'no task of it was ever placed');
});

t.test('a failing gang member restarts the whole gang', async (t) => {
  const sim = await simulate({
    sites: ['a'],
    nodes: [{ spec: node('n1') }, { spec: node('n2') }],
    jobs: [
      {
        at: 0,
        spec: job({ gang: true, retries: { max: 1, backoff: '1s' } }, { count: 2 }),
        behaviour: (task, attempt) => (task === 0 && attempt === 1 ? { durationMs: 100, outcome: 'failed', exitCode: 3 } : { durationMs: 5000, outcome: 'succeeded' }),
      },
    ],
  });
  t.equal(statusOf(sim, 0), 'succeeded');
  const ended = ofKind(sim.events, 'TaskEnded').map((e) => `${e.task}/${e.attempt}:${e.outcome}`);
  t.same(ended, ['0/1:failed', '1/1:killed', '0/2:succeeded', '1/2:succeeded']);
  const second = ofKind(sim.events, 'TasksPlaced')[1]!;
  t.same(second.placements.map((p) => `${p.task}/${p.attempt}`), ['0/2', '1/2'], 'both retried together');
  t.equal(second.at, 1100, 'after the backoff');
});

t.test('dependencies: afterok, afterany, afternotok, and ones that can never be met', async (t) => {
  const after = (type: string, index: number): string => `${type}:j-${index + 1}`;
  const sim = await simulate({
    sites: ['a'],
    nodes: [{ spec: node('n1', 'a', { cpu: '16', memory: '64Gi' }) }],
    jobs: [
      { at: 0, spec: job({ name: 'ok' }), durationMs: 100 },
      { at: 0, spec: job({ name: 'bad' }), behaviour: () => ({ durationMs: 100, outcome: 'failed', exitCode: 1 }) },
      { at: 1, spec: job({ dependencies: [after('afterok', 0)] }), durationMs: 100 },
      { at: 1, spec: job({ dependencies: [after('afterok', 1)] }), durationMs: 100 },
      { at: 1, spec: job({ dependencies: [after('afternotok', 1)] }), durationMs: 100 },
      { at: 1, spec: job({ dependencies: [after('afternotok', 0)] }), durationMs: 100 },
      { at: 1, spec: job({ dependencies: [after('afterany', 1)] }), durationMs: 100 },
      { at: 1, spec: job({ dependencies: ['afterok:j-999'] }), durationMs: 100 },
      { at: 200, spec: job({ dependencies: [after('afterok', 3)] }), durationMs: 100 },
      { at: 300, spec: job({ dependencies: ['afterany:j-10'] }), durationMs: 100 },
    ],
  });
  t.same(
    sim.jobIds.map((_, i) => statusOf(sim, i)),
    ['succeeded', 'failed', 'succeeded', 'failed', 'succeeded', 'failed', 'succeeded', 'failed', 'failed', 'failed'],
  );
  const reasons = new Map(ofKind(sim.events, 'JobEnded').map((e) => [e.job, e.reason]));
  t.equal(reasons.get('j-4'), 'dependency afterok:j-2 can never be met: j-2 failed');
  t.equal(reasons.get('j-6'), 'dependency afternotok:j-1 can never be met: j-1 succeeded');
  t.equal(reasons.get('j-8'), 'dependency afterok:j-999 names no known job');
  t.equal(reasons.get('j-9'), 'dependency afterok:j-4 can never be met: j-4 failed', 'a dependency on a job that already failed');
  t.equal(reasons.get('j-10'), 'dependency afterany:j-10 names no known job', 'a job naming its own id does not wait for itself');
  const startOf = (job: string): number | undefined => ofKind(sim.events, 'TaskStarted').find((e) => e.job === job)?.at;
  t.equal(startOf('j-3'), 100, 'afterok starts when its dependency succeeds');
  t.notOk(startOf('j-4'), 'a job whose dependency failed never starts');
  t.same(await liveJobs(sim), rebuiltJobs(sim.state));
});

t.test('retries with exponential backoff, up to the limit', async (t) => {
  const failTwice = (_task: number, attempt: number) => (attempt <= 2 ? { durationMs: 10, outcome: 'failed' as const, exitCode: 2 } : { durationMs: 10, outcome: 'succeeded' as const });
  const sim = await simulate({
    sites: ['a'],
    nodes: [{ spec: node('n1') }],
    jobs: [
      { at: 0, spec: job({ name: 'enough', retries: { max: 2, backoff: '1s' } }), behaviour: failTwice },
      { at: 0, spec: job({ name: 'too-few', retries: { max: 1, backoff: '1s' } }), behaviour: failTwice },
    ],
  });
  t.equal(statusOf(sim, 0), 'succeeded');
  t.equal(statusOf(sim, 1), 'failed');
  const starts = ofKind(sim.events, 'TaskStarted').filter((e) => e.job === 'j-1').map((e) => [e.attempt, e.at]);
  // Attempt 1 at 0 fails at 10; backoff 1s → attempt 2 at 1010 fails at 1020; backoff 2s → attempt 3 at 3020.
  t.same(starts, [[1, 0], [2, 1010], [3, 3020]]);
  t.match(ofKind(sim.events, 'JobEnded').find((e) => e.job === 'j-2'), { outcome: 'failed', reason: 'task 0 failed after 2 attempt(s)' });
  t.equal(sim.state.jobs.get('j-1')!.tasks[0]!.failures, 2);
});

t.test('time limits kill a task that runs too long', async (t) => {
  const sim = await simulate({
    sites: ['a'],
    nodes: [{ spec: node('n1') }],
    jobs: [{ at: 0, spec: job({}, { timeLimit: '2s' }), behaviour: () => 'hang' }],
  });
  t.equal(statusOf(sim, 0), 'failed');
  t.match(ofKind(sim.events, 'TaskEnded'), [{ outcome: 'timeout', at: 2000 }]);
});

t.test('cancellation of pending and running jobs', async (t) => {
  const sim = await simulate({
    sites: ['a'],
    nodes: [{ spec: node('n1', 'a', { cpu: '1', memory: '4Gi' }) }],
    jobs: [
      { at: 0, spec: job(), durationMs: 10_000 },
      { at: 0, spec: job(), durationMs: 10_000 },
    ],
    cancels: [
      { at: 500, job: 1 },
      { at: 1000, job: 0 },
    ],
  });
  t.same([statusOf(sim, 0), statusOf(sim, 1)], ['cancelled', 'cancelled']);
  t.notOk(ofKind(sim.events, 'TasksPlaced').some((e) => e.placements.some((p) => p.job === 'j-2')), 'the pending one never ran');
  t.match(ofKind(sim.events, 'TaskEnded'), [{ job: 'j-1', outcome: 'killed', at: 1000 }]);
  t.equal(sim.clock.now(), 1000, 'nothing left running');
});

t.test('a lost node: its attempts are lost and rescheduled elsewhere as new attempts', async (t) => {
  const sim = await simulate({
    sites: ['a'],
    nodes: [{ spec: node('n1') }, { spec: node('n2') }],
    jobs: [{ at: 0, spec: job({ retries: { max: 1, backoff: '1s' } }, { count: 1 }), durationMs: 5000 }],
    nodeStates: [{ at: 1000, node: 'n1', state: 'lost' }],
  });
  t.equal(statusOf(sim, 0), 'succeeded');
  t.match(ofKind(sim.events, 'TaskEnded'), [{ outcome: 'lost', node: 'n1', attempt: 1 }, { outcome: 'succeeded', node: 'n2', attempt: 2 }]);
  t.same(await liveJobs(sim), rebuiltJobs(sim.state));
});

t.test('a cycle that places more than PLACEMENTS_PER_EVENT tasks emits them in several TasksPlaced events, each within the bound', async (t) => {
  const tasks = PLACEMENTS_PER_EVENT * 2 + 10;
  const sim = await simulate({ sites: ['a'], nodes: [{ spec: node('big', 'a', { cpu: String(tasks), memory: `${tasks}Gi` }) }], jobs: [{ at: 0, spec: job({ array: tasks }, { resources: { cpu: '1', memory: '1Gi' } }), durationMs: 100 }] });
  const placed = ofKind(sim.events, 'TasksPlaced');
  t.same(placed.map((e) => e.placements.length), [PLACEMENTS_PER_EVENT, PLACEMENTS_PER_EVENT, 10], 'one cycle, three events');
  t.equal(new Set(placed.flatMap((e) => e.placements.map((p) => p.task))).size, tasks, 'every task placed once');
  t.equal(statusOf(sim, 0), 'succeeded');
  t.same(await liveJobs(sim), rebuiltJobs(sim.state), 'live queue state equals the rebuild from events');
});
