/**
 * The client against a real `muster server` (a child process, embedded store in a temporary folder):
 * submit, idempotency, per-job errors, reads, cancel, watch, a refused token, and a crash and restart of
 * the server in the middle of a submission and a watch.
 */
import t from 'tap';
import type { Test } from 'tap';
import { createClient } from '../../src/client/index.js';
import type { JobEvent, MusterClient, SubmitResult, Watch } from '../../src/client/index.js';
import { deadAddress } from './scripted-peer.js';
import { ServerProcess } from './server-process.js';

const job = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  queue: 'default',
  tasks: [{ resources: { cpu: '100m', memory: '64Mi' }, command: ['echo', name] }],
  ...extra,
});

function ids(results: readonly SubmitResult[]): string[] {
  return results.map((r) => (r.ok ? r.job : `${r.code}`));
}

/** The next events of `watch` until one satisfies `until` (a test waits for events, never for time). */
async function eventsUntil(watch: Watch, until: (e: JobEvent) => boolean): Promise<JobEvent[]> {
  const seen: JobEvent[] = [];
  for (;;) {
    const next = await watch.next();
    if (next.done) throw new Error(`the watch ended after ${seen.length} events`);
    seen.push(next.value);
    if (until(next.value)) return seen;
  }
}

const server = await ServerProcess.start();
t.teardown(() => server.stop());

function client(t: Test, options: { token?: string } = {}): MusterClient {
  const c = createClient({ endpoints: server.url, token: options.token ?? server.token, connectTimeoutMs: 20_000, backoff: { baseMs: 20, maxMs: 200 } });
  t.teardown(() => c.close());
  return c;
}

t.test('submit: one result per job in order, durable ids; reads see them', async (t) => {
  const c = client(t);
  const results = await c.submit([job('a'), job('b'), job('c')]);
  t.equal(results.length, 3);
  t.ok(results.every((r) => r.ok && /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/.test(r.job)), ids(results).join(' '));
  const [a] = ids(results);
  const detail = await c.job(a as string);
  t.match(detail, { id: a, name: 'a', queue: 'default', status: 'pending', tasks: { total: 1, pending: 1 } });
  t.equal(detail.taskList.length, 1);
  const page = await c.jobs({ queue: 'default', limit: 1000 });
  for (const id of ids(results)) t.ok(page.jobs.some((j) => j.id === id), `${id} is listed`);
  const why = await c.why(a as string);
  t.equal(why.status, 'pending');
  t.ok('reasons' in why && why.reasons.length > 0, 'a pending job has reasons (there are no nodes)');
});

t.test('paging: limit and the next cursor walk every job once', async (t) => {
  const c = client(t);
  await c.submit(Array.from({ length: 25 }, (_, i) => job(`page-${i}`, { queue: 'paging' })));
  const first = await c.jobs({ queue: 'paging', limit: 10 });
  t.equal(first.jobs.length, 10);
  t.type(first.next, 'string');
  const all: string[] = [];
  for await (const j of c.allJobs({ queue: 'paging', limit: 10 })) all.push(j.id);
  t.equal(all.length, 25);
  t.equal(new Set(all).size, 25, 'no job twice');
});

t.test('idempotency: the same key gives the first job back and writes nothing', async (t) => {
  const c = client(t);
  const [first] = await c.submit([job('once', { idempotencyKey: 'it-once' })]);
  const [again] = await c.submit([job('once', { idempotencyKey: 'it-once' })]);
  t.match(first, { ok: true });
  t.same(again, { ok: true, job: first?.ok ? first.job : '?', existing: true });
});

t.test('an invalid job gets its own result with problems; the valid ones are written', async (t) => {
  const c = client(t);
  const results = await c.submit([job('good'), { queue: 'default', tasks: [{ resources: { cpu: 'lots' }, command: 'x' }] }, job('good-too')]);
  t.match(results[0], { ok: true });
  t.match(results[1], { ok: false, code: 'MUSTER_ERR_INVALID_QUANTITY', problems: [{ path: 'tasks[0].resources.cpu', code: 'MUSTER_ERR_INVALID_QUANTITY' }] });
  t.match(results[2], { ok: true });
});

