/**
 * The preemption mechanism without processes: the reducer marks a preempted attempt and puts its task back
 * to pending, retry unspent, when it ends `killed`; late and duplicate ends change nothing; a node lost
 * meanwhile ends it as today; the core preempts only live attempts of preemptible jobs, a gang's whole
 * element at once; why-pending names the preemptor; snapshots keep all of it.
 * (test/agent/preemption.test.ts runs it with a real agent and real processes.)
 */
import t from 'tap';
import type { Placement, SchedulerEvent, SchedulerState } from '../../src/scheduler/index.js';
import type { AgentPort, AttemptRef, KillReason } from '../../src/scheduler/index.js';
import { applyEvent, consequences, createState, decodeState, encodeState, SchedulerCore, snapshotBytes, unpackSnapshot, VirtualClock } from '../../src/scheduler/index.js';
import { closeSharedSystem, job, node, queue, sharedSystem, simulate } from '../helpers/scheduler.js';

t.teardown(closeSharedSystem);

const BY = { job: 'j-9', queue: 'prod' };
const ATTEMPT: Placement = { job: 'j-1', task: 0, attempt: 1, node: 'n1' };

/** A whole state with job j-1 (no retries unless given) running its first attempt on n1. */
function running(retries = 0, fields: Record<string, unknown> = {}): SchedulerState {
  const state = createState();
  const events: SchedulerEvent[] = [
    { kind: 'NodeJoined', at: 0, node: node('n1') },
    { kind: 'JobSubmitted', at: 0, job: 'j-1', tenant: 'acme', spec: job({ retries: { max: retries, backoff: '1s' }, ...fields }) },
    { kind: 'TasksPlaced', at: 1, epoch: 1, placements: [ATTEMPT] },
    { kind: 'TaskStarted', at: 2, job: 'j-1', task: 0, attempt: 1 },
  ];
  for (const e of events) applyEvent(state, e);
  return state;
}

const preempted = (at: number, by = BY, attempts: readonly Placement[] = [ATTEMPT]): SchedulerEvent => ({ kind: 'TasksPreempted', at, by, attempts, reason: 'guarantee of prod' });
const ended = (at: number, outcome: 'killed' | 'lost'): Extract<SchedulerEvent, { kind: 'TaskEnded' }> => ({ kind: 'TaskEnded', at, ...ATTEMPT, outcome, reason: outcome === 'killed' ? 'preempted' : 'node n1 lost' });

/** Plain data for deep comparison: maps as sorted entry lists. */
function plain(state: SchedulerState): unknown {
  const sorted = <V>(m: Map<string, V>): [string, V][] => [...m].sort(([a], [b]) => (a < b ? -1 : 1));
  return { jobs: sorted(state.jobs), nodes: sorted(state.nodes).map(([name, n]) => [name, { ...n, allocations: sorted(n.allocations) }]), queues: sorted(state.queues), now: state.now };
}

t.test('reducer: a preempted attempt is marked and runs on; its end killed sends the task back to pending, no retry spent', async (t) => {
  const state = running();
  applyEvent(state, preempted(10));
  const task = () => state.jobs.get('j-1')!.tasks[0]!;
  t.equal(task().state, 'running', 'it runs until its end is reported');
  t.match(task().attempts![0], { attempt: 1, preemptedAt: 10, preemptedBy: BY });
  t.equal(state.nodes.get('n1')!.allocations.size, 1, 'it holds its node meanwhile');
  t.same(consequences(state, preempted(10)), { events: [], kills: [] }, 'no consequence: the dispatcher kills it once durable');

  applyEvent(state, preempted(11, { job: 'j-10', queue: 'other' }));
  t.match(task().attempts![0], { preemptedAt: 10, preemptedBy: BY }, 'a second preemption of the same attempt keeps the first');

  const end = ended(12, 'killed');
  applyEvent(state, end);
  t.equal(task().state, 'pending');
  t.equal(task().failures, 0, 'the retry is not spent (the job has none to spend)');
  t.equal(state.jobs.get('j-1')!.status, 'pending');
  t.equal(state.nodes.get('n1')!.allocations.size, 0, 'its node is free');
  t.match(task().attempts![0], { outcome: 'killed', reason: 'preempted', endedAt: 12, preemptedAt: 10, preemptedBy: BY });
  t.same(consequences(state, end), { events: [], kills: [] }, 'the job does not end, nothing else is killed');

  const before = plain(state);
  applyEvent(state, { ...end, at: 13 });
  t.same(plain(state), { ...(before as object), now: 13 }, 'a duplicate or late end changes nothing');
  t.same(consequences(state, { ...end, at: 13 }), { events: [], kills: [] });
  applyEvent(state, preempted(14));
  t.equal(task().attempts!.length, 1, 'a preemption of an attempt that is not live records nothing');
  t.notOk('preemptedAt' in task().attempts![0]! && task().attempts![0]!.preemptedAt !== 10);
});

