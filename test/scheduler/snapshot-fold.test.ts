/**
 * Snapshots folded off the main thread from the store's files (snapshot-fold.ts): a real core writing to a
 * real embedded store, the fold run on the real CPU pool, and the result compared with the live actors at
 * the snapshot's point, with the log replayed up to it, and with what recovery rebuilds from it.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { closeCpuPool } from '../../src/actors/index.js';
import { createLogger } from '../../src/log/index.js';
import type { SchedulerEvent, SchedulerState } from '../../src/scheduler/index.js';
import { applyEvent, createState, foldSnapshot, recoverScheduler, SchedulerCore, snapshotAt, storeSink, unpackSnapshot, VirtualClock } from '../../src/scheduler/index.js';
import type { EmbeddedStore } from '../../src/store/index.js';
import { openEmbeddedStore } from '../../src/store/index.js';
import { RecordingAgents, closeSharedSystem, job, node, queue, sharedSystem } from '../helpers/scheduler.js';

t.teardown(async () => {
  await closeSharedSystem();
  await closeCpuPool();
});

const quiet = createLogger({ name: 'test-store', level: 'silent' });

/** Plain data for deep comparison: every field of the state, maps as sorted entry lists, at every depth. */
function plain(value: unknown): unknown {
  if (value instanceof Map) return [...value].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, plain(v)]);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

function replayed(events: readonly SchedulerEvent[]): SchedulerState {
  const state = createState(false);
  for (const e of events) applyEvent(state, e);
  return state;
}

/** A core on a real store in `dir` whose events are also kept in `written` (seq n is `written[n - 1]`). */
async function coreOnStore(dir: string, written: SchedulerEvent[], clock: VirtualClock): Promise<{ core: SchedulerCore; store: EmbeddedStore; agents: RecordingAgents }> {
  // Small segments: the log the fold reads spans several files, and compaction archives some of them.
  const store = await openEmbeddedStore({ dir, logger: quiet, segmentBytes: 4096 });
  const recovered = await recoverScheduler(store);
  const sink = storeSink(store, recovered.epoch);
  const tee = { write: (events: readonly SchedulerEvent[], first: number) => (written.push(...events), sink.write(events, first)) };
  const agents = new RecordingAgents();
  const core = await SchedulerCore.create({ system: await sharedSystem(), sites: ['a', 'b'], agents, clock, sink: tee, epoch: recovered.epoch });
  return { core, store, agents };
}

/** Work of every kind: queues, nodes in two sites, jobs placed, started, ended, failed and retried, cancelled, a node lost. */
async function work(core: SchedulerCore, agents: RecordingAgents, clock: VirtualClock, round: number): Promise<void> {
  await core.defineQueue(queue({ name: `q${round}`, weight: round + 1 }));
  await core.joinNode(node(`n${round}-a`, 'a'));
  await core.joinNode(node(`n${round}-b`, 'b', { cpu: '8', memory: '32Gi', gpu: 1 }));
  const specs = [
    ...Array.from({ length: 6 }, (_, i) => job({ queue: `q${round}`, name: `distinct-${round}-${i}`, idempotencyKey: `k-${round}-${i}` }, { args: ['--part', `${round}-${i}`] })),
    job({ array: 3, retries: { max: 2, backoff: '1s' } }),
    job({ gang: true }, { count: 2 }),
    job({}, { resources: { cpu: '64', memory: '1Gi' } }),
  ];
  // The 64-cpu job is one no node can run: kept, pending, on purpose.
  const results = await core.submit('acme', specs, { holdUnsatisfiable: true });
  if (!results.every((r) => r.ok)) throw new Error('a fixture job was refused');
  clock.advanceTo(clock.now() + 100);
  await core.cycle();
  await core.sync();
  await core.settle();
  const launched = agents.started.splice(0);
  for (const [i, l] of launched.entries()) {
    core.taskStarted({ job: l.job, task: l.task, attempt: l.attempt, node: l.node });
    if (i % 3 === 0) core.taskEnded({ job: l.job, task: l.task, attempt: l.attempt, node: l.node, outcome: 'succeeded', exitCode: 0 });
    if (i % 3 === 1) core.taskEnded({ job: l.job, task: l.task, attempt: l.attempt, node: l.node, outcome: 'failed', exitCode: 3 });
  }
  const first = results[0];
  if (first?.ok) await core.cancel(first.job);
  await core.setNodeState(`n${round}-b`, 'lost', 'the fixture lost it');
  clock.advanceTo(clock.now() + 1500);
  await core.cycle();
  await core.sync();
  await core.settle();
}

/** The live actors' view at this instant: job records, node specs and states, queue specs. */
async function live(core: SchedulerCore): Promise<{ jobs: unknown; nodes: unknown; queues: unknown }> {
  const jobs = new Map<string, unknown>();
  for (const slice of await core.queueSlices()) {
    // A slice numbers `order` per queue; the whole state numbers it across queues: compared apart.
    for (const [id, j] of slice.jobs) jobs.set(id, { id, tenant: j.tenant, spec: j.spec, submittedAt: j.submittedAt, status: j.status, cancelRequested: j.cancelRequested, reason: j.reason, endedAt: j.endedAt, tasks: j.tasks });
  }
  const nodes = new Map((await core.nodeListing()).map((n) => [n.spec.name, { spec: n.spec, state: n.spec.state }]));
  const queues = new Map((await core.queueViews()).map((q) => [q.name, { tenant: q.tenant, weight: q.weight, priority: q.priority }]));
  return { jobs: plain(jobs), nodes: plain(nodes), queues: plain(queues) };
}

