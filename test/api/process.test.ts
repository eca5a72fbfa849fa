/**
 * `muster server` as a user runs it: the built command in a child process. It prints its address and the
 * admin token it made, serves, stops cleanly on SIGTERM with everything it acknowledged durable, and
 * refuses to run on the uWebSockets.js fallback.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { createLogger } from '../../src/log/index.js';
import { recoverScheduler } from '../../src/scheduler/index.js';
import { openEmbeddedStore } from '../../src/store/index.js';
import { http, jobSpec } from './helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin', 'muster.js');

interface Child {
  /** Resolves with the first stdout line that matches. */
  line(pattern: RegExp): Promise<RegExpExecArray>;
  exited: Promise<{ code: number | null; stderr: string; stdout: string }>;
  kill(signal: NodeJS.Signals): void;
}

function muster(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, MUSTER_LOG_LEVEL: 'warn', ...env } });
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const w of [...waiters]) {
      const m = w.pattern.exec(stdout);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr, stdout })));
  return {
    line: (pattern) =>
      new Promise((resolve, reject) => {
        const m = pattern.exec(stdout);
        if (m) return resolve(m);
        waiters.push({ pattern, resolve });
        void exited.then((e) => reject(new Error(`muster exited (${e.code}) before printing ${pattern}: ${e.stderr}`)));
      }),
    exited,
    kill: (signal) => child.kill(signal),
  };
}

t.test('muster server: url and admin token, serves, SIGTERM → exit 0 with acknowledged jobs durable', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'muster-server-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const server = muster(['server', '--data', dir, '--port', '0']);
  const url = (await server.line(/^url: (http:\/\/127\.0\.0\.1:\d+)$/m))[1]!;
  const token = (await server.line(/^token: (\S+)$/m))[1]!;
  await server.line(/^ready: /m);
  t.equal(statSync(join(dir, 'admin.token')).mode & 0o777, 0o600, 'the admin token file is private');

  const submitted = await http(url, '/v1/jobs', token, { body: { jobs: [jobSpec({ idempotencyKey: 'durable-1' }), jobSpec({ idempotencyKey: 'durable-2' })] } });
  t.equal(submitted.status, 200);
  const ids = (submitted.body.results as { job: string }[]).map((r) => r.job);

  server.kill('SIGTERM');
  const { code, stdout } = await server.exited;
  t.equal(code, 0, 'exits 0 on SIGTERM');
  t.match(stdout, /^stopped$/m);

  const store = await openEmbeddedStore({ dir, logger: createLogger({ name: 'test', level: 'silent' }) });
  t.teardown(() => store.close());
  const recovered = await recoverScheduler(store);
  t.same(
    ids.map((id) => recovered.state.jobs.get(id)?.spec.idempotencyKey),
    ['durable-1', 'durable-2'],
    'both acknowledged jobs are in the store',
  );
});

t.test('the same data folder again: the same admin token, state recovered', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'muster-server-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const first = muster(['server', '--data', dir, '--port', '0']);
  const token = (await first.line(/^token: (\S+)$/m))[1]!;
  const url = (await first.line(/^url: (\S+)$/m))[1]!;
  await first.line(/^ready: /m);
  await http(url, '/v1/jobs', token, { body: { jobs: [jobSpec()] } });
  first.kill('SIGTERM');
  t.equal((await first.exited).code, 0);

  const second = muster(['server', '--data', dir, '--port', '0']);
  t.equal((await second.line(/^token: (\S+)$/m))[1], token, 'the token is kept');
  t.match((await second.line(/^ready: .*$/m))[0], /^ready: 1 jobs recovered/);
  second.kill('SIGINT');
  t.equal((await second.exited).code, 0, 'SIGINT stops it cleanly too');
});

t.test('muster server refuses the uWebSockets.js fallback', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'muster-server-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { code, stderr } = await muster(['server', '--data', dir, '--port', '0'], { UWS_USE_FALLBACK: '1' }).exited;
  t.equal(code, 1);
  t.match(stderr, /MUSTER_ERR_UWS_FALLBACK: uWebSockets\.js loaded its JavaScript fallback/);
});

t.test('a bad command line or config is refused with a code', async (t) => {
  const usage = await muster(['server', '--port', 'seventy']).exited;
  t.equal(usage.code, 2);
  t.match(usage.stderr, /MUSTER_ERR_USAGE/);
  const missing = await muster(['server', '--config', '/nonexistent/muster.yaml']).exited;
  t.equal(missing.code, 1);
  t.match(missing.stderr, /MUSTER_ERR_INVALID_SPEC: \/nonexistent\/muster\.yaml: cannot read/);
});
