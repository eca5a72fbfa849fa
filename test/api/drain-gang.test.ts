/**
 * A drain's deadline and gangs: a gang element starts whole, so when its members on the drained node are
 * requeued, its members elsewhere are killed too (reason `gang`), and the whole element runs again once
 * it can, without spending a retry. The agents are protocol clients the test drives.
 */
import t from 'tap';
import { fakeAgent, http, jobSpec, startTestServer, TOKENS } from './helpers.js';
import { until } from '../helpers/until.js';

t.test('the deadline requeues a whole gang element, not only its members on the drained node', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.stop());
  const a = await fakeAgent(server, 'a');
  const b = await fakeAgent(server, 'b');
  t.teardown(() => (a.client.close(), b.client.close()));
  const submitted = await http(server.url, '/v1/jobs', TOKENS.acme, {
    body: { jobs: [jobSpec({ gang: true, distinctNodes: true, tasks: [{ count: 2, resources: { cpu: '1', memory: '1Gi' }, command: ['sleep', '600'] }] })] },
  });
  const job = submitted.body.results[0].job as string;
  const startA = await a.client.next((f) => f.kind === 'start' && f['job'] === job);
  const startB = await b.client.next((f) => f.kind === 'start' && f['job'] === job);
  a.client.send({ kind: 'started', node: 'a', job, task: startA['task'], attempt: 1 });
  b.client.send({ kind: 'started', node: 'b', job, task: startB['task'], attempt: 1 });
  await until('running', () => http(server.url, `/v1/jobs/${job}`, TOKENS.acme), (r) => r.body.status === 'running');

  await http(server.url, '/v1/nodes/a/drain', TOKENS.admin, { body: { deadline: '200ms' } });
  const killA = await a.client.next((f) => f.kind === 'kill' && f['job'] === job);
  const killB = await b.client.next((f) => f.kind === 'kill' && f['job'] === job);
  t.equal(killA['reason'], 'drain', 'the drained node is told to kill its member');
  t.equal(killB['reason'], 'gang', 'the member on the other node is killed too');
  a.client.send({ kind: 'ended', node: 'a', job, task: startA['task'], attempt: 1, outcome: 'killed', reason: 'drain' });
  b.client.send({ kind: 'ended', node: 'b', job, task: startB['task'], attempt: 1, outcome: 'killed', reason: 'gang' });
  const pending = await until('both members pending', () => http(server.url, `/v1/jobs/${job}`, TOKENS.acme), (r) => r.body.taskList.every((x: { state: string }) => x.state === 'pending'));
  t.same(pending.body.taskList.map((x: { failures: number }) => x.failures), [0, 0], 'no retry spent');

  await http(server.url, '/v1/nodes/a/undrain', TOKENS.admin, { body: {} });
  const again = await Promise.all([a, b].map((agent) => agent.client.next((f) => f.kind === 'start' && f['job'] === job && f['attempt'] === 2)));
  t.equal(again.length, 2, 'the whole element starts again, as attempt 2 of each member');
});
