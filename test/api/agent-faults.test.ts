/**
 * The agent protocol when things go wrong, against a real server over real sockets, with scripted agents
 * (PROTOCOL.md `/v1/agent`): ends reported after a disconnection keep their real outcome; every end is
 * acknowledged once durable and recorded once; reports about another node's attempt are refused; who may
 * speak for a node; replaced attempts are killed when a lost node is heard from again; a node that comes
 * back smaller does not break its site; starts on their way at a registration are not lost; one frame's
 * reports are recorded in order and their ends acknowledged together.
 */
import t from 'tap';
import type { Test } from 'tap';
import type { Frame, TestServer } from './helpers.js';
import { TOKENS, WsClient, fakeAgent, http, jobSpec, startTestServer } from './helpers.js';
import { until } from '../helpers/until.js';

/** Short liveness timings, so a silent node is lost within about a second. */
const FAST = { heartbeatMs: 100, suspectAfterMs: 300, lostAfterMs: 900 };

async function serverFor(t: Test, liveness: Record<string, number> = {}): Promise<TestServer> {
  const server = await startTestServer({ config: { liveness } });
  t.teardown(() => server.stop());
  return server;
}

async function watcher(t: Test, server: TestServer): Promise<WsClient> {
  const client = await WsClient.open(`${server.ws}/v1/submit`, TOKENS.admin);
  t.teardown(() => client.close());
  await client.request({ kind: 'watch', id: 'w' });
  return client;
}

async function submit(client: WsClient, spec: Record<string, unknown>): Promise<string> {
  const reply = await client.request({ kind: 'submit', id: `s-${Math.random()}`, jobs: [spec] });
  const [result] = reply['results'] as Frame[];
  if (!result?.['ok']) throw new Error(`submit refused: ${JSON.stringify(reply)}`);
  return result['job'] as string;
}

const taskEnds = (client: WsClient, job: string): Frame[] => client.events('w').filter((e) => e['job'] === job && e['type'] === 'task-ended');

t.test('an end that happened while the agent was disconnected is reported at registration and keeps its real outcome', async (t) => {
  const server = await serverFor(t);
  const client = await watcher(t, server);
  const first = await fakeAgent(server, 'blip');
  const job = await submit(client, jobSpec({ retries: { max: 0 } }));
  await first.client.next((f) => f.kind === 'start' && f['job'] === job);
  first.client.send({ kind: 'started', node: 'blip', job, task: 0, attempt: 1 });
  await client.event('w', (e) => e['job'] === job && e['type'] === 'started');
  // The link drops; the task fails with exit code 3 meanwhile; the agent comes back with the end it kept.
  first.client.close();
  await first.client.closed;
  const again = await fakeAgent(server, 'blip', [], { ended: [{ job, task: 0, attempt: 1, outcome: 'failed', exitCode: 3, reason: 'exit code 3' }] });
  t.teardown(() => again.client.close());
  t.match(again.registered, { kind: 'registered', node: 'blip', kill: [], fenceMs: Number });
  const ended = await client.event('w', (e) => e['job'] === job && e['type'] === 'ended');
  t.equal(ended['outcome'], 'failed');
  t.same(
    taskEnds(client, job).map((e) => [e['outcome'], e['exitCode'], e['reason']]),
    [['failed', 3, 'exit code 3']],
    'one end, the real one: not "lost (reconciled at registration)"',
  );
});

