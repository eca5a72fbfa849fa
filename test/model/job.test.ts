import t from 'tap';
import { MAX_ECHO_CHARS, limits, validateJob } from '../../src/model/index.js';
import { entries, jobSpec, repeat, taskSpec } from '../helpers/specs.js';
import type { Raw } from '../helpers/specs.js';
import { expectProblems, expectValid } from '../helpers/validation.js';

t.test('a minimal job is normalized with defaults', async (t) => {
  const job = expectValid(t, validateJob(jobSpec()), 'minimal job');
  t.same(job, {
    queue: 'default',
    priority: 0,
    tasks: [{ name: 'main', count: 1, resources: { cpu: 500, memory: 256, gpu: 0, extended: {} }, command: 'echo', args: ['hi'], shell: false, env: {} }],
    constraints: { sites: [], selectors: [] },
    strategy: 'binpack',
    distinctNodes: false,
    gang: false,
    dependencies: [],
    retries: { max: 0, backoffMs: 10_000 },
  });
});

t.test('a full job is normalized', async (t) => {
  const job = expectValid(
    t,
    validateJob(
      jobSpec({
        kind: 'Job',
        name: 'train',
        priority: -5,
        tasks: [
          taskSpec({ name: 'ps', count: 2, resources: { cpu: 2, memory: '1Gi', gpu: 1, extended: { fpga: 1 } }, env: { A: 'b' }, workingDir: '/tmp', timeLimit: '1h' }),
          taskSpec({ name: 'worker', command: 'run.sh', args: ['--x'], shell: true }),
        ],
        constraints: { sites: ['a', 'b'], selectors: ['zone=a', { key: 'disk', op: 'in', values: ['ssd'] }] },
        strategy: 'spread',
        distinctNodes: true,
        gang: true,
        array: 10,
        dependencies: ['afterok:j-1', { type: 'afternotok', job: 'j-2' }],
        retries: { max: 3, backoff: '30s' },
        idempotencyKey: 'k-1',
      }),
    ),
    'full job',
  );
  t.match(job, {
    name: 'train',
    priority: -5,
    tasks: [
      { name: 'ps', count: 2, resources: { cpu: 2000, memory: 1024, gpu: 1, extended: { fpga: 1 } }, env: { A: 'b' }, workingDir: '/tmp', timeLimitMs: 3_600_000 },
      { name: 'worker', command: 'run.sh', args: ['--x'], shell: true },
    ],
    constraints: { sites: ['a', 'b'], selectors: [{ key: 'zone', op: '=', values: ['a'] }, { key: 'disk', op: 'in', values: ['ssd'] }] },
    strategy: 'spread',
    distinctNodes: true,
    gang: true,
    array: 10,
    dependencies: [{ type: 'afterok', job: 'j-1' }, { type: 'afternotok', job: 'j-2' }],
    retries: { max: 3, backoffMs: 30_000 },
    idempotencyKey: 'k-1',
  });
});

t.test('every problem is reported at once, with its path', async (t) => {
  const result = validateJob({
    queue: 'Bad Queue',
    priority: 1.5,
    tasks: [{ resources: { cpu: 'lots', memory: '12Qi' }, command: [], colour: 'red' }],
    strategy: 'random',
    gang: 'yes',
  });
  expectProblems(
    t,
    result,
    [
      ['queue', 'MUSTER_ERR_INVALID_NAME'],
      ['priority', 'MUSTER_ERR_INVALID_TYPE'],
      ['tasks[0].colour', 'MUSTER_ERR_UNKNOWN_FIELD'],
      ['tasks[0].resources.cpu', 'MUSTER_ERR_INVALID_QUANTITY'],
      ['tasks[0].resources.memory', 'MUSTER_ERR_INVALID_QUANTITY'],
      ['tasks[0].command', 'MUSTER_ERR_REQUIRED'],
      ['strategy', 'MUSTER_ERR_INVALID_VALUE'],
      ['gang', 'MUSTER_ERR_INVALID_TYPE'],
    ],
    'all problems',
  );
  if (!result.ok) {
    const memory = result.problems.find((p) => p.path === 'tasks[0].resources.memory');
    t.equal(memory?.message, '"12Qi" is not a memory quantity (write 512Mi, 4Gi or 1G)');
  }
});

