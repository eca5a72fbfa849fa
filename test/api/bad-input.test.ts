/**
 * Bad input never crashes the server and never writes: each case checks the refusal (its stable code),
 * that the server still serves, and that the store's last seq did not move.
 */
import t from 'tap';
import type { Test } from 'tap';
import type { Frame, TestServer } from './helpers.js';
import { Refused, TOKENS, WsClient, http, jobSpec, pack, startTestServer } from './helpers.js';

const LIMITS = { maxFrameBytes: 64 * 1024, maxBodyBytes: 64 * 1024, maxJobsPerSubmit: 10, maxSpecBytes: 2048 };

let server: TestServer;
t.before(async () => {
  server = await startTestServer({ limits: LIMITS });
});
t.teardown(() => server.stop());

/** Runs `bad`, then checks the server answers and the store is where it was. */
async function unchanged(t: Test, bad: () => Promise<void>): Promise<void> {
  const before = await server.lastSeq();
  await bad();
  t.equal((await http(server.url, '/healthz')).status, 200, 'still serving');
  const probe = await WsClient.open(`${server.ws}/v1/submit`, TOKENS.acme);
  t.equal((await probe.request({ kind: 'watch', id: 'probe' })).kind, 'watching', 'still answering frames');
  probe.close();
  t.equal(await server.lastSeq(), before, 'the store is unchanged');
}

const frameCases: { name: string; send: (c: WsClient) => void; code: string; field?: string; id?: unknown }[] = [
  { name: 'malformed msgpack', send: (c) => c.sendRaw(Buffer.from([0x82, 0xa4, 0x6b, 0x69])), code: 'MUSTER_ERR_BAD_FRAME' },
  { name: 'never-used byte 0xc1', send: (c) => c.sendRaw(Buffer.from([0xc1])), code: 'MUSTER_ERR_BAD_FRAME' },
  { name: 'a msgpack extension (timestamp)', send: (c) => c.sendRaw(Buffer.from([0x81, 0xa4, 0x6b, 0x69, 0x6e, 0x64, 0xd6, 0xff, 0, 0, 0, 1])), code: 'MUSTER_ERR_BAD_FRAME' },
  { name: 'trailing bytes after the value', send: (c) => c.sendRaw(Buffer.concat([pack({ kind: 'watch', id: 1 }), Buffer.from([0x01])])), code: 'MUSTER_ERR_BAD_FRAME' },
  { name: 'not a map', send: (c) => c.sendRaw(pack([1, 2, 3])), code: 'MUSTER_ERR_BAD_FRAME' },
  { name: 'no kind', send: (c) => c.send({ id: 1, jobs: [] }), code: 'MUSTER_ERR_BAD_FRAME' },
  { name: 'a text frame', send: (c) => c.sendRaw('{"kind":"submit"}'), code: 'MUSTER_ERR_BAD_FRAME' },
  { name: 'unknown kind', send: (c) => c.send({ kind: 'launch-missiles', id: 5 }), code: 'MUSTER_ERR_UNKNOWN_KIND', field: 'kind', id: 5 },
  { name: 'id of the wrong type', send: (c) => c.send({ kind: 'submit', id: true, jobs: [jobSpec()] }), code: 'MUSTER_ERR_INVALID_TYPE', field: 'id' },
  { name: 'missing id', send: (c) => c.send({ kind: 'submit', jobs: [jobSpec()] }), code: 'MUSTER_ERR_REQUIRED', field: 'id' },
  { name: 'jobs of the wrong type', send: (c) => c.send({ kind: 'submit', id: 6, jobs: 'all of them' }), code: 'MUSTER_ERR_INVALID_TYPE', field: 'jobs', id: 6 },
  { name: 'no jobs', send: (c) => c.send({ kind: 'submit', id: 7, jobs: [] }), code: 'MUSTER_ERR_INVALID_VALUE', field: 'jobs', id: 7 },
  { name: 'an unknown request field', send: (c) => c.send({ kind: 'submit', id: 8, jobs: [jobSpec()], priority: 9 }), code: 'MUSTER_ERR_UNKNOWN_FIELD', field: 'priority', id: 8 },
  { name: 'too many jobs in a batch', send: (c) => c.send({ kind: 'submit', id: 9, jobs: Array.from({ length: 11 }, () => jobSpec()) }), code: 'MUSTER_ERR_BATCH_TOO_LARGE', field: 'jobs', id: 9 },
  { name: 'a submitter submitting for another tenant', send: (c) => c.send({ kind: 'submit', id: 10, jobs: [jobSpec()], tenant: 'globex' }), code: 'MUSTER_ERR_FORBIDDEN', field: 'tenant', id: 10 },
  { name: 'a watch filter of the wrong type', send: (c) => c.send({ kind: 'watch', id: 11, filter: { jobs: 'j-1' } }), code: 'MUSTER_ERR_INVALID_TYPE', field: 'filter.jobs', id: 11 },
  { name: 'a negative from', send: (c) => c.send({ kind: 'watch', id: 12, from: -1 }), code: 'MUSTER_ERR_INVALID_VALUE', field: 'from', id: 12 },
];

