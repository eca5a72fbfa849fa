#!/usr/bin/env node
// `npm run chaos -- [--faults N] [--seed S]`: the chaos campaign of issue 14 (test/ha/chaos-run.ts) against
// the built CLI (dist/: run `npm run build` first), in a fresh process; prints each fault, then the report
// and every finding; exits 1 if anything was found. `npm test` runs the bounded version (test/ha/chaos.test.ts).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { status, signal } = spawnSync(process.execPath, ['--import=tsx', join(root, 'test', 'ha', 'chaos-main.ts'), ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(status ?? (signal ? 1 : 0));
