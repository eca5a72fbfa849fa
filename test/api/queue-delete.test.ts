/**
 * Queues deleted at run time (`POST /v1/queues/delete`): admin only; every problem at once (an unknown
 * name, a name given twice, a queue with jobs that have not ended, a parent whose child is not deleted
 * with it) and then nothing deleted; a deleted queue is gone from `GET /v1/queues` and stays gone across a
 * restart, its ended jobs are still read (from the history), a queue of the server's config comes back at
 * the next start, and a job submitted into a deleted name makes the queue again. Real server, real sockets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { QueueSpec } from '../../src/model/index.js';
import { fakeAgent, http, jobSpec, startTestServer, TOKENS } from './helpers.js';
import { until } from '../helpers/until.js';

const queueNames = async (url: string): Promise<string[]> => ((await http(url, '/v1/queues', TOKENS.admin)).body.queues as { name: string }[]).map((q) => q.name).sort();

async function submitOne(url: string, spec: Record<string, unknown>, holdUnsatisfiable = false): Promise<string> {
  const r = await http(url, '/v1/jobs', TOKENS.acme, { body: { jobs: [spec], ...(holdUnsatisfiable ? { holdUnsatisfiable } : {}) } });
  if (!r.body.results?.[0]?.ok) throw new Error(`refused: ${JSON.stringify(r.body)}`);
  return r.body.results[0].job as string;
}

const deleteQueues = (url: string, queues: unknown, token: string = TOKENS.admin): ReturnType<typeof http> => http(url, '/v1/queues/delete', token, { body: { queues } });

t.test('delete: refusals all at once and all or nothing; gone, durable; ended jobs still read; the name made again by a job', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'muster-queue-delete-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const configured: QueueSpec = { tenant: 'acme', name: 'acme/cfg', weight: 1, priority: 0, guaranteedShare: 0, borrow: true };
  const top: QueueSpec = { ...configured, name: 'acme' };
  const start = (): ReturnType<typeof startTestServer> => startTestServer({ dir, config: { queues: [top, configured] } });
  let server = await start();
  t.teardown(() => server.stop());
  const specs = ['acme/ml', 'acme/ml/train', 'acme/ml/eval', 'acme/solo'].map((name) => ({ kind: 'Queue', tenant: 'acme', name }));
  t.equal((await http(server.url, '/v1/queues', TOKENS.admin, { body: { queues: specs } })).status, 200);

  const agent = await fakeAgent(server, 'n1');
  t.teardown(() => agent.client.close());
  const running = await submitOne(server.url, jobSpec({ queue: 'acme/solo' }));
  await agent.client.next((f) => f.kind === 'start' && f['job'] === running);
  const pending = await submitOne(server.url, jobSpec({ queue: 'acme/ml/eval', constraints: { selectors: ['nowhere=1'] } }), true);

  t.equal((await deleteQueues(server.url, ['acme/solo'], TOKENS.acme)).status, 403, 'a submitter may not');
  const typed = await deleteQueues(server.url, ['acme/solo', 7]);
  t.match(typed, { status: 400, body: { code: 'MUSTER_ERR_INVALID_TYPE', field: 'queues[1]' } });

  const refused = await deleteQueues(server.url, ['nope', 'acme/ml', 'acme/ml/eval', 'acme/solo', 'nope']);
  t.equal(refused.status, 404, 'the first problem says the status');
  t.equal(refused.body.code, 'MUSTER_ERR_UNKNOWN_QUEUE');
  t.match(refused.body.message, /queues\[0\]: queue nope does not exist \(and 4 more\)/);
  t.same(
    (refused.body.problems as { path: string; code: string }[]).map((p) => [p.path, p.code]),
    [
      ['queues[0]', 'MUSTER_ERR_UNKNOWN_QUEUE'],
      ['queues[1]', 'MUSTER_ERR_CONFLICT'],
      ['queues[2]', 'MUSTER_ERR_CONFLICT'],
      ['queues[3]', 'MUSTER_ERR_CONFLICT'],
      ['queues[4]', 'MUSTER_ERR_INVALID_VALUE'],
    ],
    'every problem, each under the name it is about',
  );
  const messages = (refused.body.problems as { message: string }[]).map((p) => p.message);
  t.match(messages[1], /queue acme\/ml has 1 child queue \(acme\/ml\/train\)/, 'the eval child is named in the request, the train one is not');
  t.match(messages[2], /queue acme\/ml\/eval has 1 job that has not ended \(pending, held or running\)/);
  t.match(messages[3], /queue acme\/solo has 1 job that has not ended/);
  t.match(messages[4], /queue nope is also queues\[0\]/);
  const mixed = await deleteQueues(server.url, ['acme/ml/train', 'nope']);
  t.equal(mixed.body.code, 'MUSTER_ERR_UNKNOWN_QUEUE');
  const all = ['acme/cfg', 'acme/ml', 'acme/ml/eval', 'acme/ml/train', 'acme/solo'];
  t.same((await queueNames(server.url)).filter((n) => n.startsWith('acme/')), all, 'nothing deleted: all or nothing');

  // Once the jobs have ended, the queues go, the parent with its children.
  agent.client.send({ kind: 'started', node: 'n1', job: running, task: 0, attempt: 1 });
  agent.client.send({ kind: 'ended', node: 'n1', job: running, task: 0, attempt: 1, outcome: 'succeeded', exitCode: 0 });
  t.equal((await http(server.url, `/v1/jobs/${pending}/cancel`, TOKENS.acme, { body: {} })).status, 200);
  for (const job of [running, pending]) await until(`${job} ended`, () => http(server.url, `/v1/jobs/${job}`, TOKENS.acme), (r) => r.body.status === 'succeeded' || r.body.status === 'cancelled');
  const deleted = await deleteQueues(server.url, ['acme/ml', 'acme/ml/eval', 'acme/ml/train', 'acme/solo', 'acme/cfg']);
  t.same(deleted.body, { deleted: ['acme/ml', 'acme/ml/eval', 'acme/ml/train', 'acme/solo', 'acme/cfg'] });
  t.same((await queueNames(server.url)).filter((n) => n.startsWith('acme/')), [], 'gone from GET /v1/queues');
  t.match((await http(server.url, `/v1/jobs/${running}`, TOKENS.acme)).body, { id: running, status: 'succeeded', queue: 'acme/solo', retired: true }, 'an ended job of a deleted queue is read from the history');
  t.same((await http(server.url, '/v1/jobs?queue=acme/solo', TOKENS.acme)).body.jobs, [], 'and no longer listed');
  t.equal((await deleteQueues(server.url, ['acme/solo'])).body.code, 'MUSTER_ERR_UNKNOWN_QUEUE', 'a deleted queue is unknown');

  agent.client.close();
  await server.stop();
  server = await start();
  t.same((await queueNames(server.url)).filter((n) => n.startsWith('acme/')), ['acme/cfg'], 'still gone after a restart; the config file brings its queue back');
  t.match((await http(server.url, `/v1/jobs/${pending}`, TOKENS.acme)).body, { status: 'cancelled', retired: true });

  // The first job naming a deleted queue makes it again, for its tenant, with the default definition.
  const again = await submitOne(server.url, jobSpec({ queue: 'acme/solo', constraints: { selectors: ['nowhere=1'] } }), true);
  const remade = ((await http(server.url, '/v1/queues', TOKENS.admin)).body.queues as { name: string }[]).find((q) => q.name === 'acme/solo');
  t.match(remade, { name: 'acme/solo', tenant: 'acme', weight: 1 });
  t.match((await http(server.url, `/v1/jobs?queue=acme/solo`, TOKENS.acme)).body.jobs, [{ id: again, status: 'pending' }]);
});
