/**
 * The scheduler never stalls: faults injected into the real actor system (site actors on real worker
 * threads, the real solver), in the simulation harness, which checks every placement against node
 * capacity and rebuilds the whole state from the events as they flow.
 *
 * - a site actor that throws in `place` (its supervisor restarts it without its table);
 * - a site that drops its answer to a `place` (having placed: its table holds what was never recorded);
 * - a worker thread that exits in the middle of a `place` (the host restarts it and rebuilds the actor);
 * - a site that answers after the cycle closed (its placements were never recorded: ignored, table rebuilt);
 * - a queue actor that throws (restarted from its records).
 *
 * Each time the cycle closes at its deadline without the faulty part (once, not again and again), the
 * site's table is rebuilt from the dispatcher's truth before it places again, every job still runs to its
 * end, nothing is over-committed, and the live state equals the state rebuilt from the log.
 */
import t from 'tap';
import type { ActorSystem } from '../../src/actors/index.js';
import { createActorSystem, producer, siblingModule } from '../../src/actors/index.js';
import { createLogger } from '../../src/log/index.js';
import type { SimScript } from '../../src/scheduler/index.js';
import { Simulation } from '../../src/scheduler/index.js';
import { job, liveJobs, node, rebuiltJobs } from '../helpers/scheduler.js';
import { until } from '../helpers/until.js';
import type { makeFaultySite, SiteFault } from './fixtures/faulty-site.js';

function placementsOn(sim: Simulation, site: string): number {
  return sim.events.flatMap((e) => (e.kind === 'TasksPlaced' ? e.placements : [])).filter((p) => p.node.startsWith(site)).length;
}

const faultySite = producer<typeof makeFaultySite>(siblingModule(import.meta.url, './fixtures/faulty-site'), 'makeFaultySite');

/** Short, so a test waits a fraction of a second for the silent part; still far above a healthy cycle. */
const DEADLINE_MS = 750;

/** Two sites of two 4-core nodes; 60 one-core jobs of one simulated second arriving in three waves. */
function script(): SimScript {
  return {
    sites: ['a', 'b'],
    nodes: ['a1', 'a2', 'b1', 'b2'].map((name) => ({ spec: node(name, name[0]!) })),
    jobs: Array.from({ length: 60 }, (_, i) => ({ at: Math.floor(i / 20) * 500, spec: job(), durationMs: 1000 })),
  };
}

let system: ActorSystem | undefined;
t.before(async () => {
  // Two workers: each site on its own thread, so a worker's death touches one site only.
  system = await createActorSystem({ workers: 2, log: createLogger({ name: 'faults-test', level: 'silent' }) });
});
t.teardown(async () => {
  await system?.shutdown();
});

async function runWith(fault: SiteFault): Promise<Simulation> {
  const sim = await Simulation.create({
    script: script(),
    system: system!,
    keepEvents: true,
    core: { cycleDeadlineMs: DEADLINE_MS, siteActor: { producer: faultySite as never, args: { faultySite: 'a', fault, atPlace: 2, run: fault, lateMs: 2 * DEADLINE_MS } } },
  });
  await sim.run();
  return sim;
}

for (const fault of ['throw', 'drop-reply', 'exit-worker', 'late-reply'] as const) {
  t.test(`a site that fails in place (${fault}): the cycle closes without it once, its table is rebuilt, every job runs, nothing is over-committed`, async (t) => {
    const sim = await runWith(fault);
    const jobs = [...sim.state.jobs.values()];
    t.equal(jobs.length, 60);
    t.same(
      jobs.filter((j) => j.status !== 'succeeded').map((j) => `${j.id}: ${j.status}`),
      [],
      'every job ran to its end',
    );
    t.same(sim.overcommits, [], 'no node ever held more than its capacity');
    t.same(await liveJobs(sim), rebuiltJobs(sim.state), 'the live state equals the state rebuilt from the log');
    const health = await sim.core.health();
    t.equal(health.cyclesCut, 1, 'one cycle closed at its deadline without the silent site; the next ones did not wait');
    t.ok(health.siteRebuilds >= 3, `the faulty site's table was rebuilt from the truth (${health.siteRebuilds} rebuilds, 2 at start)`);
    // Site b may have run everything meanwhile (simulated time outruns a worker's restart). Once site a
    // answers again (cycles run meanwhile: its table is rebuilt at one's start), with every job ended, no
    // site holds anything: what a site placed and the dispatcher never recorded would show here for good.
    const views = await until(
      'site a to answer again with its table',
      async () => {
        await sim.core.cycle();
        return sim.core.siteViews().catch(() => []);
      },
      (v) => v.some((s) => s.name === 'a' && s.ready === 2),
    );
    t.same(
      views.map((v) => [v.name, v.allocated.cpu]).sort(),
      [['a', 0], ['b', 0]],
      'with every job ended, nothing is held on any site (no placement the dispatcher did not record)',
    );
    // Work that needs both sites must land on a too.
    const before = placementsOn(sim, 'a');
    const more = await sim.core.submit('default', Array.from({ length: 16 }, () => job()));
    t.ok(more.every((r) => r.ok));
    await sim.run();
    t.ok(placementsOn(sim, 'a') - before >= 8, `site a places again after the fault (${placementsOn(sim, 'a') - before} of the 16 new tasks)`);
    t.same(sim.overcommits, []);
    await sim.close();
  });
}

t.test('a queue actor that throws is restarted from its records: nothing is lost and scheduling goes on', async (t) => {
  const sim = await Simulation.create({ script: script(), system: system!, keepEvents: true, core: { cycleDeadlineMs: DEADLINE_MS } });
  await sim.run(400);
  const [queue] = await sim.core.queueRefs();
  // A message the queue cannot handle: its handler throws (as a bug would).
  system!.tell(queue!, { kind: 'event', event: { kind: 'NoSuchEvent' } } as never);
  await sim.run();
  t.same(
    [...sim.state.jobs.values()].filter((j) => j.status !== 'succeeded').map((j) => j.id),
    [],
    'every job ran to its end',
  );
  t.same(await liveJobs(sim), rebuiltJobs(sim.state), 'the restarted queue kept every record');
  t.same(sim.overcommits, []);
  t.equal((await sim.core.health()).cyclesCut, 0, 'no cycle had to wait for it');
  await sim.close();
});