// Each rule: a spec that breaks it, and the [path, code] problems it must produce.
const rules: [string, Raw | unknown, [string, string][]][] = [
  ['not an object', 'hello', [['', 'MUSTER_ERR_INVALID_TYPE']]],
  ['an array is not a job', [], [['', 'MUSTER_ERR_INVALID_TYPE']]],
  ['queue missing', { tasks: [taskSpec()] }, [['queue', 'MUSTER_ERR_REQUIRED']]],
  ['tasks missing', { queue: 'q' }, [['tasks', 'MUSTER_ERR_REQUIRED']]],
  ['tasks empty', jobSpec({ tasks: [] }), [['tasks', 'MUSTER_ERR_REQUIRED']]],
  ['tasks not an array', jobSpec({ tasks: {} }), [['tasks', 'MUSTER_ERR_INVALID_TYPE']]],
  ['unknown top-level field', jobSpec({ colour: 'red' }), [['colour', 'MUSTER_ERR_UNKNOWN_FIELD']]],
  ['name not a name', jobSpec({ name: 'Hello World' }), [['name', 'MUSTER_ERR_INVALID_NAME']]],
  ['name starting with -', jobSpec({ name: '-x' }), [['name', 'MUSTER_ERR_INVALID_NAME']]],
  ['queue too deep', jobSpec({ queue: 'a/b/c/d/e' }), [['queue', 'MUSTER_ERR_LIMIT_EXCEEDED']]],
  ['queue with empty segment', jobSpec({ queue: 'a//b' }), [['queue', 'MUSTER_ERR_INVALID_NAME']]],
  ['priority out of range', jobSpec({ priority: limits.MAX_PRIORITY + 1 }), [['priority', 'MUSTER_ERR_INVALID_VALUE']]],
  ['priority below range', jobSpec({ priority: -limits.MAX_PRIORITY - 1 }), [['priority', 'MUSTER_ERR_INVALID_VALUE']]],
  ['count zero', jobSpec({ tasks: [taskSpec({ count: 0 })] }), [['tasks[0].count', 'MUSTER_ERR_INVALID_VALUE']]],
  ['count fractional', jobSpec({ tasks: [taskSpec({ count: 1.5 })] }), [['tasks[0].count', 'MUSTER_ERR_INVALID_TYPE']]],
  ['resources missing', jobSpec({ tasks: [{ command: 'x' }] }), [['tasks[0].resources', 'MUSTER_ERR_REQUIRED']]],
  ['unknown resource', jobSpec({ tasks: [taskSpec({ resources: { cpu: 1, disk: '1Gi' } })] }), [['tasks[0].resources.disk', 'MUSTER_ERR_UNKNOWN_FIELD']]],
  ['negative gpu', jobSpec({ tasks: [taskSpec({ resources: { gpu: -1 } })] }), [['tasks[0].resources.gpu', 'MUSTER_ERR_INVALID_QUANTITY']]],
  ['NaN cpu', jobSpec({ tasks: [taskSpec({ resources: { cpu: Number.NaN } })] }), [['tasks[0].resources.cpu', 'MUSTER_ERR_INVALID_QUANTITY']]],
  ['extended named like a core resource', jobSpec({ tasks: [taskSpec({ resources: { extended: { gpu: 1 } } })] }), [['tasks[0].resources.extended.gpu', 'MUSTER_ERR_INVALID_NAME']]],
  ['extended bad name', jobSpec({ tasks: [taskSpec({ resources: { extended: { 'Big FPGA': 1 } } })] }), [['tasks[0].resources.extended["Big FPGA"]', 'MUSTER_ERR_INVALID_NAME']]],
  ['extended fractional', jobSpec({ tasks: [taskSpec({ resources: { extended: { fpga: 0.5 } } })] }), [['tasks[0].resources.extended.fpga', 'MUSTER_ERR_INVALID_QUANTITY']]],
  ['command missing', jobSpec({ tasks: [{ resources: {} }] }), [['tasks[0].command', 'MUSTER_ERR_REQUIRED']]],
  ['command blank', jobSpec({ tasks: [taskSpec({ command: '  ' })] }), [['tasks[0].command', 'MUSTER_ERR_REQUIRED']]],
  ['command word not a string', jobSpec({ tasks: [taskSpec({ command: ['echo', 3] })] }), [['tasks[0].command[1]', 'MUSTER_ERR_INVALID_TYPE']]],
  ['command array and args', jobSpec({ tasks: [taskSpec({ command: ['echo'], args: ['x'] })] }), [['tasks[0].args', 'MUSTER_ERR_INVALID_VALUE']]],
  ['args not strings', jobSpec({ tasks: [taskSpec({ command: 'echo', args: [1] })] }), [['tasks[0].args[0]', 'MUSTER_ERR_INVALID_TYPE']]],
  ['shell not boolean', jobSpec({ tasks: [taskSpec({ shell: 'yes' })] }), [['tasks[0].shell', 'MUSTER_ERR_INVALID_TYPE']]],
  ['env value not a string', jobSpec({ tasks: [taskSpec({ env: { PORT: 80 } })] }), [['tasks[0].env.PORT', 'MUSTER_ERR_INVALID_TYPE']]],
  ['env bad name', jobSpec({ tasks: [taskSpec({ env: { '1X': 'a' } })] }), [['tasks[0].env["1X"]', 'MUSTER_ERR_INVALID_NAME']]],
  ['workingDir not a string', jobSpec({ tasks: [taskSpec({ workingDir: 5 })] }), [['tasks[0].workingDir', 'MUSTER_ERR_INVALID_TYPE']]],
  ['timeLimit bad', jobSpec({ tasks: [taskSpec({ timeLimit: '1 hour' })] }), [['tasks[0].timeLimit', 'MUSTER_ERR_INVALID_DURATION']]],
  ['timeLimit zero', jobSpec({ tasks: [taskSpec({ timeLimit: '0s' })] }), [['tasks[0].timeLimit', 'MUSTER_ERR_INVALID_DURATION']]],
  ['timeLimit too long', jobSpec({ tasks: [taskSpec({ timeLimit: '366d' })] }), [['tasks[0].timeLimit', 'MUSTER_ERR_INVALID_DURATION']]],
  ['duplicate group names', jobSpec({ tasks: [taskSpec({ name: 'x' }), taskSpec({ name: 'x' })] }), [['tasks[1].name', 'MUSTER_ERR_INVALID_VALUE']]],
  ['constraints not an object', jobSpec({ constraints: [] }), [['constraints', 'MUSTER_ERR_INVALID_TYPE']]],
  ['site not a name', jobSpec({ constraints: { sites: ['Site A'] } }), [['constraints.sites[0]', 'MUSTER_ERR_INVALID_NAME']]],
  ['selector unparseable', jobSpec({ constraints: { selectors: ['zone<a'] } }), [['constraints.selectors[0]', 'MUSTER_ERR_INVALID_SELECTOR']]],
  ['selector object with bad op', jobSpec({ constraints: { selectors: [{ key: 'zone', op: 'like', value: 'a' }] } }), [['constraints.selectors[0].op', 'MUSTER_ERR_INVALID_VALUE']]],
  ['selector = with two values', jobSpec({ constraints: { selectors: [{ key: 'zone', op: '=', values: ['a', 'b'] }] } }), [['constraints.selectors[0]', 'MUSTER_ERR_INVALID_SELECTOR']]],
  ['selector exists with a value', jobSpec({ constraints: { selectors: [{ key: 'zone', op: 'exists', value: 'a' }] } }), [['constraints.selectors[0]', 'MUSTER_ERR_INVALID_SELECTOR']]],
  ['selector value and values', jobSpec({ constraints: { selectors: [{ key: 'zone', op: 'in', value: 'a', values: ['b'] }] } }), [['constraints.selectors[0]', 'MUSTER_ERR_INVALID_SELECTOR']]],
  ['selector bad value', jobSpec({ constraints: { selectors: [{ key: 'zone', op: '=', value: 'a b' }] } }), [['constraints.selectors[0].value', 'MUSTER_ERR_INVALID_VALUE']]],
  ['strategy unknown', jobSpec({ strategy: 'firstfit' }), [['strategy', 'MUSTER_ERR_INVALID_VALUE']]],
  ['distinctNodes not boolean', jobSpec({ distinctNodes: 1 }), [['distinctNodes', 'MUSTER_ERR_INVALID_TYPE']]],
  ['array zero', jobSpec({ array: 0 }), [['array', 'MUSTER_ERR_INVALID_VALUE']]],
  ['array not a number', jobSpec({ array: '10' }), [['array', 'MUSTER_ERR_INVALID_TYPE']]],
  ['dependency without type', jobSpec({ dependencies: ['j-1'] }), [['dependencies[0]', 'MUSTER_ERR_INVALID_VALUE']]],
  ['dependency of unknown type', jobSpec({ dependencies: ['after:j-1'] }), [['dependencies[0]', 'MUSTER_ERR_INVALID_VALUE']]],
  ['dependency on a bad id', jobSpec({ dependencies: ['afterok:has space'] }), [['dependencies[0]', 'MUSTER_ERR_INVALID_NAME']]],
  ['dependency object missing job', jobSpec({ dependencies: [{ type: 'afterok' }] }), [['dependencies[0].job', 'MUSTER_ERR_REQUIRED']]],
  ['retries negative', jobSpec({ retries: { max: -1 } }), [['retries.max', 'MUSTER_ERR_INVALID_VALUE']]],
  ['retries bad backoff', jobSpec({ retries: { max: 1, backoff: 'soon' } }), [['retries.backoff', 'MUSTER_ERR_INVALID_DURATION']]],
  ['retries unknown field', jobSpec({ retries: { max: 1, jitter: true } }), [['retries.jitter', 'MUSTER_ERR_UNKNOWN_FIELD']]],
  ['idempotencyKey empty', jobSpec({ idempotencyKey: '' }), [['idempotencyKey', 'MUSTER_ERR_INVALID_VALUE']]],
  ['idempotencyKey not a string', jobSpec({ idempotencyKey: 7 }), [['idempotencyKey', 'MUSTER_ERR_INVALID_TYPE']]],
  ['gracePeriod bad', jobSpec({ gracePeriod: 'a while' }), [['gracePeriod', 'MUSTER_ERR_INVALID_DURATION']]],
  ['gracePeriod a bare number', jobSpec({ gracePeriod: -5 }), [['gracePeriod', 'MUSTER_ERR_INVALID_DURATION']]],
  ['gracePeriod past the most', jobSpec({ gracePeriod: '11m' }), [['gracePeriod', 'MUSTER_ERR_LIMIT_EXCEEDED']]],
  ['preemptible not boolean', jobSpec({ preemptible: 'no' }), [['preemptible', 'MUSTER_ERR_INVALID_TYPE']]],
  ['mayPreempt not boolean', jobSpec({ mayPreempt: 1 }), [['mayPreempt', 'MUSTER_ERR_INVALID_TYPE']]],
];

