/**
 * The client's WebSocket behaviour against a scripted peer (scripted-peer.ts): batching on the wire,
 * resend after a lost connection with the same idempotency keys, rate-limit retry, timeouts, unreachable
 * and refusing servers, endpoint order, watches that resume and report gaps.
 */
import t from 'tap';
import type { Test } from 'tap';
import { createClient } from '../../src/client/index.js';
import type { ClientOptions, MusterClient } from '../../src/client/index.js';
import { deadAddress, ScriptedPeer } from './scripted-peer.js';
import type { Frame } from './scripted-peer.js';

const spec = (name: string): Record<string, unknown> => ({ name, queue: 'default', tasks: [{ resources: { cpu: 1 }, command: 'true' }] });

/** Answers every submit with one ok result per job, ids from the job names. */
function answerSubmits(frame: Frame, peer: ScriptedPeer, socket: Parameters<ScriptedPeer['onFrame']>[2]): void {
  if (frame.kind !== 'submit') return;
  const jobs = frame['jobs'] as Record<string, unknown>[];
  peer.send(socket, { kind: 'submitted', id: frame.id, results: jobs.map((j) => ({ ok: true, job: `j-${String(j['name'])}` })) });
}

async function setup(t: Test, options: Partial<ClientOptions> = {}): Promise<{ peer: ScriptedPeer; client: MusterClient }> {
  const peer = await ScriptedPeer.start();
  const client = createClient({ endpoints: peer.url, token: 'secret', backoff: { baseMs: 5, maxMs: 20 }, ...options });
  t.teardown(async () => {
    await client.close();
    await peer.close();
  });
  return { peer, client };
}

t.test('calls made together share one submit frame; every job carries an idempotency key; the token is sent', async (t) => {
  const { peer, client } = await setup(t, { batch: { windowMs: 5 } });
  peer.onFrame = answerSubmits;
  const [a, b] = await Promise.all([client.submit([spec('a'), { ...spec('b'), idempotencyKey: 'mine' }]), client.submit([spec('c')])]);
  t.same(a, [
    { ok: true, job: 'j-a' },
    { ok: true, job: 'j-b' },
  ]);
  t.same(b, [{ ok: true, job: 'j-c' }]);
  const submits = peer.framesOf('submit');
  t.equal(submits.length, 1);
  const keys = (submits[0]?.['jobs'] as { idempotencyKey: string }[]).map((j) => j.idempotencyKey);
  t.equal(keys[1], 'mine', "the caller's key is kept");
  t.equal(new Set(keys).size, 3, 'generated keys are distinct');
  t.same(peer.authorizations, ['Bearer secret']);
});

t.test('a submit whose connection is lost is sent again on the next one, with the same keys', async (t) => {
  const { peer, client } = await setup(t);
  peer.onFrame = (frame, p, socket) => {
    if (p.framesOf('submit').length === 1) socket.terminate(); // lost before the reply
    else answerSubmits(frame, p, socket);
  };
  const results = await client.submit([spec('x'), spec('y')]);
  t.same(results, [
    { ok: true, job: 'j-x' },
    { ok: true, job: 'j-y' },
  ]);
  const [first, second] = peer.framesOf('submit');
  t.equal(peer.connections, 2);
  t.same(first?.['jobs'], second?.['jobs'], 'the resent frame carries the same jobs and keys');
});

t.test('MUSTER_ERR_RATE_LIMITED and MUSTER_ERR_NOT_READY are retried after retryAfterMs; other errors reject with the server code and field', async (t) => {
  const { peer, client } = await setup(t);
  peer.onFrame = (frame, p, socket) => {
    const jobs = frame['jobs'] as { name: string }[];
    if (jobs[0]?.name === 'bad') {
      p.send(socket, { kind: 'error', id: frame.id, code: 'MUSTER_ERR_UNKNOWN_FIELD', message: 'no such field', field: 'jobs[0].colour' });
    } else if (p.framesOf('submit').length === 1) {
      p.send(socket, { kind: 'error', id: frame.id, code: 'MUSTER_ERR_RATE_LIMITED', message: 'slow down', retryAfterMs: 30 });
    } else if (p.framesOf('submit').length === 2) {
      p.send(socket, { kind: 'error', id: frame.id, code: 'MUSTER_ERR_NOT_READY', message: 'stopping' });
    } else {
      answerSubmits(frame, p, socket);
    }
  };
  const started = performance.now();
  t.same(await client.submit([spec('ok')]), [{ ok: true, job: 'j-ok' }]);
  t.ok(performance.now() - started >= 25, 'waited for retryAfterMs');
  t.equal(peer.framesOf('submit').length, 3);
  await t.rejects(client.submit([spec('bad')]), { name: 'ServerError', code: 'MUSTER_ERR_UNKNOWN_FIELD', field: 'jobs[0].colour' });
});

