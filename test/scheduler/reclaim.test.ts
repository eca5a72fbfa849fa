/**
 * Guarantee reclaim and priority preemption (src/scheduler/reclaim.ts) on the simulation harness: crafted
 * cases for each rule, and random workloads for the properties.
 */
import t from 'tap';
import type { SchedulerEvent } from '../../src/scheduler/index.js';
import type { WhyAnswer } from '../../src/scheduler/core.js';
import type { Simulation } from '../../src/scheduler/sim/harness.js';
import { closeSharedSystem, job, node, queue, simulate } from '../helpers/scheduler.js';

t.teardown(closeSharedSystem);

const fourNodes = Array.from({ length: 4 }, (_, i) => ({ spec: node(`n${i}`, 'a', { cpu: '4', memory: '16Gi' }) }));
const one = (q: string, fields: Record<string, unknown> = {}) => job({ queue: q, ...fields }, { resources: { cpu: '1', memory: '1Gi' }, timeLimit: '2h' });
/** `count` one-core jobs of `q` at `at`, or one every `step` ms from it (so each is younger than the one before). */
const jobs = (q: string, count: number, at: number, durationMs: number, fields: Record<string, unknown> = {}, step = 100) =>
  Array.from({ length: count }, (_, i) => ({ at: at + i * step, tenant: 'acme', spec: one(q, fields), durationMs }));
const burst = (q: string, count: number, at: number, durationMs: number, fields: Record<string, unknown> = {}) => jobs(q, count, at, durationMs, fields, 0);

type Preempted = Extract<SchedulerEvent, { kind: 'TasksPreempted' }>;
const preemptions = (sim: Simulation): Preempted[] => sim.events.filter((e): e is Preempted => e.kind === 'TasksPreempted');
const running = (sim: Simulation, q: string): number =>
  [...sim.state.jobs.values()].filter((j) => j.spec.queue === q).reduce((n, j) => n + j.tasks.filter((x) => x.state === 'running' || x.state === 'placed').length, 0);
const idOf = (sim: Simulation, q: string, k: number): string => [...sim.state.jobs.values()].filter((j) => j.spec.queue === q)[k]!.id;

t.test('a queue below its guarantee reclaims from a borrower: the youngest attempts, no more than it needs, at once', async (t) => {
  const sim = await simulate({
    sites: ['a'],
    queues: [queue({ name: 'borrower' }), queue({ name: 'owner', guarantee: { cpu: '6' } })],
    nodes: fourNodes,
    jobs: [...jobs('borrower', 16, 0, 3_600_000), ...burst('owner', 10, 10_000, 3_600_000)],
  }, 11_000);
  t.equal(running(sim, 'owner'), 6, 'the owner holds its guarantee, no more (it asked for 10)');
  t.equal(running(sim, 'borrower'), 10);
  const p = preemptions(sim);
  t.ok(p.every((e) => e.at === 10_000), 'in the cycle the owner submitted in');
  const victims = p.flatMap((e) => e.attempts);
  t.equal(victims.length, 6, 'six tasks for six cores: none for nothing');
  t.same(victims.map((a) => a.job).sort(), Array.from({ length: 6 }, (_, i) => idOf(sim, 'borrower', 10 + i)).sort(), 'the youngest six');
  t.ok(p.every((e) => e.by.queue === 'owner'));
  const victim = sim.state.jobs.get(victims[0]!.job)!;
  t.equal(victim.tasks[0]!.state, 'pending', 'a preempted task waits again');
  t.equal(victim.status, 'pending', 'not failed');
  const why: WhyAnswer = await sim.core.whyPending(victim.id);
  t.match(why.status === 'pending' ? why.why.reasons : [], [{ kind: 'preempted', message: /preempted by job j-\d+ of queue owner/ }]);
});

