import t from 'tap';
import type { Amounts, QueueMoment, ShareSample, TaskDemand } from '../../bench/policy-metrics.js';
import { entitlements, gangWaitP99, preemptionsPerReclaim, reclaimCycles, shareError, utilisation, utilisationBound } from '../../bench/policy-metrics.js';

const cpu = (n: number, memory = 0): Amounts => ({ cpu: n, memory, gpu: 0 });
const task = (arrivalMs: number, durationMs: number, resources: Amounts): TaskDemand => ({ arrivalMs, durationMs, resources });
/** Whether two lists of shares agree to within rounding. */
const near = (actual: readonly number[], expected: readonly number[]): boolean => actual.length === expected.length && actual.every((x, i) => Math.abs(x - expected[i]!) < 1e-9);

t.test('utilisationBound: the least of demand, capacity and what arrivals allow, per dimension', async (t) => {
  const cases: { name: string; tasks: TaskDemand[]; capacity: Amounts; horizon: number; bound: Amounts }[] = [
    // A(t) = 4·min(50, t): t=0 → 1000, t=50 → 200 + 500, t=100 → 200.
    { name: 'demand below capacity', tasks: [task(0, 50, cpu(4))], capacity: cpu(10), horizon: 100, bound: cpu(200) },
    // Demand 5·4·100 = 2000 against a capacity of 10·100.
    { name: 'capacity below demand', tasks: Array.from({ length: 5 }, () => task(0, 100, cpu(4))), capacity: cpu(10), horizon: 100, bound: cpu(1000) },
    // Clipping each task to the window gives 200 + 1000 ≥ 10·100 = 1000; but nothing arrives for [20, 50),
    // so at most 200 in [0, 50] and 500 after: 700.
    { name: 'late arrivals cannot fill early idle capacity', tasks: [task(0, 20, cpu(10)), task(50, 50, cpu(20))], capacity: cpu(10), horizon: 100, bound: cpu(700) },
    // Memory is bounded on its own: cpu by capacity (10·100), memory by demand (2·50·100 = 10,000 of 100·100).
    { name: 'each dimension separately', tasks: [task(0, 100, cpu(8, 50)), task(0, 100, cpu(8, 50))], capacity: cpu(10, 200), horizon: 100, bound: cpu(1000, 10_000) },
    // A task arriving at the horizon adds nothing; one running past it counts up to it.
    { name: 'the window', tasks: [task(100, 10, cpu(5)), task(90, 30, cpu(5))], capacity: cpu(10), horizon: 100, bound: cpu(50) },
  ];
  for (const c of cases) t.same(utilisationBound(c.tasks, c.capacity, c.horizon), c.bound, c.name);
});

t.test('utilisation: busy over bound, each dimension in cluster units', async (t) => {
  // cpu: 350/10 = 35 of 700/10 = 70; memory: 7000/100 = 70 of 70; gpu (no capacity) left out.
  t.equal(utilisation(cpu(350, 7000), cpu(700, 7000), { cpu: 10, memory: 100, gpu: 0 }), 0.75);
  t.equal(utilisation(cpu(700), cpu(700), cpu(10)), 1);
  t.throws(() => utilisation(cpu(0), cpu(0), cpu(10)));
});

const q = (weight: number, used: number, pending: boolean, guarantee = 0): QueueMoment => ({ weight, guarantee, used, pending });

