/**
 * A command that applies one verb to jobs named on the command line (`muster hold ID...`), each on its own:
 * "VERB ID" per job that took it, `ID: CODE: message` per job that did not (exit 1 if any did not).
 */
import type { MusterClient } from '../client/index.js';
import { ServerError } from '../client/index.js';
import type { Command } from './command.js';
import { clientCommand, printJson } from './connection.js';
import { EXIT_OK, EXIT_PROBLEM } from './io.js';

export interface JobVerb {
  readonly name: string;
  /** What is printed per job: `held`, `released`, `requeued`. */
  readonly done: string;
  readonly summary: string;
  readonly usage: string;
  apply(client: MusterClient, job: string): Promise<unknown>;
}

export function jobVerbCommand(verb: JobVerb): Command {
  return clientCommand({
    name: verb.name,
    summary: verb.summary,
    usage: verb.usage,
    options: {},
    positionals: { min: 1, max: Number.MAX_SAFE_INTEGER, name: 'job ID' },
    async run({ positionals, format, client, io }) {
      const results: ({ job: string; ok: true } | { job: string; ok: false; code: string; message: string })[] = [];
      for (const job of positionals) {
        try {
          await verb.apply(client, job);
          results.push({ job, ok: true });
        } catch (err) {
          // A refusal of this job is reported and the others go on; anything else stops the command.
          if (!(err instanceof ServerError)) throw err;
          results.push({ job, ok: false, code: err.code, message: err.message });
        }
      }
      if (format === 'json') printJson(io, { results });
      else for (const r of results) r.ok ? io.out(`${verb.done} ${r.job}`) : io.err(`${r.job}: ${r.code}: ${r.message}`);
      return results.every((r) => r.ok) ? EXIT_OK : EXIT_PROBLEM;
    },
  });
}
