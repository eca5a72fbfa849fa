import type { JobView } from '../client/index.js';
import { parseDuration } from '../model/index.js';
import { printJson, clientCommand, UsageError } from './connection.js';
import type { OutputFormat } from './connection.js';
import type { Io } from './io.js';
import { EXIT_OK } from './io.js';
import { chooseColumns, DEFAULT_JOB_COLUMNS, JOB_COLUMNS } from './job-list-columns.js';
import { renderCsv, renderTable } from './table.js';

/** Most jobs on one page, as the server allows (PROTOCOL.md, HTTP routes: paging). */
const MAX_PAGE = 1_000;

export function jobsTable(jobs: readonly JobView[]): string[] {
  return renderTable(chooseColumns(undefined, DEFAULT_JOB_COLUMNS), jobs);
}

/** The jobs as `-o` and `--format` ask: a table (default or wide) or CSV of the chosen columns. */
function printJobs(io: Io, jobs: readonly JobView[], format: OutputFormat, columns: string | undefined): void {
  const chosen = chooseColumns(columns, format === 'wide' ? JOB_COLUMNS.map((c) => c.header) : DEFAULT_JOB_COLUMNS);
  for (const line of format === 'csv' ? renderCsv(chosen, jobs) : renderTable(chosen, jobs)) io.out(line);
}

/** A time for --since/--until: an ISO 8601 date or date and time, or a duration ago (`2h`, `30m`, `1d`). */
export function parseTime(text: string, flag: string, now: number = Date.now()): number {
  const ago = parseDuration(text);
  if (ago.ok) return now - ago.value;
  const at = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(at) || at < 0) throw new UsageError(`${flag}: ${JSON.stringify(text)} is neither a date (2026-12-07, 2026-12-07T10:00Z) nor a duration ago (2h, 30m, 1d)`);
  return at;
}

/**
 * The flags of this page's filters, for the next page's command: without them it would page through other
 * jobs. Times are given as the instants they were read as, so a `--since 2h` does not move between pages.
 */
function nextPageFlags(query: Readonly<Record<string, string | number>>): string {
  const flags: [string, string | number | undefined][] = [
    ['queue', query['queue']],
    ['tenant', query['tenant']],
    ['state', query['status']],
    ['name', query['name']],
    ['since', query['since'] !== undefined ? new Date(query['since']).toISOString() : undefined],
    ['until', query['until'] !== undefined ? new Date(query['until']).toISOString() : undefined],
    ['limit', query['limit']],
  ];
  return flags
    .filter((f): f is [string, string | number] => f[1] !== undefined)
    .map(([flag, value]) => ` --${flag} ${/^[\w.:@/+-]+$/.test(String(value)) ? String(value) : JSON.stringify(String(value))}`)
    .join('');
}

export const jobsCommand = clientCommand({
  name: 'jobs',
  summary: 'list jobs: status, exit code, elapsed time, reason (filters by state, queue, name, time; paged)',
  usage: `usage: muster jobs [--queue QUEUE] [--tenant TENANT] [--state STATE] [--name NAME]
                   [--since TIME] [--until TIME] [--limit N] [--after CURSOR | --all]
                   [-o table|wide|json|csv] [--format COLUMN,...]

Lists jobs in submission order, one page at a time (default 100, at most ${MAX_PAGE}). When there are more,
prints the command for the next page on stderr; --all follows every page. Every filter is applied by the
server.
  --state STATE     pending, placed, running, succeeded, failed or cancelled (--status is the same)
  --name NAME       jobs of this name
  --since TIME      submitted at or after TIME: a date (2026-12-07, 2026-12-07T10:00Z) or a duration ago (2h)
  --until TIME      submitted before TIME
  -o wide           every column; -o csv: comma-separated values with a header line (for spreadsheets)
  --format COLUMNS  the columns to print, comma-separated: ${JOB_COLUMNS.map((c) => c.header.toLowerCase()).join(', ')}

Columns: EXIT is the exit code that decided how the job ended (0 when it succeeded; that of the task that
failed first); ELAPSED is how long it has run, from its first start; REASON is the last reason it was given
(why it failed or was cancelled).`,
  options: {
    queue: { type: 'string', short: 'q' },
    tenant: { type: 'string' },
    status: { type: 'string' },
    state: { type: 'string' },
    name: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    limit: { type: 'string' },
    after: { type: 'string' },
    all: { type: 'boolean' },
    format: { type: 'string' },
  },
  positionals: { min: 0, max: 0, name: '' },
  formats: ['table', 'wide', 'json', 'csv'],
  async run({ values, format, client, io }) {
    let limit: number | undefined;
    if (values.limit !== undefined) {
      limit = Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new UsageError(`--limit: ${JSON.stringify(values.limit)} is not an integer from 1 to ${MAX_PAGE}`);
    }
    if (values.all && values.after !== undefined) throw new UsageError('--all and --after do not go together');
    if (values.status !== undefined && values.state !== undefined && values.status !== values.state) throw new UsageError('--state and --status are the same filter: give one');
    if (values.format !== undefined && format === 'json') throw new UsageError('--format chooses columns of a table or CSV, not of -o json');
    const status = values.state ?? values.status;
    // Checked before anything is asked, so a wrong name fails at once.
    chooseColumns(values.format, DEFAULT_JOB_COLUMNS);
    const query = {
      ...(values.queue !== undefined ? { queue: values.queue } : {}),
      ...(values.tenant !== undefined ? { tenant: values.tenant } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(values.since !== undefined ? { since: parseTime(values.since, '--since') } : {}),
      ...(values.until !== undefined ? { until: parseTime(values.until, '--until') } : {}),
      ...(limit !== undefined ? { limit } : {}),
    };
    if (values.all) {
      const jobs: JobView[] = [];
      for await (const job of client.allJobs(query)) jobs.push(job);
      if (format === 'json') printJson(io, { jobs });
      else printJobs(io, jobs, format, values.format);
      return EXIT_OK;
    }
    const page = await client.jobs({ ...query, ...(values.after !== undefined ? { after: values.after } : {}) });
    if (format === 'json') {
      printJson(io, page);
      return EXIT_OK;
    }
    printJobs(io, page.jobs, format, values.format);
    if (page.next !== undefined) io.err(`more: muster jobs${nextPageFlags(query)} --after ${page.next} (or --all)`);
    return EXIT_OK;
  },
});