for (const c of frameCases) {
  t.test(`refused frame: ${c.name}`, async (t) => {
    await unchanged(t, async () => {
      const client = await WsClient.open(`${server.ws}/v1/submit`, TOKENS.acme);
      c.send(client);
      const error = await client.next((f) => f.kind === 'error');
      t.equal(error['code'], c.code);
      if (c.field !== undefined) t.equal(error['field'], c.field);
      t.equal(error['id'], c.id, c.id === undefined ? 'no id when the frame had no readable one' : 'the reply names the request');
      t.type(error['message'], 'string');
      client.close();
    });
  });
}

t.test('invalid specs are refused per job with per-field problems; oversized specs per job too', async (t) => {
  await unchanged(t, async () => {
    const client = await WsClient.open(`${server.ws}/v1/submit`, TOKENS.acme);
    const huge = jobSpec({ tasks: [{ resources: { cpu: '1', memory: '1Gi' }, command: 'true', env: { BIG: 'x'.repeat(4000) } }] });
    const reply = await client.request({ kind: 'submit', id: 1, jobs: [jobSpec({ queue: 'Not A Queue', priority: 'high' }), huge] });
    const results = reply['results'] as Frame[];
    t.match(results[0], { ok: false, code: 'MUSTER_ERR_INVALID_NAME' });
    t.same(
      (results[0]!['problems'] as Frame[]).map((p) => p['path']),
      ['queue', 'priority'],
    );
    t.match(results[1], { ok: false, code: 'MUSTER_ERR_SPEC_TOO_LARGE' });
    client.close();
  });
});

t.test('an oversized frame drops the connection at once and nothing else', async (t) => {
  await unchanged(t, async () => {
    const client = await WsClient.open(`${server.ws}/v1/submit`, TOKENS.acme);
    client.send({ kind: 'submit', id: 1, jobs: [jobSpec(), { padding: 'x'.repeat(70 * 1024) }] });
    const { code } = await client.closed;
    // uWS drops the TCP connection without reading the frame (no close frame: 1006); 1009 if one arrives.
    t.ok(code === 1006 || code === 1009, `closed (code ${code})`);
    t.equal(client.received.length, 0, 'nothing of the frame was answered');
  });
});

t.test('upgrades without a valid token or with the wrong role are refused before any socket opens', async (t) => {
  const cases: [string, string | undefined, number, string][] = [
    ['/v1/submit', undefined, 401, 'MUSTER_ERR_UNAUTHORIZED'],
    ['/v1/submit', 'not-a-token-at-all-00000', 401, 'MUSTER_ERR_UNAUTHORIZED'],
    ['/v1/submit', TOKENS.agent, 403, 'MUSTER_ERR_FORBIDDEN'],
    ['/v1/agent', TOKENS.acme, 403, 'MUSTER_ERR_FORBIDDEN'],
    ['/v1/agent', TOKENS.viewer, 403, 'MUSTER_ERR_FORBIDDEN'],
  ];
  await unchanged(t, async () => {
    for (const [path, token, status, code] of cases) {
      const error = await WsClient.open(`${server.ws}${path}`, token).then(
        () => undefined,
        (err: unknown) => err,
      );
      t.ok(error instanceof Refused, `${path} with ${token ?? 'no token'} is refused`);
      t.match(error, { status, code });
    }
  });
});

