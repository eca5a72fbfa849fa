import type { JobDetailView, TaskView } from '../client/index.js';
import { printJson, clientCommand } from './connection.js';
import { EXIT_OK } from './io.js';
import { renderFields, renderTable, when } from './table.js';
import type { Column } from './table.js';

const TASK_COLUMNS: readonly Column<TaskView>[] = [
  { header: 'TASK', cell: (t) => String(t.index), right: true },
  { header: 'STATE', cell: (t) => t.state },
  { header: 'ATTEMPT', cell: (t) => String(t.attempt), right: true },
  { header: 'FAILURES', cell: (t) => String(t.failures), right: true },
  { header: 'NODE', cell: (t) => t.node ?? '' },
];

export function jobLines(job: JobDetailView): string[] {
  const t = job.tasks;
  const lines = renderFields([
    ['id', job.id],
    ['name', job.name],
    ['tenant', job.tenant],
    ['queue', job.queue],
    ['status', job.retired ? `${job.status} (retired: read from the history)` : job.status],
    ['reason', job.reason],
    ['submitted', when(job.submittedAt)],
    ['ended', job.endedAt !== undefined ? when(job.endedAt) : undefined],
    ['tasks', `${t.total}: ${t.pending} pending, ${t.placed} placed, ${t.running} running, ${t.succeeded} succeeded, ${t.failed} failed, ${t.cancelled} cancelled`],
  ]);
  if (job.taskList.length > 0) lines.push('', ...renderTable(TASK_COLUMNS, job.taskList));
  return lines;
}

export const jobCommand = clientCommand({
  name: 'job',
  summary: 'show one job and its tasks',
  usage: `usage: muster job ID

Shows the job, its status and each of its tasks (state, attempt, failures, node). -o json adds the
normalised spec. A job the server has retired from its live state (retention) is read from its history
and shown as retired.`,
  options: {},
  positionals: { min: 1, max: 1, name: 'job ID' },
  async run({ positionals, format, client, io }) {
    const job = await client.job(positionals[0] as string);
    if (format === 'json') printJson(io, job);
    else for (const line of jobLines(job)) io.out(line);
    return EXIT_OK;
  },
});
