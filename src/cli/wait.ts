/**
 * `muster submit --wait`: follows submitted jobs to their end over the watch API and turns how they ended
 * into the command's exit status, as `srun` and `nomad job run` do, so a shell script can run a job like a
 * command:
 *
 * - 0 when every job succeeded;
 * - the exit code of the job's first failing task (its last attempt; the one that ended first when several
 *   failed), or 1 for a failure without one (a time limit, a signal, a task that could not start, a failed
 *   dependency);
 * - `EXIT_LOST` (129) when that attempt was lost with its node;
 * - `EXIT_CANCELLED` (130) when the job was cancelled.
 * With several jobs, the status of the first one (in submission order) that did not succeed.
 *
 * Progress is one line per event; on a terminal it is one line redrawn in place. The watch starts before
 * the jobs' state is read, so an end that comes before the watch is found in the state and one that comes
 * after is an event: none is missed.
 */
import type { AttemptView, JobDetailView, JobEvent, MusterClient, TaskView } from '../client/index.js';
import { ServerError, WATCH_GAP } from '../client/index.js';
import type { Io } from './io.js';
import { EXIT_OK, EXIT_PROBLEM } from './io.js';

/** The attempt that decided a failed job was lost with its node (128 + SIGHUP: the other end went away). */
export const EXIT_LOST = 129;
/** The job was cancelled (128 + SIGINT, as a shell reports a command interrupted). */
export const EXIT_CANCELLED = 130;

const TERMINAL: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);

/** The last attempt of each failed task, the one that ended first leading. */
function failingAttempts(job: JobDetailView): { task: TaskView; last: AttemptView | undefined }[] {
  return job.taskList
    .filter((t) => t.state === 'failed')
    .map((task) => ({ task, last: task.attempts?.[task.attempts.length - 1] }))
    .sort((a, b) => (a.last?.endedAt ?? Infinity) - (b.last?.endedAt ?? Infinity) || a.task.index - b.task.index);
}

/** The exit status that says how an ended job ended (see the header). */
export function exitStatusOf(job: JobDetailView): number {
  if (job.status === 'succeeded') return EXIT_OK;
  if (job.status === 'cancelled') return EXIT_CANCELLED;
  const first = failingAttempts(job)[0]?.last;
  if (first?.outcome === 'lost') return EXIT_LOST;
  if (first?.exitCode !== undefined && first.exitCode > 0 && first.exitCode < 256) return first.exitCode;
  return EXIT_PROBLEM;
}

/** How an attempt ended, in words: its reason when it has one (the server's reason names the exit code), else its exit code. */
function endWords(outcome: string | undefined, exitCode: number | undefined, reason: string | undefined): string {
  return `${outcome ?? 'ended'}${reason !== undefined ? `: ${reason}` : exitCode !== undefined ? ` with exit code ${exitCode}` : ''}`;
}

/** One line that says how a job ended, and why when it did not succeed. */
export function endLine(job: JobDetailView): string {
  const status = exitStatusOf(job);
  if (status === EXIT_OK) return `${job.id} succeeded`;
  const first = failingAttempts(job)[0];
  const cause =
    first?.last !== undefined
      ? `task ${first.task.index} attempt ${first.last.attempt} ${endWords(first.last.outcome, first.last.exitCode, first.last.reason)}`
      : job.reason;
  return `${job.id} ${job.status}${cause !== undefined ? ` (${cause})` : ''}; exit status ${status}`;
}

/** A job event as a line of progress. */
export function progressLine(e: JobEvent): string {
  const task = e.task !== undefined ? ` task ${e.task}${e.attempt !== undefined ? ` attempt ${e.attempt}` : ''}` : '';
  switch (e.type) {
    case 'submitted':
      return `${e.job} pending`;
    case 'placed':
      return `${e.job}${task} placed on ${e.node ?? '?'}`;
    case 'started':
      return `${e.job}${task} running`;
    case 'preempted':
      return `${e.job}${task} preempted${e.by ? ` by job ${e.by.job} of queue ${e.by.queue}` : ''}: being killed`;
    case 'task-ended':
      return `${e.job}${task} ${endWords(e.outcome, e.exitCode, e.reason)}`;
    case 'cancel-requested':
      return `${e.job} cancelling`;
    case 'held':
      return `${e.job} held (muster release ${e.job} lets it be placed)`;
    case 'released':
      return `${e.job} released`;
    case 'ended':
      return `${e.job} ${e.outcome ?? 'ended'}${e.reason !== undefined ? `: ${e.reason}` : ''}`;
  }
}

/** Progress output: plain lines, or on a terminal one line redrawn in place (ended with a newline by `done`). */
class Progress {
  readonly #io: Io;
  readonly #inPlace: boolean;
  #drawn = false;

  constructor(io: Io) {
    this.#io = io;
    this.#inPlace = io.terminal === true && io.write !== undefined;
  }

  show(line: string): void {
    if (!this.#inPlace) return this.#io.out(line);
    // Carriage return, then erase to the end of the line: the new text replaces the old.
    this.#io.write!(`\r\x1b[K${line}`);
    this.#drawn = true;
  }

  done(): void {
    if (this.#drawn) this.#io.write!('\n');
    this.#drawn = false;
  }
}

/** Follows `ids` until every one has ended; resolves with their final views, in the order of `ids`. */
export async function followJobs(client: MusterClient, ids: readonly string[], io: Io, showProgress: boolean): Promise<JobDetailView[]> {
  const progress = new Progress(io);
  const open = new Set(ids);
  try {
    while (open.size > 0) {
      const watch = client.watch({ jobs: [...open] });
      try {
        await watch.ready;
        // Ends that came before the watch are in the state; later ones will be events.
        for (const id of [...open]) {
          const { status } = await client.job(id);
          if (TERMINAL.has(status)) open.delete(id);
          else if (showProgress) progress.show(`${id} ${status}`);
        }
        if (open.size === 0) break;
        for await (const event of watch) {
          if (!open.has(event.job)) continue;
          if (showProgress) progress.show(progressLine(event));
          if (event.type === 'ended') open.delete(event.job);
          if (open.size === 0) break;
        }
      } catch (err) {
        // The server no longer keeps events that old (a long disconnection): read the state and watch again.
        if (!(err instanceof ServerError && err.code === WATCH_GAP)) throw err;
      } finally {
        watch.close();
      }
    }
  } finally {
    progress.done();
  }
  return Promise.all(ids.map((id) => client.job(id)));
}

/** The status of the first job that did not succeed, else 0. */
export function exitStatusOfAll(jobs: readonly JobDetailView[]): number {
  for (const job of jobs) {
    const status = exitStatusOf(job);
    if (status !== EXIT_OK) return status;
  }
  return EXIT_OK;
}
