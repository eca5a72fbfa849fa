import t from 'tap';
import type { JobSpec } from '../../src/model/index.js';
import { SpecInterner, validateJob } from '../../src/model/index.js';
import { jobSpec, taskSpec } from '../helpers/specs.js';

function valid(raw: Record<string, unknown>): JobSpec {
  const v = validateJob(raw);
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.value;
}

t.test('jobs asking for the same things share one copy of each part, and stay equal to what was asked', async (t) => {
  const interner = new SpecInterner();
  const a = valid(jobSpec({ name: 'a', idempotencyKey: 'k-a' }));
  const b = valid(jobSpec({ name: 'b', array: 4 }));
  const ia = interner.internJob(a);
  const ib = interner.internJob(b);
  t.strictSame(ia, a, 'interning changes no field');
  t.strictSame(ib, b);
  t.equal(ia.tasks, ib.tasks, 'the task groups are one object');
  t.equal(ia.constraints, ib.constraints);
  t.equal(ia.retries, ib.retries);
  t.equal(ia.dependencies, ib.dependencies, 'no dependencies is one shared empty list');
  t.not(a.tasks, b.tasks, 'validation alone made two copies');
  t.equal(ia.name, 'a');
  t.equal(ib.array, 4);
  t.notOk('array' in ia, 'an absent optional field stays absent');
  t.equal(interner.size, 1, 'one part in the table: the task list (no constraints and the default retries are found without a key)');
  const elsewhere = new SpecInterner().internJob(valid(jobSpec({ name: 'c' })));
  t.equal(elsewhere.constraints, ia.constraints, 'no constraints: one copy for every interner');
  t.equal(elsewhere.retries, ia.retries, 'the default retries: one copy for every interner');
  t.equal(interner.internJob(ia), ia, 'a spec with the usual parts counts as interned already');
  const retried = interner.internJob(valid(jobSpec({ name: 'd', retries: { max: 2 } })));
  t.not(retried.retries, ia.retries, 'other retries are their own part');
  t.same(retried.retries, { max: 2, backoffMs: 10_000 });
  t.equal(interner.size, 2, 'and go through the table');
});

t.test('parts that differ in anything are not shared', async (t) => {
  const interner = new SpecInterner();
  const one = interner.internJob(valid(jobSpec({ tasks: [taskSpec({ command: ['echo', 'one'] })] })));
  const two = interner.internJob(valid(jobSpec({ tasks: [taskSpec({ command: ['echo', 'two'] })] })));
  const retried = interner.internJob(valid(jobSpec({ retries: { max: 2 } })));
  t.not(one.tasks, two.tasks);
  t.same(one.tasks[0]!.args, ['one']);
  t.same(two.tasks[0]!.args, ['two']);
  t.equal(retried.retries.max, 2);
  t.not(retried.retries, one.retries);
  const dependent = interner.internJob(valid(jobSpec({ dependencies: ['afterok:j-1'] })));
  t.same(dependent.dependencies, [{ type: 'afterok', job: 'j-1' }], 'a job with dependencies keeps its own');
});

t.test('an interned spec is returned as it is; the bounded table starts over and stays correct', async (t) => {
  const interner = new SpecInterner(2);
  const first = interner.internJob(valid(jobSpec()));
  t.equal(interner.internJob(first), first, 'already interned: the same object');
  const other = interner.internJob(valid(jobSpec({ tasks: [taskSpec({ count: 2 })] })));
  t.ok(interner.size <= 2, 'never more parts than the bound');
  t.equal(other.tasks[0]!.count, 2);
  const again = interner.internJob(valid(jobSpec()));
  t.strictSame(again, first, 'after the table started over, a spec is still interned to an equal one');
});

t.test('when parts stop repeating, interning pauses (each job keeps its own) and then looks again', async (t) => {
  const interner = new SpecInterner();
  const unique = (i: number) => interner.internJob(valid(jobSpec({ tasks: [taskSpec({ command: ['echo', String(i)] })], retries: { max: i % 7 } })));
  for (let i = 0; i < 5000; i++) unique(i);
  const tableAfterMisses = interner.size;
  for (let i = 5000; i < 20_000; i++) unique(i);
  t.equal(interner.size, tableAfterMisses, 'while paused, nothing more is keyed into the table');
  const a = unique(1);
  t.same(a.tasks[0]!.args, ['1'], 'a paused interner still returns an equal spec');
  t.equal(interner.internJob(a), a, 'and recognises it as interned');
});
