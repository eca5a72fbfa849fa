#!/usr/bin/env node
// `npm run bench -- NAME [--quick]`: runs bench/NAME.bench.ts in a fresh process.
// `npm run bench [-- --quick]`: runs every benchmark, each in its own fresh process, one after another.
// `npm run bench -- NAME --profile`: the same with V8's CPU profiler on in this run's process and in every Node
//   process and thread it starts (a preload in NODE_OPTIONS, which children inherit), into bench/profiles/NAME/, then a flame graph
//   page per profile and an index.html there (see bench/README.md).
// `npm run bench -- report`: bench/report/index.html, plots of the results and the history.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const names = args.filter((a) => !a.startsWith('--'));
const all = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.bench.ts')).map((f) => f.slice(0, -'.bench.ts'.length)).sort();
const tsx = (script, scriptArgs, env = process.env) =>
  spawnSync(process.execPath, ['--import=tsx', join(root, script), ...scriptArgs], { cwd: root, stdio: 'inherit', env }).status;

if (names[0] === 'report') {
  process.exit(tsx('scripts/bench/report.ts', args.slice(1)) === 0 ? 0 : 1);
}

const profile = flags.includes('--profile');
/** What a profiled run's processes inherit: each writes its CPU profiles into `dir` (bench/lib/profile-preload.cjs). */
function profiledEnv(dir) {
  const options = [process.env.NODE_OPTIONS ?? '', `--require="${join(root, 'bench', 'lib', 'profile-preload.cjs')}"`];
  return { ...process.env, NODE_OPTIONS: options.join(' ').trim(), MUSTER_BENCH_PROFILE_DIR: dir };
}

let failed = 0;
for (const name of names.length ? names : all) {
  const dir = join(root, 'bench', 'profiles', name);
  if (profile) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }
  const status = spawnSync(process.execPath, ['--import=tsx', '--expose-gc', join(root, 'bench', 'run.ts'), name, ...flags], {
    cwd: root,
    stdio: 'inherit',
    env: profile ? profiledEnv(dir) : process.env,
  }).status;
  if (status !== 0) {
    console.error(`bench: ${name} failed (status ${status})`);
    failed++;
  }
  // The flame graphs are made even after a failed run: its profiles are what shows why it failed.
  if (profile && tsx('scripts/bench/flames.ts', [dir, `bench ${name}: CPU profiles`]) !== 0) failed++;
}
process.exit(failed ? 1 : 0);