t.test('an end is acknowledged once durable; the same end again, or an end after the node was lost, is acknowledged and records nothing', async (t) => {
  const server = await serverFor(t, FAST);
  const client = await watcher(t, server);
  const agent = await fakeAgent(server, 'acks');
  t.teardown(() => agent.client.close());
  const job = await submit(client, jobSpec());
  await agent.client.next((f) => f.kind === 'start' && f['job'] === job);
  const end = { kind: 'ended', node: 'acks', job, task: 0, attempt: 1, outcome: 'succeeded', exitCode: 0 };
  const mark = agent.client.received.length;
  agent.client.send(end);
  const acked = await agent.client.next((f) => f.kind === 'acked', mark);
  t.same(acked, { kind: 'acked', node: 'acks', attempts: [{ job, task: 0, attempt: 1 }] });
  t.ok((await server.server.store.append(server.server.gateway.agents.epoch, [])).lastSeq > 0, 'the end was in the store before its acknowledgement');
  const mark2 = agent.client.received.length;
  agent.client.send(end);
  await agent.client.next((f) => f.kind === 'acked', mark2);
  await server.lastSeq();
  t.equal(taskEnds(client, job).length, 1, 'a repeated end is acknowledged, not recorded twice');

  // A job whose node goes silent: its attempt ends as lost; the agent's late report of it changes nothing.
  const late = await submit(client, jobSpec({ retries: { max: 0 } }));
  await agent.client.next((f) => f.kind === 'start' && f['job'] === late);
  agent.quiet();
  await client.event('w', (e) => e['job'] === late && e['type'] === 'task-ended' && e['outcome'] === 'lost');
  const mark3 = agent.client.received.length;
  agent.client.send({ ...end, job: late });
  await agent.client.next((f) => f.kind === 'acked' && (f['attempts'] as Frame[])[0]?.['job'] === late, mark3);
  await server.lastSeq();
  t.same(
    taskEnds(client, late).map((e) => e['outcome']),
    ['lost'],
    'the late report of an attempt already ended as lost is acknowledged without a second TaskEnded',
  );
});

t.test('a lost node heard from again: its replaced attempts are killed before it gets new work', async (t) => {
  const server = await serverFor(t, FAST);
  const client = await watcher(t, server);
  const agent = await fakeAgent(server, 'napper');
  t.teardown(() => agent.client.close());
  const job = await submit(client, jobSpec({ retries: { max: 2, backoff: '10ms' } }));
  await agent.client.next((f) => f.kind === 'start' && f['job'] === job);
  agent.client.send({ kind: 'started', node: 'napper', job, task: 0, attempt: 1 });
  // The agent pauses (no heartbeats, connection open) past the lost timeout; its attempt is given up.
  agent.quiet();
  await client.event('w', (e) => e['job'] === job && e['type'] === 'task-ended' && e['outcome'] === 'lost');
  const mark = agent.client.received.length;
  agent.beat();
  const kill = await agent.client.next((f) => f.kind === 'kill', mark);
  t.match(kill, { node: 'napper', job, task: 0, attempt: 1, reason: 'replaced' }, 'the replaced attempt is killed');
  // Attempt 2 may well land on the same node: its start must come after the kill.
  const start2 = await agent.client.next((f) => f.kind === 'start' && f['job'] === job && f['attempt'] === 2, mark);
  t.ok(agent.client.received.indexOf(kill) < agent.client.received.indexOf(start2), 'the kill precedes any new work on the node');
  agent.beat();
});

t.test("one frame's reports: each recorded once in the frame's order, the ends acknowledged together, counted per kind", async (t) => {
  const server = await serverFor(t);
  const client = await watcher(t, server);
  const agent = await fakeAgent(server, 'batcher');
  t.teardown(() => agent.client.close());
  const jobs = [await submit(client, jobSpec()), await submit(client, jobSpec()), await submit(client, jobSpec())];
  for (const job of jobs) await agent.client.next((f) => f.kind === 'start' && f['job'] === job);
  const [a, b, c] = jobs as [string, string, string];
  const end = (job: string, attempt = 1): Frame => ({ kind: 'ended', node: 'batcher', job, task: 0, attempt, outcome: 'succeeded', exitCode: 0 });
  const started = (job: string): Frame => ({ kind: 'started', node: 'batcher', job, task: 0, attempt: 1 });
  const mark = agent.client.received.length;
  // A heartbeat between the reports, and an end of an attempt that was never live (acknowledged, recorded nothing).
  agent.client.send({ kind: 'batch', frames: [started(a), started(b), { kind: 'heartbeat', node: 'batcher' }, end(a), started(c), end(b), end(c, 9)] });
  const acked = await agent.client.next((f) => f.kind === 'acked', mark);
  t.same(acked['attempts'], [{ job: a, task: 0, attempt: 1 }, { job: b, task: 0, attempt: 1 }, { job: c, task: 0, attempt: 9 }], "the frame's ends are acknowledged in one frame, in order");
  await client.event('w', (e) => e['job'] === b && e['type'] === 'ended');
  await server.lastSeq();
  const steps = (job: string): unknown[] => client.events('w').filter((e) => e['job'] === job && (e['type'] === 'started' || e['type'] === 'task-ended')).map((e) => e['type']);
  t.same(steps(a), ['started', 'task-ended'], 'a: started, then ended, once each');
  t.same(steps(b), ['started', 'task-ended'], 'b: started, then ended, once each');
  t.same(steps(c), ['started'], 'c: started; the end of an attempt never live records nothing');
  const metrics = (await http(server.url, '/metrics', TOKENS.admin)).body as string;
  t.match(metrics, /muster_requests_total\{endpoint="agent",kind="started"\} 3\n/, 'three started reports counted');
  t.match(metrics, /muster_requests_total\{endpoint="agent",kind="ended"\} 3\n/, 'three ended reports counted');
});