t.test('the borrower furthest over its guarantee gives first; a queue is never taken below its own guarantee', async (t) => {
  const sim = await simulate({
    sites: ['a'],
    queues: [queue({ name: 'big', guarantee: { cpu: '2' } }), queue({ name: 'small', guarantee: { cpu: '4' } }), queue({ name: 'owner', guarantee: { cpu: '8' } })],
    nodes: fourNodes,
    jobs: [...jobs('big', 10, 0, 3_600_000), ...jobs('small', 6, 2_000, 3_600_000), ...burst('owner', 8, 10_000, 3_600_000)],
  }, 11_000);
  t.equal(running(sim, 'owner'), 8);
  // big holds 10 of its 2 (5×), small 6 of its 4 (1.5×): big gives until it is as far over as small
  // (3 of 2), then the youngest of either; small never below its 4.
  t.equal(running(sim, 'big'), 3, 'big, furthest over its guarantee, gave first');
  t.equal(running(sim, 'small'), 5, 'small gave one, and stays over its guarantee');
});

t.test('no loop: the reclaimed queue does not reclaim back, over a long run with churn', async (t) => {
  const sim = await simulate({
    sites: ['a'],
    queues: [queue({ name: 'a', guarantee: { cpu: '8' } }), queue({ name: 'b', guarantee: { cpu: '8' } })],
    nodes: fourNodes,
    jobs: [...jobs('a', 200, 0, 60_000), ...jobs('b', 200, 5_000, 60_000)],
  }, 1_200_000);
  const p = preemptions(sim);
  t.ok(p.every((e) => e.by.queue === 'b'), 'only b, below its guarantee when it came, ever preempted');
  t.equal(p.reduce((n, e) => n + e.attempts.length, 0), 8, 'and only once, for its guarantee');
});

t.test('a disruption budget caps preemptions per minute; why-pending says it is spent', async (t) => {
  const sim = await simulate({
    sites: ['a'],
    queues: [queue({ name: 'borrower', disruptionBudget: 3 }), queue({ name: 'owner', guarantee: { cpu: '8' } })],
    nodes: fourNodes,
    jobs: [...jobs('borrower', 16, 0, 3_600_000), ...burst('owner', 8, 10_000, 3_600_000)],
  }, 20_000);
  t.equal(preemptions(sim).reduce((n, e) => n + e.attempts.length, 0), 3, 'three in the first minute');
  t.equal(running(sim, 'owner'), 3);
  const waiting = [...sim.state.jobs.values()].find((j) => j.spec.queue === 'owner' && j.status === 'pending')!;
  const why: WhyAnswer = await sim.core.whyPending(waiting.id);
  t.match(why.status === 'pending' ? why.why.reasons : [], [{ kind: 'preemption', message: /would preempt, but the disruption budget of queue borrower is spent \(3 a minute\)/ }]);
  await sim.run(75_000);
  t.equal(preemptions(sim).reduce((n, e) => n + e.attempts.length, 0), 6, 'three more once the minute has passed');
});

t.test('a task preempted once is protected: the next reclaim takes others', async (t) => {
  const sim = await simulate({
    sites: ['a'],
    queues: [queue({ name: 'borrower', protectFor: '10m' }), queue({ name: 'owner', guarantee: { cpu: '8' } })],
    nodes: fourNodes,
    // The owner's first jobs end at 20 s: the preempted borrower tasks run again, youngest of all; the
    // owner's next jobs, at 30 s, must not take them a second time.
    jobs: [...jobs('borrower', 16, 0, 3_600_000), ...burst('owner', 8, 10_000, 10_000), ...burst('owner', 8, 30_000, 3_600_000)],
  }, 31_000);
  const p = preemptions(sim);
  const first = new Set(p.filter((e) => e.at === 10_000).flatMap((e) => e.attempts.map((a) => `${a.job}#${a.task}`)));
  const second = p.filter((e) => e.at === 30_000).flatMap((e) => e.attempts);
  t.equal(first.size, 8);
  t.equal(second.length, 8);
  t.ok(second.every((a) => !first.has(`${a.job}#${a.task}`)), 'no task preempted twice within its protection');
  t.equal(running(sim, 'owner'), 8);
});

