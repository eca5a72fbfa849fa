import t from 'tap';
import { execFile } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

/** Runs the installed command exactly as a user would: `npx muster ARGS` in the checkout. */
async function muster(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('npx', ['--no-install', 'muster', ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

t.test('--help and --version', async (t) => {
  const help = await muster(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /usage: muster COMMAND/);
  t.match(help.stdout, /validate/);
  const version = await muster(['--version']);
  t.equal(version.code, 0);
  t.match(version.stdout.trim(), /^\d+\.\d+\.\d+$/);
  const unknown = await muster(['frobnicate']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /MUSTER_ERR_USAGE: unknown command "frobnicate"/);
});

t.test('every example spec is valid', async (t) => {
  // Spec files only: examples/ also holds scripts (chain.sh), run by test/examples/examples.test.ts.
  const files = readdirSync(join(root, 'examples')).filter((f) => /\.(ya?ml|json)$/.test(f)).map((f) => join('examples', f));
  t.ok(files.length >= 6, 'the examples are there');
  const result = await muster(['validate', ...files]);
  t.equal(result.code, 0, result.stdout);
  // One line per document (`FILE: ok (...)`, or `FILE#N: ok (...)` for a file of several): every file is there.
  const ok = result.stdout.trim().split('\n').filter((l) => l.endsWith(')') && l.includes(': ok ('));
  t.same([...new Set(ok.map((l) => l.replace(/(#\d+)?: ok \(.*$/, '')))].sort(), [...files].sort());
});

t.test('an invalid spec: every problem with its path, non-zero exit', async (t) => {
  const dir = t.testdir({
    'bad.yaml': ['queue: default', 'tasks:', '  - resources: { cpu: 1, memory: 12Qi }', '    command: [echo, hi]', '    timeLimit: soon', 'strategy: random', ''].join('\n'),
    'good.json': JSON.stringify({ queue: 'q', tasks: [{ resources: { cpu: '100m' }, command: 'true' }] }),
    'two.yaml': 'kind: Site\nname: a\n---\nkind: Site\nname: B\n',
    'broken.yaml': 'queue: [unclosed\n',
  });
  const result = await muster(['validate', join(dir, 'good.json'), join(dir, 'bad.yaml'), join(dir, 'two.yaml'), join(dir, 'broken.yaml'), join(dir, 'missing.yaml')]);
  t.equal(result.code, 1);
  const lines = result.stdout.trim().split('\n');
  const bad = join(dir, 'bad.yaml');
  t.same(lines, [
    `${join(dir, 'good.json')}: ok (Job (unnamed) in queue q)`,
    `${bad}: tasks[0].resources.memory: MUSTER_ERR_INVALID_QUANTITY: "12Qi" is not a memory quantity (write 512Mi, 4Gi or 1G)`,
    `${bad}: tasks[0].timeLimit: MUSTER_ERR_INVALID_DURATION: "soon" is not a duration (write 30s, 5m, 1h30m or 500ms)`,
    `${bad}: strategy: MUSTER_ERR_INVALID_VALUE: string "random" is not one of: binpack, spread`,
    `${join(dir, 'two.yaml')}#1: ok (Site a)`,
    `${join(dir, 'two.yaml')}#2: name: MUSTER_ERR_INVALID_NAME: "B" is not a name (lower-case letters, digits and '-', starting and ending with a letter or digit)`,
    lines[6] ?? '',
    `${join(dir, 'missing.yaml')}: MUSTER_ERR_INVALID_SPEC: cannot read: ENOENT`,
  ]);
  t.match(lines[6], new RegExp(`^${join(dir, 'broken.yaml')}: MUSTER_ERR_INVALID_SPEC: not valid YAML: `));
});

t.test('a valid spec alone exits 0; no files is a usage error', async (t) => {
  const dir = t.testdir({ 'job.yaml': 'queue: q\ntasks:\n  - resources: {}\n    command: "true"\n' });
  const ok = await muster(['validate', join(dir, 'job.yaml')]);
  t.equal(ok.code, 0);
  t.equal(ok.stdout.trim(), `${join(dir, 'job.yaml')}: ok (Job (unnamed) in queue q)`);
  const none = await muster(['validate']);
  t.equal(none.code, 2);
  t.match(none.stderr, /MUSTER_ERR_USAGE: name at least one FILE/);
  const flag = await muster(['validate', '--strict', 'x.yaml']);
  t.equal(flag.code, 2);
  writeFileSync(join(dir, 'empty.yaml'), '');
  const empty = await muster(['validate', join(dir, 'empty.yaml')]);
  t.equal(empty.code, 1);
  t.match(empty.stdout, /MUSTER_ERR_INVALID_SPEC: holds no document/);
});
