/**
 * Requests share what repeats (src/model/shared-request.ts): resource vectors without extended resources,
 * the empty environment, and recurring words; shared means frozen, so a change is an error, not a
 * change to every job at once.
 */
import t from 'tap';
import { recurringWord, sharedRequest, validateJob, validateNode } from '../../src/model/index.js';
import { jobSpec, taskSpec } from '../helpers/specs.js';

t.test('one frozen vector per (cpu, memory, gpu)', async (t) => {
  const a = sharedRequest(500, 1024, 0);
  t.equal(sharedRequest(500, 1024, 0), a, 'the same triple: the same object');
  t.not(sharedRequest(500, 1024, 1), a, 'another triple: another object');
  t.same(a, { cpu: 500, memory: 1024, gpu: 0, extended: {} });
  t.ok(Object.isFrozen(a) && Object.isFrozen(a.extended), 'frozen, its extended resources too');
  t.throws(() => {
    (a as { cpu: number }).cpu = 1;
  }, TypeError);
  t.equal(a.cpu, 500, 'unchanged');
});

t.test('the table starts over when full and still answers equal vectors', async (t) => {
  const first = sharedRequest(1, 1, 1);
  for (let i = 0; i < 5_000; i++) sharedRequest(i, 2, 0);
  const again = sharedRequest(1, 1, 1);
  t.same(again, first, 'equal after the table started over');
});

t.test('validated jobs share request vectors and the empty environment; extended resources and capacities stay their own', async (t) => {
  const job = (raw: Record<string, unknown>) => {
    const v = validateJob(raw);
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    return v.value;
  };
  const a = job(jobSpec({ tasks: [taskSpec({ command: ['echo', 'a'] })] }));
  const b = job(jobSpec({ tasks: [taskSpec({ command: ['echo', 'b'] })] }));
  t.equal(a.tasks[0]!.resources, b.tasks[0]!.resources, 'the same request: one vector');
  t.equal(a.tasks[0]!.env, b.tasks[0]!.env, 'no env: one shared empty object');
  t.ok(Object.isFrozen(a.tasks[0]!.env));
  const withExtended = job(jobSpec({ tasks: [taskSpec({ resources: { cpu: '1', memory: '1Gi', extended: { fpga: 1 } } })] }));
  t.notOk(Object.isFrozen(withExtended.tasks[0]!.resources), 'a vector with extended resources is its own');
  const node = validateNode({ name: 'n1', site: 'a', capacity: { cpu: '4', memory: '8Gi' } });
  t.ok(node.ok && !Object.isFrozen(node.value.capacity), "a node's capacity is its own");
});

t.test('a recurring word is the first copy seen', async (t) => {
  const first = ['python', '3'].join('');
  const second = ['pyth', 'on3'].join('');
  t.equal(recurringWord(first), first);
  t.equal(recurringWord(second), first, 'an equal string comes back as the first copy');
});
