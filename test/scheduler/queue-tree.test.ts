/** The queue tree's effective guarantees and caps (src/scheduler/queue-tree.ts): pure, no actors. */
import t from 'tap';
import type { QueueSpec, Resources } from '../../src/model/index.js';
import { validateQueue } from '../../src/model/index.js';
import { capBlocking, chargePath, QueueTree } from '../../src/scheduler/queue-tree.js';
import { queueSpec } from '../helpers/specs.js';
import { expectValid } from '../helpers/validation.js';

const q = (fields: Record<string, unknown>): QueueSpec => expectValid(t, validateQueue(queueSpec(fields)), String(fields['name']))!;
const r = (cpu: number, memory = 0, gpu = 0): Resources => ({ cpu, memory, gpu, extended: {} });
const TOTAL = r(100_000, 1_000_000, 8);

t.test('guarantees resolve top-down: shares of the parent, amounts as given, scaled to fit', async (t) => {
  const tree = new QueueTree([
    q({ name: 'big', guaranteedShare: 0.5 }),
    q({ name: 'big/half', guaranteedShare: 0.5 }),
    q({ name: 'big/fixed', guarantee: { cpu: '40' } }),
    q({ name: 'small', guarantee: { cpu: '30', gpu: 4 } }),
    q({ name: 'greedy', guarantee: { gpu: 6 } }),
  ], new Map(), TOTAL);
  // gpus: big 4 (half of 8) + small 4 + greedy 6 = 14 of 8: each scaled by 8/14, rounded down.
  t.same(tree.account('big')!.guarantee, { cpu: 50_000, memory: 500_000, gpu: 2, extended: {} });
  t.same([tree.account('small')!.guarantee.gpu, tree.account('greedy')!.guarantee.gpu], [2, 3]);
  // Inside big: half takes 25 cpus and fixed asks 40, 65 of 50: both scaled by 50/65; memory and gpus fit.
  t.same(tree.account('big/half')!.guarantee, { cpu: Math.floor(25_000 * (50 / 65)), memory: 250_000, gpu: 1, extended: {} });
  t.equal(tree.account('big/fixed')!.guarantee.cpu, Math.floor(40_000 * (50 / 65)));
});

t.test('caps bind the subtree: limits and borrowing limits of the queue and its ancestors', async (t) => {
  const tree = new QueueTree([
    q({ name: 'team', guarantee: { cpu: '10' }, borrowLimit: { cpu: '5' } }),
    q({ name: 'team/a', guarantee: { cpu: '4' }, limit: { cpu: '12' } }),
    q({ name: 'team/b', guarantee: { cpu: '4' }, borrow: false }),
  ], new Map([['team/a', r(11_000)], ['team/b', r(3_000)]]), TOTAL);
  const a = tree.leaf('team/a')!;
  const b = tree.leaf('team/b')!;
  t.equal(capBlocking(a, r(1_000)), undefined, 'a has room under its limit (11 + 1 of 12) and team under its 15');
  t.equal(capBlocking(a, r(2_000)), 'queue team/a is at its limit');
  t.equal(capBlocking(b, r(1_000)), undefined);
  t.equal(capBlocking(b, r(2_000)), 'queue team/b may not borrow beyond its guarantee');
  chargePath(a, r(1_000), 1);
  t.equal(tree.account('team')!.usage.cpu, 15_000, 'a charge reaches the ancestors');
  t.equal(capBlocking(b, r(1_000)), 'its parent team is over its borrowing limit');
  chargePath(a, r(1_000), -1);
  t.equal(capBlocking(b, r(1_000)), undefined, 'and a refund too');
  t.equal(capBlocking(b, r(1_000, 1_000_000)), undefined, 'an absolute guarantee binds only the resources it names');
});
