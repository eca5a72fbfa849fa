/**
 * `node --import=tsx scripts/bench/flames.ts DIR TITLE`: the flame graph pages of the CPU profiles in DIR
 * (scripts/bench.mjs runs it after a `--profile` run, in a process that is not itself profiled).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFlameGraphs } from '../../bench/lib/profiles.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const [dir, title] = process.argv.slice(2);
if (!dir) {
  console.error('usage: flames.ts DIR [TITLE]');
  process.exit(2);
}
const count = writeFlameGraphs(dir, root, title ?? dir);
console.log(`bench: ${count} CPU profiles, a flame graph each: ${join(dir, 'index.html')}`);
if (count === 0) process.exit(1);
