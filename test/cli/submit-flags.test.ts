import t from 'tap';
import { run } from '../../src/cli/main.js';
import { jobFromFlags } from '../../src/cli/submit.js';
import { validateJob } from '../../src/model/index.js';
import { CaptureIo } from './capture-io.js';

t.test('flags build the written spec a spec file would hold', async (t) => {
  const cases: { name: string; values: Parameters<typeof jobFromFlags>[0]; command: string[]; want: Record<string, unknown> }[] = [
    {
      name: 'defaults',
      values: {},
      command: ['echo', 'hi'],
      want: { queue: 'default', tasks: [{ resources: { cpu: '1', memory: '512Mi' }, command: 'echo', args: ['hi'] }] },
    },
    {
      name: 'every flag',
      values: {
        queue: 'ml/training',
        name: 'train',
        cpu: '500m',
        memory: '2Gi',
        gpu: '1',
        count: '4',
        'time-limit': '1h',
        retries: '2',
        'retry-backoff': '30s',
        array: '10',
        priority: '-5',
        gang: true,
        'distinct-nodes': true,
        strategy: 'spread',
        site: ['a', 'b'],
        selector: ['disk=ssd'],
        after: ['afterok:j-1'],
        env: ['A=1', 'B=x=y'],
        workdir: '/tmp',
        'idempotency-key': 'k-1',
      },
      command: ['python3', 'train.py'],
      want: {
        queue: 'ml/training',
        name: 'train',
        priority: -5,
        tasks: [{ resources: { cpu: '500m', memory: '2Gi', gpu: '1' }, count: 4, command: 'python3', args: ['train.py'], env: { A: '1', B: 'x=y' }, workingDir: '/tmp', timeLimit: '1h' }],
        constraints: { sites: ['a', 'b'], selectors: ['disk=ssd'] },
        strategy: 'spread',
        distinctNodes: true,
        gang: true,
        array: 10,
        dependencies: ['afterok:j-1'],
        retries: { max: 2, backoff: '30s' },
        idempotencyKey: 'k-1',
      },
    },
    {
      name: '--shell joins the words into one script',
      values: { shell: true },
      command: ['echo', '$HOME', '&&', 'true'],
      want: { queue: 'default', tasks: [{ resources: { cpu: '1', memory: '512Mi' }, command: 'echo $HOME && true', shell: true }] },
    },
  ];
  for (const c of cases) {
    const job = jobFromFlags(c.values, c.command);
    t.same(job, c.want, c.name);
    t.ok(validateJob(job).ok, `${c.name}: valid`);
  }
});

/** Runs `muster ARGS` in this process against no server: usage errors never need one. */
async function muster(args: string[]): Promise<{ code: number; io: CaptureIo }> {
  const io = new CaptureIo();
  const code = await run(args, io);
  return { code, io };
}