t.test('cancel: ok once, then the job has ended; an unknown job is named', async (t) => {
  const c = client(t);
  const [id] = ids(await c.submit([job('to-cancel')]));
  t.match(await c.cancel([id as string, 'j-does-not-exist']), [
    { job: id, ok: true },
    { job: 'j-does-not-exist', ok: false, code: 'MUSTER_ERR_UNKNOWN_JOB', message: String },
  ]);
  const view = await c.job(id as string);
  t.equal(view.status, 'cancelled');
  const [again] = await c.cancel([id as string]);
  t.match(again, { job: id, ok: false, code: 'MUSTER_ERR_JOB_ENDED' });
});

t.test('queues and sites are read', async (t) => {
  const c = client(t);
  const queues = await c.queues();
  t.ok(queues.some((q) => q.name === 'default'));
  const sites = await c.sites();
  t.ok(sites.length >= 1);
  t.same(await c.nodes(), [], 'no agent has joined');
});

t.test('watch: events of the jobs submitted after it started, in seq order', async (t) => {
  const c = client(t);
  const watch = c.watch({ queue: 'watched' });
  const start = await watch.ready;
  const [id] = ids(await c.submit([job('w', { queue: 'watched' })]));
  await c.submit([job('elsewhere')]);
  await c.cancel([id as string]);
  const events = await eventsUntil(watch, (e) => e.type === 'ended');
  t.ok(events.every((e) => e.job === id && e.queue === 'watched'), 'only the filtered queue');
  t.same(events.map((e) => e.type), ['submitted', 'cancel-requested', 'ended']);
  t.ok(events.every((e, i) => e.seq > start && (i === 0 || e.seq > (events[i - 1] as JobEvent).seq)), 'seq increases');
  watch.close();
});

t.test('a wrong token is refused at once with MUSTER_ERR_UNAUTHORIZED, over WebSocket and HTTP', async (t) => {
  const c = client(t, { token: 'not-a-token-at-all-0000' });
  await t.rejects(c.submit([job('x')]), { code: 'MUSTER_ERR_UNAUTHORIZED', status: 401 });
  await t.rejects(c.jobs(), { code: 'MUSTER_ERR_UNAUTHORIZED', status: 401 });
  await t.rejects(c.job('j-1'), { code: 'MUSTER_ERR_UNAUTHORIZED' });
});

t.test('a crash, and the server back on its second endpoint: a submit made while it is down lands once; the watch resumes', async (t) => {
  const spare = await deadAddress();
  const c = createClient({ endpoints: [server.url, spare], token: server.token, connectTimeoutMs: 30_000, backoff: { baseMs: 20, maxMs: 200 } });
  t.teardown(() => c.close());
  const watch = c.watch({ queue: 'crash' });
  await watch.ready;
  const [before] = ids(await c.submit([job('before', { queue: 'crash' })]));
  const seen = await eventsUntil(watch, (e) => e.job === before);
  await server.kill();
  // Sent while nothing listens: it waits in the client, and goes out once the server is back.
  const during = c.submit([job('during', { queue: 'crash' }), job('during-2', { queue: 'crash' })]);
  await server.restart(Number(new URL(spare).port));
  const duringIds = ids(await during);
  t.equal(duringIds.length, 2);
  t.equal(c.connectedTo, `${spare.replace('http:', 'ws:')}/v1/submit`, 'the client moved to the second endpoint');
  const after = await eventsUntil(watch, (e) => e.job === duringIds[1]);
  t.same(
    after.map((e) => e.job),
    duringIds,
    'the watch resumed after the last event it had and missed none of the new ones',
  );
  t.ok((after[0] as JobEvent).seq > (seen.at(-1) as JobEvent).seq);
  const listed: (string | undefined)[] = [];
  for await (const j of c.allJobs({ queue: 'crash' })) listed.push(j.name);
  t.same(listed.sort(), ['before', 'during', 'during-2'], 'every job once: nothing lost, nothing duplicated');
});
