/**
 * Draining a node, as an operator does before maintenance (Slurm's `scontrol update state=drain`, Nomad's
 * `node drain`), with a real agent running real processes: nothing new is placed there, what runs goes on,
 * the drain outlives a server restart and the agent's re-registration, and at its deadline what still runs
 * is killed and requeued without spending a retry. Undrain lets work in again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Agent, agentUrls } from '../../src/agent/index.js';
import { createClient } from '../../src/client/index.js';
import { createLogger } from '../../src/log/index.js';
import { http, startTestServer, TOKENS } from '../api/helpers.js';
import type { TestServer } from '../api/helpers.js';
import { freePort } from '../helpers/etcd-cluster.js';
import { until } from '../helpers/until.js';

const quiet = createLogger({ name: 'drain-test', level: 'silent' });

function sleeper(seconds: number): Record<string, unknown> {
  // retries: 0 — a kill that counted against retries would fail the job.
  return { queue: 'default', tasks: [{ resources: { cpu: '1', memory: '64Mi' }, command: ['sleep', String(seconds)] }] };
}

// The restart below leaves the agent without a server for as long as a stop and a start take, which on a
// loaded machine has passed the default 3 s fence (the agent then kills its work, rightly): this test is
// about the drain surviving a restart, so its fence is far longer than any restart.
const LIVENESS = { lostAfterMs: 60_000, fenceMs: 50_000 };

t.test('drain: no new placements, running work goes on, survives a restart, the deadline requeues; undrain', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'muster-drain-'));
  const work = mkdtempSync(join(tmpdir(), 'muster-drain-work-'));
  let server: TestServer = await startTestServer({ dir, config: { liveness: LIVENESS } });
  // The restarted server listens on another port, which the agent knows as its second endpoint.
  const port = await freePort();
  const agent = new Agent({ endpoints: agentUrls([server.url, `http://127.0.0.1:${port}`]), token: TOKENS.agent, name: 'box', site: 'local', capacity: { cpu: 4000, memory: 4096, gpu: 0, extended: {} }, workDir: work, graceMs: 500, log: quiet });
  t.teardown(async () => {
    await agent.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });
  await agent.start();
  const admin = (): ReturnType<typeof createClient> => createClient({ endpoints: server.url, token: TOKENS.admin });
  let client = admin();
  t.teardown(() => client.close());
  const box = async (): Promise<{ state: string; drain?: { deadline: number | null } }> => (await client.nodes()).find((n) => n.name === 'box') as never;
  await until('the node ready', box, (n) => n?.state === 'ready');

  const [first] = await client.submit([sleeper(300)]);
  const running = first!.ok ? first!.job : '';
  await until('the first job running', () => client.job(running), (j) => j.status === 'running');

  // Only an admin may drain; an unknown node and a bad deadline are refused with their codes.
  const bySubmitter = await http(server.url, '/v1/nodes/box/drain', TOKENS.acme, { body: {} });
  t.equal(bySubmitter.status, 403);
  const unknown = await http(server.url, '/v1/nodes/nope/drain', TOKENS.admin, { body: {} });
  t.equal(unknown.status, 404);
  t.equal(unknown.body.code, 'MUSTER_ERR_UNKNOWN_NODE');
  const badDeadline = await http(server.url, '/v1/nodes/box/drain', TOKENS.admin, { body: { deadline: 'soon' } });
  t.equal(badDeadline.status, 400);
  t.equal(badDeadline.body.field, 'deadline');

  t.same(await client.drainNode('box'), { node: 'box', drained: true });
  t.match(await box(), { state: 'draining', drain: { deadline: null } });

  const [second] = await client.submit([sleeper(300)]);
  const waiting = second!.ok ? second!.job : '';
  // A cycle offered it against the cluster's free capacity, which no longer counts the draining node (the
  // offer before the drain had 3 cpus free); it stays pending, and why names the draining node.
  const why = await until('a cycle to find no ready capacity', () => client.why(waiting), (w) => 'reasons' in w && w.reasons.some((r) => r.kind === 'cluster-busy' && /0m free/.test(r.message)));
  t.equal((await client.job(waiting)).status, 'pending', 'nothing new is placed on a draining node');
  t.ok('reasons' in why && why.reasons.some((r) => r.kind === 'nodes-unavailable' && /box draining/.test(r.message)), JSON.stringify(why));
  t.equal((await client.job(running)).status, 'running', 'what runs there goes on');

  // A restart (same data folder): the agent registers again and the node is still drained.
  await client.close();
  await server.stop();
  server = await startTestServer({ dir, config: { port, liveness: LIVENESS } });
  client = admin();
  await until('the agent back, the node still draining', box, (n) => n?.state === 'draining' && n.drain !== undefined);
  t.equal((await client.job(running)).status, 'running', 'adopted after the restart, not killed');
  t.equal((await client.job(waiting)).status, 'pending');

  // A drain with a deadline: at the deadline what still runs is killed and requeued, no retry spent.
  await client.drainNode('box', '500ms');
  const requeued = await until('the running job requeued', () => client.job(running), (j) => j.taskList[0]!.attempt === 1 && j.taskList[0]!.state === 'pending');
  t.equal(requeued.status, 'pending', 'back to pending, not failed (it has no retries to spend)');
  t.equal(requeued.taskList[0]!.failures, 0, 'the kill did not count against its retries');
  await until('the process gone', async () => agent.executor.running().length, (n) => n === 0);

  t.same(await client.undrainNode('box'), { node: 'box', drained: false });
  await until('both jobs running again', () => Promise.all([client.job(running), client.job(waiting)]), (js) => js.every((j) => j.status === 'running'));
  t.equal((await client.job(running)).taskList[0]!.attempt, 2, 'the requeued task runs again as attempt 2');
  const after = await box();
  t.equal(after.state, 'ready');
  t.notOk(after.drain, 'no drain shown');
});
