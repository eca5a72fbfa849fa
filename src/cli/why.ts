import type { WhyView } from '../client/index.js';
import { printJson, clientCommand } from './connection.js';
import { EXIT_OK } from './io.js';

export function whyLines(why: WhyView): string[] {
  if (!('reasons' in why)) return [`${why.job} is ${why.status}: ${why.message}`];
  const place = why.position === null ? 'not yet in its queue order' : `position ${why.position} in its queue`;
  const lines = [`${why.job} is pending (${place})`];
  if (why.reasons.length === 0) lines.push('  no reason recorded yet: it waits for the next scheduling cycle');
  for (const r of why.reasons) {
    const where = r.site !== undefined ? `site ${r.site}: ` : '';
    const nodes = r.nodes !== undefined ? ` (${r.nodes} node${r.nodes === 1 ? '' : 's'})` : '';
    lines.push(`  ${where}${r.kind ?? r.reason ?? 'waiting'}${nodes}: ${r.message}`);
  }
  const needs = why.suggestion ?? why.needs;
  if (needs !== undefined) lines.push(`needs: ${needs}`);
  return lines;
}

export const whyCommand = clientCommand({
  name: 'why',
  summary: 'say why a job is pending (per site and reason) and what would let it run',
  usage: `usage: muster why ID

For a pending job: its position in its queue and every reason it is not placed, per site (with the
number of nodes each reason applies to), and what would let it run. For any other job: its status.`,
  options: {},
  positionals: { min: 1, max: 1, name: 'job ID' },
  async run({ positionals, format, client, io }) {
    const why = await client.why(positionals[0] as string);
    if (format === 'json') printJson(io, why);
    else for (const line of whyLines(why)) io.out(line);
    return EXIT_OK;
  },
});