t.test('a report about an attempt live on another node is refused and changes nothing', async (t) => {
  const server = await serverFor(t);
  const client = await watcher(t, server);
  const owner = await fakeAgent(server, 'owner');
  t.teardown(() => owner.client.close());
  const job = await submit(client, jobSpec({ tasks: [{ resources: { cpu: '3', memory: '1Gi' }, command: ['true'] }] }));
  await owner.client.next((f) => f.kind === 'start' && f['job'] === job);
  owner.client.send({ kind: 'started', node: 'owner', job, task: 0, attempt: 1 });
  await client.event('w', (e) => e['job'] === job && e['type'] === 'started');
  const impostor = await fakeAgent(server, 'impostor');
  t.teardown(() => impostor.client.close());
  const mark = impostor.client.received.length;
  impostor.client.send({ kind: 'ended', id: 'e1', node: 'impostor', job, task: 0, attempt: 1, outcome: 'succeeded', exitCode: 0 });
  const refusal = await impostor.client.next((f) => f.kind === 'error' && f['id'] === 'e1', mark);
  t.match(refusal, { code: 'MUSTER_ERR_FORBIDDEN', field: 'node' });
  impostor.client.send({ kind: 'started', id: 's1', node: 'impostor', job, task: 0, attempt: 1 });
  t.match(await impostor.client.next((f) => f.kind === 'error' && f['id'] === 's1', mark), { code: 'MUSTER_ERR_FORBIDDEN' });
  await server.lastSeq();
  t.equal(taskEnds(client, job).length, 0, 'the attempt did not end');
  const nodes = (await http(server.url, '/v1/nodes', TOKENS.admin)).body.nodes as Frame[];
  t.match(nodes.find((n) => n['name'] === 'owner'), { allocations: 1, allocated: { cpu: 3000 } }, "the owner's resources are still held: no over-commitment");
});

t.test('who may speak for a node: the token names it; another token cannot take it over; the same token reconnecting replaces its old connection', async (t) => {
  const server = await serverFor(t);
  const refused = await WsClient.open(`${server.ws}/v1/agent`, TOKENS.rack);
  t.teardown(() => refused.close());
  const reply = await refused.request({ kind: 'register', id: 'r1', node: { name: 'db-1', site: 'local', capacity: { cpu: '1', memory: '1Gi' } } });
  t.match(reply, { kind: 'error', code: 'MUSTER_ERR_FORBIDDEN', field: 'node.name' }, 'a rack-* token may not register db-1');

  const holder = await fakeAgent(server, 'rack-1', [], { token: TOKENS.rack });
  t.equal(holder.registered.kind, 'registered');
  const other = await WsClient.open(`${server.ws}/v1/agent`, TOKENS.agent);
  t.teardown(() => other.close());
  const taken = await other.request({ kind: 'register', id: 'r2', node: { name: 'rack-1', site: 'local', capacity: { cpu: '1', memory: '1Gi' } } });
  t.match(taken, { kind: 'error', code: 'MUSTER_ERR_NODE_HELD', field: 'node.name' }, 'another token cannot take a held node');

  const again = await fakeAgent(server, 'rack-1', [], { token: TOKENS.rack });
  t.teardown(() => again.client.close());
  t.equal(again.registered.kind, 'registered', 'the same token reconnecting takes its node');
  t.equal((await holder.client.closed).code, 4009, 'and its older connection is closed');
  const nodes = (await http(server.url, '/v1/nodes', TOKENS.admin)).body.nodes as Frame[];
  t.match(nodes, [{ name: 'rack-1', state: 'ready' }]);
});

