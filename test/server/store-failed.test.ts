/**
 * A failed store is loud, seen from every surface of a server in this process (its store's fsyncs fail
 * through MUSTER_STORE_FAULTS, the same seam `muster server` uses): the submission whose write failed gets
 * MUSTER_ERR_STORE_FAILED for each of its jobs, at once; `/healthz` and `/readyz` answer 503 with the code
 * and the cause; upgrades of both endpoints are refused 503 with it; frames on open sockets and HTTP routes
 * are refused with it; `sync()` is refused, not left waiting; and the server still stops cleanly. (The exit
 * of the process is `muster server`'s: test/faults/store-failure.test.ts.)
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { STORE_FAULTS_ENV } from '../../src/store/index.js';
import type { Frame } from '../api/helpers.js';
import { Refused, TOKENS, WsClient, http, jobSpec, startTestServer } from '../api/helpers.js';

/** Jobs per submission: enough that "each job refused" means something. */
const BATCH = 20;
/**
 * Successful fsyncs before the fault: opening takes two (meta.json and the folder), the first group a
 * third (the new segment's name), so about nine submissions are acknowledged before the disk fails.
 */
const FSYNCS_BEFORE_FAULT = 12;
/** Submissions tried before giving up on the fault ever happening (a failure bound, far past the fault). */
const MAX_SUBMISSIONS = 200;

t.test('after a store failure: each job refused at once, health 503 with the cause, upgrades and requests refused, a clean stop', async (t) => {
  process.env[STORE_FAULTS_ENV] = `fsync:EIO:${FSYNCS_BEFORE_FAULT}`;
  const server = await startTestServer();
  delete process.env[STORE_FAULTS_ENV];
  t.teardown(() => server.stop());
  const client = await WsClient.open(`${server.ws}/v1/submit`, TOKENS.acme);
  t.teardown(() => client.close());

  let acknowledged = 0;
  let failedReply: Frame | undefined;
  for (let n = 0; n < MAX_SUBMISSIONS && failedReply === undefined; n++) {
    const reply = await client.request({ kind: 'submit', id: n, jobs: Array.from({ length: BATCH }, () => jobSpec()) });
    t.equal(reply.kind, 'submitted', `submission ${n} answered with its results`);
    const results = reply['results'] as { ok: boolean; code?: string }[];
    if (results.every((r) => r.ok)) acknowledged++;
    else failedReply = reply;
  }
  t.ok(acknowledged > 0, `${acknowledged} submissions acknowledged before the fault`);
  t.ok(failedReply, 'a submission met the fault');
  t.ok(
    (failedReply?.['results'] as { ok: boolean; code?: string }[]).every((r) => !r.ok && r.code === 'MUSTER_ERR_STORE_FAILED'),
    'every job of the submission whose write failed is refused with MUSTER_ERR_STORE_FAILED; none reported accepted',
  );

  const failure = await server.server.storeFailed;
  t.match(failure, { error: { code: 'MUSTER_ERR_STORE_FAILED' }, errno: 'EIO', file: /segment-\d+\.log$/ }, 'the failure names the errno and the segment');

  const health = await http(server.url, '/healthz');
  t.equal(health.status, 503, '/healthz is 503');
  t.match(health.body, { ok: false, code: 'MUSTER_ERR_STORE_FAILED', message: /EIO.*segment-\d+\.log/ }, '/healthz carries the code and the cause');
  const ready = await http(server.url, '/readyz');
  t.equal(ready.status, 503, '/readyz is 503');
  t.match(ready.body, { ready: false, code: 'MUSTER_ERR_STORE_FAILED', message: /EIO/ });

  await t.rejects(WsClient.open(`${server.ws}/v1/submit`, TOKENS.acme), new Refused(503, 'MUSTER_ERR_STORE_FAILED'), 'a /v1/submit upgrade is refused 503');
  await t.rejects(WsClient.open(`${server.ws}/v1/agent`, TOKENS.admin), new Refused(503, 'MUSTER_ERR_STORE_FAILED'), 'a /v1/agent upgrade is refused 503');
  t.match(await client.request({ kind: 'submit', id: 'late', jobs: [jobSpec()] }), { kind: 'error', id: 'late', code: 'MUSTER_ERR_STORE_FAILED' }, 'a frame on an open socket is refused');
  const jobs = await http(server.url, '/v1/jobs', TOKENS.acme);
  t.equal(jobs.status, 503);
  t.match(jobs.body, { code: 'MUSTER_ERR_STORE_FAILED' }, 'an HTTP route is refused');

  await t.rejects(server.server.core.sync(), { code: 'MUSTER_ERR_STORE_FAILED' }, 'sync() is refused at once, not left to time out');
  await t.rejects(server.server.core.snapshotPoint(), { code: 'MUSTER_ERR_STORE_FAILED' }, 'so is a snapshot');

  await server.stop();
  t.notOk(existsSync(join(server.dir, 'LOCK')), 'the stop after the failure released the data folder');
});
