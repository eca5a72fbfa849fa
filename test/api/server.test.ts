/**
 * The server around the gateway: readiness before recovery, periodic snapshots, configured queues across
 * restarts, TLS.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unpack } from 'msgpackr';
import t from 'tap';
import WebSocket from 'ws';
import { Gateway, TokenTable } from '../../src/api/index.js';
import { createLogger } from '../../src/log/index.js';
import { resolveConfig, startServer } from '../../src/server/index.js';
import type { Frame } from './helpers.js';
import { Refused, TOKENS, WsClient, http, jobSpec, pack, startTestServer } from './helpers.js';

const silent = createLogger({ name: 'test', level: 'silent' });

t.test('before the core is ready: health answers, readiness and everything else 503, upgrades refused', async (t) => {
  const gateway = Gateway.listen({ tokens: new TokenTable([{ token: TOKENS.admin, tenant: 'default', role: 'admin' }]), port: 0, backend: 'ts', log: silent });
  t.teardown(() => gateway.close());
  t.equal(gateway.phase, 'starting');
  t.same(await http(gateway.url, '/healthz').then((r) => r.status), 200);
  t.match(await http(gateway.url, '/readyz'), { status: 503, body: { ready: false, code: 'MUSTER_ERR_NOT_READY' } });
  t.match(await http(gateway.url, '/v1/jobs', TOKENS.admin), { status: 503, body: { code: 'MUSTER_ERR_NOT_READY' } });
  const refused = await WsClient.open(`${gateway.url.replace('http', 'ws')}/v1/submit`, TOKENS.admin).catch((err: unknown) => err);
  t.ok(refused instanceof Refused);
  t.match(refused, { status: 503, code: 'MUSTER_ERR_NOT_READY' });
});

t.test('periodic snapshots: after N durable events the state is snapshotted and the log compacted; a restart recovers from it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'muster-snap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const base = await resolveConfig({ data: dir, port: 0 });
  const config = { ...base, tokens: [{ token: TOKENS.acme, tenant: 'acme', role: 'submitter' as const }], workers: 1, snapshot: { everyEvents: 20, everySeconds: 3600 } };
  const first = await startServer(config, {}, silent);
  const client = await WsClient.open(`${first.url.replace('http', 'ws')}/v1/submit`, TOKENS.acme);
  const reply = await client.request({ kind: 'submit', id: 1, jobs: Array.from({ length: 25 }, (_, i) => jobSpec({ idempotencyKey: `snap-${i}` })) });
  const ids = (reply['results'] as Frame[]).map((r) => r['job']);
  await first.snapshots.waitFor(1);
  t.ok(
    readdirSync(dir).some((f) => f.startsWith('snapshot-')),
    'a snapshot file is in the data folder',
  );
  client.close();
  await first.stop();

  let ready: { replayed: number; jobs: number } | undefined;
  const second = await startServer(config, { ready: (info) => (ready = info) }, silent);
  t.teardown(() => second.stop());
  t.equal(ready?.jobs, 25, 'every job is back');
  t.ok(ready!.replayed < 25, `recovered from the snapshot (${ready!.replayed} events replayed)`);
  const again = await WsClient.open(`${second.url.replace('http', 'ws')}/v1/submit`, TOKENS.acme);
  t.teardown(() => again.close());
  const resubmitted = await again.request({ kind: 'submit', id: 1, jobs: [jobSpec({ idempotencyKey: 'snap-3' })] });
  t.same(resubmitted['results'], [{ ok: true, job: ids[3], existing: true }], 'idempotency keys survive the restart');
});

t.test('configured queues are defined once, not again on every restart', async (t) => {
  const queues = [{ tenant: 'acme', name: 'gpu', weight: 3, priority: 0, guaranteedShare: 0, borrow: false }];
  const server = await startTestServer({ config: { queues } });
  t.teardown(() => server.stop());
  t.match((await http(server.url, '/v1/queues', TOKENS.viewer)).body.queues, [{ name: 'gpu', weight: 3, borrow: false }]);
  const seq = await server.lastSeq();
  await server.server.stop();
  const base = await resolveConfig({ data: server.dir, port: 0 });
  const restarted = await startServer({ ...base, tokens: [{ token: TOKENS.admin, tenant: 'default', role: 'admin' }], workers: 1, queues }, {}, silent);
  t.teardown(() => restarted.stop());
  await restarted.core.sync();
  t.equal((await restarted.store.append(restarted.gateway.agents.epoch, [])).lastSeq, seq, 'no QueueDefined written again');
});

t.test('TLS: https and wss with the given certificate and key', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'muster-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  const server = await startTestServer({ config: { tls: { certFile, keyFile } } });
  t.teardown(() => server.stop());
  t.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const body = await new Promise<string>((resolve, reject) => {
    request(`${server.url}/v1/sites`, { headers: { authorization: `Bearer ${TOKENS.viewer}` }, rejectUnauthorized: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(text));
    })
      .on('error', reject)
      .end();
  });
  t.match(JSON.parse(body), { sites: [{ name: 'local' }] });
  const socket = new WebSocket(`${server.ws}/v1/submit`, { headers: { authorization: `Bearer ${TOKENS.acme}` }, rejectUnauthorized: false });
  const reply = await new Promise<Frame>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('open', () => socket.send(pack({ kind: 'watch', id: 'tls' })));
    socket.on('message', (data: Buffer) => resolve(unpack(data) as Frame));
  });
  socket.close();
  t.match(reply, { kind: 'watching', id: 'tls' }, 'wss serves the submit protocol');
});
