/**
 * `npm test`'s runner (scripts/test.mjs) with its output not on a terminal, as in CI: no terminal control
 * sequences (tap's reporter draws its progress with them), and the last line `N passed, N failed`.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the runner on `files` with stdout and stderr on pipes; the build and type check are skipped. */
function runTests(files: readonly string[]): Promise<{ code: number | null; out: string; err: string }> {
  // tap's own variables would make the inner run a child of this one.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TAP') && k !== 'CI'));
  const child = spawn(process.execPath, [join(root, 'scripts', 'test.mjs'), ...files], { cwd: root, env: { ...env, MUSTER_TEST_NO_BUILD: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

t.test('output that is not a terminal carries no control sequences and ends with the counts', async (t) => {
  const { code, out, err } = await runTests(['test/scripts/fixtures/passing.ts']);
  t.equal(code, 0);
  t.notOk(out.includes('\x1b'), 'no ESC on stdout');
  t.notOk(err.includes('\x1b'), 'no ESC on stderr');
  t.match(out, /PASS {2}test\/scripts\/fixtures\/passing\.ts/, 'the file\'s result is there');
  t.equal(out.trimEnd().split('\n').at(-1), '3 passed, 0 failed');
});
