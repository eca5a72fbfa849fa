#!/usr/bin/env node
// `npm run bench -- NAME [--quick]`: runs bench/NAME.bench.ts in a fresh process.
// `npm run bench [-- --quick]`: runs every benchmark, each in its own fresh process, one after another.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const names = args.filter((a) => !a.startsWith('--'));
const all = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.bench.ts')).map((f) => f.slice(0, -'.bench.ts'.length)).sort();

let failed = 0;
for (const name of names.length ? names : all) {
  const { status } = spawnSync(process.execPath, ['--import=tsx', '--expose-gc', join(root, 'bench', 'run.ts'), name, ...flags], {
    cwd: root,
    stdio: 'inherit',
  });
  if (status !== 0) {
    console.error(`bench: ${name} failed (status ${status})`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
