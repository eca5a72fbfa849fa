import t from 'tap';
import { reclaimCycles } from '../../bench/policy-metrics.js';
import { runPolicy } from '../../bench/policy-run.js';
import { node, job, queue } from '../helpers/scheduler.js';

// One node of 32 cores; 4-core tasks: 8 fill it.
const nodes = [{ spec: node('n0', 'a', { cpu: '32', memory: '128Gi' }) }];
const task = { resources: { cpu: '4', memory: '16Gi' } };
const queues = [queue({ tenant: 'acme', name: 'borrower' }), queue({ tenant: 'globex', name: 'owner', guaranteedShare: 0.5 })];
const owner = (at: number, count: number): { at: number; tenant: string; spec: ReturnType<typeof job>; durationMs: number }[] =>
  Array.from({ length: count }, () => ({ at, tenant: 'globex', spec: job({ queue: 'owner' }, task), durationMs: 60_000 }));

t.test('the cycle a placement is counted in: on an idle cluster the guarantee is met by the next cycle', async (t) => {
  const run = await runPolicy({ script: { sites: ['a'], queues, nodes, jobs: owner(10_000, 4) }, horizonMs: 100_000, watchQueue: 'owner' });
  const watched = run.watched!;
  t.equal(reclaimCycles(watched.shares, watched.submittedAfter, 0.5), 1);
  t.equal(watched.shares[0]!.running, 4);
  t.equal(run.preemptions.length, 0, 'no TasksPreempted event: nothing to preempt on an idle cluster');
});

t.test('on a full cluster the guarantee is reclaimed: one cycle preempts, the next places', async (t) => {
  const borrower = Array.from({ length: 8 }, () => ({ at: 0, tenant: 'acme', spec: job({ queue: 'borrower' }, task), durationMs: 60_000 }));
  const run = await runPolicy({ script: { sites: ['a'], queues, nodes, jobs: [...borrower, ...owner(10_000, 4)] }, horizonMs: 20_000, watchQueue: 'owner' });
  const watched = run.watched!;
  // The cycle at 10 s after the submission preempts four of the borrower's tasks; the next, at the same instant, places the owner's.
  t.equal(reclaimCycles(watched.shares, watched.submittedAfter, 0.5), 2);
  t.equal(watched.shares.find((s) => s.share >= 0.5)!.at, 10_000);
  t.equal(run.preemptions.reduce((n, p) => n + p.attempts, 0), 4, 'four attempts preempted for four tasks');
  // The timeline: at 10 s both hold half (the borrower's preempted tasks wait again).
  const at10 = run.timeline.filter((s) => s.at === 10_000).pop()!;
  t.same(at10.queues.map((q) => [q.used, q.pending]), [[0.5, true], [0.5, false]]);
});
