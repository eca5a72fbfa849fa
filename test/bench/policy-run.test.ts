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
  t.equal(run.preemptions.length, 0, 'no TasksPreempted event: the scheduler has no preemption');
});

t.test('on a full cluster without preemption the guarantee waits for the borrower\'s ends', async (t) => {
  const borrower = Array.from({ length: 8 }, () => ({ at: 0, tenant: 'acme', spec: job({ queue: 'borrower' }, task), durationMs: 60_000 }));
  const run = await runPolicy({ script: { sites: ['a'], queues, nodes, jobs: [...borrower, ...owner(10_000, 4)] }, horizonMs: 20_000, watchQueue: 'owner' });
  const watched = run.watched!;
  // One cycle at 10 s (the submission; nothing fits), then the one at 60 s that places the owner's tasks.
  t.equal(reclaimCycles(watched.shares, watched.submittedAfter, 0.5), 2);
  t.equal(watched.shares[0]!.at, 60_000);
  // Busy within [0, 20 s]: the borrower's 8 × 4 cores the whole window; the owner's tasks started after it.
  t.same(run.busy, { cpu: 8 * 4000 * 20_000, memory: 8 * 16_384 * 20_000, gpu: 0 });
  // The timeline: at 10 s the owner waits with nothing, at 60 s both hold half.
  const at10 = run.timeline.find((s) => s.at === 10_000)!;
  t.same(at10.queues.map((q) => [q.used, q.pending]), [[1, false], [0, true]]);
  const at60 = run.timeline.find((s) => s.at === 60_000)!;
  t.same(at60.queues.map((q) => [q.used, q.pending]), [[0, false], [0.5, false]]);
});
