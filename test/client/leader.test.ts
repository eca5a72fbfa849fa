/**
 * The client follows the leader: replicas that do not lead (test/helpers/fake-replica.ts, real sockets)
 * next to a real `muster server` (a child process). A standby that names the leader sends submits,
 * cancels and reads there, even when the leader is not among the configured endpoints, and the leader is
 * remembered; one that names none sends them to the next endpoint; a request waits through an election
 * past the connect timeout, and fails at its own deadline with MUSTER_ERR_NOT_LEADER naming every endpoint
 * when none leads; a deposed leader's closed socket, or its NOT_LEADER error frame, sends what it had not
 * acknowledged to the new leader, and only that.
 */
import { pack, unpack } from 'msgpackr';
import t from 'tap';
import type { Test } from 'tap';
import type { WebSocket } from 'ws';
import { createClient } from '../../src/client/index.js';
import type { ClientOptions, MusterClient, SubmitResult } from '../../src/client/index.js';
import { FakeReplica } from '../helpers/fake-replica.js';
import type { KnownLeader } from '../helpers/fake-replica.js';
import { deadAddress } from './scripted-peer.js';
import { ServerProcess } from './server-process.js';

type Frame = Record<string, unknown> & { kind: string; id: number };

const server = await ServerProcess.start();
t.teardown(() => server.stop());
const leader: KnownLeader = { url: server.url, epoch: 1 };

const job = (name: string, queue: string): Record<string, unknown> => ({ name, queue, tasks: [{ resources: { cpu: '100m', memory: '64Mi' }, command: ['echo', name] }] });

function jobId(result: SubmitResult | undefined): string {
  if (!result?.ok) throw new Error(`not submitted: ${JSON.stringify(result)}`);
  return result.job;
}

async function replica(t: Test, options: { leader?: KnownLeader; retryAfterMs?: number } = {}): Promise<FakeReplica> {
  const r = await FakeReplica.start({ retryAfterMs: 50, ...options });
  t.teardown(() => r.close());
  return r;
}

function client(t: Test, endpoints: string[], options: Partial<ClientOptions> = {}): MusterClient {
  const c = createClient({ endpoints, token: server.token, backoff: { baseMs: 20, maxMs: 200 }, ...options });
  t.teardown(() => c.close());
  return c;
}

/** Answers a deposed-to-be leader's sockets with `answer`, frame by frame. */
function speak(replica: FakeReplica, answer: (frame: Frame, socket: WebSocket) => void): void {
  replica.onSocket = (socket) => socket.on('message', (data: Buffer) => answer(unpack(data) as Frame, socket));
}

t.test('a standby that names the leader: submit, read and cancel reach it though it is not listed; it is remembered', async (t) => {
  const standby = await replica(t, { leader });
  const c = client(t, [standby.url]);
  const id = jobId((await c.submit([job('via-standby', 'follow')]))[0]);
  t.same(standby.refused, ['UPGRADE /v1/submit'], 'the standby refused the upgrade once');
  t.equal(c.leader, server.url, 'the leader found is remembered');
  t.match(await c.job(id), { id, name: 'via-standby' });
  t.match(await c.cancel([id]), [{ job: id, ok: true }]);
  t.same(standby.refused, ['UPGRADE /v1/submit'], 'reads go to the leader first: the standby is not asked again');

  const reader = client(t, [standby.url]);
  t.ok((await reader.queues()).some((q) => q.name === 'follow'), 'a read first');
  await reader.submit([job('after-a-read', 'follow')]);
  t.same(standby.refused.slice(1), ['GET /v1/queues'], 'the leader a read found is where the WebSocket goes');
});

t.test('a standby that names no leader: the next endpoint, for the WebSocket and for reads', async (t) => {
  const standby = await replica(t);
  const c = client(t, [standby.url, server.url]);
  const id = jobId((await c.submit([job('next-endpoint', 'next')]))[0]);
  t.equal((await c.job(id)).name, 'next-endpoint');
  const reader = client(t, [standby.url, server.url]);
  t.ok((await reader.sites()).length > 0);
  t.same(standby.refused, ['UPGRADE /v1/submit', 'GET /v1/sites'], 'each client asked the standby once, then went on and stayed');
});

