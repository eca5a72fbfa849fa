/**
 * The CLI with replicas, as a user runs it (`node bin/muster.js …`, the built CLI): `muster leader` against a
 * real `muster server` and next to replicas that do not lead (test/helpers/fake-replica.ts), and commands
 * whose first endpoint is a standby reaching the real server through the client library.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { Test } from 'tap';
import { deadAddress } from '../client/scripted-peer.js';
import { MUSTER, ServerProcess } from '../client/server-process.js';
import { FakeReplica } from '../helpers/fake-replica.js';
import type { KnownLeader } from '../helpers/fake-replica.js';

const exec = promisify(execFile);
// A handful of commands, each a fresh node process: generous for a loaded 2-core machine.
t.setTimeout(180_000);
const cwd = mkdtempSync(join(tmpdir(), 'muster-cli-leader-'));
const server = await ServerProcess.start({ dir: join(cwd, '.muster') });
t.teardown(async () => {
  await server.stop();
  rmSync(cwd, { recursive: true, force: true });
});
const leader: KnownLeader = { url: server.url, epoch: 1 };

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `muster ARGS` in the folder holding `.muster/admin.token`, with MUSTER_SERVER set (a `--server` flag wins). */
async function muster(args: string[]): Promise<Ran> {
  const environment: NodeJS.ProcessEnv = { ...process.env, MUSTER_SERVER: server.url };
  delete environment['MUSTER_TOKEN'];
  try {
    const { stdout, stderr } = await exec(process.execPath, [MUSTER, ...args], { cwd, env: environment });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function replica(t: Test, options: { leader?: KnownLeader } = {}): Promise<FakeReplica> {
  const r = await FakeReplica.start({ retryAfterMs: 50, ...options });
  t.teardown(() => r.close());
  return r;
}

/** The table's row for `endpoint`, split on runs of spaces. */
function row(stdout: string, endpoint: string): string[] | undefined {
  return stdout
    .split('\n')
    .find((l) => l.startsWith(`${endpoint} `))
    ?.split(/\s+/);
}

t.test('muster leader against a real server prints it as the leader, as a table and as JSON', async (t) => {
  const table = await muster(['leader']);
  t.equal(table.code, 0, table.stderr);
  t.match(table.stdout, new RegExp(`^leader: ${server.url} \\(epoch \\d+\\)\\n`));
  t.match(table.stdout, /ENDPOINT\s+ROLE\s+REPLICA\s+LEADER\s+EPOCH/);
  t.match(row(table.stdout, server.url), [server.url, 'leader', server.url, server.url, /^\d+$/]);

  const json = await muster(['leader', '-o', 'json']);
  t.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { leader: string; epoch: number; replicas: Record<string, unknown>[] };
  t.equal(parsed.leader, server.url);
  t.type(parsed.epoch, 'number');
  t.match(parsed.replicas, [{ endpoint: server.url, ok: true, role: 'leader', replica: server.url, leader: server.url, epoch: parsed.epoch }]);
});

t.test('muster leader over a standby and the leader: each replica with its role', async (t) => {
  const standby = await replica(t, { leader });
  const ran = await muster(['leader', '--server', `${standby.url},${server.url}`]);
  t.equal(ran.code, 0, ran.stderr);
  t.match(ran.stdout, new RegExp(`^leader: ${server.url} `));
  t.match(row(ran.stdout, standby.url), [standby.url, 'standby', standby.url, server.url, '1']);
  t.match(row(ran.stdout, server.url), [server.url, 'leader']);
});

t.test('muster leader when no replica knows a leader, or none answers: exit 1 with a clear message', async (t) => {
  const electing = await replica(t);
  const dead = await deadAddress();
  const none = await muster(['leader', '--server', `${electing.url},${dead}`]);
  t.equal(none.code, 1);
  t.match(none.stdout, /^leader: none known\n/);
  t.match(row(none.stdout, electing.url), [electing.url, 'standby', electing.url, 'none']);
  t.match(none.stdout, new RegExp(`${dead}\\s+-\\s+-\\s+-\\s+-\\s+MUSTER_ERR_UNREACHABLE`));
  t.match(none.stderr, /^muster leader: MUSTER_ERR_NOT_LEADER: no replica knows a leader \(asked .+\): an election may be under way/);

  const unreachable = await muster(['leader', '--server', dead]);
  t.equal(unreachable.code, 1);
  t.match(unreachable.stderr, /^muster leader: MUSTER_ERR_UNREACHABLE: no endpoint could be asked/);
});

t.test('commands whose first endpoint is a standby reach the leader through it, or past it', async (t) => {
  const naming = await replica(t, { leader });
  const submitted = await muster(['submit', '--server', naming.url, '--name', 'via-standby', '--cpu', '100m', '--memory', '64Mi', '--', 'echo', 'hi']);
  t.equal(submitted.code, 0, submitted.stderr);
  const id = /^submitted (\S+)$/m.exec(submitted.stdout)?.[1];
  t.ok(id, submitted.stdout);
  t.same(naming.refused, ['UPGRADE /v1/submit'], 'the standby refused the upgrade and named the leader');

  const silent = await replica(t);
  const job = await muster(['job', String(id), '-o', 'json', '--server', `${silent.url},${server.url}`]);
  t.equal(job.code, 0, job.stderr);
  t.match(JSON.parse(job.stdout), { id, name: 'via-standby' });
  t.same(silent.refused, [`GET /v1/jobs/${String(id)}`], 'a standby that names no leader: the next endpoint');
});
