/**
 * A job no node could ever run is told at submission, not left pending for ever: refused with
 * `MUSTER_ERR_UNSATISFIABLE` and every reason, unless the submitter asks to hold it; `why` then says it can
 * never run, not that the cluster is busy. A cluster with no node yet takes work and says so.
 */
import t from 'tap';
import { fakeAgent, http, jobSpec, startTestServer, TOKENS, WsClient } from './helpers.js';

const huge = jobSpec({ tasks: [{ resources: { cpu: '1000', memory: '1000Gi' }, command: ['true'] }] });
const labelled = jobSpec({ constraints: { selectors: ['gpu=a100'] } });

t.test('refused with every reason, held on request; why says it can never run', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.stop());
  await fakeAgent(server, 'small', [], { node: { capacity: { cpu: '2', memory: '4Gi' }, labels: { zone: 'a' } } });

  const refused = await http(server.url, '/v1/jobs', TOKENS.acme, { body: { jobs: [huge, labelled, jobSpec()] } });
  t.equal(refused.status, 200, 'per-job results');
  const [big, label, fine] = refused.body.results;
  t.equal(big.ok, false);
  t.equal(big.code, 'MUSTER_ERR_UNSATISFIABLE');
  t.match(big.message, /can never run on the current nodes/);
  t.same(
    big.problems.map((p: { path: string }) => p.path),
    ['tasks[0].resources.cpu', 'tasks[0].resources.memory'],
    'every reason, each naming the field',
  );
  t.equal(label.code, 'MUSTER_ERR_UNSATISFIABLE');
  t.same(label.problems.map((p: { path: string }) => p.path), ['constraints.selectors']);
  t.match(label.problems[0].message, /gpu=a100/);
  t.equal(fine.ok, true, 'a job that fits is accepted beside them');

  const held = await http(server.url, '/v1/jobs', TOKENS.acme, { body: { jobs: [huge], holdUnsatisfiable: true } });
  t.equal(held.body.results[0].ok, true, 'kept when asked');
  const id = held.body.results[0].job as string;
  const why = await http(server.url, `/v1/jobs/${id}/why`, TOKENS.acme);
  t.equal(why.body.status, 'pending');
  t.equal(why.body.reasons[0].kind, 'unsatisfiable');
  t.match(why.body.reasons[0].message, /^can never run on the current nodes: tasks\[0\]\.resources\.cpu/);
  t.notOk(
    why.body.reasons.some((r: { kind: string }) => r.kind === 'cluster-busy'),
    'not "cluster busy"',
  );

  const ws = await WsClient.open(`${server.ws}/v1/submit`, TOKENS.acme);
  t.teardown(() => ws.close());
  const viaWs = await ws.request({ kind: 'submit', id: 1, jobs: [labelled] });
  t.equal((viaWs['results'] as { code: string }[])[0]!.code, 'MUSTER_ERR_UNSATISFIABLE', 'the WebSocket refuses it too');
  const heldWs = await ws.request({ kind: 'submit', id: 2, jobs: [labelled], holdUnsatisfiable: true });
  t.equal((heldWs['results'] as { ok: boolean }[])[0]!.ok, true);
  const bad = await ws.request({ kind: 'submit', id: 3, jobs: [labelled], holdUnsatisfiable: 'yes' });
  t.equal(bad.kind, 'error');
  t.equal(bad['code'], 'MUSTER_ERR_INVALID_TYPE');
  t.equal(bad['field'], 'holdUnsatisfiable');
});

t.test('with no node registered yet, a job is accepted and why says so', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.stop());
  const submitted = await http(server.url, '/v1/jobs', TOKENS.acme, { body: { jobs: [huge] } });
  t.equal(submitted.body.results[0].ok, true, 'a fresh cluster takes work');
  const why = await http(server.url, `/v1/jobs/${submitted.body.results[0].job as string}/why`, TOKENS.acme);
  t.equal(why.body.reasons[0].kind, 'no-nodes');
  t.match(why.body.reasons[0].message, /no node has registered yet/);
});
