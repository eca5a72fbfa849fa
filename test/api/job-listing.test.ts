/**
 * `GET /v1/jobs` through a real server (issue 15): pages that follow `next` list every job once, in
 * submission order (the number of the job's id), across queues, after jobs ran and after a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Frame, TestServer } from './helpers.js';
import { TOKENS, fakeAgent, http, jobSpec, startTestServer } from './helpers.js';

/** Every page of `GET /v1/jobs?limit=…`, following `next`. */
async function pages(server: TestServer, limit: number, filter = ''): Promise<string[][]> {
  const seen: string[][] = [];
  let after: string | undefined;
  do {
    const page = await http(server.url, `/v1/jobs?limit=${limit}${filter}${after !== undefined ? `&after=${after}` : ''}`, TOKENS.admin);
    if (page.status !== 200) throw new Error(`GET /v1/jobs answered ${page.status} ${JSON.stringify(page.body)}`);
    seen.push((page.body.jobs as Frame[]).map((j) => j['id'] as string));
    after = page.body.next as string | undefined;
  } while (after !== undefined && seen.length < 100);
  return seen;
}

/**
 * Submits jobs one per queue named, in that order; their ids. By default each is too big for any node and
 * stays pending: kept with `holdUnsatisfiable` (once a node has registered it would be refused otherwise).
 */
async function submit(server: TestServer, queues: readonly string[], task: Record<string, unknown> = { resources: { cpu: '64', memory: '1Gi' }, command: ['true'] }): Promise<string[]> {
  const posted = await http(server.url, '/v1/jobs', TOKENS.admin, { body: { jobs: queues.map((queue) => jobSpec({ queue, tasks: [task] })), holdUnsatisfiable: true } });
  return (posted.body.results as Frame[]).map((r) => r['job'] as string);
}

t.test('6 pending jobs in 3 queues: every page size lists each job once, in submission order', async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.stop());
  const ids = await submit(server, ['q1', 'q2', 'q3', 'q1', 'q2', 'q3']);
  t.same(ids, ['j-1', 'j-2', 'j-3', 'j-4', 'j-5', 'j-6']);
  for (const limit of [1, 2, 3, 4, 5, 6, 100]) t.same((await pages(server, limit)).flat(), ids, `limit=${limit}`);
  t.same(await pages(server, 1, '&queue=q2'), [['j-2'], ['j-5']], 'one queue, page by page');
});

t.test('after jobs ran and after a restart, a newer queue is not listed early', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'muster-listing-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const first = await startTestServer({ dir });
  const agent = await fakeAgent(first, 'n1');
  // j-1 … j-4 run and end; j-5, j-6 stay pending (too big for the node); j-7 opens a new queue.
  const ran = await submit(first, ['old', 'old', 'old', 'old'], { resources: { cpu: '1', memory: '1Gi' }, command: ['true'] });
  for (const job of ran) {
    await agent.client.next((f) => f.kind === 'start' && f['job'] === job);
    agent.client.send({ kind: 'started', node: 'n1', job, task: 0, attempt: 1 });
    agent.client.send({ kind: 'ended', node: 'n1', job, task: 0, attempt: 1, outcome: 'succeeded', exitCode: 0 });
  }
  let acked = 0;
  let from = 0;
  while (acked < ran.length) {
    const frame = await agent.client.next((f) => f.kind === 'acked', from);
    from = agent.client.received.indexOf(frame) + 1;
    acked += (frame['attempts'] as unknown[]).length;
  }
  t.same(await submit(first, ['old', 'old', 'new']), ['j-5', 'j-6', 'j-7']);
  const all = await http(first.url, '/v1/jobs', TOKENS.admin);
  t.same((all.body.jobs as Frame[]).map((j) => j['id']), ['j-1', 'j-2', 'j-3', 'j-4', 'j-5', 'j-6', 'j-7'], 'submission order across queues');
  t.same((all.body.jobs as Frame[]).map((j) => j['status']), ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'pending', 'pending', 'pending']);
  agent.client.close();
  await first.stop();

  const second = await startTestServer({ dir });
  t.teardown(() => second.stop());
  t.same(await submit(second, ['new', 'old', 'other']), ['j-8', 'j-9', 'j-10']);
  const expected = ['j-1', 'j-2', 'j-3', 'j-4', 'j-5', 'j-6', 'j-7', 'j-8', 'j-9', 'j-10'];
  for (const limit of [1, 2, 3, 4, 100]) t.same((await pages(second, limit)).flat(), expected, `after the restart, limit=${limit}`);
});
