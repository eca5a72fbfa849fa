import t from 'tap';
import type { SchedulerState } from '../../src/scheduler/index.js';
import { applyEvent, createState, decodeState, encodeState, unpackSnapshot } from '../../src/scheduler/index.js';
import { closeSharedSystem, job, node, queue, simulate } from '../helpers/scheduler.js';

t.teardown(closeSharedSystem);

/** Plain data for deep comparison: maps as sorted entry lists. */
function plain(state: SchedulerState): unknown {
  const sorted = <V>(m: Map<string, V>): [string, V][] => [...m].sort(([a], [b]) => (a < b ? -1 : 1));
  return {
    submitted: state.submitted,
    epoch: state.epoch,
    now: state.now,
    jobs: sorted(state.jobs),
    queues: sorted(state.queues),
    nodes: sorted(state.nodes).map(([name, n]) => [name, { ...n, allocations: sorted(n.allocations) }]),
    outcomes: sorted(state.outcomes),
    dependents: sorted(state.dependents),
  };
}

t.test('a snapshot decodes to the state it was taken of, at any moment of a run', async (t) => {
  const script = {
    sites: ['a', 'b'],
    queues: [queue({ name: 'q', weight: 2, limit: { cpu: '6' } })],
    nodes: [{ spec: node('n1') }, { spec: node('n2', 'a', { cpu: '4', memory: '16Gi', gpu: 2, extended: { fpga: 1 } }) }, { spec: node('n3', 'b') }],
    jobs: [
      { at: 0, spec: job({ array: 5, idempotencyKey: 'k1' }), durationMs: 3000 },
      { at: 0, spec: job({ gang: true, queue: 'q' }, { count: 3 }), durationMs: 2000 },
      { at: 0, spec: job({ retries: { max: 2, backoff: '1s' } }), behaviour: (_t: number, a: number) => (a < 3 ? { durationMs: 500, outcome: 'failed' as const, exitCode: 1 } : { durationMs: 500, outcome: 'succeeded' as const }) },
      { at: 100, spec: job({ dependencies: ['afterok:j-1'] }, { resources: { cpu: '1', memory: '1Gi', extended: { fpga: 1 } } }), durationMs: 1000 },
      { at: 100, spec: job({}, { resources: { cpu: '64', memory: '1Gi' } }) },
      { at: 200, spec: job(), durationMs: 60_000 },
    ],
    cancels: [{ at: 2500, job: 5 }],
  };
  for (const until of [0, 700, 1500, 2600, 4000, 10_000]) {
    const sim = await simulate(script, until);
    const bytes = encodeState(sim.state);
    t.same(plain(decodeState(bytes)), plain(sim.state), `at ${until} ms (${bytes.length} bytes)`);
  }
});

t.test('a snapshot of another version is refused with a code', async (t) => {
  const { pack } = await import('msgpackr');
  t.throws(() => decodeState(pack({ v: 99 })), { code: 'MUSTER_ERR_STORE_CORRUPT' });
});

t.test('a snapshot written before snapshots were folded (a container of per-queue slices) still decodes', async (t) => {
  const { Packr } = await import('msgpackr');
  const packr = new Packr({ useRecords: true, moreTypes: true });
  const sim = await simulate(
    {
      sites: ['a'],
      queues: [queue({ name: 'q1' }), queue({ name: 'q2', weight: 3 })],
      nodes: [{ spec: node('n1') }, { spec: node('n2') }],
      jobs: [...Array.from({ length: 4 }, () => ({ at: 0, spec: job({ queue: 'q1' }), durationMs: 2000 })), ...Array.from({ length: 4 }, () => ({ at: 0, spec: job({ queue: 'q2', array: 2 }), durationMs: 1500 }))],
    },
    1000,
  );
  // The old layout: a part with the nodes and the counters, then each queue actor's slice encoded alone.
  const header = createState(false);
  header.submitted = sim.state.submitted;
  header.epoch = sim.state.epoch;
  header.now = sim.state.now;
  for (const [name, n] of sim.state.nodes) header.nodes.set(name, { ...n, allocated: { cpu: 0, memory: 0, gpu: 0, extended: {} }, allocations: new Map() });
  const slices = [...sim.state.queues.keys()].map((name) => encodeState(sliceOf(sim.state, name)));
  const legacy = packr.pack({ whole: encodeState(header), slices });
  const strip = (s: SchedulerState) => {
    const p = plain(s) as { jobs: [string, Record<string, unknown>][] };
    p.jobs = p.jobs.map(([id, j]) => [id, { ...j, order: 0 }]);
    return p;
  };
  t.same(strip(unpackSnapshot(legacy)), strip(sim.state), 'nodes, allocations, jobs and counters as they were');
  t.throws(() => unpackSnapshot(packr.pack({ neither: true })), { code: 'MUSTER_ERR_STORE_CORRUPT' }, 'anything else is damage');
});

