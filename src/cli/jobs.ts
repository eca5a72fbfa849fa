import type { JobView } from '../client/index.js';
import { printJson, clientCommand, UsageError } from './connection.js';
import { EXIT_OK } from './io.js';
import { age, renderTable } from './table.js';
import type { Column } from './table.js';

/** Most jobs on one page, as the server allows (PROTOCOL.md, HTTP routes: paging). */
const MAX_PAGE = 1_000;

const COLUMNS: readonly Column<JobView>[] = [
  { header: 'ID', cell: (j) => j.id },
  { header: 'NAME', cell: (j) => j.name ?? '' },
  { header: 'TENANT', cell: (j) => j.tenant },
  { header: 'QUEUE', cell: (j) => j.queue },
  { header: 'STATUS', cell: (j) => j.status },
  // Succeeded of all tasks, then what runs and what failed or was cancelled: `3/10 (2 running, 1 failed)`.
  // (Counting failed tasks as done would make a job whose every task failed read `100/100`, like a success.)
  { header: 'TASKS', cell: (j) => `${j.tasks.succeeded}/${j.tasks.total}${taskNotes(j.tasks)}` },
  { header: 'AGE', cell: (j) => age(j.submittedAt), right: true },
];

function taskNotes(tasks: JobView['tasks']): string {
  const notes = (['running', 'failed', 'cancelled'] as const).filter((state) => tasks[state] > 0).map((state) => `${tasks[state]} ${state}`);
  return notes.length > 0 ? ` (${notes.join(', ')})` : '';
}

export function jobsTable(jobs: readonly JobView[]): string[] {
  return renderTable(COLUMNS, jobs);
}

export const jobsCommand = clientCommand({
  name: 'jobs',
  summary: 'list jobs (filters by queue, tenant and status; paged)',
  usage: `usage: muster jobs [--queue QUEUE] [--tenant TENANT] [--status STATUS] [--limit N] [--after CURSOR | --all]

Lists jobs in submission order, one page at a time (default 100, at most ${MAX_PAGE}). When there are more,
prints the command for the next page on stderr; --all follows every page.
  --status STATUS   pending, running, succeeded, failed, cancelled, ...`,
  options: {
    queue: { type: 'string', short: 'q' },
    tenant: { type: 'string' },
    status: { type: 'string' },
    limit: { type: 'string' },
    after: { type: 'string' },
    all: { type: 'boolean' },
  },
  positionals: { min: 0, max: 0, name: '' },
  async run({ values, format, client, io }) {
    let limit: number | undefined;
    if (values.limit !== undefined) {
      limit = Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new UsageError(`--limit: ${JSON.stringify(values.limit)} is not an integer from 1 to ${MAX_PAGE}`);
    }
    if (values.all && values.after !== undefined) throw new UsageError('--all and --after do not go together');
    const query = {
      ...(values.queue !== undefined ? { queue: values.queue } : {}),
      ...(values.tenant !== undefined ? { tenant: values.tenant } : {}),
      ...(values.status !== undefined ? { status: values.status } : {}),
      ...(limit !== undefined ? { limit } : {}),
    };
    if (values.all) {
      const jobs: JobView[] = [];
      for await (const job of client.allJobs(query)) jobs.push(job);
      if (format === 'json') printJson(io, { jobs });
      else for (const line of jobsTable(jobs)) io.out(line);
      return EXIT_OK;
    }
    const page = await client.jobs({ ...query, ...(values.after !== undefined ? { after: values.after } : {}) });
    if (format === 'json') {
      printJson(io, page);
      return EXIT_OK;
    }
    for (const line of jobsTable(page.jobs)) io.out(line);
    // The next page's command keeps this one's filters: without them it would page through other jobs.
    const filters = Object.entries(query).map(([name, value]) => ` --${name} ${String(value)}`).join('');
    if (page.next !== undefined) io.err(`more: muster jobs${filters} --after ${page.next} (or --all)`);
    return EXIT_OK;
  },
});