t.test('HTTP: missing or unknown token 401, wrong role or other tenant 403, bad bodies 400/413', async (t) => {
  await unchanged(t, async () => {
    t.match(await http(server.url, '/v1/jobs'), { status: 401, body: { code: 'MUSTER_ERR_UNAUTHORIZED' } });
    t.match(await http(server.url, '/v1/jobs', 'nobody-knows-this-token'), { status: 401, body: { code: 'MUSTER_ERR_UNAUTHORIZED' } });
    t.match(await http(server.url, '/v1/jobs', TOKENS.agent), { status: 403, body: { code: 'MUSTER_ERR_FORBIDDEN' } });
    t.match(await http(server.url, '/metrics', TOKENS.acme), { status: 403, body: { code: 'MUSTER_ERR_FORBIDDEN' } });
    t.match(await http(server.url, '/v1/jobs', TOKENS.viewer, { body: { jobs: [jobSpec()] } }), { status: 403, body: { code: 'MUSTER_ERR_FORBIDDEN' } });
    t.match(await http(server.url, '/v1/jobs?tenant=globex', TOKENS.acme), { status: 403, body: { code: 'MUSTER_ERR_FORBIDDEN', field: 'tenant' } });
    t.match(await http(server.url, '/v1/jobs', TOKENS.acme, { body: '{"jobs": [' }), { status: 400, body: { code: 'MUSTER_ERR_BAD_FRAME' } });
    t.match(await http(server.url, '/v1/jobs', TOKENS.acme, { body: { jobs: [jobSpec()], extra: 1 } }), { status: 400, body: { code: 'MUSTER_ERR_UNKNOWN_FIELD', field: 'extra' } });
    t.match(await http(server.url, '/v1/jobs', TOKENS.acme, { body: { jobs: Array.from({ length: 11 }, () => jobSpec()) } }), { status: 413, body: { code: 'MUSTER_ERR_BATCH_TOO_LARGE' } });
    t.match(await http(server.url, '/v1/jobs', TOKENS.acme, { body: { jobs: [{ padding: 'x'.repeat(80 * 1024) }] } }), { status: 413, body: { code: 'MUSTER_ERR_FRAME_TOO_LARGE' } });
    t.match(await http(server.url, '/v1/jobs?limit=0', TOKENS.acme), { status: 400, body: { code: 'MUSTER_ERR_INVALID_VALUE', field: 'limit' } });
    t.match(await http(server.url, '/v1/jobs?colour=red', TOKENS.acme), { status: 400, body: { code: 'MUSTER_ERR_UNKNOWN_FIELD', field: 'colour' } });
    t.match(await http(server.url, '/v1/nothing-here', TOKENS.acme), { status: 404, body: { code: 'MUSTER_ERR_NOT_FOUND' } });
  });
});

t.test('HTTP: an unknown query parameter is refused on every route, naming it; enum values are checked', async (t) => {
  const acme = await WsClient.open(`${server.ws}/v1/submit`, TOKENS.acme);
  t.teardown(() => acme.close());
  const reply = await acme.request({ kind: 'submit', id: 'q', jobs: [jobSpec({ tasks: [{ resources: { cpu: '99', memory: '1Gi' }, command: 'x' }] })] });
  const job = (reply['results'] as Frame[])[0]!['job'] as string;
  const routes: readonly [method: string, path: string][] = [
    ['GET', '/healthz'],
    ['GET', '/readyz'],
    ['GET', '/metrics'],
    ['GET', '/v1/jobs'],
    ['POST', '/v1/jobs'],
    ['GET', `/v1/jobs/${job}`],
    ['GET', `/v1/jobs/${job}/why`],
    ['GET', `/v1/jobs/${job}/logs`],
    ['POST', `/v1/jobs/${job}/cancel`],
    ['GET', '/v1/queues'],
    ['GET', '/v1/nodes'],
    ['GET', '/v1/sites'],
    ['GET', '/v1/leader'],
  ];
  await unchanged(t, async () => {
    for (const [method, path] of routes) {
      const body = method === 'POST' && path === '/v1/jobs' ? { jobs: [jobSpec()] } : undefined;
      const answer = await http(server.url, `${path}?colour=red`, TOKENS.admin, { method, ...(body ? { body } : {}) });
      t.match(answer, { status: 400, body: { code: 'MUSTER_ERR_UNKNOWN_FIELD', field: 'colour', message: /colour/ } }, `${method} ${path}?colour=red`);
    }
    t.match(await http(server.url, '/v1/nodes?state=happy', TOKENS.viewer), { status: 400, body: { code: 'MUSTER_ERR_INVALID_VALUE', field: 'state', message: /state.*ready/ } });
    t.match(await http(server.url, '/v1/jobs?status=done', TOKENS.viewer), { status: 400, body: { code: 'MUSTER_ERR_INVALID_VALUE', field: 'status', message: /status/ } });
    t.match(await http(server.url, '/v1/nodes?state=ready&state=down', TOKENS.viewer), { status: 400, body: { code: 'MUSTER_ERR_INVALID_VALUE', field: 'state', message: /state/ } });
    t.match(await http(server.url, '/v1/jobs?limit=2&limit=3', TOKENS.viewer), { status: 400, body: { code: 'MUSTER_ERR_INVALID_VALUE', field: 'limit', message: /limit/ } });
  });
  t.match(await http(server.url, `/v1/jobs/${job}`, TOKENS.acme), { status: 200, body: { status: 'pending' } }, 'the refused cancel changed nothing');
  t.match(await http(server.url, '/v1/nodes?state=ready', TOKENS.viewer), { status: 200, body: { nodes: [] } }, 'a known state is answered');
});

