#!/usr/bin/env node
// `npm test`: build (the CLI tests run the built `muster`), type-check sources and tests, run the tap
// suite, and end with one line `N passed, N failed` (tap's assertion counts; a step that fails before the
// suite runs counts as one failure). Arguments go to tap: `npm test -- test/model` runs one folder.
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (pkg, file) => join(root, 'node_modules', pkg, file);

function step(name, args) {
  const { status } = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (status !== 0) {
    console.log(`test: ${name} failed (status ${status})`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

step('build', [join(root, 'scripts', 'build.mjs')]);
step('type check', [bin('typescript', 'bin/tsc'), '-p', join(root, 'tsconfig.test.json')]);

const tap = spawn(process.execPath, [bin('tap', 'dist/esm/run.mjs'), ...process.argv.slice(2)], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
});
let tail = '';
tap.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-4096);
});
tap.on('close', (code) => {
  // tap ends with a summary comment such as `# { total: 12, pass: 11, fail: 1 }`.
  const summary = [...tail.matchAll(/^# \{ total: (\d+)(?:, ([^}]*))? \}$/gm)].pop();
  const counts = Object.fromEntries(
    (summary?.[2] ?? '').split(',').filter(Boolean).map((kv) => kv.trim().split(': ')).map(([k, v]) => [k, Number(v)]),
  );
  const passed = counts.pass ?? 0;
  let failed = counts.fail ?? 0;
  if (code !== 0 && failed === 0) failed = 1; // the run failed without a failing assertion (a crash, a timeout)
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(code ?? 1);
});
