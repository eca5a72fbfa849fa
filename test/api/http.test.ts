import t from 'tap';
import { spawn } from 'node:child_process';
import type { Frame, TestServer } from './helpers.js';
import { TOKENS, WsClient, fakeAgent, http, jobSpec, startTestServer } from './helpers.js';

let server: TestServer;
t.before(async () => {
  server = await startTestServer({ config: { sites: ['local', 'far'], queues: [{ tenant: 'acme', name: 'batch', weight: 2, priority: 1, guaranteedShare: 0.25, borrow: true }] } });
});
t.teardown(() => server.stop());

t.test('health and readiness need no token', async (t) => {
  t.same(await http(server.url, '/healthz').then((r) => [r.status, r.body]), [200, { ok: true }]);
  t.same(await http(server.url, '/readyz').then((r) => [r.status, r.body]), [200, { ready: true }]);
});

t.test('POST /v1/jobs submits like the WebSocket, GET /v1/jobs lists with filters and pages', async (t) => {
  const specs = Array.from({ length: 5 }, (_, i) => jobSpec({ name: `page-${i}`, queue: 'batch', tasks: [{ resources: { cpu: '100', memory: '1Gi' }, command: 'x' }] }));
  const posted = await http(server.url, '/v1/jobs', TOKENS.acme, { body: { jobs: [...specs, { queue: 'batch' }] } });
  t.equal(posted.status, 200);
  const results = posted.body.results as Frame[];
  t.equal(results.length, 6);
  t.ok(results.slice(0, 5).every((r) => r['ok'] === true));
  t.match(results[5], { ok: false, code: 'MUSTER_ERR_REQUIRED', problems: [{ path: 'tasks' }] });
  const ids = results.slice(0, 5).map((r) => r['job']);

  const admin = await http(server.url, '/v1/jobs', TOKENS.admin, { body: { jobs: [jobSpec({ queue: 'globex-batch' })], tenant: 'globex' } });
  t.match(admin, { status: 200, body: { results: [{ ok: true }] } }, 'an admin submits for another tenant');

  const first = await http(server.url, '/v1/jobs?queue=batch&tenant=acme&limit=2', TOKENS.acme);
  t.equal(first.status, 200);
  t.same(first.body.jobs.map((j: Frame) => j['id']), ids.slice(0, 2));
  t.type(first.body.next, 'string');
  const second = await http(server.url, `/v1/jobs?queue=batch&limit=2&after=${first.body.next}`, TOKENS.acme);
  t.same(second.body.jobs.map((j: Frame) => j['id']), ids.slice(2, 4), 'the next page follows in submission order');
  const last = await http(server.url, `/v1/jobs?queue=batch&limit=2&after=${second.body.next}`, TOKENS.acme);
  t.same(last.body.jobs.map((j: Frame) => j['id']), ids.slice(4));
  t.notOk('next' in last.body, 'no cursor after the last page');
  t.match(first.body.jobs[0], { tenant: 'acme', queue: 'batch', status: 'pending', name: 'page-0', submittedAt: Number, tasks: { total: 1, pending: 1 } });

  const mine = await http(server.url, '/v1/jobs?queue=batch', TOKENS.acme);
  t.notOk(
    mine.body.jobs.some((j: Frame) => j['tenant'] !== 'acme'),
    'a submitter lists only its own tenant',
  );
  const all = await http(server.url, '/v1/jobs', TOKENS.viewer);
  t.ok(
    all.body.jobs.some((j: Frame) => j['tenant'] === 'globex'),
    'a viewer lists every tenant',
  );
  const ended = await http(server.url, '/v1/jobs?status=succeeded', TOKENS.viewer);
  t.same(ended.body.jobs, [], 'the status filter holds');
});

t.test('one job, why it is pending, cancel over HTTP', async (t) => {
  const posted = await http(server.url, '/v1/jobs', TOKENS.acme, { body: { jobs: [jobSpec({ tasks: [{ resources: { cpu: '2', memory: '1Gi', gpu: 2 }, command: 'x' }] })] } });
  const job = posted.body.results[0].job as string;
  const detail = await http(server.url, `/v1/jobs/${job}`, TOKENS.acme);
  t.match(detail, { status: 200, body: { id: job, status: 'pending', spec: { queue: 'default', tasks: [{ resources: { cpu: 2000, gpu: 2 } }] }, taskList: [{ index: 0, state: 'pending', attempt: 0, failures: 0 }] } });
  const why = await http(server.url, `/v1/jobs/${job}/why`, TOKENS.acme);
  t.equal(why.status, 200);
  t.equal(why.body.status, 'pending');
  t.ok(Array.isArray(why.body.reasons) && why.body.reasons.length > 0, 'with reasons');
  const cancelled = await http(server.url, `/v1/jobs/${job}/cancel`, TOKENS.acme, { method: 'POST' });
  t.same([cancelled.status, cancelled.body], [200, { job, ok: true }]);
  const again = await http(server.url, `/v1/jobs/${job}/cancel`, TOKENS.acme, { method: 'POST' });
  t.match(again, { status: 409, body: { code: 'MUSTER_ERR_JOB_ENDED' } });
  const notPending = await http(server.url, `/v1/jobs/${job}/why`, TOKENS.acme);
  t.match(notPending.body, { job, status: 'ended' });
  t.match(await http(server.url, '/v1/jobs/j-424242', TOKENS.acme), { status: 404, body: { code: 'MUSTER_ERR_UNKNOWN_JOB' } });
});