t.test('starts on their way when a node registers are delivered, not declared lost', async (t) => {
  const server = await serverFor(t);
  const client = await watcher(t, server);
  // Jobs wait for nodes; each node registering gets some of them placed while its registration is answered.
  const jobs: string[] = [];
  for (let i = 0; i < 12; i++) jobs.push(await submit(client, jobSpec({ retries: { max: 0 } })));
  const agents: Awaited<ReturnType<typeof fakeAgent>>[] = [];
  for (let i = 0; i < 3; i++) {
    const agent = await fakeAgent(server, `joiner-${i}`);
    t.teardown(() => agent.client.close());
    agents.push(agent);
  }
  const allStarts = (): Frame[] => agents.flatMap((a) => a.client.received.filter((f) => f.kind === 'start'));
  const starts = await until('every job to be started', async () => allStarts(), (s) => s.length >= 12);
  t.equal(starts.length, 12, 'every job was started on one of the nodes');
  t.same(starts.map((f) => f['attempt']), Array(12).fill(1), 'each as its first attempt');
  for (const f of starts) agents.find((a) => a.client.received.includes(f))!.client.send({ kind: 'ended', node: f['node'], job: f['job'], task: 0, attempt: 1, outcome: 'succeeded', exitCode: 0 });
  for (const job of jobs) await client.event('w', (e) => e['job'] === job && e['type'] === 'ended');
  t.same(
    client.events('w').filter((e) => e['type'] === 'task-ended').map((e) => e['outcome']),
    Array(12).fill('succeeded'),
    'no attempt was declared lost at its node\'s registration',
  );
});

t.test('a node that comes back with less capacity than it runs is full until they end; its site keeps scheduling', async (t) => {
  const server = await serverFor(t);
  const client = await watcher(t, server);
  const big = await fakeAgent(server, 'shrinker');
  const job = await submit(client, jobSpec({ tasks: [{ resources: { cpu: '1', memory: '1Gi' }, count: 2, command: ['true'] }] }));
  const starts = [await big.client.next((f) => f.kind === 'start' && f['task'] === 0), await big.client.next((f) => f.kind === 'start' && f['task'] === 1)];
  big.client.close();
  await big.client.closed;
  // Back with one core while still running both tasks (2 cores' worth).
  const small = await fakeAgent(
    server,
    'shrinker',
    starts.map((s) => ({ job, task: s['task'], attempt: 1, epoch: s['epoch'] })),
    { node: { capacity: { cpu: '1', memory: '16Gi' } } },
  );
  t.teardown(() => small.client.close());
  t.same(small.registered['kill'], [], 'both attempts are adopted');
  let nodes = (await http(server.url, '/v1/nodes', TOKENS.admin)).body.nodes as Frame[];
  t.match(nodes[0], { capacity: { cpu: 1000 }, allocated: { cpu: 2000 }, allocations: 2 });
  const waiting = await submit(client, jobSpec({ tasks: [{ resources: { cpu: '500m', memory: '1Gi' }, command: ['true'] }] }));
  for (const s of starts) small.client.send({ kind: 'ended', node: 'shrinker', job, task: s['task'], attempt: 1, outcome: 'succeeded', exitCode: 0 });
  // The site actor survived both releases (before: the second one over-released and the site stopped for good).
  const placed = await small.client.next((f) => f.kind === 'start' && f['job'] === waiting);
  t.equal(placed['node'], 'shrinker', 'the site places again once the node has room');
  nodes = (await http(server.url, '/v1/nodes', TOKENS.admin)).body.nodes as Frame[];
  t.match(nodes[0], { capacity: { cpu: 1000 }, allocated: { cpu: 500 } });
  const sites = (await http(server.url, '/v1/sites', TOKENS.admin)).body.sites as Frame[];
  t.match(sites[0], { capacity: { cpu: 1000 }, allocated: { cpu: 500 } }, 'never more free than capacity');
});