t.test('reducer: a node lost while the preempted attempt runs ends it as a loss, as today', async (t) => {
  const state = running(1);
  applyEvent(state, preempted(10));
  applyEvent(state, ended(11, 'lost'));
  const task = state.jobs.get('j-1')!.tasks[0]!;
  t.equal(task.state, 'pending');
  t.equal(task.failures, 1, 'a loss counts against the retries');
  t.equal(task.notBefore, 11 + 1000, 'after the backoff');
});

t.test('snapshot: preemptedAt and preemptedBy, and the preemption fields of specs, survive a round trip', async (t) => {
  const state = running(0, { gracePeriod: '30s', preemptible: false, mayPreempt: true });
  applyEvent(state, preempted(10));
  for (const [name, decoded] of [
    ['encodeState', decodeState(encodeState(state))],
    ['snapshotBytes', unpackSnapshot(snapshotBytes(state))],
  ] as const) {
    t.same(plain(decoded), plain(state), name);
    t.match(decoded.jobs.get('j-1')!.spec, { gracePeriodMs: 30_000, preemptible: false, mayPreempt: true }, `${name}: the spec`);
    t.match(decoded.jobs.get('j-1')!.tasks[0]!.attempts![0], { preemptedAt: 10, preemptedBy: BY }, `${name}: the attempt`);
  }
  const plainSpec = running();
  t.notOk('preemptible' in decodeState(encodeState(plainSpec)).jobs.get('j-1')!.spec, 'defaults stay absent');
});

/** One 4-core node per name: a 4-core task fills one. */
const nodes = (...names: string[]) => names.map((name) => ({ spec: node(name, 'a', { cpu: '4', memory: '16Gi' }) }));
const big = { resources: { cpu: '4', memory: '1Gi' } };

t.test('core: a preempted gang member takes its whole element down; each goes back to pending and runs again, retries unspent', async (t) => {
  const sim = await simulate({ sites: ['a'], queues: [], nodes: nodes('n1', 'n2'), jobs: [{ at: 0, spec: job({ gang: true }, { ...big, count: 2 }), durationMs: 60_000 }] }, 100);
  const id = sim.jobIds[0]!;
  const member = (i: number): Placement => {
    const task = sim.state.jobs.get(id)!.tasks[i]!;
    return { job: id, task: i, attempt: task.attempt, node: task.node! };
  };
  t.equal(sim.state.jobs.get(id)!.status, 'running');
  const first = member(0);
  const second = member(1);
  const done = await sim.core.preempt({ attempts: [first], by: BY, reason: 'test' });
  t.same(done, [first, second], 'both members of the element');
  await sim.run(200);
  const events = sim.events.filter((e) => e.kind === 'TasksPreempted');
  t.same(events.map((e) => (e as { attempts: unknown }).attempts), [[first, second]], 'one event');
  const ends = sim.events.filter((e): e is Extract<SchedulerEvent, { kind: 'TaskEnded' }> => e.kind === 'TaskEnded' && e.job === id);
  t.same(ends.map((e) => [e.task, e.outcome, e.reason]), [[0, 'killed', 'preempted'], [1, 'killed', 'preempted']]);
  const tasks = sim.state.jobs.get(id)!.tasks;
  t.same(tasks.map((x) => [x.state, x.attempt, x.failures]), [['running', 2, 0], ['running', 2, 0]], 'the element restarted whole as attempt 2');
  t.match(tasks[1]!.attempts![0], { preemptedBy: BY, outcome: 'killed' });
  t.same(await sim.core.preempt({ attempts: [first], by: BY }), [], 'an attempt no longer live is ignored');
  t.equal(sim.events.filter((e) => e.kind === 'TasksPreempted').length, 1, 'and records nothing');
  await sim.close();
});