t.test('preemption fields: normalized to what differs from the defaults, the grace period at its bound', async (t) => {
  const plain = validateJob(jobSpec());
  t.ok(plain.ok && plain.value.gracePeriodMs === undefined && plain.value.preemptible === undefined && plain.value.mayPreempt === undefined, 'absent: the defaults');
  const defaults = validateJob(jobSpec({ preemptible: true, mayPreempt: false }));
  t.ok(defaults.ok && !('preemptible' in defaults.value) && !('mayPreempt' in defaults.value), 'the defaults written out are not kept');
  const set = validateJob(jobSpec({ gracePeriod: '30s', preemptible: false, mayPreempt: true }));
  t.match(set, { ok: true, value: { gracePeriodMs: 30_000, preemptible: false, mayPreempt: true } });
  t.match(validateJob(jobSpec({ gracePeriod: '0s' })), { ok: true, value: { gracePeriodMs: 0 } }, 'no grace: SIGKILL right after SIGTERM');
  t.match(validateJob(jobSpec({ gracePeriod: `${limits.MAX_GRACE_PERIOD_MS}ms` })), { ok: true, value: { gracePeriodMs: limits.MAX_GRACE_PERIOD_MS } }, 'at the most');
  expectProblems(t, validateJob(jobSpec({ gracePeriod: `${limits.MAX_GRACE_PERIOD_MS + 1}ms` })), [['gracePeriod', 'MUSTER_ERR_LIMIT_EXCEEDED']], 'one past the most');
});