t.test('while replicas answer and none leads, requests wait past the connect timeout until a leader is named', async (t) => {
  const electing = await replica(t);
  // The election ends after three refusals: then the standby names the leader.
  electing.onRefused = (_what, n) => {
    if (n === 3) electing.leader = leader;
  };
  const c = client(t, [electing.url], { connectTimeoutMs: 100 });
  const id = jobId((await c.submit([job('after-election', 'election')]))[0]);
  t.ok(electing.refused.length >= 3, `refused ${electing.refused.length} times, then followed`);
  t.equal((await c.job(id)).name, 'after-election');

  const electingToo = await replica(t);
  electingToo.onRefused = (_what, n) => {
    if (n === 3) electingToo.leader = leader;
  };
  const reader = client(t, [electingToo.url], { connectTimeoutMs: 100 });
  t.ok((await reader.queues()).length > 0, 'a read waits for the election too');
  // Three refusals without a leader, then one naming it (set after the third was answered).
  t.same(electingToo.refused, ['GET /v1/queues', 'GET /v1/queues', 'GET /v1/queues', 'GET /v1/queues']);
});

t.test('no leader before the deadline: MUSTER_ERR_NOT_LEADER at the request deadline, naming every endpoint tried', async (t) => {
  const standby = await replica(t);
  const dead = await deadAddress();
  const c = client(t, [standby.url, dead], { requestTimeoutMs: 1500, connectTimeoutMs: 100 });
  const said = [new RegExp(`${standby.url}: not the leader \\(no leader known\\)`), new RegExp(`${dead}: ECONNREFUSED`)];
  const started = performance.now();
  const err = await c.submit([job('never', 'never')]).then(
    () => undefined,
    (e: unknown) => e as Error & { code: string },
  );
  t.equal(err?.code, 'MUSTER_ERR_NOT_LEADER');
  for (const re of said) t.match(err?.message, re);
  t.ok(performance.now() - started >= 1450, 'the submit waited for its own deadline, not the connect timeout');

  const read = await c.queues().then(
    () => undefined,
    (e: unknown) => e as Error & { code: string },
  );
  t.equal(read?.code, 'MUSTER_ERR_NOT_LEADER');
  for (const re of said) t.match(read?.message, re);
});

t.test('two replicas naming each other: a bounded number of tries, then MUSTER_ERR_NOT_LEADER', async (t) => {
  const a = await replica(t);
  const b = await replica(t, { leader: { url: a.url, epoch: 3 } });
  a.leader = { url: b.url, epoch: 3 };
  const c = client(t, [a.url], { requestTimeoutMs: 1000, connectTimeoutMs: 100 });
  await t.rejects(c.submit([job('loop', 'loop')]), { code: 'MUSTER_ERR_NOT_LEADER' });
  await t.rejects(c.queues(), { code: 'MUSTER_ERR_NOT_LEADER' });
  // Each round waits at least the refusals' 50 ms: at most 20 rounds of two tries in 1 s, per request.
  const tries = a.refused.length + b.refused.length;
  t.ok(tries <= 100, `${tries} tries in 2 s, not a busy loop`);
});

t.test('a deposed leader closes the socket: the client reconnects to the new leader and resends only what was not acknowledged', async (t) => {
  const old = await replica(t);
  old.lead();
  let submits = 0;
  let secondArrived!: () => void;
  const second = new Promise<void>((resolve) => (secondArrived = resolve));
  speak(old, (frame, socket) => {
    if (frame.kind !== 'submit') return;
    // The first submit is acknowledged; the second is not before the leader is deposed.
    if (++submits === 1) socket.send(pack({ kind: 'submitted', id: frame.id, results: [{ ok: true, job: 'j-old-1' }] }));
    else secondArrived();
  });
  const c = client(t, [old.url]);
  t.same(await c.submit([job('acked-by-old', 'failover')]), [{ ok: true, job: 'j-old-1' }]);
  const pending = c.submit([job('not-acked', 'failover')]);
  await second;
  old.depose({ url: server.url, epoch: 2 });
  const id = jobId((await pending)[0]);
  t.not(id, 'j-old-1');
  t.same(old.refused, ['UPGRADE /v1/submit'], 'the client asked the deposed leader first, which named the new one');
  t.equal(c.leader, server.url);
  const listed = (await c.jobs({ queue: 'failover' })).jobs.map((j) => j.name);
  t.same(listed, ['not-acked'], 'the new leader got only what the old one had not acknowledged');
});

t.test('an error frame MUSTER_ERR_NOT_LEADER on an open connection: the request goes to the leader it names', async (t) => {
  const old = await replica(t);
  old.lead();
  speak(old, (frame, socket) => {
    if (frame.kind === 'submit') socket.send(pack({ kind: 'error', id: frame.id, code: 'MUSTER_ERR_NOT_LEADER', message: 'no longer leading', leader: { url: server.url, epoch: 2 } }));
  });
  const c = client(t, [old.url]);
  const id = jobId((await c.submit([job('refused-by-frame', 'frame')]))[0]);
  t.equal((await c.job(id)).name, 'refused-by-frame');
  t.equal(c.leader, server.url);
});
