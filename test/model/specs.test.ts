import t from 'tap';
import { limits, MAX_ECHO_CHARS, MAX_QUEUE_DEPTH, validateDocument, validateNode, validateQueue, validateSite } from '../../src/model/index.js';
import { entries, jobSpec, nodeSpec, queueSpec, repeat } from '../helpers/specs.js';
import type { Raw } from '../helpers/specs.js';
import { expectProblems, expectValid } from '../helpers/validation.js';

t.test('nodes', async (t) => {
  const node = expectValid(t, validateNode(nodeSpec({ labels: { zone: 'a', 'example.com/rack': 'r1', empty: '' }, capacity: { cpu: 8, memory: '1G' } })), 'node');
  t.same(node, { name: 'n1', site: 'a', capacity: { cpu: 8000, memory: 953, gpu: 0, extended: {} }, labels: { zone: 'a', 'example.com/rack': 'r1', empty: '' }, state: 'ready' });
  const rules: [string, Raw, [string, string][]][] = [
    ['name missing', { site: 'a', capacity: {} }, [['name', 'MUSTER_ERR_REQUIRED']]],
    ['site missing', { name: 'n', capacity: {} }, [['site', 'MUSTER_ERR_REQUIRED']]],
    ['capacity missing', { name: 'n', site: 'a' }, [['capacity', 'MUSTER_ERR_REQUIRED']]],
    ['bad capacity', nodeSpec({ capacity: { memory: '12Qi' } }), [['capacity.memory', 'MUSTER_ERR_INVALID_QUANTITY']]],
    ['unknown state', nodeSpec({ state: 'sleeping' }), [['state', 'MUSTER_ERR_INVALID_VALUE']]],
    ['label value not a string', nodeSpec({ labels: { gpu: true } }), [['labels.gpu', 'MUSTER_ERR_INVALID_TYPE']]],
    ['label key bad', nodeSpec({ labels: { 'a b': 'x' } }), [['labels["a b"]', 'MUSTER_ERR_INVALID_NAME']]],
    ['label key bad prefix', nodeSpec({ labels: { 'Ex_ample/x': 'x' } }), [['labels["Ex_ample/x"]', 'MUSTER_ERR_INVALID_NAME']]],
    ['label value bad', nodeSpec({ labels: { zone: 'a/b' } }), [['labels.zone', 'MUSTER_ERR_INVALID_VALUE']]],
    ['labels not an object', nodeSpec({ labels: ['zone=a'] }), [['labels', 'MUSTER_ERR_INVALID_TYPE']]],
  ];
  for (const [name, spec, want] of rules) expectProblems(t, validateNode(spec), want, name);
  for (const state of ['ready', 'draining', 'suspect', 'lost', 'down']) expectValid(t, validateNode(nodeSpec({ state })), `state ${state}`);
});

t.test('label limits hold at their boundaries', async (t) => {
  const cases: [string, (n: number) => Raw, number, string, string][] = [
    ['labels per node', (n) => nodeSpec({ labels: entries(n, () => 'v') }), limits.MAX_LABELS, 'labels', 'MUSTER_ERR_LIMIT_EXCEEDED'],
    ['label value length', (n) => nodeSpec({ labels: { k: repeat(n, 'v') } }), limits.MAX_LABEL_VALUE_LENGTH, 'labels.k', 'MUSTER_ERR_LIMIT_EXCEEDED'],
    // A key is `prefix/name`: a 63-character name under a prefix that brings it to the limit.
    [
      'label key length',
      (n) => nodeSpec({ labels: { [`${repeat(n - 64, 'p')}/${repeat(63, 'n')}`]: 'v' } }),
      limits.MAX_LABEL_KEY_LENGTH,
      // The key in the path is cut to what an error echoes.
      `labels["${`${repeat(limits.MAX_LABEL_KEY_LENGTH + 1 - 64, 'p')}/${repeat(63, 'n')}`.slice(0, MAX_ECHO_CHARS)}…"]`,
      'MUSTER_ERR_INVALID_NAME',
    ],
    ['label name part length', (n) => nodeSpec({ labels: { [repeat(n, 'n')]: 'v' } }), limits.MAX_NAME_LENGTH, `labels.${repeat(limits.MAX_NAME_LENGTH + 1, 'n')}`, 'MUSTER_ERR_INVALID_NAME'],
    ['node name length', (n) => nodeSpec({ name: repeat(n) }), limits.MAX_NAME_LENGTH, 'name', 'MUSTER_ERR_LIMIT_EXCEEDED'],
    ['node cpu', (n) => nodeSpec({ capacity: { cpu: `${n}m` } }), limits.MAX_QUANTITY, 'capacity.cpu', 'MUSTER_ERR_INVALID_QUANTITY'],
  ];
  for (const [name, build, limit, path, code] of cases) {
    expectValid(t, validateNode(build(limit)), `${name} at the limit (${limit})`);
    expectProblems(t, validateNode(build(limit + 1)), [[path, code]], `${name} one past the limit`);
  }
});

