/**
 * The operators' verbs as a user types them (`node bin/muster.js …`, the built CLI) against a real
 * `muster server` process: a job no node can run (refused, or held on request, and why says so), node
 * drain/undrain, hold/release/requeue, queue apply from examples/queue.yaml, and queue delete. The node
 * is a protocol client registered over the real agent socket.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MUSTER, ROOT, ServerProcess } from '../client/server-process.js';
import { WsClient } from '../api/helpers.js';

const exec = promisify(execFile);
t.setTimeout(300_000);
const cwd = mkdtempSync(join(tmpdir(), 'muster-cli-admin-'));
const server = await ServerProcess.start({ dir: join(cwd, '.muster') });
const agent = await WsClient.open(`${server.url.replace(/^http/, 'ws')}/v1/agent`, server.token);
t.teardown(async () => {
  agent.close();
  await server.stop();
  rmSync(cwd, { recursive: true, force: true });
});
const registered = await agent.request({ kind: 'register', id: 'r', node: { name: 'n1', site: 'local', capacity: { cpu: '2', memory: '4Gi' } } });
const beat = setInterval(() => agent.send({ kind: 'heartbeat', node: 'n1' }), (registered['heartbeatMs'] as number | undefined) ?? 1000);
beat.unref();
t.teardown(() => clearInterval(beat));

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function muster(args: string[]): Promise<Ran> {
  const env: NodeJS.ProcessEnv = { ...process.env, MUSTER_SERVER: server.url };
  delete env['MUSTER_TOKEN'];
  try {
    const { stdout, stderr } = await exec(process.execPath, [MUSTER, ...args], { cwd, env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

t.test('a job no node can run: refused with its reasons, or held with --hold-unsatisfiable; why says never', async (t) => {
  const refused = await muster(['submit', '--cpu', '1000', '--', 'true']);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /MUSTER_ERR_UNSATISFIABLE: can never run on the current nodes/);
  t.match(refused.stderr, /tasks\[0\]\.resources\.cpu: MUSTER_ERR_UNSATISFIABLE: one task needs 1000 cpu/);
  const held = await muster(['submit', '--hold-unsatisfiable', '--cpu', '1000', '--', 'true']);
  t.equal(held.code, 0, held.stderr);
  const id = /^submitted (\S+)$/m.exec(held.stdout)![1]!;
  const why = await muster(['why', id]);
  t.match(why.stdout, /unsatisfiable: can never run on the current nodes: tasks\[0\]\.resources\.cpu/);
  t.notMatch(why.stdout, /cluster-busy/);
});

t.test('node drain, nodes, undrain', async (t) => {
  const drained = await muster(['node', 'drain', 'n1', '--deadline', '10m']);
  t.equal(drained.code, 0, drained.stderr);
  t.match(drained.stdout, /^drained n1/);
  t.match((await muster(['nodes'])).stdout, /n1\s+local\s+draining until \d{4}-/);
  const unknown = await muster(['node', 'drain', 'nope']);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /MUSTER_ERR_UNKNOWN_NODE/);
  t.match((await muster(['node', 'undrain', 'n1'])).stdout, /^undrained n1$/m);
  t.match((await muster(['nodes'])).stdout, /n1\s+local\s+ready /);
});

t.test('hold, why, release; requeue of a job with nothing running', async (t) => {
  // The node's 2 cpus are taken (its agent here never runs anything), so the next job stays pending.
  const blocker = await muster(['submit', '--cpu', '2', '--', 'sleep', '600']);
  t.equal(blocker.code, 0, blocker.stderr);
  const submitted = await muster(['submit', '--cpu', '1', '--', 'true']);
  const id = /^submitted (\S+)$/m.exec(submitted.stdout)![1]!;
  t.match((await muster(['hold', id])).stdout, new RegExp(`^held ${id}$`, 'm'));
  t.match((await muster(['why', id])).stdout, /held: its pending tasks are not placed until it is released/);
  t.match((await muster(['release', id])).stdout, new RegExp(`^released ${id}$`, 'm'));
  const requeue = await muster(['requeue', id]);
  t.equal(requeue.code, 1);
  t.match(requeue.stderr, new RegExp(`${id}: MUSTER_ERR_NOT_RUNNING`));
  const unknown = await muster(['hold', 'j-999999']);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /MUSTER_ERR_UNKNOWN_JOB/);
});

t.test('queue apply -f examples/queue.yaml: created, then updated; queues shows it', async (t) => {
  const file = join(ROOT, 'examples', 'queue.yaml');
  const created = await muster(['queue', 'apply', '-f', file]);
  t.equal(created.code, 0, created.stderr);
  t.match(created.stdout, /^created ml\/training \(tenant ml\)$/m);
  t.match((await muster(['queue', 'apply', '-f', file])).stdout, /^updated ml\/training/m);
  t.match((await muster(['queues'])).stdout, /ml\/training/);
  const notQueue = await muster(['queue', 'apply', '-f', join(ROOT, 'examples', 'hello.yaml')]);
  t.equal(notQueue.code, 1);
  t.match(notQueue.stderr, /only kind: Queue documents are applied/);
});

t.test('queue delete: "deleted NAME" per queue; a refusal prints every problem and deletes nothing; -o json', async (t) => {
  const file = join(ROOT, 'examples', 'queue.yaml');
  t.equal((await muster(['queue', 'apply', '-f', file])).code, 0);
  const refused = await muster(['queue', 'delete', 'ml/training', 'nope', 'ml/training']);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /^muster queue: MUSTER_ERR_UNKNOWN_QUEUE: queues not deleted: queues\[1\]: queue nope does not exist \(and 1 more\)$/m);
  t.match(refused.stderr, /^ {2}queues\[2\]: MUSTER_ERR_INVALID_VALUE: queue ml\/training is also queues\[0\]$/m);
  t.match((await muster(['queues'])).stdout, /ml\/training/, 'nothing deleted');
  const deleted = await muster(['queue', 'delete', 'ml/training']);
  t.equal(deleted.code, 0, deleted.stderr);
  t.equal(deleted.stdout, 'deleted ml/training\n');
  t.notMatch((await muster(['queues'])).stdout, /ml\/training/);
  t.equal((await muster(['queue', 'apply', '-f', file])).code, 0);
  const json = await muster(['queue', 'delete', '-o', 'json', 'ml/training']);
  t.same(JSON.parse(json.stdout), { deleted: ['ml/training'] });
  const usage = await muster(['queue', 'delete']);
  t.not(usage.code, 0);
  t.match(usage.stderr, /name the queues to delete/);
});
