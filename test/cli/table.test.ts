import t from 'tap';
import { age, amount, duration, renderCsv, renderFields, renderTable, usage } from '../../src/cli/table.js';
import { jobsTable, parseTime } from '../../src/cli/jobs.js';
import { chooseColumns, DEFAULT_JOB_COLUMNS, JOB_COLUMNS } from '../../src/cli/job-list-columns.js';
import { nodesTable } from '../../src/cli/nodes.js';
import { eventLine } from '../../src/cli/watch.js';
import { whyLines } from '../../src/cli/why.js';
import type { JobView, NodeView } from '../../src/client/index.js';

t.test('columns are padded to their widest cell, numbers right-aligned, no trailing spaces', async (t) => {
  const lines = renderTable(
    [
      { header: 'NAME', cell: (r: { name: string; n: number }) => r.name },
      { header: 'N', cell: (r) => String(r.n), right: true },
      { header: 'NOTE', cell: () => '' },
    ],
    [
      { name: 'a', n: 100 },
      { name: 'longer\tname', n: 7 },
    ],
  );
  t.same(lines, ['NAME           N  NOTE', 'a            100', 'longer name    7']);
  t.same(renderTable([{ header: 'X', cell: () => '' }], []), ['X'], 'no rows: the header alone');
});

t.test('fields are aligned after their keys; absent values are left out', async (t) => {
  t.same(renderFields([['id', 'j-1'], ['name', undefined], ['submitted', 'now']]), ['id:         j-1', 'submitted:  now']);
});

t.test('ages and amounts', async (t) => {
  const now = 1_000_000_000;
  const ages: [number, string][] = [
    [0, '0s'],
    [119_000, '119s'],
    [120_000, '2m'],
    [7_199_000, '119m'],
    [7_200_000, '2h'],
    [172_800_000, '2d'],
    [-5000, '0s'],
  ];
  for (const [ago, want] of ages) t.equal(age(now - ago, now), want, `${ago} ms ago`);
  const used = { cpu: 1500, memory: 2048, gpu: 0 };
  const total = { cpu: 8000, memory: 32768, gpu: 2 };
  t.equal(usage('cpu', used, total), '1500m/8');
  t.equal(usage('memory', used, total), '2Gi/32Gi');
  const memory = (u: number, c: number): string => usage('memory', { cpu: 0, memory: u, gpu: 0 }, { cpu: 0, memory: c, gpu: 0 });
  t.same([memory(1536, 32768), memory(0, 32768), memory(3000, 32768), memory(100, 512), memory(512, 2 * 1024 * 1024)], ['1.5Gi/32Gi', '0Gi/32Gi', '2.9Gi/32Gi', '100Mi/512Mi', '0Ti/2Ti'], 'memory in the one unit of the total');
  t.equal(usage('gpu', used, total), '0/2');
  t.equal(amount('cpu', undefined), '-');
});

t.test('a jobs table', async (t) => {
  const now = Date.now();
  const job: JobView = {
    id: 'j-1',
    tenant: 'acme',
    queue: 'default',
    name: 'hello',
    status: 'running',
    submittedAt: now - 30_000,
    startedAt: now - 12_000,
    command: 'echo hello',
    tasks: { total: 10, pending: 2, placed: 1, running: 4, succeeded: 2, failed: 1, cancelled: 0 },
  };
  const failed: JobView = { ...job, id: 'j-22', name: undefined as never, status: 'failed', endedAt: now - 1_000, exitCode: 3, reason: 'task 0 failed after 1 attempt(s) (exit code 3)' };
  const lines = jobsTable([job, failed]);
  t.match(lines[0], /^ID\s+NAME\s+TENANT\s+QUEUE\s+STATUS\s+TASKS\s+EXIT\s+ELAPSED\s+AGE\s+REASON$/);
  t.match(lines[1], /^j-1\s+hello\s+acme\s+default\s+running\s+2\/10 \(4 running, 1 failed\)\s+-\s+1\d\.\ds\s+3\ds$/);
  t.match(lines[2], /^j-22\s+acme\s+default\s+failed\s+.*\s+3\s+11\.0s\s+3\ds\s+task 0 failed after 1 attempt\(s\) \(exit code 3\)$/);
  const allFailed: JobView = { ...job, id: 'j-3', status: 'failed', tasks: { total: 100, pending: 0, placed: 0, running: 0, succeeded: 0, failed: 100, cancelled: 0 } };
  t.match(jobsTable([allFailed])[1], /^j-3\s+hello\s+acme\s+default\s+failed\s+0\/100 \(100 failed\)\s/, 'a job whose every task failed does not read 100/100');
});

