import t from 'tap';
import { age, amount, renderFields, renderTable, usage } from '../../src/cli/table.js';
import { jobsTable } from '../../src/cli/jobs.js';
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
  t.equal(usage('gpu', used, total), '0/2');
  t.equal(amount('cpu', undefined), '-');
});

t.test('a jobs table', async (t) => {
  const job: JobView = {
    id: 'j-1',
    tenant: 'acme',
    queue: 'default',
    name: 'hello',
    status: 'running',
    submittedAt: Date.now() - 30_000,
    tasks: { total: 10, pending: 2, placed: 1, running: 4, succeeded: 2, failed: 1, cancelled: 0 },
  };
  const allFailed: JobView = { ...job, id: 'j-3', status: 'failed', tasks: { total: 100, pending: 0, placed: 0, running: 0, succeeded: 0, failed: 100, cancelled: 0 } };
  const lines = jobsTable([job, { ...job, id: 'j-22', name: undefined as never, status: 'pending' }, allFailed]);
  t.equal(lines[0], 'ID    NAME   TENANT  QUEUE    STATUS   TASKS                       AGE');
  t.match(lines[1], /^j-1   hello  acme    default  running  2\/10 \(4 running, 1 failed\)  3\ds$/);
  t.match(lines[2], /^j-22         acme    default  pending /);
  t.match(lines[3], /^j-3   hello  acme    default  failed   0\/100 \(100 failed\)\s+3\ds$/, 'a job whose every task failed does not read 100/100');
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
