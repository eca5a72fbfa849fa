/**
 * The server's side of `output` (PROTOCOL.md): `registered` tells the agent the cap; chunks of an attempt
 * that ran on the shipping node are kept (answered `output-stored`, a repeat harmless) and read by the logs
 * route once the node's agent is not connected; bad chunks are refused with a stable code naming the field;
 * a retired job's copy is removed. A real server (in-process), a scripted agent, real files.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { until } from '../helpers/until.js';
import type { Frame } from './helpers.js';
import { TOKENS, fakeAgent, http, jobSpec, startTestServer } from './helpers.js';

const KEEP = 64;

async function ranOn(server: Awaited<ReturnType<typeof startTestServer>>, agent: Awaited<ReturnType<typeof fakeAgent>>, node: string): Promise<string> {
  const submitted = await http(server.url, '/v1/jobs', TOKENS.acme, { body: { jobs: [jobSpec()] } });
  const job = (submitted.body.results as Frame[])[0]!['job'] as string;
  await agent.client.next((f) => f.kind === 'start' && f['job'] === job);
  agent.client.send({ kind: 'started', node, job, task: 0, attempt: 1 });
  agent.client.send({ kind: 'ended', node, job, task: 0, attempt: 1, outcome: 'succeeded', exitCode: 0 });
  await until('the job to succeed', () => http(server.url, `/v1/jobs/${job}`, TOKENS.acme), (r) => r.body.status === 'succeeded');
  return job;
}

function chunk(node: string, job: string, fields: Record<string, unknown>): Record<string, unknown> {
  return { kind: 'output', node, job, task: 0, attempt: 1, stream: 'stdout', ...fields };
}

t.test('kept when shipped by the node it ran on; a repeat is harmless; the route reads the copy once the agent is gone', async (t) => {
  const server = await startTestServer({ config: { output: { keepBytes: KEEP } } });
  t.teardown(() => server.stop());
  const agent = await fakeAgent(server, 'n1');
  t.equal(agent.registered['outputKeepBytes'], KEEP, 'registered tells the agent what the server keeps');
  const other = await fakeAgent(server, 'n2', [], { node: { capacity: { cpu: '100m', memory: '1Mi' } } });
  t.teardown(() => other.client.close());
  const job = await ranOn(server, agent, 'n1');

  // 100 bytes written, the last 64 kept: [36, 100) in two pieces.
  const text = 'x'.repeat(36) + 'y'.repeat(32) + 'z'.repeat(32);
  const first = chunk('n1', job, { id: 1, size: 100, from: 36, offset: 36, data: Buffer.from(text.slice(36, 68)), last: false });
  t.match(await other.client.request({ ...chunk('n2', job, { id: 9, size: 100, from: 36, offset: 36, data: Buffer.from('y'), last: false }) } as never), { kind: 'error', code: 'MUSTER_ERR_FORBIDDEN', field: 'node' }, "another node may not ship this attempt's output");
  t.match(await agent.client.request(first as never), { kind: 'output-stored', id: 1, node: 'n1' });
  t.notOk(existsSync(join(server.dir, 'output', job, '0.1.stdout')), 'no copy is readable before the last piece');
  t.match(await agent.client.request({ ...first, id: 2 } as never), { kind: 'output-stored', id: 2 }, 'the same piece again is harmless');
  t.match(await agent.client.request(chunk('n1', job, { id: 3, size: 100, from: 36, offset: 68, data: Buffer.from(text.slice(68)), last: true }) as never), { kind: 'output-stored', id: 3 });
  t.match(await agent.client.request(chunk('n1', job, { id: 4, size: 0, from: 0, offset: 0, data: Buffer.alloc(0), last: true, stream: 'stderr' }) as never), { kind: 'output-stored', id: 4 }, 'an empty stream');

  agent.client.close();
  await until('the agent to be disconnected', async () => server.server.gateway.agents.connected('n1'), (c) => !c);
  const read = await fetch(`${server.url}/v1/jobs/${job}/logs?offset=10`, { headers: { authorization: `Bearer ${TOKENS.acme}` } });
  t.equal(read.status, 200);
  t.equal(Buffer.from(await read.arrayBuffer()).toString(), text.slice(36), 'the kept tail (the offset asked for was not kept)');
  t.equal(read.headers.get('muster-source'), 'control-plane');
  t.equal(read.headers.get('muster-output-size'), '100');
  t.equal(read.headers.get('muster-output-from'), '36');
  t.equal(read.headers.get('muster-next-offset'), '100');
  const tail = await fetch(`${server.url}/v1/jobs/${job}/logs?offset=90`, { headers: { authorization: `Bearer ${TOKENS.acme}` } });
  t.equal(Buffer.from(await tail.arrayBuffer()).toString(), 'z'.repeat(10), 'from an offset inside the kept part');
  const empty = await fetch(`${server.url}/v1/jobs/${job}/logs?stream=stderr`, { headers: { authorization: `Bearer ${TOKENS.acme}` } });
  t.equal(empty.status, 200);
  t.equal(empty.headers.get('muster-output-size'), '0', 'an empty stream is kept as empty, not as missing');
  t.same(readdirSync(join(server.dir, 'output', job)).sort(), ['0.1.stderr', '0.1.stdout'], 'no part file left');
});

t.test('bad chunks: a stable code naming the field', async (t) => {
  const server = await startTestServer({ config: { output: { keepBytes: KEEP } } });
  t.teardown(() => server.stop());
  const agent = await fakeAgent(server, 'n1');
  t.teardown(() => agent.client.close());
  const job = await ranOn(server, agent, 'n1');
  const ok = { size: 10, from: 0, offset: 0, data: Buffer.from('0123456789'), last: true };
  const cases: [string, Record<string, unknown>, string, string][] = [
    ['an unknown stream', { ...ok, stream: 'stdin' }, 'MUSTER_ERR_INVALID_VALUE', 'stream'],
    ['from past size', { ...ok, from: 11 }, 'MUSTER_ERR_INVALID_VALUE', 'from'],
    ['a chunk past size', { ...ok, offset: 1 }, 'MUSTER_ERR_INVALID_VALUE', 'offset'],
    ['a chunk before from', { ...ok, from: 5 }, 'MUSTER_ERR_INVALID_VALUE', 'offset'],
    ['last that is not', { ...ok, data: Buffer.from('01234'), size: 10, last: true }, 'MUSTER_ERR_INVALID_VALUE', 'last'],
    ['data not bytes', { ...ok, data: 'text' }, 'MUSTER_ERR_INVALID_TYPE', 'data'],
    ['a missing size', { ...ok, size: undefined }, 'MUSTER_ERR_REQUIRED', 'size'],
    ['a kept part over the cap', { size: 100, from: 0, offset: 0, data: Buffer.alloc(100), last: true }, 'MUSTER_ERR_INVALID_VALUE', 'from'],
    ['an unknown field', { ...ok, extra: 1 }, 'MUSTER_ERR_UNKNOWN_FIELD', 'extra'],
    ['a piece with nothing shipped before it', { size: 10, from: 0, offset: 5, data: Buffer.from('56789'), last: true }, 'MUSTER_ERR_INVALID_VALUE', 'offset'],
  ];
  let id = 100;
  for (const [name, fields, code, field] of cases) {
    const frame = Object.fromEntries(Object.entries(chunk('n1', job, { id: ++id, ...fields })).filter(([, v]) => v !== undefined));
    t.match(await agent.client.request(frame as never), { kind: 'error', id, code, field }, name);
  }
  t.match(await agent.client.request(chunk('n1', 'j-999', { id: ++id, ...ok }) as never), { kind: 'error', code: 'MUSTER_ERR_UNKNOWN_JOB', field: 'job' }, 'a job the server does not have');
  t.notOk(existsSync(join(server.dir, 'output', job, '0.1.stdout')), 'nothing was kept');
});

t.test("a retired job's copy is removed with it", async (t) => {
  const server = await startTestServer({ config: { output: { keepBytes: KEEP }, retention: { maxAgeMs: 300, maxEndedPerTenant: 1000, keyWindowMs: 86_400_000 } } });
  t.teardown(() => server.stop());
  const agent = await fakeAgent(server, 'n1');
  t.teardown(() => agent.client.close());
  const job = await ranOn(server, agent, 'n1');
  t.match(await agent.client.request(chunk('n1', job, { id: 1, size: 2, from: 0, offset: 0, data: Buffer.from('ok'), last: true }) as never), { kind: 'output-stored' });
  t.ok(existsSync(join(server.dir, 'output', job, '0.1.stdout')), 'kept');
  await until('the job to be retired', () => http(server.url, `/v1/jobs/${job}`, TOKENS.acme), (r) => r.body?.retired === true);
  await until("its copy's folder to go", async () => existsSync(join(server.dir, 'output', job)), (there) => !there);
  t.same(readdirSync(join(server.dir, 'output')), [], 'nothing left in the output folder');
});

t.test('a server that keeps no output says so in registered, and refuses chunks', async (t) => {
  const server = await startTestServer({ config: { output: { keepBytes: 0 } } });
  t.teardown(() => server.stop());
  const agent = await fakeAgent(server, 'n1');
  t.teardown(() => agent.client.close());
  t.equal(agent.registered['outputKeepBytes'], undefined, 'no outputKeepBytes: agents ship nothing');
  const job = await ranOn(server, agent, 'n1');
  t.match(await agent.client.request(chunk('n1', job, { id: 1, size: 2, from: 0, offset: 0, data: Buffer.from('ok'), last: true }) as never), { kind: 'error', code: 'MUSTER_ERR_INVALID_VALUE', field: 'size' });
  t.notOk(existsSync(join(server.dir, 'output')), 'no output folder');
});
