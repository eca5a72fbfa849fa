import type { JobEvent } from '../client/index.js';
import { clientCommand, UsageError } from './connection.js';
import { EXIT_OK } from './io.js';

/** The fields of an event beyond the common ones, as `key=value` words. */
const DETAIL_FIELDS = ['name', 'task', 'attempt', 'node', 'outcome', 'exitCode', 'reason'] as const;

export function eventLine(e: JobEvent): string {
  const details = DETAIL_FIELDS.filter((k) => e[k] !== undefined).map((k) => `${k}=${String(e[k])}`);
  return [String(e.seq), new Date(e.at).toISOString(), e.type.padEnd(16), e.job, `queue=${e.queue}`, ...details].join(' ');
}

function count(text: string | undefined, flag: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min) throw new UsageError(`${flag}: ${JSON.stringify(text)} is not an integer of at least ${min}`);
  return n;
}

export const watchCommand = clientCommand({
  name: 'watch',
  summary: 'stream job events (submitted, placed, started, task-ended, ended) as they happen',
  usage: `usage: muster watch [--job ID]... [--queue QUEUE] [--tenant TENANT] [--from SEQ] [--count N]

Prints one line per job event (SEQ TIME TYPE JOB details; -o json: one JSON object per line) until
interrupted, or until N events with --count. Survives a lost connection: it reconnects and resumes
after the last event printed. "watching from seq N" goes to stderr once the server has confirmed.
  --from SEQ   resume after event SEQ (the first field of a line printed earlier)`,
  options: {
    job: { type: 'string', multiple: true },
    queue: { type: 'string', short: 'q' },
    tenant: { type: 'string' },
    from: { type: 'string' },
    count: { type: 'string' },
  },
  positionals: { min: 0, max: 0, name: '' },
  async run({ values, format, client, io }) {
    const from = count(values.from, '--from', 0);
    const limit = count(values.count, '--count', 1);
    const watch = client.watch(
      {
        ...(values.job ? { jobs: values.job } : {}),
        ...(values.queue !== undefined ? { queue: values.queue } : {}),
        ...(values.tenant !== undefined ? { tenant: values.tenant } : {}),
      },
      from !== undefined ? { from } : {},
    );
    const stop = (): void => watch.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      void watch.ready.then(
        (seq) => io.err(`watching from seq ${from ?? seq}`),
        () => undefined,
      );
      let seen = 0;
      for await (const event of watch) {
        io.out(format === 'json' ? JSON.stringify(event) : eventLine(event));
        if (limit !== undefined && ++seen >= limit) break;
      }
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    return EXIT_OK;
  },
});