t.test('a bad flag is MUSTER_ERR_USAGE naming the flag, exit 2, nothing sent', async (t) => {
  const cases: [string[], RegExp][] = [
    [['submit', '--cpu', 'lots', '--', 'true'], /MUSTER_ERR_USAGE: --cpu: "lots" is not a cpu quantity .*MUSTER_ERR_INVALID_QUANTITY at tasks\[0\]\.resources\.cpu/],
    [['submit', '--memory', '12Qi', '--', 'true'], /MUSTER_ERR_USAGE: --memory: /],
    [['submit', '--time-limit', 'soon', '--', 'true'], /MUSTER_ERR_USAGE: --time-limit: /],
    [['submit', '--count', 'two', '--', 'true'], /MUSTER_ERR_USAGE: --count: "two" is not an integer/],
    [['submit', '--count', '0', '--', 'true'], /MUSTER_ERR_USAGE: --count: /],
    [['submit', '--array', '1.5', '--', 'true'], /MUSTER_ERR_USAGE: --array: /],
    [['submit', '--strategy', 'random', '--', 'true'], /MUSTER_ERR_USAGE: --strategy: /],
    [['submit', '--queue', 'Bad Queue', '--', 'true'], /MUSTER_ERR_USAGE: --queue: /],
    [['submit', '--env', 'NOVALUE', '--', 'true'], /MUSTER_ERR_USAGE: --env: "NOVALUE" is not NAME=VALUE/],
    [['submit', '--env', '1X=2', '--', 'true'], /MUSTER_ERR_USAGE: --env: /],
    [['submit', '--after', 'j-1', '--', 'true'], /MUSTER_ERR_USAGE: --after: /],
    [['submit', '--selector', 'a in', '--', 'true'], /MUSTER_ERR_USAGE: --selector: /],
    [['submit', '--retry-backoff', '5s', '--', 'true'], /MUSTER_ERR_USAGE: --retry-backoff needs --retries/],
    [['submit', '--wat', '--', 'true'], /MUSTER_ERR_USAGE: Unknown option '--wat'/],
    [['submit'], /MUSTER_ERR_USAGE: give the command after --/],
    [['submit', '-f', 'x.yaml', '--gpu', '1'], /MUSTER_ERR_USAGE: -f cannot be combined with --gpu/],
    [['submit', '-f', 'x.yaml', '--', 'true'], /MUSTER_ERR_USAGE: -f cannot be combined with a command/],
    [['submit', '-o', 'xml', '--', 'true'], /MUSTER_ERR_USAGE: -o\/--output: "xml" is not one of: table, json/],
    [['submit', '--server', ' ', '--', 'true'], /MUSTER_ERR_USAGE: --server is empty/],
    [['jobs', '--server', 'ftp://x'], /MUSTER_ERR_USAGE: --server: "ftp:\/\/x" is not a server address/],
    [['jobs', '--limit', '5000'], /MUSTER_ERR_USAGE: --limit: "5000" is not an integer from 1 to 1000/],
    [['jobs', '--all', '--after', 'c'], /MUSTER_ERR_USAGE: --all and --after do not go together/],
    [['jobs', 'extra'], /MUSTER_ERR_USAGE: .*extra/],
    [['job'], /MUSTER_ERR_USAGE: name the job ID/],
    [['job', 'a', 'b'], /MUSTER_ERR_USAGE: too many arguments: b/],
    [['why'], /MUSTER_ERR_USAGE: name the job ID/],
    [['cancel'], /MUSTER_ERR_USAGE: name at least one job ID/],
    [['watch', '--from=-1'], /MUSTER_ERR_USAGE: --from: "-1" is not an integer of at least 0/],
    [['watch', '--count', '0'], /MUSTER_ERR_USAGE: --count: /],
    [['nodes', '--site'], /MUSTER_ERR_USAGE: Option '--site <value>' argument missing/],
  ];
  for (const [args, want] of cases) {
    const { code, io } = await muster(args);
    t.equal(code, 2, args.join(' '));
    t.match(io.stderr.join('\n'), want, args.join(' '));
    t.notMatch(io.stderr.join('\n'), /\n\s+at /, 'no stack trace');
  }
});

t.test('invalid spec files: every problem with its place, exit 1, nothing sent', async (t) => {
  const dir = t.testdir({
    'bad.yaml': 'queue: default\ntasks:\n  - resources: { cpu: 1, memory: 12Qi }\n    command: [echo]\n',
    'queue.yaml': 'kind: Queue\ntenant: a\nname: q\n',
  });
  const { code, io } = await muster(['submit', '--server', 'http://127.0.0.1:9', '-f', `${dir}/bad.yaml`, '-f', `${dir}/queue.yaml`, '-f', `${dir}/missing.yaml`]);
  t.equal(code, 1);
  t.same(io.stderr, [
    `${dir}/bad.yaml: tasks[0].resources.memory: MUSTER_ERR_INVALID_QUANTITY: "12Qi" is not a memory quantity (write 512Mi, 4Gi or 1G)`,
    `${dir}/queue.yaml: MUSTER_ERR_INVALID_VALUE: a Queue is not a job; only jobs are submitted`,
    `${dir}/missing.yaml: MUSTER_ERR_INVALID_SPEC: cannot read: ENOENT`,
  ]);
});

t.test('every server command has usage text with the connection flags', async (t) => {
  for (const name of ['submit', 'jobs', 'job', 'why', 'cancel', 'watch', 'queues', 'nodes', 'sites']) {
    const { code, io } = await muster([name, '--help']);
    t.equal(code, 0, name);
    t.match(io.stdout.join('\n'), new RegExp(`^usage: muster ${name}`), name);
    t.match(io.stdout.join('\n'), /--server URL/, name);
  }
});
