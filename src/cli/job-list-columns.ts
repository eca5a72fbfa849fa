/**
 * The columns `muster jobs` can print, by name: the default table's, the wide table's (`-o wide`), and any
 * chosen with `--format NAME,NAME,...` (names are the headers, in any case).
 */
import type { JobView } from '../client/index.js';
import { UsageError } from './usage-error.js';
import { age, duration, stamp } from './table.js';
import type { Column } from './table.js';

/** Succeeded of all tasks, then what runs and what failed or was cancelled: `3/10 (2 running, 1 failed)`. */
function taskCell(tasks: JobView['tasks']): string {
  const notes = (['running', 'failed', 'cancelled'] as const).filter((state) => tasks[state] > 0).map((state) => `${tasks[state]} ${state}`);
  return `${tasks.succeeded}/${tasks.total}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`;
}

/** How long the job has run: from its first attempt's start to its end, or to now while it lives; '-' before it starts. */
export function elapsed(job: JobView, now: number = Date.now()): string {
  return job.startedAt === undefined ? '-' : duration((job.endedAt ?? now) - job.startedAt);
}

/** Every column, in the order of the wide table. */
export const JOB_COLUMNS: readonly Column<JobView>[] = [
  { header: 'ID', cell: (j) => j.id },
  { header: 'NAME', cell: (j) => j.name ?? '' },
  { header: 'TENANT', cell: (j) => j.tenant },
  { header: 'QUEUE', cell: (j) => j.queue },
  { header: 'STATUS', cell: (j) => j.status },
  { header: 'TASKS', cell: (j) => taskCell(j.tasks) },
  { header: 'EXIT', cell: (j) => (j.exitCode !== undefined ? String(j.exitCode) : '-'), right: true },
  { header: 'ELAPSED', cell: (j) => elapsed(j), right: true },
  { header: 'AGE', cell: (j) => age(j.submittedAt), right: true },
  { header: 'SUBMITTED', cell: (j) => stamp(j.submittedAt) },
  { header: 'ENDED', cell: (j) => (j.endedAt !== undefined ? stamp(j.endedAt) : '-') },
  { header: 'COMMAND', cell: (j) => j.command ?? '' },
  // The last reason the job was given (why it failed or was cancelled); last because it is the longest.
  { header: 'REASON', cell: (j) => j.reason ?? '' },
];

/** The default table: who, where, how it stands, and why. */
export const DEFAULT_JOB_COLUMNS: readonly string[] = ['ID', 'NAME', 'TENANT', 'QUEUE', 'STATUS', 'TASKS', 'EXIT', 'ELAPSED', 'AGE', 'REASON'];

/** The columns named in `--format` (comma-separated, any case), or `default` when it is absent. */
export function chooseColumns(format: string | undefined, fallback: readonly string[]): Column<JobView>[] {
  const names = format === undefined ? fallback : format.split(',').map((n) => n.trim().toUpperCase());
  return names.map((name) => {
    const column = JOB_COLUMNS.find((c) => c.header === name);
    if (!column) throw new UsageError(`--format: ${JSON.stringify(name)} is not a column (choose from ${JOB_COLUMNS.map((c) => c.header.toLowerCase()).join(', ')})`);
    return column;
  });
}