t.test('errors do not echo megabytes: a huge unknown kind or field name comes back cut', async (t) => {
  const server = await serverFor(t);
  const agent = await WsClient.open(`${server.ws}/v1/agent`, TOKENS.agent);
  t.teardown(() => agent.close());
  const huge = 'x'.repeat(1 << 20);
  const kind = await agent.request({ kind: huge, id: 'k' } as never);
  t.equal(kind['code'], 'MUSTER_ERR_UNKNOWN_KIND');
  t.ok(JSON.stringify(kind).length < 1024, `an unknown kind of 1 MiB: a ${JSON.stringify(kind).length}-byte error`);
  const field = await agent.request({ kind: 'register', id: 'f', node: { name: 'n', site: 'local', capacity: { cpu: '1', memory: '1Gi' } }, [huge]: 1 });
  t.equal(field['code'], 'MUSTER_ERR_UNKNOWN_FIELD');
  t.ok(JSON.stringify(field).length < 1024, `an unknown field name of 1 MiB: a ${JSON.stringify(field).length}-byte error`);
  const submitter = await WsClient.open(`${server.ws}/v1/submit`, TOKENS.admin);
  t.teardown(() => submitter.close());
  // Under the 64 KiB spec limit, so the spec is read (a longer one is refused for its size alone).
  const reply = await submitter.request({ kind: 'submit', id: 's', jobs: [{ ...jobSpec(), ['z'.repeat(60_000)]: 1 }] });
  const result = (reply['results'] as Frame[])[0]!;
  t.equal(result['code'], 'MUSTER_ERR_UNKNOWN_FIELD');
  t.ok(JSON.stringify(result).length < 2048, `an unknown field name of 60 KB in a job spec: a ${JSON.stringify(result).length}-byte result`);
});

t.test('a flood of bad frames does not cost a registration its reply', async (t) => {
  const server = await serverFor(t);
  const agent = await WsClient.open(`${server.ws}/v1/agent`, TOKENS.agent);
  t.teardown(() => agent.close());
  // Frames of 1 MiB whose errors used to echo their field name (twice) or kind: megabytes of errors per
  // frame, until the connection passed its unsent-bytes bound and was closed with the registration unanswered.
  // The agent is slow to read meanwhile (its socket paused), as a busy agent under such a flood would be.
  const junk = 'y'.repeat(1 << 20);
  agent.socket.pause();
  for (let i = 0; i < 64; i++) agent.send(i % 2 === 0 ? { kind: 'started', node: 'n', job: 'j', task: 0, attempt: 1, [junk]: i } : { kind: junk });
  const reply = agent.request({ kind: 'register', id: 'after-flood', node: { name: 'flooded', site: 'local', capacity: { cpu: '1', memory: '1Gi' } } });
  const unknownKinds = async (): Promise<string> => /muster_rejections_total\{code="MUSTER_ERR_UNKNOWN_KIND"\} \d+/.exec((await http(server.url, '/metrics', TOKENS.admin)).body as string)?.[0] ?? 'none';
  await until('the server to take every frame', unknownKinds, (line) => line.endsWith(' 32'));
  agent.socket.resume();
  const outcome = await Promise.race([reply, agent.closed.then((c) => ({ kind: 'closed', ...c }) as unknown as Frame)]);
  t.equal(outcome.kind, 'registered', `the registration is answered (got ${JSON.stringify(outcome)})`);
  t.equal(agent.received.filter((f) => f.kind === 'error').length, 64, 'every bad frame got its (short) error');
});

