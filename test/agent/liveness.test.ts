/**
 * Node loss end to end, with real agents, real processes and real sockets, on a server with short
 * liveness timings: an agent killed with SIGKILL has its tasks rescheduled after the grace period, and the
 * task it left behind is killed by its shim at the fence (no process is left); an agent cut off gives its
 * attempt up at its fence before the server gives it away, and its end, reported on return, never becomes
 * the job's result; a site going silent at once is held, not mass-rescheduled.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { Agent, agentUrls, SimFleet } from '../../src/agent/index.js';
import type { MusterClient } from '../../src/client/index.js';
import { createClient } from '../../src/client/index.js';
import { createLogger } from '../../src/log/index.js';
import { startTestServer, TOKENS } from '../api/helpers.js';
import { until } from '../helpers/until.js';
import type { TestServer } from '../api/helpers.js';
import { cleanUpWorkFolder, processesMentioning } from './agent-process.js';
import { processGone } from './executor-fixtures.js';

const quiet = createLogger({ name: 'liveness-test', level: 'silent' });
/** The server's fence follows from these: lostAfterMs less a quarter of it, 900 ms. */
const LIVENESS = { heartbeatMs: 200, suspectAfterMs: 600, lostAfterMs: 1200, siteHoldMs: 4000, siteLostPerSecond: 2, siteMinNodes: 4 };
const BIN = join(import.meta.dirname, '../../bin/muster.js');

async function server(t: Test, sites: readonly string[] = ['local']): Promise<{ server: TestServer; client: MusterClient }> {
  const s = await startTestServer({ config: { liveness: LIVENESS, sites } });
  const client = createClient({ endpoints: s.url, token: TOKENS.admin });
  t.teardown(async () => {
    await client.close();
    await s.stop();
  });
  return { server: s, client };
}

function work(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'muster-liveness-'));
  cleanUpWorkFolder(t, dir);
  return dir;
}

function inProcessAgent(t: Test, endpoints: string[], name: string, site = 'local'): Agent {
  const agent = new Agent({ endpoints, token: TOKENS.agent, name, site, capacity: { cpu: 1000, memory: 1024, gpu: 0, extended: {} }, workDir: work(t), graceMs: 300, log: quiet });
  t.teardown(() => agent.stop());
  return agent;
}

const job = (command: string[], extra: Record<string, unknown> = {}) => ({ queue: 'default', tasks: [{ resources: { cpu: '1', memory: '64Mi' }, command }], ...extra });

async function submitOne(client: MusterClient, spec: Record<string, unknown>): Promise<string> {
  const [r] = await client.submit([spec]);
  if (!r?.ok) throw new Error(JSON.stringify(r));
  return r.job;
}

t.test('an agent killed with SIGKILL: its node is lost after the grace period, its task runs elsewhere, and the one it left is killed at the fence', async (t) => {
  const { server: s, client } = await server(t);
  const dir = work(t);
  // A real `muster agent` process, the only node at first: the job's first attempt runs there.
  const child = spawn(process.execPath, [BIN, 'agent', '--server', s.url, '--token', TOKENS.agent, '--name', 'doomed', '--cpu', '1', '--memory', '1Gi', '--work-dir', dir], {
    stdio: 'ignore',
    env: { ...process.env, MUSTER_LOG_LEVEL: 'warn' },
  });
  t.teardown(() => void child.kill('SIGKILL'));
  await until('the agent to register', () => client.nodes(), (n) => n.some((x) => x.name === 'doomed' && x.state === 'ready'));
  const id = await submitOne(client, job(['sh', '-c', 'if [ "$MUSTER_ATTEMPT" = 1 ]; then echo $$; exec sleep 29.25; fi; echo second'], { retries: { max: 2, backoff: '100ms' } }));
  await until('attempt 1 to run on doomed', () => client.job(id), (j) => j.status === 'running');
  const stdout = join(dir, 'jobs', id, '0', '1', 'stdout');
  const orphan = Number(await until('attempt 1 to print its pid', async () => (existsSync(stdout) ? readFileSync(stdout, 'utf8') : ''), (s) => /^\d+\n$/.test(s)));
  inProcessAgent(t, agentUrls(s.url), 'survivor').start();
  await until('the survivor to register', () => client.nodes(), (n) => n.some((x) => x.name === 'survivor' && x.state === 'ready'));

  const killedAt = Date.now();
  child.kill('SIGKILL');
  const lost = await until('doomed to be lost', () => client.nodes(), (n) => n.some((x) => x.name === 'doomed' && x.state === 'lost'));
  const detectMs = Date.now() - killedAt;
  t.ok(lost, `the node is lost ${detectMs} ms after its agent died`);
  t.ok(detectMs >= LIVENESS.lostAfterMs - 400, 'not before the grace period (a closed connection only makes it suspect)');
  const done = await until('the job to end', () => client.job(id), (j) => j.status === 'succeeded' || j.status === 'failed');
  t.equal(done.status, 'succeeded', 'the task ran again on the surviving node and succeeded');
  t.equal(done.taskList?.[0]?.attempt, 2, 'as attempt 2 (the lost one counts)');
  // Attempt 1 outlived its agent under its shim; the shim kills it once the dead agent's lease runs out
  // (the server's fence, 900 ms here, is shorter than its lost timeout: by now it is long past).
  await until('the attempt the dead agent left to be killed at the fence', async () => processGone(orphan), (gone) => gone, 5_000);
  t.pass(`attempt 1 (pid ${orphan}) is gone`);
  t.same(processesMentioning(dir), [], 'no shim or task of the dead agent is left');
});