/** The jobs and queue of one queue, as a queue actor held them (a partial state). */
function sliceOf(whole: SchedulerState, name: string): SchedulerState {
  const slice = createState(true);
  const q = whole.queues.get(name);
  if (q) slice.queues.set(name, q);
  for (const [id, j] of whole.jobs) if (j.spec.queue === name) slice.jobs.set(id, j);
  return slice;
}

t.test('untouched jobs share one frozen task list; a change gives the job its own copy and no other', async (t) => {
  const { applyEvent, createState } = await import('../../src/scheduler/index.js');
  const state = createState(false);
  applyEvent(state, { kind: 'NodeJoined', at: 0, node: { name: 'n1', site: 'a', capacity: { cpu: 8000, memory: 8192, gpu: 0, extended: {} }, labels: {}, state: 'ready' } });
  for (const id of ['j-1', 'j-2']) applyEvent(state, { kind: 'JobSubmitted', at: 0, job: id, tenant: 'acme', spec: job({}, { count: 2 }) });
  const [a, b] = [state.jobs.get('j-1')!, state.jobs.get('j-2')!];
  t.equal(a.tasks, b.tasks, 'one shared list while both are untouched');
  t.ok(Object.isFrozen(a.tasks) && Object.isFrozen(a.tasks[0]), 'frozen, so a write that bypasses copy on write throws');
  applyEvent(state, { kind: 'TasksPlaced', at: 1, epoch: 1, placements: [{ job: 'j-1', task: 1, attempt: 1, node: 'n1' }] });
  t.not(a.tasks, b.tasks, 'the placed job has its own list');
  t.equal(a.tasks[1]!.state, 'placed');
  t.equal(a.tasks[0]!.state, 'pending');
  t.same(b.tasks.map((x) => x.state), ['pending', 'pending'], 'the other job is untouched');
  applyEvent(state, { kind: 'JobCancelRequested', at: 2, job: 'j-2' });
  t.same(b.tasks.map((x) => x.state), ['cancelled', 'cancelled']);
  t.equal(state.jobs.get('j-1')!.tasks[0]!.state, 'pending', 'cancelling one job leaves the shared record alone');
});

t.test("a node's drain (and its deadline) is in the snapshot, and is gone once undrained", async (t) => {
  const state = createState();
  const spec = (name: string) => ({ name, site: 'a', capacity: { cpu: 4000, memory: 4096, gpu: 0, extended: {} }, labels: {}, state: 'ready' as const });
  for (const name of ['bounded', 'open', 'back']) applyEvent(state, { kind: 'NodeJoined', at: 1, node: spec(name) });
  applyEvent(state, { kind: 'NodeDrainRequested', at: 2, node: 'bounded', deadline: 60_000 });
  applyEvent(state, { kind: 'NodeDrainRequested', at: 2, node: 'open' });
  applyEvent(state, { kind: 'NodeDrainRequested', at: 2, node: 'back', deadline: 5 });
  applyEvent(state, { kind: 'NodeUndrained', at: 3, node: 'back' });
  const decoded = decodeState(encodeState(state));
  t.same(decoded.nodes.get('bounded')?.drain, { deadline: 60_000 });
  t.same(decoded.nodes.get('open')?.drain, { deadline: undefined });
  t.equal(decoded.nodes.get('back')?.drain, undefined);
  t.same(plain(decoded), plain(state));
});

t.test('a held job and the array elements cancelled one by one are in the snapshot', async (t) => {
  const state = createState();
  applyEvent(state, { kind: 'JobSubmitted', at: 1, job: 'j-1', tenant: 'default', spec: job({ array: 4 }) });
  applyEvent(state, { kind: 'JobSubmitted', at: 1, job: 'j-2', tenant: 'default', spec: job() });
  applyEvent(state, { kind: 'JobSubmitted', at: 1, job: 'j-3', tenant: 'default', spec: job() });
  applyEvent(state, { kind: 'JobHeld', at: 2, job: 'j-1' });
  applyEvent(state, { kind: 'JobCancelRequested', at: 2, job: 'j-1', element: 3 });
  applyEvent(state, { kind: 'JobCancelRequested', at: 2, job: 'j-1', element: 1 });
  applyEvent(state, { kind: 'JobHeld', at: 2, job: 'j-3' });
  applyEvent(state, { kind: 'JobReleased', at: 3, job: 'j-3' });
  const decoded = decodeState(encodeState(state));
  t.equal(decoded.jobs.get('j-1')?.held, true);
  t.same(decoded.jobs.get('j-1')?.cancelledElements, [1, 3]);
  t.same(decoded.jobs.get('j-1')?.tasks.map((task) => task.state), ['pending', 'cancelled', 'pending', 'cancelled']);
  t.equal(decoded.jobs.get('j-2')?.held, false);
  t.equal(decoded.jobs.get('j-3')?.held, false, 'released');
  t.equal(decoded.jobs.get('j-3')?.cancelledElements, undefined);
  t.same(plain(decoded), plain(state));
});
