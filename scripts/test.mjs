#!/usr/bin/env node
// `npm test`: build (the CLI tests run the built `muster`), type-check sources and tests, run the tap
// suite, and end with one line `N passed, N failed` (tap's assertion counts; a step that fails before the
// suite runs counts as one failure). Arguments go to tap: `npm test -- test/model` runs one folder.
// `MUSTER_TEST_NO_BUILD=1` skips the build and the type check (re-running a file after a build).
// When its output is not a terminal (CI, a pipe, a file) it carries no terminal control sequences: tap's
// reporter draws its progress with them, so it is told it runs in CI (it then prints each result once) and
// whatever control sequence is left is taken out.
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

if (process.env.MUSTER_TEST_NO_BUILD !== '1') {
  step('build', [join(root, 'scripts', 'build.mjs')]);
  step('type check', [bin('typescript', 'bin/tsc'), '-p', join(root, 'tsconfig.test.json')]);
}

const terminal = process.stdout.isTTY === true;
/** CSI (`ESC [ … letter`), OSC (`ESC ] … BEL or ESC \\`) and two-byte escapes. */
const SEQUENCE = String.raw`\x1b\[[0-9;?]*[ -\/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]`;
const CONTROL = new RegExp(SEQUENCE, 'g');
const WHOLE = new RegExp(`^(?:${SEQUENCE})`);

/** A filter for one stream: text without control sequences; a sequence cut between chunks is held back until it ends. */
function plainText() {
  let held = '';
  return (chunk) => {
    if (terminal) return chunk;
    let text = held + chunk;
    held = '';
    const last = text.lastIndexOf('\x1b');
    if (last >= 0 && text.length - last <= 64 && !WHOLE.test(text.slice(last))) {
      held = text.slice(last);
      text = text.slice(0, last);
    }
    return text.replace(CONTROL, '');
  };
}

const tap = spawn(process.execPath, [bin('tap', 'dist/esm/run.mjs'), ...process.argv.slice(2)], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'pipe'],
  env: terminal ? process.env : { ...process.env, CI: '1' },
});
tap.stdout.setEncoding('utf8');
tap.stderr.setEncoding('utf8');
const plainErr = plainText();
tap.stderr.on('data', (chunk) => process.stderr.write(plainErr(chunk)));
const plainOut = plainText();
let tail = '';
tap.stdout.on('data', (chunk) => {
  const text = plainOut(chunk);
  process.stdout.write(text);
  tail = (tail + text).slice(-4096);
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
