/**
 * The server commands as a user runs them (`node bin/muster.js …`, the built CLI) against a real
 * `muster server` whose data folder is `./.muster` of the commands' working folder, so the admin token is
 * found there without a flag.
 */
import t from 'tap';
import type { Test } from 'tap';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { MUSTER, ROOT, ServerProcess } from '../client/server-process.js';

const exec = promisify(execFile);
// About 25 commands, each a fresh node process: on a loaded 2-core machine that is a minute.
t.setTimeout(300_000);
const cwd = mkdtempSync(join(tmpdir(), 'muster-cli-'));
const server = await ServerProcess.start({ dir: join(cwd, '.muster') });
t.teardown(async () => {
  await server.stop();
  rmSync(cwd, { recursive: true, force: true });
});

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `muster ARGS` in the folder that holds `.muster/admin.token`, with MUSTER_SERVER set and no token in the environment. */
async function muster(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  const environment: NodeJS.ProcessEnv = { ...process.env, MUSTER_SERVER: server.url };
  delete environment['MUSTER_TOKEN'];
  Object.assign(environment, env);
  try {
    const { stdout, stderr } = await exec(process.execPath, [MUSTER, ...args], { cwd, env: environment });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** `muster submit` of one job from flags; returns its id. */
async function submitted(t: Test, args: string[]): Promise<string> {
  const ran = await muster(['submit', ...args]);
  t.equal(ran.code, 0, ran.stderr);
  const id = /^submitted (\S+)$/m.exec(ran.stdout)?.[1];
  t.ok(id, ran.stdout);
  return id ?? '';
}

t.test('submit from flags and from spec files; -o json for scripts', async (t) => {
  const id = await submitted(t, ['--name', 'hello', '--cpu', '250m', '--memory', '128Mi', '--queue', 'cli', '--', 'echo', 'hello']);
  const json = await muster(['submit', '-o', 'json', '-f', join(ROOT, 'examples', 'hello.yaml'), '-f', join(ROOT, 'examples', 'array.yaml')]);
  t.equal(json.code, 0, json.stderr);
  const { results } = JSON.parse(json.stdout) as { results: { ok: boolean; job: string; source: string }[] };
  t.equal(results.length, 2);
  t.ok(results.every((r) => r.ok && r.job !== id));
  t.match(results[0]?.source, /hello\.yaml$/);
  const again = await muster(['submit', '--idempotency-key', 'cli-key', '--', 'true']);
  const repeat = await muster(['submit', '--idempotency-key', 'cli-key', '--', 'true']);
  t.match(repeat.stdout, /already submitted with this idempotency key/);
  t.equal(/submitted (\S+)/.exec(repeat.stdout)?.[1], /submitted (\S+)/.exec(again.stdout)?.[1], 'the same job');
});

t.test('jobs, job and why show what was submitted', async (t) => {
  const id = await submitted(t, ['--name', 'shown', '--queue', 'shown', '--count', '2', '--', 'sleep', '1']);
  const [jobs, job, why, whyJsonRan, unknown] = await Promise.all([
    muster(['jobs', '--queue', 'shown']),
    muster(['job', id]),
    muster(['why', id]),
    muster(['why', id, '-o', 'json']),
    muster(['job', 'j-404404']),
  ]);
  t.equal(jobs.code, 0, jobs.stderr);
  const lines = jobs.stdout.trimEnd().split('\n');
  t.match(lines[0], /^ID\s+NAME\s+TENANT\s+QUEUE\s+STATUS\s+TASKS\s+EXIT\s+ELAPSED\s+AGE\s+REASON$/);
  t.match(lines[1], new RegExp(`^${id}\\s+shown\\s+default\\s+shown\\s+pending\\s+0/2\\s+-\\s+-\\s+\\d+s$`));
  t.match(job.stdout, new RegExp(`^id:\\s+${id}$`, 'm'));
  t.match(job.stdout, /^tasks:\s+2: 2 pending/m);
  t.match(job.stdout, /^TASK\s+STATE\s+ATTEMPT\s+FAILURES\s+NODE$/m);
  t.equal(why.code, 0, why.stderr);
  t.match(why.stdout, new RegExp(`^${id} is pending`));
  const whyJson = JSON.parse(whyJsonRan.stdout) as { status: string };
  t.equal(whyJson.status, 'pending');
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /^muster job: MUSTER_ERR_UNKNOWN_JOB: /);
});

t.test('jobs pages: --limit prints the next page command; --all follows every page', async (t) => {
  for (let i = 0; i < 3; i++) await submitted(t, ['--queue', 'paged', '--', 'true']);
  const first = await muster(['jobs', '--queue', 'paged', '--limit', '2']);
  t.equal(first.stdout.trimEnd().split('\n').length, 3, 'a header and two jobs');
  const cursor = /^more: muster jobs --queue paged --limit 2 --after (\S+) /m.exec(first.stderr)?.[1];
  t.ok(cursor, first.stderr);
  const next = await muster(['jobs', '--queue', 'paged', '--limit', '2', '--after', cursor ?? '']);
  t.equal(next.stdout.trimEnd().split('\n').length, 2, 'the last job');
  const all = JSON.parse((await muster(['jobs', '--queue', 'paged', '--all', '--limit', '2', '-o', 'json'])).stdout) as { jobs: unknown[] };
  t.equal(all.jobs.length, 3);
});

t.test('jobs --all across queues: every job once, in submission order, whatever the page size', async (t) => {
  const ids: string[] = [];
  for (const queue of ['pages-a', 'pages-b', 'pages-c', 'pages-a', 'pages-b', 'pages-c']) ids.push(await submitted(t, ['--queue', queue, '--', 'true']));
  const listed = async (limit: number): Promise<string[]> => {
    const ran = await muster(['jobs', '--all', '--limit', String(limit), '-o', 'json']);
    t.equal(ran.code, 0, ran.stderr);
    return (JSON.parse(ran.stdout) as { jobs: { id: string }[] }).jobs.map((j) => j.id);
  };
  const whole = await listed(1000);
  t.same(
    whole,
    [...whole].sort((a, b) => Number(a.slice(2)) - Number(b.slice(2))),
    'in submission order',
  );
  t.ok(
    ids.every((id) => whole.includes(id)),
    'with every job submitted',
  );
  for (const limit of [1, 2, 4]) t.same(await listed(limit), whole, `--limit ${limit} --all lists the same jobs`);
  const first = await muster(['jobs', '--queue', 'pages-b', '--limit', '1']);
  const more = /^more: (muster jobs .*) \(or --all\)$/m.exec(first.stderr)?.[1] ?? '';
  t.match(more, /--queue pages-b/, `the next page's command keeps the filters: ${first.stderr}`);
  const next = await muster(more.split(' ').slice(1));
  t.match(next.stdout, new RegExp(`^${ids[4]}\\s`, 'm'), 'and lists the next job of that queue');
});

t.test('cancel: cancelled once, then the job has ended (exit 1)', async (t) => {
  const id = await submitted(t, ['--', 'sleep', '100']);
  const cancel = await muster(['cancel', id]);
  t.equal(cancel.code, 0, cancel.stderr);
  t.equal(cancel.stdout, `cancelled ${id}\n`);
  const again = await muster(['cancel', id]);
  t.equal(again.code, 1);
  t.match(again.stderr, new RegExp(`^${id}: MUSTER_ERR_JOB_ENDED: `));
});

t.test('watch prints the events after it started, then stops at --count', async (t) => {
  const child = spawn(process.execPath, [MUSTER, 'watch', '--queue', 'watched', '--count', '2', '-o', 'json'], { cwd, env: { ...process.env, MUSTER_SERVER: server.url } });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const out: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => out.push(line));
  // The watch is confirmed (a line on stderr) before anything is submitted: no event can be missed.
  await new Promise<void>((resolve) => {
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (line.startsWith('watching from seq ')) resolve();
    });
  });
  const id = await submitted(t, ['--queue', 'watched', '--', 'true']);
  await muster(['cancel', id]);
  t.equal(await exited, 0);
  const events = out.map((line) => JSON.parse(line) as { type: string; job: string });
  t.same(
    events.map((e) => [e.type, e.job]),
    [
      ['submitted', id],
      ['cancel-requested', id],
    ],
  );
});

