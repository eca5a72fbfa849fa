/** Queue specs' guarantee and borrowing fields, and how a set of queues must agree (model/queue-set.ts). */
import t from 'tap';
import type { QueueSpec } from '../../src/model/index.js';
import { parentQueue, queueSetProblems, validateQueue } from '../../src/model/index.js';
import { queueSpec } from '../helpers/specs.js';
import { expectProblems, expectValid } from '../helpers/validation.js';

const q = (fields: Record<string, unknown>): QueueSpec => expectValid(t, validateQueue(queueSpec(fields)), String(fields['name']))!;

t.test('a queue spec: guarantee as amounts or a share, borrowing limit; contradictions refused at once', async (t) => {
  t.same(q({ name: 'a', guarantee: { cpu: '8', gpu: 2 }, borrowLimit: { cpu: '4' } }), {
    tenant: 'acme', name: 'a', weight: 1, priority: 0, guaranteedShare: 0, borrow: true,
    guarantee: { cpu: 8000, gpu: 2, extended: {} }, borrowLimit: { cpu: 4000, extended: {} },
  });
  expectProblems(t, validateQueue(queueSpec({ guarantee: { cpu: '8' }, guaranteedShare: 0.5, borrow: false, borrowLimit: { cpu: '1' }, limit: { cpu: '4' } })), [
    ['guarantee', 'MUSTER_ERR_INVALID_VALUE'],
    ['borrowLimit', 'MUSTER_ERR_INVALID_VALUE'],
    ['guarantee', 'MUSTER_ERR_INVALID_VALUE'],
  ], 'both forms of guarantee, a borrowing limit without borrowing, a guarantee over the limit');
  expectProblems(t, validateQueue(queueSpec({ guarantee: { cpu: 'lots' }, borrowLimit: 3 })), [
    ['guarantee.cpu', 'MUSTER_ERR_INVALID_QUANTITY'],
    ['borrowLimit', 'MUSTER_ERR_INVALID_TYPE'],
  ], 'bad amounts');
});

t.test('parentQueue', async (t) => {
  t.equal(parentQueue('a'), undefined);
  t.equal(parentQueue('a/b'), 'a');
  t.equal(parentQueue('a/b/c'), 'a/b');
});

t.test('a set of queues: every problem of the changed ones at once, each at its path', async (t) => {
  const set = (...specs: QueueSpec[]): Map<string, QueueSpec> => new Map(specs.map((s) => [s.name, s]));
  const all = set(
    q({ name: 'org', guarantee: { cpu: '10', memory: '10Gi' } }),
    q({ name: 'org/a', guarantee: { cpu: '6' } }),
    q({ name: 'org/b', guarantee: { cpu: '3' }, guaranteedShare: 0 }),
    q({ name: 'org/c', guaranteedShare: 0.2 }),
    q({ name: 'lost/child' }),
    q({ name: 'bare' }),
    q({ name: 'bare/wants', guaranteedShare: 0.1 }),
    q({ name: 'top1', guaranteedShare: 0.7 }),
    q({ name: 'top2', guaranteedShare: 0.6 }),
    { ...q({ name: 'org/theirs' }), tenant: 'globex' },
  );
  const where = new Map([['org/b', 'queues[0]'], ['lost/child', 'queues[1]'], ['bare/wants', 'queues[2]'], ['top2', 'queues[3]'], ['org/theirs', 'queues[4]']]);
  t.same(queueSetProblems(all, where).map((p) => `${p.path} ${p.code}: ${p.message}`), [
    'queues[1].name MUSTER_ERR_NOT_FOUND: its parent queue lost is not defined; define it first or in the same apply',
    'queues[2].guarantee MUSTER_ERR_INVALID_VALUE: its parent queue bare has no guarantee to share',
    "queues[4].tenant MUSTER_ERR_INVALID_VALUE: its parent queue org belongs to tenant acme; a child queue has its parent's tenant",
    // org's 10 cpus less org/c's 20 % leave 8 for org/a and org/b, which ask 9.
    "queues[0].guarantee MUSTER_ERR_INVALID_VALUE: the cpu guarantees of org/a, org/b add up to 9, more than queue org's guarantee of 8 (after its children's shares, 20%)",
    'queues[3].guaranteedShare MUSTER_ERR_INVALID_VALUE: the guaranteed shares of top1, top2 add up to 130% of the cluster; at most 100%',
  ]);
  t.same(queueSetProblems(all, new Map([['org/a', 'x']])).length, 1, 'unchanged queues are judged only where a change touches them');
  t.same(queueSetProblems(set(q({ name: 'org', guaranteedShare: 0.5 }), q({ name: 'org/a', guarantee: { cpu: '1000' } })), new Map([['org/a', 'x']])), [], 'absolute children of a share are scaled at run time, not refused');
});
