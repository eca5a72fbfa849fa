/**
 * Nodes a restarted server recovers from its log are watched from the start: each has the grace period
 * (`lostAfterMs`) to register again. One whose agent comes back keeps its work (nothing rescheduled); one
 * whose agent never does is found lost and its work runs again elsewhere. Before, a recovered node that never
 * came back stayed `ready` forever, its attempts never ended, and its resources stayed allocated.
 * The same rule gives a new leader's nodes their grace after a failover (src/server/replica.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import type { Frame, TestServer } from './helpers.js';
import { TOKENS, WsClient, fakeAgent, http, jobSpec, startTestServer } from './helpers.js';
import { until } from '../helpers/until.js';

/** Short liveness timings, so a silent node is lost within about a second. */
const FAST = { heartbeatMs: 100, suspectAfterMs: 300, lostAfterMs: 900 };

async function serverOn(t: Test, dir: string): Promise<TestServer> {
  const server = await startTestServer({ dir, config: { liveness: FAST } });
  t.teardown(() => server.stop());
  return server;
}

/** A job placed on `node`, started there, on a first server that then stops cleanly. */
async function runningOn(t: Test, dir: string, node: string): Promise<{ job: string; epoch: number }> {
  const first = await serverOn(t, dir);
  const agent = await fakeAgent(first, node);
  const client = await WsClient.open(`${first.ws}/v1/submit`, TOKENS.admin);
  const reply = await client.request({ kind: 'submit', id: 's', jobs: [jobSpec({ retries: { max: 3 } })] });
  const job = (reply['results'] as Frame[])[0]!['job'] as string;
  const start = await agent.client.next((f) => f.kind === 'start' && f['job'] === job);
  agent.client.send({ kind: 'started', node, job, task: 0, attempt: 1 });
  await until('the job running', () => http(first.url, `/v1/jobs/${job}`, TOKENS.admin), (r) => r.body.status === 'running');
  client.close();
  agent.client.close();
  await first.stop();
  return { job, epoch: start['epoch'] as number };
}

const nodeState = async (server: TestServer, name: string): Promise<unknown> => ((await http(server.url, '/v1/nodes', TOKENS.admin)).body.nodes as { name: string; state: string }[]).find((n) => n.name === name)?.state;

t.test('a recovered node whose agent never comes back is lost after the grace period; its task runs again elsewhere', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'muster-recovered-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { job } = await runningOn(t, dir, 'gone');
  const second = await serverOn(t, dir);
  await until('the silent node lost', () => nodeState(second, 'gone'), (s) => s === 'lost');
  const other = await fakeAgent(second, 'other');
  t.teardown(() => other.client.close());
  const start = await other.client.next((f) => f.kind === 'start' && f['job'] === job);
  t.equal(start['attempt'], 2, 'the task runs again, as attempt 2, on the node that is there');
});

t.test('a recovered node whose agent registers within the grace period keeps its work: nothing is rescheduled', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'muster-recovered-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { job, epoch } = await runningOn(t, dir, 'back');
  const second = await serverOn(t, dir);
  const again = await fakeAgent(second, 'back', [{ job, task: 0, attempt: 1, epoch }]);
  t.teardown(() => again.client.close());
  t.same(again.registered['kill'], [], `nothing to kill: the attempt is still the live one (${JSON.stringify(again.registered)})`);
  // Past the grace period, with heartbeats: the node stays ready and its attempt runs on.
  const watcher = await WsClient.open(`${second.ws}/v1/submit`, TOKENS.admin);
  t.teardown(() => watcher.close());
  await watcher.request({ kind: 'watch', id: 'w' });
  again.client.send({ kind: 'ended', node: 'back', job, task: 0, attempt: 1, outcome: 'succeeded', exitCode: 0 });
  await watcher.event('w', (e) => e['job'] === job && e['type'] === 'ended');
  const view = await http(second.url, `/v1/jobs/${job}`, TOKENS.admin);
  t.equal(view.body.status, 'succeeded');
  t.match(view.body.taskList, [{ index: 0, state: 'succeeded', attempt: 1, node: 'back', failures: 0 }], 'one attempt, never lost or run again');
  t.equal(await nodeState(second, 'back'), 'ready');
});

t.test("a placement whose start never reached its agent is started again at the agent's registration, as the same attempt", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'muster-recovered-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // The first server places the job and sends its start; the agent never takes it (as when the start is
  // lost with the server that sent it: a failover or a crash right after the placement became durable).
  const first = await serverOn(t, dir);
  const agent = await fakeAgent(first, 'astray');
  const client = await WsClient.open(`${first.ws}/v1/submit`, TOKENS.admin);
  const reply = await client.request({ kind: 'submit', id: 's', jobs: [jobSpec({ retries: { max: 3 } })] });
  const job = (reply['results'] as Frame[])[0]!['job'] as string;
  await agent.client.next((f) => f.kind === 'start' && f['job'] === job);
  client.close();
  agent.client.close();
  await first.stop();

  const second = await serverOn(t, dir);
  const again = await fakeAgent(second, 'astray', []);
  t.teardown(() => again.client.close());
  const start = await again.client.next((f) => f.kind === 'start' && f['job'] === job);
  t.equal(start['attempt'], 1, 'the same attempt, started again: not lost, no retry spent');
  t.ok((start['epoch'] as number) > 0, 'under the new epoch');
  again.client.send({ kind: 'started', node: 'astray', job, task: 0, attempt: 1 });
  again.client.send({ kind: 'ended', node: 'astray', job, task: 0, attempt: 1, outcome: 'succeeded', exitCode: 0 });
  const view = await until('the job to succeed', () => http(second.url, `/v1/jobs/${job}`, TOKENS.admin), (r) => r.body.status === 'succeeded');
  t.match(view.body.taskList, [{ index: 0, state: 'succeeded', attempt: 1, failures: 0 }]);
});
