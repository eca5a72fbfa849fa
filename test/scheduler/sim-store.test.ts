// A simulation with the embedded store behind it (the `sink` option, as the scheduler benchmark's `core`
// case runs): the fleet hears of placements only once durable, yet the run ends as it does without a
// store — the same outcome for every job, including cancelled ones whose kills end attempts at once —
// and the store holds every event the core emitted.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { clusterScript } from '../../bench/workloads/cluster.js';
import { createLogger } from '../../src/log/index.js';
import type { SchedulerEvent, SimScript } from '../../src/scheduler/index.js';
import { recoverScheduler, Simulation, storeSink } from '../../src/scheduler/index.js';
import { openEmbeddedStore } from '../../src/store/index.js';
import { closeSharedSystem, sharedSystem } from '../helpers/scheduler.js';

t.teardown(closeSharedSystem);

const quiet = createLogger({ name: 'test', level: 'silent' });
const base = clusterScript({ sites: 2, nodes: 12, jobs: 400, batch: 100, seed: 3 });
// Cancels land while their jobs run (arrivals at 0..3 s, runs of 20 s or more): each kill ends an attempt at once.
const script: SimScript = { ...base, cancels: [5, 50, 150, 399].map((job) => ({ at: 10_000, job })) };

/** Each job's status at the end, and the over-commitments seen. */
async function outcome(sim: Simulation): Promise<{ statuses: string[]; overcommits: number }> {
  const report = await sim.run();
  return { statuses: sim.jobIds.map((id) => (id ? (sim.state.jobs.get(id)?.status ?? 'missing') : 'unsubmitted')), overcommits: report.overcommits.length };
}

/** Attempts that started at another simulated instant than the one they were placed at. */
function lateStarts(events: readonly SchedulerEvent[]): number {
  const placedAt = new Map<string, number>();
  let late = 0;
  for (const e of events) {
    if (e.kind === 'TasksPlaced') for (const p of e.placements) placedAt.set(`${p.job}#${p.task}#${p.attempt}`, e.at);
    if (e.kind === 'TaskStarted' && placedAt.get(`${e.job}#${e.task}#${e.attempt}`) !== e.at) late++;
  }
  return late;
}

t.test('with a store: the same outcome as without, and every event durable', async (t) => {
  const plain = await Simulation.create({ script, system: await sharedSystem() });
  const want = await outcome(plain);
  await plain.close();
  t.equal(want.overcommits, 0, 'without a store: no node over its capacity');
  t.equal(want.statuses.filter((s) => s === 'succeeded').length, script.jobs.length - 4, 'the other jobs succeeded');
  t.equal(want.statuses.filter((s) => s === 'cancelled').length, 4, 'the cancelled jobs ended cancelled');

  const dir = await mkdtemp(join(tmpdir(), 'muster-sim-store-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await openEmbeddedStore({ dir, logger: quiet });
  const sink = storeSink(store, (await recoverScheduler(store)).epoch);
  const sim = await Simulation.create({ script, system: await sharedSystem(), keepEvents: true, sink });
  const got = await outcome(sim);
  await sim.close();
  await store.close();
  t.equal(got.overcommits, 0, 'with a store: no node over its capacity');
  t.same(got.statuses, want.statuses, 'every job ends as it does without a store');
  // The clock waits for durability: a placement is launched, and starts, at the instant it was made.
  t.equal(lateStarts(sim.events), 0, 'every attempt started at the instant it was placed');

  const reopened = await openEmbeddedStore({ dir, logger: quiet });
  const recovered = await reopened.recover();
  await reopened.close();
  t.equal(recovered.events.length, sim.events.length, `the store holds every event (${sim.events.length})`);
  const kinds = (events: readonly SchedulerEvent[]): string => events.map((e) => e.kind).join(',');
  t.equal(kinds(recovered.events.map((e) => e.event as SchedulerEvent)), kinds(sim.events), 'in the order emitted');
});
