import t from 'tap';
import type { WhyAnswer } from '../../src/scheduler/index.js';
import { closeSharedSystem, job, node, queue, simulate } from '../helpers/scheduler.js';

t.teardown(closeSharedSystem);

function why(answer: WhyAnswer) {
  if (answer.status !== 'pending') throw new Error(`not pending: ${answer.status} ${'message' in answer ? answer.message : ''}`);
  return answer.why;
}

t.test('a job too big for any node: per-site reasons and the smallest change', async (t) => {
  const sim = await simulate({
    sites: ['a', 'b'],
    nodes: [
      { spec: node('a1', 'a', { cpu: '8', memory: '32Gi', gpu: 1 }) },
      { spec: node('b1', 'b', { cpu: '8', memory: '32Gi', gpu: 2 }) },
      { spec: node('b2', 'b', { cpu: '8', memory: '32Gi', gpu: 2 }) },
    ],
    jobs: [{ at: 0, spec: job({}, { resources: { cpu: '1', memory: '1Gi', gpu: 4 } }) }],
  });
  const w = why(await sim.core.whyPending('j-1'));
  t.equal(w.position, 1);
  t.match(w.reasons, [
    { kind: 'unsatisfiable', message: 'can never run on the current nodes: tasks[0].resources.gpu: one task needs 4 gpu; the largest eligible node has 2 gpu' },
    { kind: 'site', site: 'a', message: 'needs 3 more gpus on one node in site a' },
    { kind: 'site', site: 'b', message: 'needs 2 more gpus on one node in site b' },
  ]);
  t.equal(w.suggestion, 'needs 2 more gpus on one node in site b', 'the smallest change among the sites');
});

t.test('waiting for a dependency', async (t) => {
  const sim = await simulate({
    sites: ['a'],
    nodes: [{ spec: node('n1') }],
    jobs: [
      { at: 0, spec: job(), behaviour: () => 'hang' },
      { at: 0, spec: job({ dependencies: ['afterok:j-1'] }) },
    ],
  });
  const w = why(await sim.core.whyPending('j-2'));
  t.match(w.reasons, [{ kind: 'dependency', job: 'j-1', message: 'waiting for job j-1' }]);
  t.equal(w.suggestion, 'waiting for job j-1 to end');
});

t.test('a queue at its limit', async (t) => {
  const sim = await simulate({
    sites: ['a'],
    queues: [queue({ name: 'small', limit: { cpu: '1' } })],
    nodes: [{ spec: node('n1') }],
    jobs: [
      { at: 0, tenant: 'acme', spec: job({ queue: 'small' }), behaviour: () => 'hang' },
      { at: 0, tenant: 'acme', spec: job({ queue: 'small' }) },
    ],
  });
  const w = why(await sim.core.whyPending('j-2'));
  t.match(w.reasons, [{ kind: 'queue-limit', message: 'queue small is at its limit' }]);
  t.match(w.suggestion, /queue small is at its limit/);
});

t.test('labels: ruled out by the summary, or counted node by node by the solver', async (t) => {
  const sim = await simulate({
    sites: ['a'],
    nodes: [{ spec: node('n1', 'a', undefined, { disk: 'hdd' }) }, { spec: node('n2', 'a', undefined, { disk: 'hdd' }) }, { spec: node('n3', 'a', undefined, { disk: 'hdd' }) }],
    jobs: [
      { at: 0, spec: job({ constraints: { selectors: ['disk=ssd'] } }) },
      { at: 0, spec: job({ constraints: { selectors: ['disk!=hdd'] } }) },
    ],
  });
  t.match(why(await sim.core.whyPending('j-1')).reasons, [
    { kind: 'unsatisfiable', message: 'can never run on the current nodes: constraints.selectors: no node has labels matching disk=ssd' },
    { kind: 'site', site: 'a', message: 'no ready node in site a has labels matching disk=ssd' },
  ]);
  const solver = why(await sim.core.whyPending('j-2'));
  t.match(solver.reasons, [
    { kind: 'unsatisfiable', message: 'can never run on the current nodes: constraints.selectors: no node has labels matching disk!=hdd' },
    { kind: 'nodes', site: 'a', counts: { labels: 3, cpu: 0, notReady: 0 }, message: 'site a: no node fits (3 labels do not match)' },
  ]);
});

t.test('the solver counts nodes per reason when no single node fits; a down node is not ready', async (t) => {
  const sim = await simulate({
    sites: ['a'],
    nodes: [
      { spec: node('n1', 'a', { cpu: '2', memory: '2Gi' }, { slot: '1' }) },
      { spec: node('n2', 'a', { cpu: '2', memory: '8Gi' }, { slot: '2' }) },
      { spec: node('n3', 'a', { cpu: '8', memory: '32Gi' }) },
    ],
    nodeStates: [{ at: 0, node: 'n3', state: 'down' }],
    jobs: [
      { at: 1, spec: job({ constraints: { selectors: ['slot=1'] } }, { resources: { cpu: '1', memory: '1536Mi' } }), behaviour: () => 'hang' },
      { at: 1, spec: job({ constraints: { selectors: ['slot=2'] } }, { resources: { cpu: '1500m', memory: '1Gi' } }), behaviour: () => 'hang' },
      // n1 has the cpu but not the memory, n2 the memory but not the cpu: only the solver can tell.
      { at: 2, spec: job({}, { resources: { cpu: '1', memory: '1Gi' } }) },
    ],
  });
  const w = why(await sim.core.whyPending('j-3'));
  t.equal(w.position, 1);
  t.match(w.reasons, [{ kind: 'nodes', site: 'a', counts: { cpu: 1, memory: 1, notReady: 1, labels: 0 }, message: 'site a: no node fits (1 not ready, 1 too little free cpu, 1 too little free memory)' }]);
  t.match((await sim.core.whyPending('j-1')).status, 'active');
  t.match(await sim.core.whyPending('j-404'), { status: 'unknown' });
});

t.test('a cluster with too little free capacity in all', async (t) => {
  const sim = await simulate({
    sites: ['a'],
    nodes: [{ spec: node('n1', 'a', { cpu: '2', memory: '8Gi' }) }],
    jobs: [
      { at: 0, spec: job({}, { resources: { cpu: '1500m', memory: '1Gi' } }), behaviour: () => 'hang' },
      { at: 1, spec: job({ gang: true }, { count: 2, resources: { cpu: '1', memory: '1Gi' } }) },
    ],
  });
  t.match(why(await sim.core.whyPending('j-2')).reasons, [{ kind: 'cluster-busy', message: 'all ready nodes together have too little free cpu (needs 2000m, 500m free)' }]);
});
