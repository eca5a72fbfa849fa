import t from 'tap';
import type { Frame, TestServer } from './helpers.js';
import { TOKENS, WsClient, fakeAgent, jobSpec, startTestServer } from './helpers.js';

let server: TestServer;
t.before(async () => {
  server = await startTestServer();
});
t.teardown(() => server.stop());

const submitUrl = (): string => `${server.ws}/v1/submit`;

t.test('submit → durable ack → watch events through the whole life of a job', async (t) => {
  const client = await WsClient.open(submitUrl(), TOKENS.acme);
  t.teardown(() => client.close());
  const watching = await client.request({ kind: 'watch', id: 'w1' });
  t.equal(watching.kind, 'watching');
  t.type(watching['seq'], 'number');

  const before = await server.lastSeq();
  const submitted = await client.request({ kind: 'submit', id: 1, jobs: [jobSpec({ name: 'first', idempotencyKey: 'k-first' })] });
  t.equal(submitted.kind, 'submitted');
  const [result] = submitted['results'] as Frame[];
  t.match(result, { ok: true, job: /^j-\d+$/ });
  t.notOk(result!['existing'], 'a new job is not marked existing');
  const job = result!['job'] as string;
  t.ok((await server.lastSeq()) > before, 'the submission is in the store');

  const submittedEvent = await client.event('w1', (e) => e['job'] === job && e['type'] === 'submitted');
  t.match(submittedEvent, { tenant: 'acme', queue: 'default', name: 'first', seq: Number });

  // A node joins: the job is placed, the agent is told to start it, and reports its life.
  const { client: agent, registered } = await fakeAgent(server, 'n-life');
  t.teardown(() => agent.close());
  t.match(registered, { kind: 'registered', node: 'n-life', kill: [], heartbeatMs: Number, epoch: Number });
  const start = await agent.next((f) => f.kind === 'start' && f['job'] === job);
  t.match(start, { node: 'n-life', task: 0, attempt: 1, command: 'true', args: [], resources: { cpu: 1000, memory: 1024 } });
  await client.event('w1', (e) => e['job'] === job && e['type'] === 'placed' && e['node'] === 'n-life');
  agent.send({ kind: 'started', node: 'n-life', job, task: 0, attempt: 1 });
  await client.event('w1', (e) => e['job'] === job && e['type'] === 'started');
  agent.send({ kind: 'ended', node: 'n-life', job, task: 0, attempt: 1, outcome: 'succeeded', exitCode: 0 });
  await client.event('w1', (e) => e['job'] === job && e['type'] === 'task-ended' && e['outcome'] === 'succeeded');
  const ended = await client.event('w1', (e) => e['job'] === job && e['type'] === 'ended');
  t.equal(ended['outcome'], 'succeeded');

  const events = client.events('w1').filter((e) => e['job'] === job);
  t.same(
    events.map((e) => e['type']),
    ['submitted', 'placed', 'started', 'task-ended', 'ended'],
    'every event of the job, in order, once',
  );
  const seqs = events.map((e) => e['seq'] as number);
  t.same(seqs, [...seqs].sort((a, b) => a - b), 'seqs never go back');
});

t.test('idempotent resubmission: the same key gives the same id and writes nothing', async (t) => {
  const client = await WsClient.open(submitUrl(), TOKENS.acme);
  t.teardown(() => client.close());
  const first = await client.request({ kind: 'submit', id: 'a', jobs: [jobSpec({ idempotencyKey: 'retry-me' })] });
  const job = (first['results'] as Frame[])[0]!['job'];
  const before = await server.lastSeq();
  const again = await client.request({ kind: 'submit', id: 'b', jobs: [jobSpec({ idempotencyKey: 'retry-me' }), jobSpec({ idempotencyKey: 'retry-me' })] });
  t.same(again['results'], [
    { ok: true, job, existing: true },
    { ok: true, job, existing: true },
  ]);
  t.equal(await server.lastSeq(), before, 'the store is unchanged');

  // Keys are per tenant: another tenant's same key is a new job.
  const other = await WsClient.open(submitUrl(), TOKENS.globex);
  t.teardown(() => other.close());
  const theirs = await other.request({ kind: 'submit', id: 1, jobs: [jobSpec({ idempotencyKey: 'retry-me' })] });
  t.not((theirs['results'] as Frame[])[0]!['job'], job);
});

t.test('per-job results: valid jobs are written, invalid ones refused with every problem and its path', async (t) => {
  const client = await WsClient.open(submitUrl(), TOKENS.acme);
  t.teardown(() => client.close());
  const reply = await client.request({
    kind: 'submit',
    id: 7,
    jobs: [jobSpec(), jobSpec({ tasks: [{ resources: { cpu: 'lots', memory: '12Qi' }, command: 'x' }], strategy: 'random' }), jobSpec({ bogus: 1 })],
  });
  const results = reply['results'] as Frame[];
  t.equal(results.length, 3);
  t.match(results[0], { ok: true, job: /^j-/ });
  t.match(results[1], { ok: false, code: 'MUSTER_ERR_INVALID_QUANTITY' });
  t.same(
    (results[1]!['problems'] as Frame[]).map((p) => [p['path'], p['code']]),
    [
      ['tasks[0].resources.cpu', 'MUSTER_ERR_INVALID_QUANTITY'],
      ['tasks[0].resources.memory', 'MUSTER_ERR_INVALID_QUANTITY'],
      ['strategy', 'MUSTER_ERR_INVALID_VALUE'],
    ],
  );
  t.match(results[2], { ok: false, code: 'MUSTER_ERR_UNKNOWN_FIELD', problems: [{ path: 'bogus' }] });
});

