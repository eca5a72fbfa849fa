/**
 * A finished task's output outlives its agent: a real `muster server` keeps the tail of each stream that a
 * real `muster agent` ships once the attempt has ended, and `muster logs` and the HTTP logs route read that
 * copy once the agent is gone — SIGKILLed or stopped (SIGTERM) after shipping; over the cap, they say what
 * was not kept; an agent killed before it could ship says so while it is gone, and ships when it comes back.
 * Real processes (dist/: build first), real files; nothing is left running.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { Test } from 'tap';
import { http, jobSpec } from '../api/helpers.js';
import { until } from '../helpers/until.js';
import { MusterChild, ROOT } from '../server/muster-child.js';
import { AgentProcess, cleanUpWorkFolder, processesMentioning } from './agent-process.js';

const exec = promisify(execFile);
// Three clusters of real processes, one of them restarted and waiting out a node's loss: over a minute on a
// loaded 2-core machine, past tap's default of 120 s under more load.
t.setTimeout(300_000);

/** The server's cap per stream in these tests: small, so a few thousand lines pass it. */
const KEEP = 4096;
/** Fast liveness, so a server restarted without the agent declares its node lost within seconds. */
const CONFIG = `output: { keepBytes: ${KEEP} }\nliveness: { heartbeatMs: 200, suspectAfterMs: 600, lostAfterMs: 1500 }\n`;

interface Cluster {
  readonly dir: string;
  readonly work: string;
  readonly token: string;
  url: string;
  server: MusterChild;
}

async function startServer(dir: string): Promise<{ server: MusterChild; url: string }> {
  const server = new MusterChild(['server', '--data', join(dir, 'data'), '--config', join(dir, 'muster.yaml'), '--port', '0'], { MUSTER_LOG_LEVEL: 'info' });
  const url = (await server.line(/^url: (\S+)$/))[1]!;
  await server.line(/^ready: /);
  return { server, url };
}

async function cluster(t: Test): Promise<Cluster> {
  const dir = await mkdtemp(join(tmpdir(), 'muster-output-'));
  await writeFile(join(dir, 'muster.yaml'), CONFIG);
  const work = join(dir, 'work');
  cleanUpWorkFolder(t, work);
  const { server, url } = await startServer(dir);
  const c: Cluster = { dir, work, url, server, token: readFileSync(join(dir, 'data', 'admin.token'), 'utf8').trim() };
  t.teardown(async () => {
    await c.server.kill();
    await rm(dir, { recursive: true, force: true });
  });
  return c;
}

function startAgent(t: Test, c: Cluster): AgentProcess {
  return new AgentProcess(t, ['--server', c.url, '--token', c.token, '--name', 'n1', '--cpu', '1', '--memory', '1Gi', '--work-dir', c.work, '--grace', '300ms']);
}

async function submit(c: Cluster, script: string): Promise<string> {
  const r = await http(c.url, '/v1/jobs', c.token, { body: { jobs: [jobSpec({ tasks: [{ resources: { cpu: '100m', memory: '64Mi' }, command: ['sh', '-c', script] }] })] } });
  const result = (r.body as { results: { ok: boolean; job: string }[] }).results[0]!;
  if (!result.ok) throw new Error(`submit refused: ${JSON.stringify(r.body)}`);
  return result.job;
}

async function jobStatus(c: Cluster, job: string): Promise<string> {
  const r = await http(c.url, `/v1/jobs/${job}`, c.token);
  return String((r.body as { status?: unknown }).status);
}

/** The server's complete copy of a stream is there (the last piece renamed it into place). */
function copied(c: Cluster, job: string, stream: 'stdout' | 'stderr'): boolean {
  return existsSync(join(c.dir, 'data', 'output', job, `0.1.${stream}`));
}

async function logs(c: Cluster, job: string, query = ''): Promise<{ status: number; text: string; headers: Headers }> {
  const r = await fetch(`${c.url}/v1/jobs/${job}/logs${query}`, { headers: { authorization: `Bearer ${c.token}` } });
  return { status: r.status, text: Buffer.from(await r.arrayBuffer()).toString('utf8'), headers: r.headers };
}