function sameView(state: SchedulerState): { jobs: unknown; nodes: unknown; queues: unknown } {
  const jobs = new Map([...state.jobs].map(([id, j]) => [id, { id, tenant: j.tenant, spec: j.spec, submittedAt: j.submittedAt, status: j.status, cancelRequested: j.cancelRequested, reason: j.reason, endedAt: j.endedAt, tasks: j.tasks }]));
  const nodes = new Map([...state.nodes].map(([name, n]) => [name, { spec: { ...n.spec, state: n.state }, state: n.state }]));
  const queues = new Map([...state.queues].map(([name, q]) => [name, { tenant: q.spec.tenant, weight: q.spec.weight, priority: q.spec.priority }]));
  return { jobs: plain(jobs), nodes: plain(nodes), queues: plain(queues) };
}

t.test('the snapshot folded at a point is the state at that point: the live actors, the log replayed to it, and what recovery rebuilds', async (t) => {
  const dir = t.testdir();
  const written: SchedulerEvent[] = [];
  const clock = new VirtualClock(1_000);
  const { core, store, agents } = await coreOnStore(dir, written, clock);

  for (let round = 0; round < 2; round++) {
    await work(core, agents, clock, round);
    const seq = await core.snapshotPoint();
    t.equal(seq, written.length, 'the point is the last event emitted');
    const atPoint = await live(core);

    // Later events, durable before the fold reads the folder: the snapshot must not see them.
    clock.advanceTo(clock.now() + 10_000);
    await core.joinNode(node(`late-${round}`, 'a'));
    await core.submit('acme', [job({ name: `late-${round}` })]);
    await core.cycle();
    await core.sync();
    t.ok(written.length > seq, 'the log went on past the point');

    const bytes = await snapshotAt({ dir, seq });
    const folded = unpackSnapshot(bytes);
    const expected = replayed(written.slice(0, seq));
    t.same(plain(folded), plain(expected), `round ${round}: the whole state equals the log replayed up to seq ${seq}, every field`);
    t.same(sameView(folded), atPoint, `round ${round}: jobs, nodes and queues equal the live actors' at the point`);
    t.equal(folded.submitted, expected.jobs.size, 'the submission counter is the one at the point');
    t.equal(folded.now, written[seq - 1]!.at, "the clock is the last event's time, not the time the fold ran");
    t.notOk(folded.nodes.has(`late-${round}`), 'a node that joined after the point is not in it');
    t.ok(folded.jobs.size > 0 && folded.nodes.size > 0 && [...folded.jobs.values()].some((j) => j.status === 'running'), 'non-trivial: jobs, nodes, running tasks');

    // Stored: the next round's fold starts from this snapshot, and compaction archives what it covers.
    await store.writeSnapshot(seq, bytes);
    await store.compact();
  }
  await core.sync();
  await store.close();
  t.ok((await readdir(join(dir, 'history'))).length > 0, 'the folds read a log that compaction archived parts of');

  const reopened = await openEmbeddedStore({ dir, logger: quiet });
  t.teardown(() => reopened.close());
  const recovered = await recoverScheduler(reopened);
  t.ok(recovered.replayed > 0 && recovered.replayed < written.length, `recovery replays only the tail after the snapshot (${recovered.replayed} of ${written.length})`);
  t.same(plain(recovered.state), plain(replayed(written)), 'snapshot + tail rebuild exactly the state the whole log does');
});

t.test('the fold reads an idle folder, a log with no snapshot yet, and refuses a point it cannot stand at', async (t) => {
  const dir = t.testdir();
  const written: SchedulerEvent[] = [];
  const clock = new VirtualClock(0);
  const { core, store, agents } = await coreOnStore(dir, written, clock);
  t.teardown(() => store.close());

  t.same(plain(unpackSnapshot(await foldSnapshot({ dir, seq: 0 }))), plain(createState(false)), 'seq 0: the empty state');
  await work(core, agents, clock, 0);
  const seq = await core.snapshotPoint();
  t.same(plain(unpackSnapshot(await foldSnapshot({ dir, seq }))), plain(replayed(written)), 'in this thread too (the pool runs the same function)');

  await t.rejects(foldSnapshot({ dir, seq: seq + 1000 }), { code: 'MUSTER_ERR_INVALID_VALUE' }, 'a point past the durable log');
  await t.rejects(foldSnapshot({ dir, seq: -1 }), { code: 'MUSTER_ERR_INVALID_VALUE' }, 'not a seq');
  await store.writeSnapshot(seq, await snapshotAt({ dir, seq }));
  await t.rejects(snapshotAt({ dir, seq: seq - 1 }), { code: 'MUSTER_ERR_INVALID_VALUE' }, 'a point before the newest snapshot (its log may be gone): refused with its code, across the pool');
  t.same(plain(unpackSnapshot(await snapshotAt({ dir, seq }))), plain(replayed(written)), 'a point at the newest snapshot: the snapshot itself');
});