t.test('cancel: own jobs, unknown jobs, ended jobs, another tenant’s jobs', async (t) => {
  const acme = await WsClient.open(submitUrl(), TOKENS.acme);
  const globex = await WsClient.open(submitUrl(), TOKENS.globex);
  t.teardown(() => (acme.close(), globex.close()));
  // Needs more than any node has: kept (holdUnsatisfiable), it stays pending.
  const big = jobSpec({ tasks: [{ resources: { cpu: '64', memory: '1Gi' }, command: 'true' }] });
  const submitted = await acme.request({ kind: 'submit', id: 1, jobs: [big, big], holdUnsatisfiable: true });
  const [a, b] = (submitted['results'] as Frame[]).map((r) => r['job'] as string);

  const refused = await globex.request({ kind: 'cancel', id: 1, jobs: [a!] });
  t.match(refused['results'], [{ job: a, ok: false, code: 'MUSTER_ERR_FORBIDDEN' }], 'another tenant may not cancel it');

  await acme.request({ kind: 'watch', id: 'w', filter: { jobs: [a!] } });
  const cancelled = await acme.request({ kind: 'cancel', id: 2, jobs: [a!, 'j-999999', a!] });
  t.same(cancelled['results'], [
    { job: a, ok: true },
    { job: 'j-999999', ok: false, code: 'MUSTER_ERR_UNKNOWN_JOB', message: 'job j-999999 does not exist' },
    { job: a, ok: true },
  ]);
  await acme.event('w', (e) => e['type'] === 'ended' && e['outcome'] === 'cancelled');
  t.same(
    acme.events('w').map((e) => e['type']),
    ['cancel-requested', 'ended'],
    'the filter keeps to the watched job',
  );
  const again = await acme.request({ kind: 'cancel', id: 3, jobs: [a!] });
  t.match(again['results'], [{ job: a, ok: false, code: 'MUSTER_ERR_JOB_ENDED' }]);

  const viewer = await WsClient.open(submitUrl(), TOKENS.viewer);
  t.teardown(() => viewer.close());
  const denied = await viewer.request({ kind: 'cancel', id: 1, jobs: [b!] });
  t.match(denied, { kind: 'error', id: 1, code: 'MUSTER_ERR_FORBIDDEN' }, 'a viewer cannot cancel');
});

t.test('watch filters and tenant scoping', async (t) => {
  const acme = await WsClient.open(submitUrl(), TOKENS.acme);
  const globex = await WsClient.open(submitUrl(), TOKENS.globex);
  const admin = await WsClient.open(submitUrl(), TOKENS.admin);
  t.teardown(() => (acme.close(), globex.close(), admin.close()));
  const forbidden = await acme.request({ kind: 'watch', id: 1, filter: { tenant: 'globex' } });
  t.match(forbidden, { kind: 'error', code: 'MUSTER_ERR_FORBIDDEN', field: 'filter.tenant' });
  await acme.request({ kind: 'watch', id: 'mine' });
  await admin.request({ kind: 'watch', id: 'globex-q', filter: { tenant: 'globex', queue: 'special' } });

  const theirs = await globex.request({ kind: 'submit', id: 1, jobs: [jobSpec({ queue: 'special' }), jobSpec()] });
  const [special, plain] = (theirs['results'] as Frame[]).map((r) => r['job']);
  const ours = await acme.request({ kind: 'submit', id: 1, jobs: [jobSpec()] });
  const mine = (ours['results'] as Frame[])[0]!['job'];
  await acme.event('mine', (e) => e['job'] === mine);
  await admin.event('globex-q', (e) => e['job'] === special);
  t.notOk(
    acme.events('mine').some((e) => e['tenant'] !== 'acme'),
    'a submitter sees only its own tenant',
  );
  t.notOk(
    admin.events('globex-q').some((e) => e['job'] === plain || e['job'] === mine),
    'tenant and queue filters hold',
  );
  const unwatched = await acme.request({ kind: 'unwatch', id: 9, watch: 'mine' });
  t.equal(unwatched.kind, 'unwatched');
});

t.test('watch resumes after a reconnect from the last seq it saw', async (t) => {
  const first = await WsClient.open(submitUrl(), TOKENS.acme);
  await first.request({ kind: 'watch', id: 'w' });
  const reply = await first.request({ kind: 'submit', id: 1, jobs: [jobSpec()] });
  const job = (reply['results'] as Frame[])[0]!['job'];
  const seen = await first.event('w', (e) => e['job'] === job);
  first.close();
  await first.closed;

  // While disconnected: more jobs.
  const other = await WsClient.open(submitUrl(), TOKENS.acme);
  t.teardown(() => other.close());
  const missed = await other.request({ kind: 'submit', id: 2, jobs: [jobSpec(), jobSpec()] });
  const missedJobs = (missed['results'] as Frame[]).map((r) => r['job']);

  const again = await WsClient.open(submitUrl(), TOKENS.acme);
  t.teardown(() => again.close());
  const watching = await again.request({ kind: 'watch', id: 'w', from: seen['seq'] as number });
  t.equal(watching.kind, 'watching');
  for (const j of missedJobs) await again.event('w', (e) => e['job'] === j && e['type'] === 'submitted');
  t.notOk(
    again.events('w').some((e) => (e['seq'] as number) <= (seen['seq'] as number)),
    'nothing at or before `from` is repeated',
  );

  const future = await again.request({ kind: 'watch', id: 'f', from: (watching['seq'] as number) + 1000 });
  t.match(future, { kind: 'error', code: 'MUSTER_ERR_WATCH_GAP', oldest: Number });
});