t.test('job columns chosen by name, and CSV', async (t) => {
  const job: JobView = { id: 'j-7', tenant: 'acme', queue: 'q', status: 'succeeded', submittedAt: Date.UTC(2026, 0, 2, 3, 4, 5), startedAt: Date.UTC(2026, 0, 2, 3, 4, 6), endedAt: Date.UTC(2026, 0, 2, 3, 5, 36), exitCode: 0, command: 'sh -c "echo a, b"', tasks: { total: 1, pending: 0, placed: 0, running: 0, succeeded: 1, failed: 0, cancelled: 0 } };
  const columns = chooseColumns('id,Exit,ELAPSED,submitted,command', DEFAULT_JOB_COLUMNS);
  t.same(renderCsv(columns, [job]), ['ID,EXIT,ELAPSED,SUBMITTED,COMMAND', 'j-7,0,1m30s,2026-01-02T03:04:05Z,"sh -c ""echo a, b"""']);
  t.same(renderTable(chooseColumns('id,command', DEFAULT_JOB_COLUMNS), [job]), ['ID   COMMAND', 'j-7  sh -c "echo a, b"']);
  t.throws(() => chooseColumns('id,nope', DEFAULT_JOB_COLUMNS), { code: 'MUSTER_ERR_USAGE', message: /^--format: "NOPE" is not a column \(choose from id, name, / });
  t.same(JOB_COLUMNS.map((c) => c.header), ['ID', 'NAME', 'TENANT', 'QUEUE', 'STATUS', 'TASKS', 'EXIT', 'ELAPSED', 'AGE', 'SUBMITTED', 'ENDED', 'COMMAND', 'REASON'], 'the wide table');
});

t.test('durations and times for --since and --until', async (t) => {
  t.same([400, 12_300, 184_000, 7_380_000, 273_600_000].map((ms) => duration(ms)), ['0.4s', '12.3s', '3m04s', '2h03m', '3d04h']);
  const now = Date.UTC(2026, 11, 7, 12, 0, 0);
  t.equal(parseTime('2h', '--since', now), now - 7_200_000);
  t.equal(parseTime('2026-12-07', '--since', now), Date.UTC(2026, 11, 7));
  t.equal(parseTime('2026-12-07T10:30:00Z', '--until', now), Date.UTC(2026, 11, 7, 10, 30));
  t.throws(() => parseTime('yesterday', '--since', now), { code: 'MUSTER_ERR_USAGE', message: /^--since: "yesterday" is neither a date/ });
});

t.test('a nodes table shows allocated/capacity, allocations and labels', async (t) => {
  const node: NodeView = {
    name: 'n1',
    site: 'a',
    state: 'ready',
    capacity: { cpu: 8000, memory: 32768, gpu: 0 },
    allocated: { cpu: 500, memory: 1024, gpu: 0 },
    labels: { disk: 'ssd', zone: 'z1' },
    allocations: [{}, {}],
  };
  t.same(nodesTable([node]), ['NAME  SITE  STATE     CPU    MEMORY  GPU  ALLOCS  LABELS', 'n1    a     ready  500m/8  1Gi/32Gi  0/0       2  disk=ssd,zone=z1']);
});

t.test('event lines and why-pending text', async (t) => {
  t.equal(
    eventLine({ seq: 7, at: Date.UTC(2026, 0, 2, 3, 4, 5), type: 'task-ended', job: 'j-1', tenant: 't', queue: 'q', task: 0, attempt: 1, node: 'n1', outcome: 'failed', exitCode: 2 }),
    '7 2026-01-02T03:04:05.000Z task-ended       j-1 queue=q task=0 attempt=1 node=n1 outcome=failed exitCode=2',
  );
  t.same(
    whyLines({ job: 'j-1', status: 'pending', position: 3, reasons: [{ site: 'a', kind: 'nodes', message: 'too little free cpu on 10 nodes' }, { kind: 'queue-limit', message: 'at its limit' }], suggestion: '4 cpu free on one node' }),
    ['j-1 is pending (position 3 in its queue)', '  site a: nodes: too little free cpu on 10 nodes', '  queue-limit: at its limit', 'needs: 4 cpu free on one node'],
  );
  t.same(whyLines({ job: 'j-3', status: 'pending', position: null, reasons: [{ reason: 'insufficient-cpu', nodes: 1, message: 'm' }], needs: 'n' }), [
    'j-3 is pending (not yet in its queue order)',
    '  insufficient-cpu (1 node): m',
    'needs: n',
  ], 'the first draft of PROTOCOL.md: reason and needs');
  t.same(whyLines({ job: 'j-2', status: 'running', message: 'it runs' }), ['j-2 is running: it runs']);
});