t.test('every validation rule', async (t) => {
  for (const [name, spec, want] of rules) expectProblems(t, validateJob(spec), want, name);
});

/** A limit: a spec at the limit (valid) and one past it (invalid at `path` with `code`). */
const boundaries: [string, (n: number) => Raw, number, string, string][] = [
  ['job name length', (n) => jobSpec({ name: repeat(n) }), limits.MAX_NAME_LENGTH, 'name', 'MUSTER_ERR_LIMIT_EXCEEDED'],
  ['task groups', (n) => jobSpec({ tasks: Array.from({ length: n }, (_, i) => taskSpec({ name: `g${i}` })) }), limits.MAX_TASK_GROUPS, 'tasks', 'MUSTER_ERR_LIMIT_EXCEEDED'],
  ['tasks in one group', (n) => jobSpec({ tasks: [taskSpec({ count: n })] }), limits.MAX_TASKS_PER_JOB, 'tasks[0].count', 'MUSTER_ERR_INVALID_VALUE'],
  ['tasks over all groups', (n) => jobSpec({ tasks: [taskSpec({ name: 'a', count: n - 1 }), taskSpec({ name: 'b', count: 1 })] }), limits.MAX_TASKS_PER_JOB, 'tasks', 'MUSTER_ERR_LIMIT_EXCEEDED'],
  ['command bytes', (n) => jobSpec({ tasks: [taskSpec({ command: repeat(n, 'x') })] }), limits.MAX_COMMAND_BYTES, 'tasks[0].command', 'MUSTER_ERR_LIMIT_EXCEEDED'],
  // UTF-8 bytes, not characters: an argument of 32,767 'é' is 65,534 bytes.
  ['command bytes over args', (n) => jobSpec({ tasks: [taskSpec({ command: repeat(n - 65_534, 'x'), args: [repeat(32_767, 'é')] })] }), limits.MAX_COMMAND_BYTES, 'tasks[0].command', 'MUSTER_ERR_LIMIT_EXCEEDED'],
  ['command arguments', (n) => jobSpec({ tasks: [taskSpec({ command: 'echo', args: Array(n).fill('a') })] }), limits.MAX_COMMAND_ARGS, 'tasks[0].args', 'MUSTER_ERR_LIMIT_EXCEEDED'],
  ['command words', (n) => jobSpec({ tasks: [taskSpec({ command: ['echo', ...Array(n).fill('a')] })] }), limits.MAX_COMMAND_ARGS, 'tasks[0].command', 'MUSTER_ERR_LIMIT_EXCEEDED'],
  ['environment variables', (n) => jobSpec({ tasks: [taskSpec({ env: entries(n, () => 'v', (i) => `V${i}`) })] }), limits.MAX_ENV_VARS, 'tasks[0].env', 'MUSTER_ERR_LIMIT_EXCEEDED'],
  ['environment name length', (n) => jobSpec({ tasks: [taskSpec({ env: { [repeat(n, 'A')]: 'v' } })] }), limits.MAX_ENV_KEY_LENGTH, `tasks[0].env["${repeat(MAX_ECHO_CHARS, 'A')}…"]`, 'MUSTER_ERR_LIMIT_EXCEEDED'],
  ['environment value bytes', (n) => jobSpec({ tasks: [taskSpec({ env: { V: repeat(n, 'v') } })] }), limits.MAX_ENV_VALUE_BYTES, 'tasks[0].env.V', 'MUSTER_ERR_LIMIT_EXCEEDED'],
  ['working directory length', (n) => jobSpec({ tasks: [taskSpec({ workingDir: `/${repeat(n - 1, 'd')}` })] }), limits.MAX_PATH_LENGTH, 'tasks[0].workingDir', 'MUSTER_ERR_LIMIT_EXCEEDED'],
  ['extended resources', (n) => jobSpec({ tasks: [taskSpec({ resources: { extended: entries(n, () => 1, (i) => `r${i}`) } })] }), limits.MAX_EXTENDED_RESOURCES, 'tasks[0].resources.extended', 'MUSTER_ERR_LIMIT_EXCEEDED'],
  ['sites', (n) => jobSpec({ constraints: { sites: Array.from({ length: n }, (_, i) => `s${i}`) } }), limits.MAX_SITES_PER_JOB, 'constraints.sites', 'MUSTER_ERR_LIMIT_EXCEEDED'],
  ['selectors', (n) => jobSpec({ constraints: { selectors: Array.from({ length: n }, (_, i) => `k${i}=v`) } }), limits.MAX_SELECTORS, 'constraints.selectors', 'MUSTER_ERR_LIMIT_EXCEEDED'],
  ['selector values (written)', (n) => jobSpec({ constraints: { selectors: [`k in (${Array.from({ length: n }, (_, i) => `v${i}`).join(',')})`] } }), limits.MAX_SELECTOR_VALUES, 'constraints.selectors[0]', 'MUSTER_ERR_INVALID_SELECTOR'],
  ['selector values (object)', (n) => jobSpec({ constraints: { selectors: [{ key: 'k', op: 'in', values: Array.from({ length: n }, (_, i) => `v${i}`) }] } }), limits.MAX_SELECTOR_VALUES, 'constraints.selectors[0].values', 'MUSTER_ERR_LIMIT_EXCEEDED'],
  ['selector value length', (n) => jobSpec({ constraints: { selectors: [`k=${repeat(n, 'v')}`] } }), limits.MAX_LABEL_VALUE_LENGTH, 'constraints.selectors[0]', 'MUSTER_ERR_INVALID_SELECTOR'],
  ['array size', (n) => jobSpec({ array: n }), limits.MAX_ARRAY_SIZE, 'array', 'MUSTER_ERR_INVALID_VALUE'],
  ['dependencies', (n) => jobSpec({ dependencies: Array.from({ length: n }, (_, i) => `afterany:j-${i}`) }), limits.MAX_DEPENDENCIES, 'dependencies', 'MUSTER_ERR_LIMIT_EXCEEDED'],
  ['retries', (n) => jobSpec({ retries: { max: n } }), limits.MAX_RETRIES, 'retries.max', 'MUSTER_ERR_INVALID_VALUE'],
  ['idempotency key length', (n) => jobSpec({ idempotencyKey: repeat(n, 'k') }), limits.MAX_IDEMPOTENCY_KEY_LENGTH, 'idempotencyKey', 'MUSTER_ERR_LIMIT_EXCEEDED'],
  ['priority', (n) => jobSpec({ priority: n }), limits.MAX_PRIORITY, 'priority', 'MUSTER_ERR_INVALID_VALUE'],
  ['cpu quantity', (n) => jobSpec({ tasks: [taskSpec({ resources: { cpu: `${n}m` } })] }), limits.MAX_QUANTITY, 'tasks[0].resources.cpu', 'MUSTER_ERR_INVALID_QUANTITY'],
  ['backoff', (n) => jobSpec({ retries: { max: 1, backoff: `${n}ms` } }), limits.MAX_DURATION_MS, 'retries.backoff', 'MUSTER_ERR_INVALID_DURATION'],
];

t.test('every limit holds at its boundary', async (t) => {
  for (const [name, build, limit, path, code] of boundaries) {
    expectValid(t, validateJob(build(limit)), `${name} at the limit (${limit})`);
    expectProblems(t, validateJob(build(limit + 1)), [[path, code]], `${name} one past the limit (${limit + 1})`);
  }
});