t.test('MUSTER_ERR_BUSY (the server does not know whether the submit took effect) is resent with the same keys', async (t) => {
  const { peer, client } = await setup(t);
  peer.onFrame = (frame, p, socket) => {
    if (p.framesOf('submit').length === 1) p.send(socket, { kind: 'error', id: frame.id, code: 'MUSTER_ERR_BUSY', message: 'did not finish in time', retryAfterMs: 20 });
    else answerSubmits(frame, p, socket);
  };
  t.same(await client.submit([spec('busy')]), [{ ok: true, job: 'j-busy' }]);
  const [first, second] = peer.framesOf('submit');
  t.ok(first && second, 'sent twice');
  t.same(first?.['jobs'], second?.['jobs'], 'the same jobs with the same idempotency keys');
});

t.test('a request with no reply fails with MUSTER_ERR_REQUEST_TIMEOUT', async (t) => {
  const { client } = await setup(t, { requestTimeoutMs: 150 });
  await t.rejects(client.cancel(['j-1']), { code: 'MUSTER_ERR_REQUEST_TIMEOUT' });
});

t.test('cancel: one result per id, in order, across frames', async (t) => {
  const { peer, client } = await setup(t);
  peer.onFrame = (frame, p, socket) => {
    const jobs = frame['jobs'] as string[];
    p.send(socket, { kind: 'cancelled', id: frame.id, results: jobs.map((job) => (job === 'gone' ? { job, ok: false, code: 'MUSTER_ERR_JOB_ENDED', message: 'ended' } : { job, ok: true })) });
  };
  const ids = Array.from({ length: 1500 }, (_, i) => (i === 1200 ? 'gone' : `j-${i}`));
  const results = await client.cancel(ids);
  t.equal(results.length, 1500);
  t.same(results[1200], { job: 'gone', ok: false, code: 'MUSTER_ERR_JOB_ENDED', message: 'ended' });
  t.same(results.map((r) => r.job), ids);
  t.equal(peer.framesOf('cancel').length, 2);
});

t.test('no endpoint reachable: MUSTER_ERR_UNREACHABLE naming it, after the connect timeout', async (t) => {
  const dead = await deadAddress();
  const client = createClient({ endpoints: dead, connectTimeoutMs: 200, backoff: { baseMs: 10, maxMs: 40 } });
  t.teardown(() => client.close());
  const started = performance.now();
  await t.rejects(client.submit([spec('a')]), { code: 'MUSTER_ERR_UNREACHABLE', message: new RegExp(`${dead}.*ECONNREFUSED`) });
  const elapsed = performance.now() - started;
  t.ok(elapsed >= 190 && elapsed < 2000, `gave up after ${Math.round(elapsed)} ms`);
  await t.rejects(client.connect(), { code: 'MUSTER_ERR_UNREACHABLE' }, 'a later request tries again and fails again');
});

t.test('endpoints are tried in order: a dead first endpoint falls through to the next', async (t) => {
  const dead = await deadAddress();
  const peer = await ScriptedPeer.start();
  peer.onFrame = answerSubmits;
  const client = createClient({ endpoints: [dead, peer.url] });
  t.teardown(async () => {
    await client.close();
    await peer.close();
  });
  t.same(await client.submit([spec('a')]), [{ ok: true, job: 'j-a' }]);
  t.equal(client.connectedTo, `${peer.url.replace('http:', 'ws:')}/v1/submit`);
});