t.test('another tenant’s job: 403 on read, why and cancel (ids are not secret, contents are)', async (t) => {
  const acme = await WsClient.open(`${server.ws}/v1/submit`, TOKENS.acme);
  t.teardown(() => acme.close());
  const reply = await acme.request({ kind: 'submit', id: 1, jobs: [jobSpec({ tasks: [{ resources: { cpu: '99', memory: '1Gi' }, command: 'x' }] })] });
  const job = (reply['results'] as Frame[])[0]!['job'] as string;
  await unchanged(t, async () => {
    t.match(await http(server.url, `/v1/jobs/${job}`, TOKENS.globex), { status: 403, body: { code: 'MUSTER_ERR_FORBIDDEN' } });
    t.match(await http(server.url, `/v1/jobs/${job}/why`, TOKENS.globex), { status: 403, body: { code: 'MUSTER_ERR_FORBIDDEN' } });
    t.match(await http(server.url, `/v1/jobs/${job}/cancel`, TOKENS.globex, { method: 'POST' }), { status: 403, body: { code: 'MUSTER_ERR_FORBIDDEN' } });
    t.match(await http(server.url, `/v1/jobs/${job}/cancel`, TOKENS.viewer, { method: 'POST' }), { status: 403, body: { code: 'MUSTER_ERR_FORBIDDEN' } });
    t.match(await http(server.url, `/v1/jobs/${job}`, TOKENS.viewer), { status: 200, body: { id: job, tenant: 'acme' } });
  });
});

t.test('a client that never reads is disconnected once its unsent data passes the bound (4008)', async (t) => {
  const small = await startTestServer({ limits: { maxUnsentBytes: 256 * 1024 } });
  t.teardown(() => small.stop());
  const before = await small.lastSeq();
  {
    const client = await WsClient.open(`${small.ws}/v1/submit`, TOKENS.acme);
    client.socket.pause(); // stop reading: replies pile up in the server's buffers
    const ids = Array.from({ length: 1000 }, (_, i) => `j-no-such-${i}`);
    const requests = 400; // each reply ~70 KiB: ~28 MiB in all, far past the kernel's buffers and the 256 KiB bound
    for (let i = 0; i < requests; i++) client.send({ kind: 'cancel', id: i, jobs: ids });
    const probe = await WsClient.open(`${small.ws}/v1/submit`, TOKENS.globex);
    // The server keeps serving others meanwhile.
    t.equal((await probe.request({ kind: 'watch', id: 1 })).kind, 'watching');
    probe.close();
    client.socket.resume();
    const { code } = await client.closed;
    // 4008 when the close frame gets through; the server gives up on the stuck buffer, so usually 1006.
    t.ok(code === 4008 || code === 1006, `closed by the server (code ${code})`);
    const replies = client.received.filter((f) => f.kind === 'cancelled').length;
    t.ok(replies < requests, `the server gave up before sending everything (${replies} of ${requests} replies)`);
  }
  t.equal((await http(small.url, '/healthz')).status, 200, 'still serving');
  t.equal(await small.lastSeq(), before, 'the store is unchanged');
});

t.test('a flood past the tenant’s rate is refused with RATE_LIMITED (WebSocket) and 429 (HTTP)', async (t) => {
  const limited = await startTestServer({ limits: { ratePerSecond: 1, rateBurst: 5 } });
  t.teardown(() => limited.stop());
  const before = await limited.lastSeq();
  const client = await WsClient.open(`${limited.ws}/v1/submit`, TOKENS.acme);
  t.teardown(() => client.close());
  const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => client.request({ kind: 'watch', id: i })));
  const refused = replies.filter((r) => r.kind === 'error');
  t.ok(refused.length >= 3, `${refused.length} of 8 refused`);
  t.match(refused[0], { code: 'MUSTER_ERR_RATE_LIMITED', retryAfterMs: Number });
  const http429 = await http(limited.url, '/v1/queues', TOKENS.acme);
  t.equal(http429.status, 429);
  t.equal(http429.body.code, 'MUSTER_ERR_RATE_LIMITED');
  t.ok(Number(http429.headers.get('retry-after')) >= 1, 'Retry-After in seconds');
  t.equal((await http(limited.url, '/v1/queues', TOKENS.globex)).status, 200, 'another tenant has its own bucket');
  t.equal(await limited.lastSeq(), before, 'the store is unchanged');
});
