/**
 * Retention through the server (issue 13, item 4): a finished job leaves the live state after the
 * configured age and stays readable from the history, marked `retired`; its why-pending says it ended; its
 * idempotency key still names it; another tenant still may not read it; after a restart the same holds.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createLogger } from '../../src/log/index.js';
import { DEFAULT_RETENTION } from '../../src/scheduler/index.js';
import { resolveConfig, startServer } from '../../src/server/index.js';
import { until } from '../helpers/until.js';
import type { Frame } from './helpers.js';
import { TOKENS, fakeAgent, http, jobSpec, startTestServer } from './helpers.js';

/** A job leaves 100 ms after it ends (then within the 1 s sweep). */
const RETENTION = { maxAgeMs: 100, maxEndedPerTenant: 1000, keyWindowMs: 86_400_000 };

t.test('a retired job: read from the history, marked retired, why says ended, its key still names it, tenants still apply', async (t) => {
  const server = await startTestServer({ config: { retention: RETENTION } });
  t.teardown(() => server.stop());
  const agent = await fakeAgent(server, 'n1');
  t.teardown(() => agent.client.close());

  const submitted = await http(server.url, '/v1/jobs', TOKENS.acme, { method: 'POST', body: { jobs: [jobSpec({ name: 'kept-in-history', idempotencyKey: 'k-1' })] } });
  const job = (submitted.body.results as Frame[])[0]!['job'] as string;
  await agent.client.next((f) => f.kind === 'start' && f['job'] === job);
  agent.client.send({ kind: 'started', node: 'n1', job, task: 0, attempt: 1 });
  agent.client.send({ kind: 'ended', node: 'n1', job, task: 0, attempt: 1, outcome: 'succeeded', exitCode: 0 });

  const retired = await until(
    'the job to be retired',
    () => http(server.url, `/v1/jobs/${job}`, TOKENS.acme),
    (r) => r.body?.retired === true,
  );
  t.match(retired.body, { id: job, tenant: 'acme', name: 'kept-in-history', status: 'succeeded', retired: true, tasks: { total: 1, succeeded: 1 }, taskList: [{ index: 0, state: 'succeeded', attempt: 1, node: 'n1' }] });
  t.ok(retired.body.endedAt >= retired.body.submittedAt, 'with its times');
  const listed = await http(server.url, '/v1/jobs', TOKENS.acme);
  t.notOk((listed.body.jobs as Frame[]).some((j) => j['id'] === job), 'it is no longer in the live listing');

  const why = await http(server.url, `/v1/jobs/${job}/why`, TOKENS.acme);
  t.match(why.body, { job, status: 'ended' });
  t.match(why.body.message, /succeeded.*retired/);

  t.match(await http(server.url, `/v1/jobs/${job}`, TOKENS.globex), { status: 403, body: { code: 'MUSTER_ERR_FORBIDDEN' } }, 'another tenant may not read it');
  t.match(await http(server.url, '/v1/jobs/j-999', TOKENS.acme), { status: 404, body: { code: 'MUSTER_ERR_UNKNOWN_JOB' } }, 'a job never given is still unknown');
  t.match(await http(server.url, `/v1/jobs/${job}/cancel`, TOKENS.acme, { method: 'POST' }), { status: 409, body: { code: 'MUSTER_ERR_JOB_ENDED' } }, 'cancelling it: it has ended, not gone unknown');
  t.match(await http(server.url, `/v1/jobs/${job}/cancel`, TOKENS.globex, { method: 'POST' }), { status: 403, body: { code: 'MUSTER_ERR_FORBIDDEN' } });

  const again = await http(server.url, '/v1/jobs', TOKENS.acme, { method: 'POST', body: { jobs: [jobSpec({ idempotencyKey: 'k-1' })] } });
  t.same(again.body.results, [{ ok: true, job, existing: true }], 'its idempotency key still names it');

  // After a restart (snapshot-free: the whole log replayed, JobsRetired included) it is still retired and readable.
  agent.client.close();
  await server.server.stop();
  const base = await resolveConfig({ data: server.dir, port: 0 });
  const restarted = await startServer(
    { ...base, tokens: [{ token: TOKENS.acme, tenant: 'acme', role: 'submitter' }], workers: 1, retention: RETENTION },
    {},
    createLogger({ name: 'test', level: 'silent' }),
  );
  t.teardown(() => restarted.stop());
  const after = await http(restarted.url, `/v1/jobs/${job}`, TOKENS.acme);
  t.match(after.body, { id: job, status: 'succeeded', retired: true }, 'after a restart, read from the history');
  const resubmitted = await http(restarted.url, '/v1/jobs', TOKENS.acme, { method: 'POST', body: { jobs: [jobSpec({ idempotencyKey: 'k-1' })] } });
  t.same(resubmitted.body.results, [{ ok: true, job, existing: true }], 'and its key still names it');
});

t.test('retention in the config file: durations and a count, defaults for what is not given, bad values named by field', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'muster.yaml');
  writeFileSync(file, 'retention:\n  maxAge: 10m\n  keyWindow: 2h\n');
  t.same((await resolveConfig({ config: file })).retention, { maxAgeMs: 600_000, maxEndedPerTenant: DEFAULT_RETENTION.maxEndedPerTenant, keyWindowMs: 7_200_000 });
  t.same((await resolveConfig({})).retention, DEFAULT_RETENTION, 'no retention: the defaults');
  const bad: [string, RegExp][] = [
    ['retention:\n  maxAge: soon\n', /retention\.maxAge: .*not a duration/],
    ['retention:\n  keyWindow: 0s\n', /retention\.keyWindow: expected a duration above zero/],
    ['retention:\n  maxEndedPerTenant: -1\n', /retention\.maxEndedPerTenant: expected a whole number ≥ 0/],
    ['retention:\n  maxJobs: 5\n', /retention\.maxJobs: unknown field \(expected one of: maxAge, maxEndedPerTenant, keyWindow\)/],
    ['retention: 1h\n', /retention: expected a map of maxAge, maxEndedPerTenant, keyWindow/],
  ];
  for (const [text, message] of bad) {
    writeFileSync(file, text);
    await t.rejects(resolveConfig({ config: file }), { code: 'MUSTER_ERR_INVALID_SPEC', message }, text.trim());
  }
});
