import type { AttemptView, JobDetailView, TaskView } from '../client/index.js';
import { printJson, clientCommand } from './connection.js';
import { EXIT_OK } from './io.js';
import { duration, renderFields, renderTable, stamp, when } from './table.js';
import type { Column } from './table.js';

const TASK_COLUMNS: readonly Column<TaskView>[] = [
  { header: 'TASK', cell: (t) => String(t.index), right: true },
  { header: 'STATE', cell: (t) => t.state },
  { header: 'ATTEMPT', cell: (t) => String(t.attempt), right: true },
  { header: 'FAILURES', cell: (t) => String(t.failures), right: true },
  { header: 'NODE', cell: (t) => t.node ?? '' },
];

/** One attempt of one task, as a row of the attempts table. */
interface AttemptRow extends AttemptView {
  readonly task: number;
}

/** How long an attempt ran: start to end, or to `now` while it runs; '-' for one that never started. */
export function attemptElapsed(a: AttemptView, now: number = Date.now()): string {
  if (a.startedAt === undefined) return '-';
  return duration((a.endedAt ?? now) - a.startedAt);
}

const ATTEMPT_COLUMNS: readonly Column<AttemptRow>[] = [
  { header: 'TASK', cell: (a) => String(a.task), right: true },
  { header: 'ATTEMPT', cell: (a) => String(a.attempt), right: true },
  { header: 'NODE', cell: (a) => a.node },
  { header: 'STARTED', cell: (a) => (a.startedAt !== undefined ? stamp(a.startedAt) : '-') },
  { header: 'ENDED', cell: (a) => (a.endedAt !== undefined ? stamp(a.endedAt) : '-') },
  { header: 'ELAPSED', cell: (a) => attemptElapsed(a), right: true },
  // An attempt without an end yet is `placed` until it starts, then `running`.
  { header: 'OUTCOME', cell: (a) => a.outcome ?? (a.startedAt !== undefined ? 'running' : 'placed') },
  { header: 'EXIT', cell: (a) => (a.exitCode !== undefined ? String(a.exitCode) : '-'), right: true },
  { header: 'REASON', cell: (a) => attemptReason(a) },
];

/** An attempt's reason; a preempted one says for whom and when (its own reason is only the kill's, `preempted`). */
export function attemptReason(a: AttemptView): string {
  if (a.preemptedBy === undefined) return a.reason ?? '';
  const at = a.preemptedAt !== undefined ? ` at ${stamp(a.preemptedAt)}` : '';
  return `preempted by job ${a.preemptedBy.job} of queue ${a.preemptedBy.queue}${at}`;
}

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
  const attempts = job.taskList.flatMap((task) => (task.attempts ?? []).map((a): AttemptRow => ({ ...a, task: task.index })));
  if (attempts.length > 0) lines.push('', 'attempts:', ...renderTable(ATTEMPT_COLUMNS, attempts));
  return lines;
}

export const jobCommand = clientCommand({
  name: 'job',
  summary: 'show one job, its tasks and every attempt of each',
  usage: `usage: muster job ID

Shows the job, its status and each of its tasks (state, attempt, failures, node), then every attempt of
every task: its node, when it started and ended, how long it ran, its outcome (succeeded, failed,
timeout, lost, killed; placed or running while it lives), its exit code and the reason it ended (a task
that could not start says why). -o json adds the normalised spec. A job the server has retired from its
live state (retention) is read from its history and shown as retired.`,
  options: {},
  positionals: { min: 1, max: 1, name: 'job ID' },
  async run({ positionals, format, client, io }) {
    const job = await client.job(positionals[0] as string);
    if (format === 'json') printJson(io, job);
    else for (const line of jobLines(job)) io.out(line);
    return EXIT_OK;
  },
});
