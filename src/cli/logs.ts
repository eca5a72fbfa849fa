/**
 * `muster logs JOB`: a task's output (stdout, or stderr with --stderr), read through the control plane
 * from the agent that ran it, or, once the attempt has ended and that agent is gone, from the control
 * plane's copy (its tail, up to the server's cap: a notice on stderr says when the head was not kept).
 * `--follow` keeps reading while the attempt runs, from where the last read ended, and stops when it has
 * ended and everything is out.
 */
import type { MusterClient } from '../client/index.js';
import type { Io } from './io.js';
import { EXIT_OK } from './io.js';
import { clientCommand, UsageError } from './connection.js';

/** How often --follow asks for more while the attempt runs. */
export const FOLLOW_INTERVAL_MS = 500;

function whole(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag} ${text}: expected a whole number`);
  return Number(text);
}

function emit(io: Io, data: Uint8Array): void {
  if (data.length === 0) return;
  if (io.raw) io.raw(data);
  else io.out(Buffer.from(data).toString('utf8').replace(/\n$/, ''));
}

/** What a read of the control plane's copy skipped: the head of the output, past the cap, was not kept. */
export function truncationNotice(kept: { readonly size: number; readonly from: number }, offset: number): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  return `muster: output truncated: the control plane kept the last ${n(kept.size - kept.from)} of ${n(kept.size)} bytes (its cap per stream); bytes ${n(offset)} to ${n(kept.from)} were not kept, and the agent that ran the task could not be asked for them (not connected, or no answer)`;
}

export async function printLogs(client: MusterClient, io: Io, job: string, options: { task?: number; attempt?: number; stream: 'stdout' | 'stderr'; follow: boolean }): Promise<void> {
  let offset = 0;
  let attempt = options.attempt;
  for (;;) {
    const piece = await client.logs(job, { stream: options.stream, offset, ...(options.task !== undefined ? { task: options.task } : {}), ...(attempt !== undefined ? { attempt } : {}) });
    // Stay with the attempt the first read found, even if a retry starts meanwhile.
    attempt = piece.attempt;
    if (piece.kept && piece.kept.from > offset) io.err(truncationNotice(piece.kept, offset));
    emit(io, piece.data);
    offset = piece.nextOffset;
    if (piece.data.length > 0) continue;
    if (!options.follow || !piece.running) return;
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_INTERVAL_MS));
  }
}

export const logsCommand = clientCommand({
  name: 'logs',
  summary: "print a task's output (stdout or stderr), optionally following it",
  usage: `usage: muster logs JOB [--task N] [--attempt N] [--stderr] [-f|--follow]

Prints what a task of the job wrote, read from the agent that ran it; once the
task has ended and that agent is gone, from the control plane's copy (the last
1 MiB of each stream by default: a notice says when the start was not kept).

  --task N       the task (default 0)
  --attempt N    the attempt (default: the newest)
  --stderr       standard error instead of standard output
  -f, --follow   keep printing while the attempt runs`,
  options: {
    task: { type: 'string' },
    attempt: { type: 'string' },
    stderr: { type: 'boolean' },
    follow: { type: 'boolean', short: 'f' },
  },
  positionals: { min: 1, max: 1, name: 'job ID' },
  async run({ values, positionals, client, io }) {
    const task = whole(values.task, '--task');
    const attempt = whole(values.attempt, '--attempt');
    await printLogs(client, io, positionals[0] as string, {
      stream: values.stderr === true ? 'stderr' : 'stdout',
      follow: values.follow === true,
      ...(task !== undefined ? { task } : {}),
      ...(attempt !== undefined ? { attempt } : {}),
    });
    return EXIT_OK;
  },
});