t.test('queues', async (t) => {
  const queue = expectValid(t, validateQueue(queueSpec({ name: 'ml/training', weight: 2.5, priority: 3, guaranteedShare: 0.1, limit: { gpu: 8 }, borrow: false })), 'queue');
  t.same(queue, { tenant: 'acme', name: 'ml/training', weight: 2.5, priority: 3, guaranteedShare: 0.1, borrow: false, limit: { gpu: 8, extended: {} } });
  t.same(expectValid(t, validateQueue(queueSpec()), 'defaults'), { tenant: 'acme', name: 'default', weight: 1, priority: 0, guaranteedShare: 0, borrow: true });
  const rules: [string, Raw, [string, string][]][] = [
    ['tenant missing', { name: 'q' }, [['tenant', 'MUSTER_ERR_REQUIRED']]],
    ['weight zero', queueSpec({ weight: 0 }), [['weight', 'MUSTER_ERR_INVALID_VALUE']]],
    ['weight negative', queueSpec({ weight: -1 }), [['weight', 'MUSTER_ERR_INVALID_VALUE']]],
    ['weight not a number', queueSpec({ weight: 'high' }), [['weight', 'MUSTER_ERR_INVALID_TYPE']]],
    ['share above one', queueSpec({ guaranteedShare: 1.5 }), [['guaranteedShare', 'MUSTER_ERR_INVALID_VALUE']]],
    ['limit with a bad quantity', queueSpec({ limit: { cpu: 'many' } }), [['limit.cpu', 'MUSTER_ERR_INVALID_QUANTITY']]],
    ['borrow not boolean', queueSpec({ borrow: 'no' }), [['borrow', 'MUSTER_ERR_INVALID_TYPE']]],
    ['unknown field', queueSpec({ quota: 1 }), [['quota', 'MUSTER_ERR_UNKNOWN_FIELD']]],
  ];
  for (const [name, spec, want] of rules) expectProblems(t, validateQueue(spec), want, name);
  const depth = (n: number): string => Array.from({ length: n }, (_, i) => `q${i}`).join('/');
  expectValid(t, validateQueue(queueSpec({ name: depth(MAX_QUEUE_DEPTH) })), 'queue depth at the limit');
  expectProblems(t, validateQueue(queueSpec({ name: depth(MAX_QUEUE_DEPTH + 1) })), [['name', 'MUSTER_ERR_LIMIT_EXCEEDED']], 'queue depth past the limit');
  expectValid(t, validateQueue(queueSpec({ weight: limits.MAX_QUEUE_WEIGHT })), 'weight at the limit');
  expectProblems(t, validateQueue(queueSpec({ weight: limits.MAX_QUEUE_WEIGHT + 1 })), [['weight', 'MUSTER_ERR_INVALID_VALUE']], 'weight past the limit');
  expectValid(t, validateQueue(queueSpec({ priority: -limits.MAX_PRIORITY })), 'priority at the lower limit');
});

t.test('sites', async (t) => {
  t.same(expectValid(t, validateSite({ name: 'eu-1', labels: { region: 'eu' } }), 'site'), { name: 'eu-1', labels: { region: 'eu' } });
  expectProblems(t, validateSite({}), [['name', 'MUSTER_ERR_REQUIRED']], 'name missing');
  expectProblems(t, validateSite({ name: 'EU' }), [['name', 'MUSTER_ERR_INVALID_NAME']], 'name upper case');
});

t.test('documents are validated by their kind', async (t) => {
  t.match(validateDocument(jobSpec()), { ok: true, value: { kind: 'Job' } });
  t.match(validateDocument({ kind: 'Job', ...jobSpec() }), { ok: true, value: { kind: 'Job' } });
  t.match(validateDocument({ kind: 'Queue', ...queueSpec() }), { ok: true, value: { kind: 'Queue' } });
  t.match(validateDocument({ kind: 'Node', ...nodeSpec() }), { ok: true, value: { kind: 'Node' } });
  t.match(validateDocument({ kind: 'Site', name: 'a' }), { ok: true, value: { kind: 'Site' } });
  expectProblems(t, validateDocument({ kind: 'Pod', name: 'x' }), [['kind', 'MUSTER_ERR_INVALID_VALUE']], 'unknown kind');
  expectProblems(t, validateDocument({ kind: 'Node', ...jobSpec() }), [
    ['queue', 'MUSTER_ERR_UNKNOWN_FIELD'],
    ['tasks', 'MUSTER_ERR_UNKNOWN_FIELD'],
    ['name', 'MUSTER_ERR_REQUIRED'],
    ['site', 'MUSTER_ERR_REQUIRED'],
    ['capacity', 'MUSTER_ERR_REQUIRED'],
  ], 'a job read as a node');
  expectProblems(t, validateDocument(null), [['', 'MUSTER_ERR_INVALID_TYPE']], 'null');
});
