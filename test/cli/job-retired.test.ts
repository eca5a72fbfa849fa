/** `muster job` marks a job the server answered from its history (retired from the live state). */
import t from 'tap';
import { jobLines } from '../../src/cli/job.js';

const job = {
  id: 'j-7',
  tenant: 'acme',
  queue: 'default',
  status: 'succeeded',
  submittedAt: 0,
  endedAt: 1000,
  tasks: { total: 1, pending: 0, placed: 0, running: 0, succeeded: 1, failed: 0, cancelled: 0 },
  spec: {},
  taskList: [{ index: 0, state: 'succeeded', attempt: 1, failures: 0, node: 'n1' }],
};

t.test('the status line says retired only for a retired job', async (t) => {
  const status = (lines: string[]): string | undefined => lines.find((l) => l.startsWith('status'));
  t.match(status(jobLines({ ...job, retired: true } as never)), /succeeded \(retired: read from the history\)/);
  t.notMatch(status(jobLines(job as never)), /retired/);
});