t.test('queues, sites and nodes print tables (and JSON)', async (t) => {
  const queues = await muster(['queues']);
  t.match(queues.stdout, /^NAME\s+TENANT\s+WEIGHT\s+PRIORITY\s+GUARANTEED\s+BORROW\s+LIMIT\s+ACTIVE\s+PENDING\s+CPU\s+MEMORY\s+GPU\n/);
  t.match(queues.stdout, /^cli\s+default\s+1\s+0\s+-\s+yes\s+-/m);
  const sites = await muster(['sites']);
  t.match(sites.stdout, /^NAME\s+NODES\s+READY\s+CPU\s+MEMORY\s+GPU\nlocal\s+0\s+0\s/);
  const nodes = await muster(['nodes', '-o', 'json']);
  t.same(JSON.parse(nodes.stdout), { nodes: [] });
});

t.test('a wrong token: the server code, a hint, exit 1, no stack trace', async (t) => {
  for (const args of [['jobs'], ['submit', '--', 'true']]) {
    const ran = await muster(args, { MUSTER_TOKEN: 'wrong-token-000000000000' });
    t.equal(ran.code, 1, args.join(' '));
    t.match(ran.stderr, new RegExp(`^muster ${args[0]}: MUSTER_ERR_UNAUTHORIZED: .*\\n  the token given was refused: give a token with --token or MUSTER_TOKEN`), args.join(' '));
    t.notMatch(ran.stderr, /\n\s+at /);
  }
});
