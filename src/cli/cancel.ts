import { printJson, clientCommand } from './connection.js';
import { EXIT_OK, EXIT_PROBLEM } from './io.js';

export const cancelCommand = clientCommand({
  name: 'cancel',
  summary: 'cancel jobs',
  usage: `usage: muster cancel ID...

Asks the server to cancel each job (its running tasks are killed). ID[N] (e.g. j-7[4]) cancels only
element N of an array job; the job ends cancelled once every element was cancelled, else as its other
elements end. Prints "cancelled ID" per job once the
request is durable; exits 1 if any job could not be cancelled (unknown, already ended, not yours).`,
  options: {},
  positionals: { min: 1, max: Number.MAX_SAFE_INTEGER, name: 'job ID' },
  async run({ positionals, format, client, io }) {
    const results = await client.cancel(positionals);
    if (format === 'json') {
      printJson(io, { results });
    } else {
      for (const r of results) {
        if (r.ok) io.out(`cancelled ${r.job}`);
        else io.err(`${r.job}: ${r.code}: ${r.message}`);
      }
    }
    return results.every((r) => r.ok) ? EXIT_OK : EXIT_PROBLEM;
  },
});