t.test('a refused token fails at once with the server code; a server not ready is retried', async (t) => {
  const { peer, client } = await setup(t, { connectTimeoutMs: 5000 });
  peer.refuse = { status: 401, body: { code: 'MUSTER_ERR_UNAUTHORIZED', message: 'unknown token' } };
  const started = performance.now();
  await t.rejects(client.connect(), { code: 'MUSTER_ERR_UNAUTHORIZED', status: 401, message: 'unknown token' });
  t.ok(performance.now() - started < 1000, 'without waiting for the connect timeout');

  peer.refuse = { status: 503, body: { code: 'MUSTER_ERR_NOT_READY', message: 'recovering' }, times: 3 };
  peer.onFrame = answerSubmits;
  const submitted = client.submit([spec('later')]);
  t.same(await submitted, [{ ok: true, job: 'j-later' }]);
  t.equal(peer.refusals, 4, 'one 401, then three 503s before the upgrade was accepted');
});

t.test('a watch resumes after a reconnect from the last event received, in order, without repeats', async (t) => {
  const { peer, client } = await setup(t);
  const froms: (number | undefined)[] = [];
  peer.onFrame = (frame, p, socket) => {
    if (frame.kind !== 'watch') return;
    froms.push(frame['from'] as number | undefined);
    t.same(frame['filter'], { queue: 'q' });
    p.send(socket, { kind: 'watching', id: frame.id, seq: 10 });
    const from = (frame['from'] as number | undefined) ?? 10;
    const events = [from + 1, from + 2].map((seq) => ({ seq, at: seq, type: 'submitted', job: `j-${seq}`, tenant: 't', queue: 'q' }));
    // The first subscription sends two events, then the connection dies; the second repeats one on purpose.
    p.send(socket, { kind: 'events', watch: frame.id, events: froms.length === 1 ? events : [{ ...events[0], seq: from }, ...events] });
    if (froms.length === 1) setImmediate(() => socket.terminate());
  };
  const watch = client.watch({ queue: 'q' });
  t.equal(await watch.ready, 10);
  const seqs: number[] = [];
  for await (const event of watch) {
    seqs.push(event.seq);
    if (seqs.length === 4) break;
  }
  t.same(seqs, [11, 12, 13, 14]);
  t.same(froms, [undefined, 12]);
  t.equal(watch.lastSeq, 14);
});

t.test('MUSTER_ERR_WATCH_GAP ends the watch with the server code and oldest', async (t) => {
  const { peer, client } = await setup(t);
  peer.onFrame = (frame, p, socket) => {
    p.send(socket, { kind: 'error', id: frame.id, code: 'MUSTER_ERR_WATCH_GAP', message: 'events before 500 are gone', oldest: 500 });
  };
  const watch = client.watch({}, { from: 3 });
  await t.rejects(watch.ready, { code: 'MUSTER_ERR_WATCH_GAP', oldest: 500 });
  await t.rejects(watch.next(), { code: 'MUSTER_ERR_WATCH_GAP', oldest: 500 });
  t.same(peer.frames[0], { kind: 'watch', id: 1, from: 3 });
});

t.test('closing the client fails what waits with MUSTER_ERR_CLIENT_CLOSED and ends watches', async (t) => {
  const { client } = await setup(t);
  const pending = t.rejects(client.submit([spec('never')]), { code: 'MUSTER_ERR_CLIENT_CLOSED' });
  const watch = client.watch();
  await client.connect();
  await client.close();
  await pending;
  t.same(await watch.next(), { value: undefined, done: true });
  await t.rejects(client.submit([spec('after')]), { code: 'MUSTER_ERR_CLIENT_CLOSED' });
});

t.test('a frame past the frame limit is refused before it is sent', async (t) => {
  const { peer, client } = await setup(t, { maxFrameBytes: 2000 });
  await t.rejects(client.submit(Array.from({ length: 50 }, (_, i) => spec(`job-${i}`))), { code: 'MUSTER_ERR_LIMIT_EXCEEDED' });
  t.equal(peer.frames.length, 0);
});

t.test('a field set to undefined is left out of the frame, not sent as a msgpack extension', async (t) => {
  const { peer, client } = await setup(t);
  peer.onFrame = answerSubmits;
  await client.submit([{ ...spec('u'), priority: undefined, tasks: [{ resources: { cpu: 1, gpu: undefined }, command: 'true' }] }]);
  const [sent] = peer.framesOf('submit');
  const job = (sent?.['jobs'] as Record<string, unknown>[])[0];
  t.notOk(job && 'priority' in job);
  t.same((job?.['tasks'] as Record<string, unknown>[])[0], { resources: { cpu: 1 }, command: 'true' });
});