t.test('core: a job that is not preemptible is never preempted', async (t) => {
  const sim = await simulate({ sites: ['a'], queues: [], nodes: nodes('n1'), jobs: [{ at: 0, spec: job({ preemptible: false }, big), durationMs: 60_000 }] }, 100);
  const id = sim.jobIds[0]!;
  const task = sim.state.jobs.get(id)!.tasks[0]!;
  t.same(await sim.core.preempt({ attempts: [{ job: id, task: 0, attempt: task.attempt, node: task.node! }], by: BY }), []);
  await sim.run(200);
  t.equal(sim.events.filter((e) => e.kind === 'TasksPreempted').length, 0);
  t.equal(sim.state.jobs.get(id)!.tasks[0]!.state, 'running');
  await sim.close();
});

t.test('why-pending: a task sent back by a preemption says who preempted it and when', async (t) => {
  // One node; `high` is served first, so once the victim is preempted its room goes to the preemptor.
  const sim = await simulate(
    {
      sites: ['a'],
      queues: [queue({ name: 'low', tenant: 'default' }), queue({ name: 'high', tenant: 'default', priority: 10 })],
      nodes: nodes('n1'),
      jobs: [
        { at: 0, spec: job({ queue: 'low' }, big), durationMs: 60_000 },
        { at: 50, spec: job({ queue: 'high' }, big), durationMs: 60_000 },
      ],
    },
    100,
  );
  const [victim, preemptor] = [sim.jobIds[0]!, sim.jobIds[1]!];
  t.equal(sim.state.jobs.get(preemptor)!.status, 'pending', 'no room for the preemptor yet');
  const task = sim.state.jobs.get(victim)!.tasks[0]!;
  const at = sim.clock.now();
  await sim.core.preempt({ attempts: [{ job: victim, task: 0, attempt: task.attempt, node: task.node! }], by: { job: preemptor, queue: 'high' } });
  await sim.run(150);
  t.equal(sim.state.jobs.get(preemptor)!.status, 'running');
  t.equal(sim.state.jobs.get(victim)!.status, 'pending');
  const why = await sim.core.whyPending(victim);
  const reason = why.status === 'pending' ? why.why.reasons.find((r) => r.kind === 'preempted') : undefined;
  t.match(reason, { kind: 'preempted', by: { job: preemptor, queue: 'high' }, at, message: `preempted by job ${preemptor} of queue high at ${new Date(at).toISOString()}` }, JSON.stringify(why));
  await sim.close();
});

/** An agent port that records the kills it is told, with their grace. */
class KillRecorder implements AgentPort {
  readonly kills: { node: string; attempt: AttemptRef; reason: KillReason; graceMs: number | undefined }[] = [];
  start(): void {}
  acknowledge(): void {}
  refuse(): void {}
  kill(node: string, attempt: AttemptRef, reason: KillReason, graceMs?: number): void {
    this.kills.push({ node, attempt: { job: attempt.job, task: attempt.task, attempt: attempt.attempt }, reason, graceMs });
  }
}

t.test('recovery: a preempted attempt still running when its agent registers is killed again, with its grace', async (t) => {
  // The server restarted after the preemption was durable: the kill may never have reached the agent.
  const state = running(0, { gracePeriod: '30s' });
  applyEvent(state, preempted(10));
  const agents = new KillRecorder();
  const core = await SchedulerCore.create({ system: await sharedSystem(), sites: ['a'], agents, clock: new VirtualClock(20), recovered: state, lastSeq: 5 });
  const result = await core.reconcileNode('n1', [{ job: 'j-1', task: 0, attempt: 1 }], []);
  t.same(result, { kill: [], unreported: [] }, 'it is live here: not a stranger to kill at registration');
  t.same(agents.kills, [{ node: 'n1', attempt: { job: 'j-1', task: 0, attempt: 1 }, reason: 'preempted', graceMs: 30_000 }]);

  const plainState = running();
  const others = new KillRecorder();
  const plainCore = await SchedulerCore.create({ system: await sharedSystem(), sites: ['a'], agents: others, clock: new VirtualClock(20), recovered: plainState, lastSeq: 4 });
  await plainCore.reconcileNode('n1', [{ job: 'j-1', task: 0, attempt: 1 }], []);
  t.same(others.kills, [], 'an attempt not preempted is left running');
});
