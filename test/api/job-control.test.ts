/**
 * The job verbs of Slurm users: hold and release (a held job is not placed; why says held; the hold
 * survives a restart), requeue (running tasks killed and pending again, no retry spent), and the cancel of
 * one array element (`j-7[4]`), over HTTP and the WebSocket. Real server, real sockets; the agent is a
 * protocol client the test drives, so every step waits on the frame it causes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Frame } from './helpers.js';
import { fakeAgent, http, jobSpec, startTestServer, TOKENS, WsClient } from './helpers.js';
import { until } from '../helpers/until.js';

async function submitOne(url: string, spec: Record<string, unknown>, holdUnsatisfiable = false): Promise<string> {
  const r = await http(url, '/v1/jobs', TOKENS.acme, { body: { jobs: [spec], ...(holdUnsatisfiable ? { holdUnsatisfiable } : {}) } });
  if (!r.body.results?.[0]?.ok) throw new Error(`refused: ${JSON.stringify(r.body)}`);
  return r.body.results[0].job as string;
}

t.test('hold: not placed, why says held, survives a restart; release: placed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'muster-hold-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let server = await startTestServer({ dir });
  // Submitted before any node: pending; held before a node can take it.
  const held = await submitOne(server.url, jobSpec());
  const hold = await http(server.url, `/v1/jobs/${held}/hold`, TOKENS.acme, { body: {} });
  t.same(hold.body, { job: held, ok: true });
  t.equal((await http(server.url, `/v1/jobs/${held}/hold`, TOKENS.globex, { body: {} })).status, 403, "another tenant's job");
  t.equal((await http(server.url, '/v1/jobs/j-999/hold', TOKENS.acme, { body: {} })).body.code, 'MUSTER_ERR_UNKNOWN_JOB');

  const agent = await fakeAgent(server, 'n1');
  const other = await submitOne(server.url, jobSpec());
  // The cycle that places the later job passes over the held one.
  await agent.client.next((f) => f.kind === 'start' && f['job'] === other);
  t.notOk(agent.client.received.some((f) => f.kind === 'start' && f['job'] === held), 'the held job was not placed');
  const why = await http(server.url, `/v1/jobs/${held}/why`, TOKENS.acme);
  t.equal(why.body.status, 'pending');
  t.equal(why.body.reasons[0].kind, 'held');
  t.match(why.body.reasons[0].message, /not placed until it is released/);

  agent.client.close();
  await server.stop();
  server = await startTestServer({ dir });
  t.teardown(async () => {
    await server.stop();
  });
  const again = await http(server.url, `/v1/jobs/${held}/why`, TOKENS.acme);
  t.equal(again.body.reasons[0].kind, 'held', 'still held after a restart');
  const fresh = await fakeAgent(server, 'n2');
  t.teardown(() => fresh.client.close());
  // n1's agent is gone (its node would be lost after the grace period): keep the job off it.
  await http(server.url, '/v1/nodes/n1/drain', TOKENS.admin, { body: {} });
  t.same((await http(server.url, `/v1/jobs/${held}/release`, TOKENS.acme, { body: {} })).body, { job: held, ok: true });
  const start = await fresh.client.next((f) => f.kind === 'start' && f['job'] === held);
  t.equal(start['attempt'], 1, 'placed once released');
});

t.test('requeue: running tasks are killed and pending again without spending a retry', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.stop());
  const agent = await fakeAgent(server, 'n1');
  t.teardown(() => agent.client.close());
  const pending = await submitOne(server.url, jobSpec({ constraints: { selectors: ['nowhere=1'] } }), true);
  void pending;
  const job = await submitOne(server.url, jobSpec());
  await agent.client.next((f) => f.kind === 'start' && f['job'] === job);
  agent.client.send({ kind: 'started', node: 'n1', job, task: 0, attempt: 1 });
  await until('running', () => http(server.url, `/v1/jobs/${job}`, TOKENS.acme), (r) => r.body.status === 'running');

  t.same((await http(server.url, `/v1/jobs/${job}/requeue`, TOKENS.acme, { body: {} })).body, { job, ok: true });
  const kill = await agent.client.next((f) => f.kind === 'kill' && f['job'] === job);
  t.equal(kill['reason'], 'requeue');
  agent.client.send({ kind: 'ended', node: 'n1', job, task: 0, attempt: 1, outcome: 'killed', reason: 'requeue' });
  const restart = await agent.client.next((f) => f.kind === 'start' && f['job'] === job && f['attempt'] === 2);
  t.ok(restart, 'runs again as attempt 2');
  const view = await http(server.url, `/v1/jobs/${job}`, TOKENS.acme);
  t.equal(view.body.taskList[0].failures, 0, 'no retry spent (the job has none)');
  t.not(view.body.status, 'failed');

  agent.client.send({ kind: 'ended', node: 'n1', job, task: 0, attempt: 2, outcome: 'succeeded', exitCode: 0 });
  await until('ended', () => http(server.url, `/v1/jobs/${job}`, TOKENS.acme), (r) => r.body.status === 'succeeded');
  const ended = await http(server.url, `/v1/jobs/${job}/requeue`, TOKENS.acme, { body: {} });
  t.equal(ended.status, 409);
  t.equal(ended.body.code, 'MUSTER_ERR_JOB_ENDED');
  const idle = await http(server.url, `/v1/jobs/${pending}/requeue`, TOKENS.acme, { body: {} });
  t.equal(idle.status, 409);
  t.equal(idle.body.code, 'MUSTER_ERR_NOT_RUNNING');
});

t.test('cancel one array element: j-7[4] over the WebSocket and HTTP; the others run on', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.stop());
  const agent = await fakeAgent(server, 'n1');
  t.teardown(() => agent.client.close());
  const job = await submitOne(server.url, jobSpec({ array: 3 }));
  for (let task = 0; task < 3; task++) {
    await agent.client.next((f) => f.kind === 'start' && f['job'] === job && f['task'] === task);
    agent.client.send({ kind: 'started', node: 'n1', job, task, attempt: 1 });
  }
  const ws = await WsClient.open(`${server.ws}/v1/submit`, TOKENS.acme);
  t.teardown(() => ws.close());
  const reply = await ws.request({ kind: 'cancel', id: 1, jobs: [`${job}[1]`, `${job}[7]`] });
  const [one, past] = reply['results'] as Frame[];
  t.same(one, { job: `${job}[1]`, ok: true });
  t.equal(past!['code'], 'MUSTER_ERR_INVALID_VALUE');
  t.match(past!['message'], /element/);
  const kill = await agent.client.next((f) => f.kind === 'kill' && f['job'] === job);
  t.same([kill['task'], kill['reason']], [1, 'cancel'], 'only element 1 is killed');
  agent.client.send({ kind: 'ended', node: 'n1', job, task: 1, attempt: 1, outcome: 'killed', reason: 'cancel' });

  const viaHttp = await http(server.url, `/v1/jobs/${encodeURIComponent(`${job}[2]`)}/cancel`, TOKENS.acme, { body: {} });
  t.same(viaHttp.body, { job: `${job}[2]`, ok: true });
  await agent.client.next((f) => f.kind === 'kill' && f['job'] === job && f['task'] === 2);
  agent.client.send({ kind: 'ended', node: 'n1', job, task: 2, attempt: 1, outcome: 'killed', reason: 'cancel' });
  agent.client.send({ kind: 'ended', node: 'n1', job, task: 0, attempt: 1, outcome: 'succeeded', exitCode: 0 });
  const done = await until('the job ended', () => http(server.url, `/v1/jobs/${job}`, TOKENS.acme), (r) => r.body.status !== 'running' && r.body.status !== 'placed' && r.body.status !== 'pending');
  t.equal(done.body.status, 'succeeded', 'its one element left succeeded: cancelled elements do not fail it');
  t.same(
    done.body.taskList.map((task: { state: string }) => task.state),
    ['succeeded', 'cancelled', 'cancelled'],
  );
  const plain = await submitOne(server.url, jobSpec());
  const notArray = await http(server.url, `/v1/jobs/${encodeURIComponent(`${plain}[0]`)}/cancel`, TOKENS.acme, { body: {} });
  t.equal(notArray.status, 400);
  t.equal(notArray.body.code, 'MUSTER_ERR_INVALID_VALUE');
});
