/**
 * `muster server` and `muster start` log human lines on a terminal and with `--log-format human`, JSON lines
 * otherwise and with `--log-format json`. Real processes (the built CLI: build first); the terminal is a
 * pseudo-terminal made by util-linux `script`.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import type { Test } from 'tap';
import { join } from 'node:path';
import { MusterChild, ROOT } from '../server/muster-child.js';

t.setTimeout(120_000);

/** A human log line: time, level, component, message. */
const HUMAN = /^\d\d:\d\d:\d\d\.\d{3} (INFO |WARN |ERROR|DEBUG|FATAL|TRACE) [\w-]+: \S/;

/** Starts `muster ARGS` until it is ready, stops it, and resolves with its stderr lines (JSON ones parsed by MusterChild). */
async function stderrOf(t: Test, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ logs: number; notes: string[] }> {
  const child = new MusterChild(args, { MUSTER_LOG_LEVEL: 'info', ...env });
  t.teardown(() => child.kill());
  await child.line(/^ready: /);
  child.signal('SIGTERM');
  await child.exited;
  return { logs: child.logs.length, notes: child.notes };
}

t.test('muster server --log-format human: one readable line per event, no JSON', async (t) => {
  const dir = t.testdir({});
  const { logs, notes } = await stderrOf(t, ['server', '--data', dir, '--port', '0', '--log-format', 'human']);
  t.equal(logs, 0, 'no JSON line');
  t.ok(notes.some((l) => /^\S+ INFO  server: ready /.test(l)), notes.join('\n'));
  t.ok(notes.filter((l) => !l.startsWith('muster server:')).every((l) => HUMAN.test(l)), notes.join('\n'));
});

t.test('muster server --log-format json, and by default when stderr is not a terminal: JSON lines', async (t) => {
  for (const args of [['--log-format', 'json'], []]) {
    const dir = t.testdir({});
    const { logs, notes } = await stderrOf(t, ['server', '--data', dir, '--port', '0', ...args]);
    t.ok(logs > 0, `JSON lines with ${args.join(' ') || 'no flag'}`);
    t.notOk(notes.some((l) => HUMAN.test(l)), 'no human line');
  }
});

t.test('muster start --log-format human', async (t) => {
  const dir = t.testdir({});
  const { logs, notes } = await stderrOf(t, ['start', '--log-format', 'human'], { MUSTER_DATA: dir, MUSTER_PORT: '0' });
  t.equal(logs, 0, 'no JSON line');
  t.ok(notes.some((l) => /^\S+ INFO  agent: /.test(l)), notes.join('\n'));
});

t.test('a wrong --log-format: a usage error naming it, exit 2', async (t) => {
  for (const command of ['server', 'start']) {
    const ran = spawnSync(process.execPath, [join(ROOT, 'bin', 'muster.js'), command, '--log-format', 'xml'], { encoding: 'utf8' });
    t.equal(ran.status, 2, command);
    t.match(ran.stderr, new RegExp(`^muster ${command}: MUSTER_ERR_USAGE: --log-format xml: expected one of json, human`), command);
  }
});

t.test('on a terminal, human lines without the flag', { skip: spawnSync('script', ['--version']).status !== 0 ? 'no util-linux script here' : false }, async (t) => {
  const dir = t.testdir({});
  // util-linux `script` runs the server on a pseudo-terminal and copies what it prints; the server's pid is
  // printed first so the test can stop it once it is ready.
  const server = `${process.execPath} ${join(ROOT, 'bin', 'muster.js')} server --data ${dir} --port 0`;
  const child = spawn('script', ['-qfec', `${server} & echo "pid=$!"; wait`, '/dev/null'], { env: { ...process.env, MUSTER_LOG_LEVEL: 'info' }, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const pid = /pid=(\d+)/.exec(out)?.[1];
      if (pid !== undefined && /^ready: /m.test(out)) resolve(Number(pid));
    });
    child.once('exit', () => reject(new Error(`script exited before the server was ready: ${out}`)));
  });
  const pid = await ready;
  process.kill(pid, 'SIGTERM');
  await exited;
  const lines = out.split(/\r?\n/).filter((l) => l.trim() !== '');
  t.ok(lines.some((l) => /^\S+ INFO  server: ready /.test(l)), lines.join('\n'));
  t.notOk(lines.some((l) => l.startsWith('{')), 'no JSON line');
});