/** `muster logs ARGS` as a user runs it (the built CLI): its exit status, its stdout, its stderr lines. */
async function musterLogs(c: Cluster, args: string[]): Promise<{ code: number; stdout: string; notes: string[] }> {
  const env = { ...process.env, MUSTER_SERVER: c.url, MUSTER_TOKEN: c.token };
  const ran = await exec(process.execPath, [join(ROOT, 'bin', 'muster.js'), 'logs', ...args], { env }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
  return { code: ran.code, stdout: ran.stdout, notes: ran.stderr.split('\n').filter((l) => l !== '') };
}

function seqText(n: number): string {
  return Array.from({ length: n }, (_, i) => `${i + 1}\n`).join('');
}

t.test('SIGKILLed after shipping: muster logs and the route read the copy, and say the head past the cap was not kept', async (t) => {
  const c = await cluster(t);
  const agent = startAgent(t, c);
  await agent.waitFor(/"registered"/);
  const job = await submit(c, 'seq 1 2000; echo small err >&2');
  await until('the job to succeed', () => jobStatus(c, job), (s) => s === 'succeeded');
  await until("the server's copy of both streams", async () => copied(c, job, 'stdout') && copied(c, job, 'stderr'), (x) => x);
  await until('the agent to hear both stored (its outbox empties)', async () => readdirSync(join(c.work, 'outbox')), (names) => names.length === 0);

  agent.child.kill('SIGKILL');
  await agent.exited;
  const whole = seqText(2000);
  const out = await logs(c, job);
  t.equal(out.status, 200, out.text);
  t.equal(out.headers.get('muster-source'), 'control-plane', 'read from the control plane: the agent is gone');
  t.equal(out.headers.get('muster-output-size'), String(whole.length), 'the whole size of the stream');
  t.equal(out.headers.get('muster-output-from'), String(whole.length - KEEP), 'where the kept tail starts');
  t.equal(out.text, whole.slice(-KEEP), 'the last KEEP bytes, exactly');
  t.equal(out.headers.get('muster-next-offset'), String(whole.length));
  const err = await logs(c, job, '?stream=stderr');
  t.equal(err.text, 'small err\n', 'stderr, whole');
  t.equal(err.headers.get('muster-output-from'), '0');

  const cli = await musterLogs(c, [job]);
  t.equal(cli.code, 0, cli.notes.join('\n'));
  t.equal(cli.stdout, whole.slice(-KEEP), 'muster logs prints the kept tail');
  const n = (x: number): string => x.toLocaleString('en-US');
  t.match(cli.notes.join('\n'), `output truncated: the control plane kept the last ${n(KEEP)} of ${n(whole.length)} bytes`, 'and says, with the sizes, that the head was not kept');
  const cliErr = await musterLogs(c, [job, '--stderr']);
  t.equal(cliErr.stdout, 'small err\n');
  t.same(cliErr.notes, [], 'no notice when nothing was cut');
  t.same(processesMentioning(c.work), [], 'no shim or task left');
});

t.test('stopped (SIGTERM) after shipping: the output is still read, from the copy', async (t) => {
  const c = await cluster(t);
  const agent = startAgent(t, c);
  await agent.waitFor(/"registered"/);
  const job = await submit(c, 'echo hello from a task; echo and its stderr >&2');
  await until('the job to succeed', () => jobStatus(c, job), (s) => s === 'succeeded');
  await until("the server's copy of both streams", async () => copied(c, job, 'stdout') && copied(c, job, 'stderr'), (x) => x);
  agent.child.kill('SIGTERM');
  t.match(await agent.exited, { code: 0 }, 'the agent stops cleanly');

  const out = await logs(c, job);
  t.equal(out.status, 200, out.text);
  t.equal(out.text, 'hello from a task\n');
  t.equal(out.headers.get('muster-source'), 'control-plane');
  const cli = await musterLogs(c, [job, '--stderr']);
  t.equal(cli.stdout, 'and its stderr\n', 'muster logs --stderr');
  t.same(cli.notes, []);
});

t.test('killed before it could ship: the route says the output was not shipped; restarted, the agent ships it', async (t) => {
  const c = await cluster(t);
  const first = startAgent(t, c);
  await first.waitFor(/"registered"/);
  const mark = join(c.dir, 'go');
  const job = await submit(c, `echo written before the crash; while [ ! -e ${mark} ]; do sleep 0.02; done`);
  await until('the task to write its output', async () => readFile(join(c.work, 'jobs', job, '0', '1', 'stdout'), 'utf8').catch(() => ''), (s) => s.length > 0);

  // The server goes; the task ends while the agent cannot reach it, so nothing is shipped; then the agent goes too.
  await c.server.kill();
  await writeFile(mark, '');
  await until('the outbox entry of the ended attempt', async () => existsSync(join(c.work, 'outbox', `${job}#0#1`)), (x) => x);
  first.child.kill('SIGKILL');
  await first.exited;

  // On a new port (the old one may be held in TIME_WAIT); the restarted agent is told the new one.
  const restarted = await startServer(c.dir);
  c.server = restarted.server;
  c.url = restarted.url;
  await until('the node to be declared lost and its attempt with it', () => jobStatus(c, job), (s) => s === 'failed');
  const gone = await logs(c, job);
  t.equal(gone.status, 503);
  t.match(JSON.parse(gone.text), { code: 'MUSTER_ERR_LOGS_UNAVAILABLE', message: /no connected agent.*the control plane holds no copy of it: its agent has not shipped it/ }, 'says the output was never shipped');
  t.notOk(copied(c, job, 'stdout'), 'no copy');

  const second = startAgent(t, c);
  await until("the restarted agent's shipment", async () => copied(c, job, 'stdout') && copied(c, job, 'stderr'), (x) => x);
  await until('the outbox to empty', async () => readdirSync(join(c.work, 'outbox')), (names) => names.length === 0);
  second.child.kill('SIGKILL');
  await second.exited;
  const out = await logs(c, job);
  t.equal(out.status, 200, out.text);
  t.equal(out.text, 'written before the crash\n', 'shipped on reconnection, read with the agent gone');
  t.equal(out.headers.get('muster-source'), 'control-plane');
  t.same(processesMentioning(c.work), [], 'no shim or task left');
});