t.test('within a queue, a job that may preempt takes the room of lower priority; one that may not waits', async (t) => {
  const sim = await simulate({
    sites: ['a'],
    queues: [queue({ name: 'q' })],
    nodes: fourNodes,
    jobs: [
      ...jobs('q', 8, 0, 3_600_000, { priority: 1 }),
      ...jobs('q', 8, 1_000, 3_600_000, { priority: 5 }),
      { at: 10_000, tenant: 'acme', spec: job({ queue: 'q', priority: 9 }, { resources: { cpu: '2', memory: '1Gi' }, timeLimit: '1h' }), durationMs: 60_000 },
      { at: 10_000, tenant: 'acme', spec: job({ queue: 'q', priority: 9, mayPreempt: true }, { resources: { cpu: '2', memory: '1Gi' }, timeLimit: '1h' }), durationMs: 60_000 },
    ],
  }, 11_000);
  const victims = preemptions(sim).flatMap((e) => e.attempts);
  t.equal(victims.length, 2, 'two one-core tasks for a two-core job');
  const low = new Set([...sim.state.jobs.values()].filter((j) => j.spec.priority === 1).map((j) => j.id));
  t.ok(victims.every((a) => low.has(a.job)), 'of the lowest priority');
  const [plain, preempting] = [...sim.state.jobs.values()].filter((j) => j.spec.priority === 9);
  t.equal(preempting!.status, 'running');
  t.equal(plain!.status, 'pending', 'a job that does not say mayPreempt waits');
});

/** A deterministic pseudo-random stream. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

t.test('random workloads: no over-commitment, nothing preempted twice within its protection, guarantees met at once', async (t) => {
  for (let seed = 1; seed <= 6; seed++) {
    const random = seeded(seed);
    const guarantee = 2 + Math.floor(random() * 7); // 2..8 of 16 cores
    const borrowers = 1 + Math.floor(random() * 3);
    const script = {
      sites: ['a'],
      queues: [...Array.from({ length: borrowers }, (_, i) => queue({ name: `b${i}`, protectFor: '1m' })), queue({ name: 'owner', guarantee: { cpu: String(guarantee) } })],
      nodes: fourNodes,
      jobs: [
        ...Array.from({ length: 60 }, (_, i) => ({ at: Math.floor(random() * 20_000), tenant: 'acme', spec: one(`b${i % borrowers}`), durationMs: 5_000 + Math.floor(random() * 60_000) })).sort((a, b) => a.at - b.at),
        ...jobs('owner', guarantee + Math.floor(random() * 4), 30_000, 3_600_000),
      ].sort((a, b) => a.at - b.at),
    };
    const sim = await simulate(script, 30_000 + 1_000);
    const report = await sim.run(200_000);
    t.same(report.overcommits, [], `seed ${seed}: no node ever over-committed`);
    const last = new Map<string, number>();
    let twice = 0;
    for (const e of preemptions(sim)) {
      for (const a of e.attempts) {
        const key = `${a.job}#${a.task}`;
        if (last.has(key) && e.at - last.get(key)! < 60_000) twice++;
        last.set(key, e.at);
      }
    }
    t.equal(twice, 0, `seed ${seed}: no task preempted twice within its protection`);
  }
});

t.test('random workloads: a queue below its guarantee with enough pending work reaches it the instant it asks', async (t) => {
  for (let seed = 11; seed <= 16; seed++) {
    const random = seeded(seed);
    const guarantee = 2 + Math.floor(random() * 10); // 2..11 of 16 cores
    const script = {
      sites: ['a'],
      queues: [queue({ name: 'b0' }), queue({ name: 'b1', weight: 3 }), queue({ name: 'owner', guarantee: { cpu: String(guarantee) } })],
      nodes: fourNodes,
      jobs: [...jobs('b0', 10, 0, 3_600_000), ...jobs('b1', 10, 500, 3_600_000), ...burst('owner', guarantee + 2, 20_000, 3_600_000)],
    };
    const sim = await simulate(script, 20_000);
    t.equal(running(sim, 'owner'), guarantee, `seed ${seed}: owner holds its guarantee of ${guarantee} cores the instant it asks`);
  }
});