t.test('entitlements: weighted max-min over waiting queues, guarantees as floors', async (t) => {
  t.ok(near(entitlements([q(2, 0.1, true), q(1, 0.9, true)]), [2 / 3, 1 / 3]), 'weights 2:1, both waiting');
  t.ok(near(entitlements([q(1, 0.5, true), q(1, 0.1, false), q(2, 0.4, true)]), [0.3, 0.1, 0.6]), 'a satisfied queue keeps what it holds, the rest is split by weight');
  t.ok(near(entitlements([q(1, 0.4, true), q(1, 0.6, false)]), [0.5, 0.5]), 'a satisfied queue above its share does not shrink a waiting one');
  t.ok(near(entitlements([q(3, 0.9, true), q(1, 0.1, true, 0.5)]), [0.5, 0.5]), 'a guarantee above the weighted share lifts it (3:1 would give 0.25)');
  t.ok(near(entitlements([q(1, 0.5, true), q(1, 0.2, false, 0.5)]), [0.8, 0.2]), 'a guarantee counts only up to what the queue wants');
  t.ok(near(entitlements([q(1, 0.3, false), q(1, 0.2, false)]), [0.3, 0.2]), 'nobody waiting: each what it holds');
});

t.test('shareError: the largest mean gap over whole windows in which the queue waited throughout', async (t) => {
  const equal = (a: number, b: number, pendingB = true): ShareSample['queues'] => [q(1, a, true), q(1, b, pendingB)];
  // Window [0, 60 s): A holds 0.5 then 0.8 (mean 0.65) against 0.5: 15 points; B the same the other way.
  const timeline: ShareSample[] = [
    { at: 0, queues: equal(0.5, 0.5) },
    { at: 30_000, queues: equal(0.8, 0.2) },
  ];
  const first = shareError(timeline, 60_000, 90_000);
  t.ok(Math.abs(first.maxPp - 15) < 1e-9, `15 points (${first.maxPp})`);
  t.equal(first.queue, 0);
  t.equal(first.windowStart, 0);
  t.equal(first.judged, 2, 'the partial window [60 s, 90 s) is not judged');
  // B stops waiting at 30 s: it is not judged, and A is then entitled to all B does not hold (0.8): no gap.
  const second = shareError([{ at: 0, queues: equal(0.5, 0.5) }, { at: 30_000, queues: equal(0.8, 0.2, false) }], 60_000, 60_000);
  t.equal(second.judged, 1);
  t.ok(Math.abs(second.maxPp) < 1e-9, `no gap (${second.maxPp})`);
  // Two windows: the gap is in the second.
  const third = shareError([{ at: 0, queues: equal(0.5, 0.5) }, { at: 60_000, queues: equal(0.6, 0.4) }], 60_000, 120_000);
  t.ok(Math.abs(third.maxPp - 10) < 1e-9, `10 points (${third.maxPp})`);
  t.equal(third.windowStart, 60_000);
  t.equal(third.judged, 4);
});

t.test('gangWaitP99: nearest-rank p99 of the waits, in seconds', async (t) => {
  t.equal(gangWaitP99(Array.from({ length: 100 }, (_, i) => ({ submittedAt: 5_000, placedAt: 5_000 + (100 - i) * 1000 }))), 99);
  t.equal(gangWaitP99([{ submittedAt: 60_000, placedAt: 185_000 }]), 125);
});

t.test('reclaimCycles: cycles after the submission until the share reaches the target', async (t) => {
  const shares = [
    { cycle: 3, share: 0.6 },
    { cycle: 5, share: 0.1 },
    { cycle: 7, share: 0.1 + 0.2 },
    { cycle: 9, share: 0.5 - 1e-12 },
  ];
  t.equal(reclaimCycles(shares, 4, 0.5), 5, 'within rounding of the target');
  t.equal(reclaimCycles(shares, 4, 0.3), 3);
  t.equal(reclaimCycles(shares, 4, 0.05), 1, 'the first cycle after the submission counts 1');
  t.equal(reclaimCycles(shares, 4, 0.55), undefined, 'a share from before the submission does not count');
});

t.test('preemptionsPerReclaim: preempted attempts per task the reclaim needed', async (t) => {
  t.equal(preemptionsPerReclaim(11, 10), 1.1);
  t.equal(preemptionsPerReclaim(0, 10), 0);
  t.throws(() => preemptionsPerReclaim(3, 0));
});
