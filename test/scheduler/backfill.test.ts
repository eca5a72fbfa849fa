/**
 * Backfill with reservations (src/scheduler/reservations.ts): a blocked queue head gets the nodes and the
 * earliest time it fits, from the time limits of what runs; smaller work runs in the gap only if it is sure
 * to end before then. Each case runs twice, with reservations and without, on the simulation harness.
 */
import t from 'tap';
import type { WhyAnswer } from '../../src/scheduler/core.js';
import type { Simulation } from '../../src/scheduler/sim/harness.js';
import { closeSharedSystem, job, node, queue, simulate } from '../helpers/scheduler.js';

t.teardown(closeSharedSystem);

/** When each job's first task started (ms of simulated time), by job id. */
function startedAt(sim: Simulation): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of sim.events) if (e.kind === 'TaskStarted' && !out.has(e.job)) out.set(e.job, e.at);
  return out;
}

const cores = (n: number, timeLimit: string, fields: Record<string, unknown> = {}) => job({ queue: 'q', ...fields }, { resources: { cpu: String(n), memory: '1Gi' }, timeLimit });

t.test('a small job starts in the gap only if it ends before the reservation; the head starts on time', async (t) => {
  const script = {
    sites: ['a'],
    queues: [queue({ name: 'q' })],
    nodes: [{ spec: node('n1', 'a', { cpu: '4', memory: '16Gi' }) }, { spec: node('n2', 'a', { cpu: '4', memory: '16Gi' }) }],
    jobs: [
      { at: 0, tenant: 'acme', spec: cores(4, '100s'), durationMs: 100_000 }, // j-1: n1 until 100 s
      { at: 0, tenant: 'acme', spec: cores(4, '10s'), durationMs: 10_000 }, // j-2: n2 until 10 s
      { at: 1_000, tenant: 'acme', spec: job({ queue: 'q', gang: true, distinctNodes: true }, { count: 2, resources: { cpu: '4', memory: '1Gi' }, timeLimit: '1h' }), durationMs: 1_000 }, // j-3: the head
      { at: 2_000, tenant: 'acme', spec: cores(4, '50s'), durationMs: 50_000 }, // j-4: ends by 60 s: may run in the gap
      { at: 2_000, tenant: 'acme', spec: cores(4, '200s'), durationMs: 50_000 }, // j-5: would run past 100 s: may not
    ],
  };
  const on = await simulate(script, 300_000);
  const s = startedAt(on);
  t.equal(s.get('j-4'), 10_000, 'the short job starts as soon as n2 frees');
  t.equal(s.get('j-3'), 100_000, 'the gang starts when its reservation comes due, not later');
  t.ok(s.get('j-5')! > s.get('j-3')!, `the long job waits for the gang (started at ${s.get('j-5')})`);

  const off = startedAt(await simulate(script, 400_000, { reservations: false }));
  t.equal(off.get('j-5'), 60_000, 'without reservations the long job takes n2 when the short one ends');
  t.ok(off.get('j-3')! >= 110_000, `and the gang waits past its reservation (started at ${off.get('j-3')})`);
});

t.test('why-pending names the reservation', async (t) => {
  const sim = await simulate({
    sites: ['a'],
    queues: [queue({ name: 'q' })],
    nodes: [{ spec: node('n1', 'a', { cpu: '4', memory: '16Gi' }) }, { spec: node('n2', 'a', { cpu: '4', memory: '16Gi' }) }],
    jobs: [
      { at: 0, tenant: 'acme', spec: cores(4, '100s'), durationMs: 100_000 },
      { at: 0, tenant: 'acme', spec: cores(4, '10s'), durationMs: 10_000 },
      { at: 1_000, tenant: 'acme', spec: job({ queue: 'q', gang: true }, { count: 2, resources: { cpu: '4', memory: '1Gi' }, timeLimit: '1h' }), durationMs: 1_000 },
      // Gets ahead of the gang at 10 s, when n2 frees: the gang then takes a reservation.
      { at: 2_000, tenant: 'acme', spec: cores(4, '50s'), durationMs: 50_000 },
    ],
  }, 20_000);
  const answer: WhyAnswer = await sim.core.whyPending('j-3');
  t.equal(answer.status, 'pending');
  if (answer.status !== 'pending') return;
  const message = /^waiting for its reservation at 1970-01-01T00:01:40.000Z on 2 nodes of site a/;
  t.match(answer.why.reasons.filter((r) => r.kind === 'reservation'), [{ kind: 'reservation', start: 100_000, site: 'a', nodes: 2, message }]);
});

t.test('a gang is not starved by a flood of small jobs', async (t) => {
  // 4 nodes of 4 cores; a flood of 1-core jobs of 20 s (time limit 20 s) arriving faster than they end keeps
  // every core busy until the flood stops at 600 s. A gang of 4 whole nodes arrives at 30 s.
  const flood = Array.from({ length: 600 }, (_, i) => ({ at: i * 1_000, tenant: 'acme', spec: job({ queue: 'small' }, { resources: { cpu: '1', memory: '1Gi' }, timeLimit: '20s' }), durationMs: 20_000 }));
  const gang = { at: 30_000, tenant: 'acme', spec: job({ queue: 'gangs', gang: true, distinctNodes: true }, { count: 4, resources: { cpu: '4', memory: '1Gi' }, timeLimit: '1m' }), durationMs: 10_000 };
  const script = {
    sites: ['a'],
    queues: [queue({ name: 'small' }), queue({ name: 'gangs' })],
    nodes: Array.from({ length: 4 }, (_, i) => ({ spec: node(`n${i}`, 'a', { cpu: '4', memory: '16Gi' }) })),
    jobs: [...flood.slice(0, 30), gang, ...flood.slice(30)],
  };
  const gangStart = (sim: Simulation): number => {
    const id = [...sim.state.jobs.values()].find((j) => j.spec.gang)!.id;
    return startedAt(sim).get(id) ?? Infinity;
  };
  const on = gangStart(await simulate(script, 700_000));
  t.ok(on <= 30_000 + 20_000, `with reservations the gang starts within one time limit of the small jobs (at ${on} ms)`);
  const off = gangStart(await simulate(script, 700_000, { reservations: false }));
  t.ok(off >= 600_000, `without them it waits for the flood to stop (at ${off} ms)`);
});