t.test("an earlier attempt's output is read from the node it ran on", async (t) => {
  const server = await serverFor(t);
  const client = await watcher(t, server);
  const answer = (agent: WsClient, text: string): void => {
    void (async () => {
      for (let from = 0; ; ) {
        const ask = await agent.next((f) => f.kind === 'logs', from);
        from = agent.received.indexOf(ask) + 1;
        agent.send({ kind: 'log', id: ask['id'], data: Buffer.from(`${text} attempt ${String(ask['attempt'])}`), eof: true });
      }
    })();
  };
  const first = await fakeAgent(server, 'first-home');
  t.teardown(() => first.client.close());
  answer(first.client, 'first-home');
  const job = await submit(client, jobSpec({ retries: { max: 1, backoff: '10ms' }, tasks: [{ resources: { cpu: '4', memory: '1Gi' }, command: ['true'] }] }));
  await first.client.next((f) => f.kind === 'start' && f['job'] === job);
  const second = await fakeAgent(server, 'second-home');
  t.teardown(() => second.client.close());
  answer(second.client, 'second-home');
  first.client.send({ kind: 'ended', node: 'first-home', job, task: 0, attempt: 1, outcome: 'failed', exitCode: 1 });
  // Attempt 2 needs the whole node: the first one is busy only if it got it, so wait for where it went.
  const start2 = await Promise.race([first.client.next((f) => f.kind === 'start' && f['attempt'] === 2), second.client.next((f) => f.kind === 'start' && f['attempt'] === 2)]);
  const detail = (await http(server.url, `/v1/jobs/${job}`, TOKENS.admin)).body;
  t.same(detail.taskList[0].nodes, ['first-home', start2['node']], 'where each attempt ran');
  const one = await fetch(`${server.url}/v1/jobs/${job}/logs?attempt=1`, { headers: { authorization: `Bearer ${TOKENS.admin}` } });
  t.equal(await one.text(), 'first-home attempt 1');
  t.equal(one.headers.get('muster-node'), 'first-home');
  const two = await fetch(`${server.url}/v1/jobs/${job}/logs?attempt=2`, { headers: { authorization: `Bearer ${TOKENS.admin}` } });
  t.equal(await two.text(), `${String(start2['node'])} attempt 2`);
});

t.test('the server stalling is not blamed on its nodes: after its own pause no node is lost and nothing is rescheduled', async (t) => {
  const server = await serverFor(t, FAST);
  const client = await watcher(t, server);
  const agent = await fakeAgent(server, 'patient');
  t.teardown(() => agent.client.close());
  const job = await submit(client, jobSpec());
  await agent.client.next((f) => f.kind === 'start' && f['job'] === job);
  agent.client.send({ kind: 'started', node: 'patient', job, task: 0, attempt: 1 });
  await client.event('w', (e) => e['job'] === job && e['type'] === 'started');
  const hub = server.server.gateway.agents;
  // The whole process (server and agent alike) stops for well past the lost timeout, as a long GC or a
  // SIGSTOP would stop a server: no timer runs and nothing is read meanwhile.
  const until2500 = performance.now() + 2_500;
  while (performance.now() < until2500);
  const beats = hub.heartbeats;
  await until('heartbeats to flow again', async () => hub.heartbeats, (n) => n >= beats + 5);
  t.equal(hub.liveness.stalls, 1, 'the server noticed its own stall');
  t.ok(hub.liveness.lastStallMs >= 2_000, `of ${Math.round(hub.liveness.lastStallMs)} ms`);
  await server.lastSeq();
  const metrics = (await http(server.url, '/metrics', TOKENS.admin)).body as string;
  t.notMatch(metrics, /muster_events_total\{kind="NodeStateChanged"\}/, 'no node changed state: not suspect, not lost');
  t.match(metrics, /muster_server_stalls_total 1\n/, 'the stall is counted in the metrics');
  t.same(taskEnds(client, job), [], 'the running attempt was not declared lost');
  t.equal(hub.liveness.state('patient'), 'ready');
});
