/**
 * `npm run bench:table`: regenerates the README's benchmark table (between its marker comments) from
 * bench/results/*.json, bench/catalog.ts and git. `--check`: change nothing, exit 1 if the README's table
 * is not the generated one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeTable } from '../../bench/lib/readme-table.js';
import { replaceTable } from '../../bench/lib/table.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const readme = join(root, 'README.md');
const before = readFileSync(readme, 'utf8');
const after = replaceTable(before, await readmeTable(root));
if (process.argv.includes('--check')) {
  if (after !== before) {
    console.error('README.md: the benchmark table is not the one `npm run bench:table` generates');
    process.exit(1);
  }
  console.log('README.md: the benchmark table is the generated one');
} else {
  writeFileSync(readme, after);
  console.log(after === before ? 'README.md: table unchanged' : 'README.md: table regenerated');
}
