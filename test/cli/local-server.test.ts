/**
 * The quick start's promise: a shell where MUSTER_PORT and MUSTER_DATA are set as for `npm start` finds that
 * server and its admin token, from any working folder. A real `muster start` and real `muster` commands
 * (the built CLI: build first).
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_PORT } from '../../src/api/index.js';
import { resolveConnection, unauthorizedHint } from '../../src/cli/connection.js';
import { ADMIN_TOKEN_FILE, LOCAL_DATA_DIR, LOCAL_PORT, localServer } from '../../src/cli/local-server.js';
import { ADMIN_TOKEN_FILE as SERVER_TOKEN_FILE, DEFAULT_DATA_DIR } from '../../src/server/index.js';
import { freePort } from '../helpers/free-port.js';
import { MusterChild, ROOT } from '../server/muster-child.js';

const exec = promisify(execFile);
t.setTimeout(120_000);

t.test('the local server is where muster server puts it by default', async (t) => {
  t.equal(LOCAL_PORT, DEFAULT_PORT);
  t.equal(LOCAL_DATA_DIR, DEFAULT_DATA_DIR);
  t.equal(ADMIN_TOKEN_FILE, SERVER_TOKEN_FILE);
});

t.test('MUSTER_PORT and MUSTER_DATA name the server and its token file; empty variables are unset', async (t) => {
  const dir = t.testdir({ data: { 'admin.token': 'from-data\n' }, cwd: { '.muster': { 'admin.token': 'from-default\n' } } });
  const cwd = join(dir, 'cwd');
  const data = join(dir, 'data');
  t.same(resolveConnection({}, { MUSTER_PORT: '7171', MUSTER_DATA: data }, cwd), { endpoints: 'http://127.0.0.1:7171', token: 'from-data', tokenFile: join(data, 'admin.token') });
  t.same(resolveConnection({}, { MUSTER_DATA: '../data' }, cwd), { endpoints: 'http://127.0.0.1:7070', token: 'from-data', tokenFile: join(data, 'admin.token') }, 'relative to the working folder, as npm start resolves it');
  t.same(resolveConnection({}, { MUSTER_TOKEN: '', MUSTER_SERVER: '', MUSTER_PORT: '', MUSTER_DATA: '' }, cwd), { endpoints: 'http://127.0.0.1:7070', token: 'from-default', tokenFile: join(cwd, '.muster', 'admin.token') });
  t.same(resolveConnection({}, { MUSTER_SERVER: 'http://a:1', MUSTER_PORT: 'x', MUSTER_TOKEN: 't' }, cwd), { endpoints: 'http://a:1', token: 't' }, 'MUSTER_PORT is not read when the server is named');
  t.throws(() => resolveConnection({}, { MUSTER_PORT: '70000' }, cwd), { code: 'MUSTER_ERR_USAGE', message: 'MUSTER_PORT: "70000" is not a port number (0 to 65535)' });
  t.throws(() => localServer({ MUSTER_PORT: 'http://x' }, cwd), { code: 'MUSTER_ERR_USAGE', message: /^MUSTER_PORT: / });
});

t.test('the hint after a 401 names the token file that was read, or looked for', async (t) => {
  t.match(unauthorizedHint({ endpoints: 'http://a:1', token: 'x', tokenFile: '/srv/m/admin.token' }), /^the token in \/srv\/m\/admin\.token was refused/);
  t.match(unauthorizedHint({ endpoints: 'http://a:1', tokenFile: '/srv/m/admin.token' }), /^no token: none given and no \/srv\/m\/admin\.token/);
  t.match(unauthorizedHint({ endpoints: 'http://a:1', token: 'x' }), /^the token given was refused/);
});

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function muster(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Ran> {
  const environment: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const name of ['MUSTER_SERVER', 'MUSTER_TOKEN', 'MUSTER_PORT', 'MUSTER_DATA']) if (env[name] === undefined) delete environment[name];
  try {
    const { stdout, stderr } = await exec(process.execPath, [join(ROOT, 'bin', 'muster.js'), ...args], { cwd, env: environment });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

t.test('npm start with MUSTER_PORT and MUSTER_DATA: the commands of a shell with the same variables find it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'muster-local-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'state');
  const elsewhere = mkdtempSync(join(dir, 'elsewhere-'));
  const port = await freePort();
  const env = { MUSTER_PORT: String(port), MUSTER_DATA: data, MUSTER_LOG_LEVEL: 'warn' };
  const start = new MusterChild(['start'], env);
  t.teardown(() => start.kill());
  const token = (await start.line(/^token: (\S+)$/))[1]!;
  await start.line(/^ready: /);
  // Printed before ready:, if at all: a line already printed answers at once, one not printed would be waited for (race it with "no" after this turn).
  const exported = await Promise.race([start.line(/^export .*$/).then((m) => m[0], () => undefined), new Promise<undefined>((resolve) => setImmediate(() => resolve(undefined)))]);
  t.equal(exported, `export MUSTER_SERVER=http://127.0.0.1:${port} MUSTER_TOKEN=${token}`, 'the line to paste elsewhere');

  const jobs = await muster(['jobs'], elsewhere, env);
  t.equal(jobs.code, 0, jobs.stderr);
  t.match(jobs.stdout, /^ID\s+NAME/);

  const empty = await muster(['jobs'], elsewhere, { ...env, MUSTER_TOKEN: '' });
  t.equal(empty.code, 0, `an empty MUSTER_TOKEN is unset: ${empty.stderr}`);

  const wrong = mkdtempSync(join(dir, 'wrong-'));
  writeFileSync(join(wrong, 'admin.token'), 'not-the-token-of-this-server\n');
  const refused = await muster(['jobs'], elsewhere, { ...env, MUSTER_DATA: wrong });
  t.equal(refused.code, 1);
  t.match(refused.stderr, /MUSTER_ERR_UNAUTHORIZED/);
  t.match(refused.stderr, `the token in ${join(wrong, 'admin.token')} was refused`, 'the hint names the file that was read');
});