/** A TCP proxy in front of the server that can cut every connection and refuse new ones, then let them through again. */
class Cable {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cut = false;
  port = 0;

  constructor(target: URL) {
    this.#server = createServer((inbound) => {
      if (this.#cut) {
        inbound.destroy();
        return;
      }
      const outbound = connect(Number(target.port), target.hostname);
      for (const s of [inbound, outbound]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      inbound.pipe(outbound).pipe(inbound);
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as { port: number }).port;
    return `http://127.0.0.1:${this.port}`;
  }

  cut(): void {
    this.#cut = true;
    for (const s of this.#sockets) s.destroy();
  }

  mend(): void {
    this.#cut = false;
  }

  close(): void {
    this.cut();
    this.#server.close();
  }
}

t.test('an agent cut off and back: it gives its attempt up at its fence, before the server gives it away; the end it reports on return changes nothing', async (t) => {
  const { server: s, client } = await server(t);
  const cable = new Cable(new URL(s.url));
  const via = await cable.listen();
  t.teardown(() => cable.close());
  const island = inProcessAgent(t, agentUrls(via), 'island');
  await island.start();
  await until('island to register', () => client.nodes(), (n) => n.length === 1);
  // Attempt 1 would run for long; attempt 2 succeeds at once.
  const id = await submitOne(client, job(['sh', '-c', 'if [ "$MUSTER_ATTEMPT" = 1 ]; then echo $$; exec sleep 20; fi; echo fine'], { retries: { max: 2, backoff: '100ms' } }));
  await until('attempt 1 to run on island', () => client.job(id), (j) => j.status === 'running');
  const stdout = island.executor.logPath({ job: id, task: 0, attempt: 1 }, 'stdout');
  const pid = Number(await until('attempt 1 to print its pid', async () => (existsSync(stdout) ? readFileSync(stdout, 'utf8') : ''), (text) => /^\d+\n$/.test(text)));

  cable.cut();
  await until('island to be lost', () => client.nodes(), (n) => n[0]?.state === 'lost');
  t.equal(island.executor.running().length, 0, 'by the time the server declares it lost, the cut-off agent has killed attempt 1 at its fence');
  t.ok(processGone(pid), 'its process is gone');
  t.equal(island.link.unacknowledged, 1, 'its end (lost, fenced) waits for the server');
  const mainland = inProcessAgent(t, agentUrls(s.url), 'mainland');
  await mainland.start();
  const done = await until('the job to end', () => client.job(id), (j) => j.status === 'succeeded' || j.status === 'failed');
  t.equal(done.status, 'succeeded', 'attempt 2 ran on the other node');

  cable.mend();
  await until('island to come back', () => client.nodes(), (n) => n.find((x) => x.name === 'island')?.state === 'ready');
  await until('its end to be acknowledged', async () => island.link.unacknowledged, (n) => n === 0);
  const after = await client.job(id);
  t.equal(after.status, 'succeeded', 'the end of the replaced attempt did not change the result');
  t.equal(after.taskList?.[0]?.attempt, 2);
});

t.test('a site going silent at once is held, not mass-rescheduled; then released at a bounded rate', async (t) => {
  const { server: s, client } = await server(t, ['east', 'west']);
  const make = (site: string, nodes: number) => new SimFleet({ endpoints: agentUrls(s.url), token: TOKENS.agent, nodes, sites: [site], connections: 2, prefix: site, capacity: { cpu: '1', memory: '1Gi' }, log: quiet });
  const east = make('east', 8);
  const west = make('west', 8);
  t.teardown(() => {
    east.stop();
    west.stop();
  });
  await east.start();
  await until('east to register', () => client.nodes(), (n) => n.length === 8);
  // Eight long jobs fill east; retries allowed, so a mass death would reschedule all of them at once.
  const results = await client.submit(Array.from({ length: 8 }, () => job(['sleep', '60'], { retries: { max: 3, backoff: '100ms' } })));
  const ids = results.map((r) => (r.ok ? r.job : ''));
  await until('all eight to run', () => Promise.all(ids.map((i) => client.job(i))), (js) => js.every((j) => j.status === 'running'));
  await west.start();
  await until('west to register', () => client.nodes(), (n) => n.length === 16);

  const silentAt = Date.now();
  east.stop(); // every east connection closes at once: a partition, as far as the server can tell
  await new Promise((r) => setTimeout(r, LIVENESS.lostAfterMs + 1000));
  const during = await client.nodes({ site: 'east' });
  t.ok(during.every((n) => n.state === 'suspect'), `past the grace period the silent site's nodes are held as suspect: ${during.map((n) => n.state).join(',')}`);
  t.equal(west.stats().started, 0, 'nothing was rescheduled onto the other site during the hold');

  const released = await until('east to be released as lost', () => client.nodes({ site: 'east' }), (n) => n.every((x) => x.state === 'lost'), 30_000);
  const tookMs = Date.now() - silentAt;
  t.ok(released && tookMs >= LIVENESS.siteHoldMs + 2000, `released over time, not at once (${tookMs} ms for 8 nodes at 2/s after a ${LIVENESS.siteHoldMs} ms hold)`);
  await until('the work to move west', async () => west.stats().started, (n) => n === 8);
  t.pass('every job was rescheduled once the site was released');
});