t.test('queues, nodes, sites, leader', async (t) => {
  const { client: agent } = await fakeAgent(server, 'n-http');
  t.teardown(() => agent.close());
  const queues = await http(server.url, '/v1/queues', TOKENS.acme);
  t.equal(queues.status, 200);
  t.match(
    queues.body.queues.find((q: Frame) => q['name'] === 'batch'),
    { tenant: 'acme', weight: 2, priority: 1, guaranteedShare: 0.25, borrow: true, active: Number, pending: Number, usage: { cpu: Number } },
    'the configured queue',
  );
  const nodes = await http(server.url, '/v1/nodes?site=local', TOKENS.viewer);
  t.match(nodes.body.nodes.find((n: Frame) => n['name'] === 'n-http'), { site: 'local', state: 'ready', capacity: { cpu: 4000, memory: 16384 }, allocated: { cpu: Number }, labels: {}, allocations: Number });
  t.same((await http(server.url, '/v1/nodes?site=far', TOKENS.viewer)).body.nodes, [], 'filtered by site');
  t.same((await http(server.url, '/v1/nodes?state=down', TOKENS.viewer)).body.nodes, [], 'filtered by state');
  const sites = await http(server.url, '/v1/sites', TOKENS.acme);
  t.same(
    sites.body.sites.map((s: Frame) => s['name']).sort(),
    ['far', 'local'],
  );
  t.match(
    sites.body.sites.find((s: Frame) => s['name'] === 'local'),
    { nodes: 1, ready: 1, capacity: { cpu: 4000 }, allocated: { cpu: Number } },
  );
  const leader = await http(server.url, '/v1/leader', TOKENS.acme);
  t.same(leader.body, { leader: server.url, epoch: leader.body.epoch, self: true, role: 'leader', replica: server.url }, 'a single server leads; it is its own replica');
  t.ok(leader.body.epoch >= 1);
});

/** The Prometheus text format (0.0.4): comments, then `name{label="value",…} number` samples of declared families. */
function parseExposition(text: string): Map<string, { type: string; samples: { labels: Record<string, string>; value: number }[] }> {
  const families = new Map<string, { type: string; samples: { labels: Record<string, string>; value: number }[] }>();
  const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|NaN|\+Inf|-Inf))(?: -?\d+)?$/;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      families.set(type[1]!, { type: type[2]!, samples: [] });
      continue;
    }
    if (line.startsWith('# HELP ') || line.startsWith('#')) continue;
    const m = sample.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const name = m[1]!;
    const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count|total)$/, '')) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
    if (!family) throw new Error(`sample ${name} of no declared family`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    family.samples.push({ labels, value: Number(m[3]!.replace('+Inf', 'Infinity')) });
  }
  return families;
}

t.test('/metrics is Prometheus text with the gateway’s metrics', async (t) => {
  const client = await WsClient.open(`${server.ws}/v1/submit`, TOKENS.acme);
  t.teardown(() => client.close());
  await client.request({ kind: 'submit', id: 1, jobs: [jobSpec()] });
  const response = await http(server.url, '/metrics', TOKENS.viewer);
  t.equal(response.status, 200);
  t.match(response.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const families = parseExposition(response.body as string);
  for (const [name, type] of [
    ['muster_submitted_jobs_total', 'counter'],
    ['muster_placements_total', 'counter'],
    ['muster_queue_pending_jobs', 'gauge'],
    ['muster_nodes', 'gauge'],
    ['muster_submit_ack_seconds', 'histogram'],
    ['muster_store_commit_seconds', 'histogram'],
    ['muster_placement_backend', 'gauge'],
    ['muster_connections', 'gauge'],
  ] as const) {
    t.equal(families.get(name)?.type, type, `${name} is a ${type}`);
  }
  t.ok((families.get('muster_submitted_jobs_total')!.samples.find((s) => s.labels['outcome'] === 'accepted')?.value ?? 0) >= 1, 'submissions counted');
  t.ok(families.get('muster_submit_ack_seconds')!.samples.some((s) => s.labels['le'] === '+Inf' && s.value >= 1), 'ack latency observed');
  t.ok(families.get('muster_store_commit_seconds')!.samples.some((s) => s.labels['le'] === '+Inf' && s.value >= 1), 'store commits observed');
  const backend = families.get('muster_placement_backend')!.samples;
  t.equal(backend.length, 1);
  t.match(backend[0]!.labels['backend'], /^(native|wasm|ts)$/);
  t.ok(families.get('muster_queue_pending_jobs')!.samples.some((s) => s.labels['queue'] === 'batch'), 'queue depths by queue');
});

/** `promtool check metrics` of `text`: its exit code and everything it printed (lint problems). */
function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Debian's `prometheus` package; .ci/run installs it. Absent, the test fails: a skipped lint checks nothing.
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', (err) => reject(new Error(`promtool could not run (install Debian's prometheus package): ${err.message}`)));
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

t.test('/metrics passes promtool check metrics with no warnings', async (t) => {
  const { client: agent } = await fakeAgent(server, 'n-promtool');
  t.teardown(() => agent.close());
  const response = await http(server.url, '/metrics', TOKENS.admin);
  t.equal(response.status, 200);
  t.match(response.body, /^muster_process_nodejs_active_handles\{/m, 'the process metrics are there');
  const checked = await promtoolCheck(response.body as string);
  t.same(checked, { code: 0, output: '' }, checked.output);
});
