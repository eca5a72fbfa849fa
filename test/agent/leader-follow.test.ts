/**
 * Agents follow the leader: an `AgentLink` (and the simulated fleet) configured with a replica that does not
 * lead (test/helpers/fake-replica.ts, real sockets) registers with the real `muster server` (a child
 * process) that the standby names, even one not in its list, or with the next endpoint when it names none,
 * and says so in one log line per refusal. A leader deposed under a link closes it (1012) and names the
 * new one: the link registers there with the attempts it runs and the ends not yet acknowledged. A real
 * `muster agent` process does the same as its link.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack, unpack } from 'msgpackr';
import t from 'tap';
import type { Test } from 'tap';
import { AgentLink, agentUrls, SimFleet } from '../../src/agent/index.js';
import type { LinkOwner, RunningAttempt, StartCommand } from '../../src/agent/index.js';
import { createClient } from '../../src/client/index.js';
import type { MusterClient } from '../../src/client/index.js';
import { createLogger } from '../../src/log/index.js';
import type { Logger } from '../../src/log/index.js';
import { ServerProcess } from '../client/server-process.js';
import { FakeReplica } from '../helpers/fake-replica.js';
import type { KnownLeader } from '../helpers/fake-replica.js';
import { until } from '../helpers/until.js';
import { AgentPeer, startFrame } from './agent-peer.js';
import type { Frame } from './agent-peer.js';
import { AgentProcess, cleanUpWorkFolder } from './agent-process.js';

const server = await ServerProcess.start();
t.teardown(() => server.stop());
const leader: KnownLeader = { url: server.url, epoch: 1 };
const capacity = { cpu: '1', memory: '1Gi' };

/** A logger whose lines the test reads (pino JSON, at info and above). */
function capturingLogger(): { log: Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const log = createLogger({ name: 'link-test', level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) } });
  return { log, lines };
}

/** A link owner that runs nothing: it records starts as running attempts, and says when a node registered. */
class Owner implements LinkOwner {
  readonly attempts: RunningAttempt[] = [];
  readonly #registered: ((node: string) => void)[] = [];
  running(): readonly RunningAttempt[] {
    return this.attempts;
  }
  start(command: StartCommand): void {
    this.attempts.push({ job: command.job, task: command.task, attempt: command.attempt, epoch: command.epoch });
  }
  kill(): void {}
  registered(node: string): void {
    for (const w of this.#registered.splice(0)) w(node);
  }
  /** Settles when the next node registers. */
  nextRegistered(): Promise<string> {
    return new Promise((resolve) => this.#registered.push(resolve));
  }
}

async function replica(t: Test, options: { leader?: KnownLeader } = {}): Promise<FakeReplica> {
  const r = await FakeReplica.start({ retryAfterMs: 50, ...options });
  t.teardown(() => r.close());
  return r;
}

function reader(t: Test): MusterClient {
  const c = createClient({ endpoints: server.url, token: server.token });
  t.teardown(() => c.close());
  return c;
}

t.test('a link whose first endpoint is a standby naming the leader registers with the leader, and logs one line', async (t) => {
  const standby = await replica(t, { leader });
  const { log, lines } = capturingLogger();
  const owner = new Owner();
  const link = new AgentLink({ endpoints: agentUrls(standby.url), token: server.token, owner, log });
  t.teardown(() => link.close());
  link.addNode({ name: 'follow-1', site: 'local', capacity });
  const registered = owner.nextRegistered();
  await link.open();
  t.equal(await registered, 'follow-1');
  t.match(await reader(t).nodes(), [{ name: 'follow-1', state: 'ready' }], 'the leader has the node');
  t.same(standby.refused, ['UPGRADE /v1/agent']);
  const said = lines.filter((l) => /not the leader/.test(l.msg));
  t.equal(said.length, 1, 'one line for the refusal');
  t.match(said[0]?.msg, `${standby.agentUrl}: not the leader; the leader is ${server.url} (epoch 1); connecting to ${agentUrls(server.url)[0]}`);
});

t.test('a standby that names no leader: the link goes on to the next endpoint', async (t) => {
  const standby = await replica(t);
  const { log, lines } = capturingLogger();
  const owner = new Owner();
  const link = new AgentLink({ endpoints: agentUrls([standby.url, server.url]), token: server.token, owner, log });
  t.teardown(() => link.close());
  link.addNode({ name: 'follow-2', site: 'local', capacity });
  const registered = owner.nextRegistered();
  await link.open();
  t.equal(await registered, 'follow-2');
  t.same(standby.refused, ['UPGRADE /v1/agent']);
  t.match(lines.find((l) => /not the leader/.test(l.msg))?.msg, 'not the leader; no leader is known yet; trying the next endpoint');
});

t.test('the simulated fleet follows the leader a standby names', async (t) => {
  const standby = await replica(t, { leader });
  const fleet = new SimFleet({ endpoints: agentUrls(standby.url), token: server.token, nodes: 3, sites: ['local'], connections: 2, prefix: 'follow-sim', log: capturingLogger().log });
  t.teardown(() => fleet.stop());
  await fleet.start();
  const c = reader(t);
  const nodes = await until('the three simulated nodes on the leader', () => c.nodes(), (ns) => ns.filter((n) => n.name.startsWith('follow-sim-')).length === 3);
  t.ok(nodes.filter((n) => n.name.startsWith('follow-sim-')).every((n) => n.state === 'ready'), 'every simulated node is ready');
  t.same(standby.refused, ['UPGRADE /v1/agent', 'UPGRADE /v1/agent'], 'each connection asked the standby once');
});

t.test('a deposed leader closes the link: it registers with the new leader, with what it runs and the ends not acknowledged', async (t) => {
  const old = await replica(t);
  old.lead();
  const next = await AgentPeer.start({ epoch: 2, heartbeatMs: 200 });
  t.teardown(() => next.close());
  let endSeen!: () => void;
  const ended = new Promise<void>((resolve) => (endSeen = resolve));
  old.onSocket = (socket) =>
    socket.on('message', (data: Buffer) => {
      const top = unpack(data) as Frame;
      for (const frame of top.kind === 'batch' ? (top['frames'] as Frame[]) : [top]) {
        if (frame.kind === 'register') {
          socket.send(pack({ kind: 'registered', id: frame['id'], node: 'n1', epoch: 1, heartbeatMs: 200, kill: [] }));
          socket.send(pack(startFrame('n1', 'j-run', 1, 'sleep 60')));
        }
        // The old leader takes the end but never acknowledges it.
        if (frame.kind === 'ended') endSeen();
      }
    });
  const { log, lines } = capturingLogger();
  const owner = new Owner();
  const link = new AgentLink({ endpoints: agentUrls(old.url), token: 'agent-token-0123456789', owner, log });
  t.teardown(() => link.close());
  link.addNode({ name: 'n1', site: 'local', capacity });
  const first = owner.nextRegistered();
  await link.open();
  await first;
  await until('the start to reach the owner', async () => owner.attempts.length, (n) => n === 1);
  link.ended('n1', { job: 'j-done', task: 0, attempt: 1, outcome: 'succeeded', exitCode: 0 });
  await ended;

  const second = owner.nextRegistered();
  old.depose({ url: next.url, epoch: 2 });
  const register = await next.next('register');
  t.same(register['running'], [{ job: 'j-run', task: 0, attempt: 1, epoch: 1 }], 'it reports the attempt it runs');
  t.same(register['ended'], [{ job: 'j-done', task: 0, attempt: 1, outcome: 'succeeded', exitCode: 0 }], 'and the end the deposed leader did not acknowledge');
  await second;
  t.equal(link.newestEpoch, 2, 'the new leader epoch is the newest seen');
  t.equal(link.unacknowledged, 0, "the new leader's registered acknowledged the end");
  t.same(old.refused, ['UPGRADE /v1/agent'], 'it asked the deposed leader first, which named the new one');
  t.ok(lines.some((l) => l.msg.includes(`not the leader; the leader is ${next.url} (epoch 2); connecting to ${next.agentUrl}`)), 'one line says where it went');
});

t.test('muster agent (a real process) given a standby first: one log line, then it registers with the leader', async (t) => {
  const standby = await replica(t, { leader });
  const work = await mkdtemp(join(tmpdir(), 'muster-leader-agent-'));
  cleanUpWorkFolder(t, work);
  const agent = new AgentProcess(t, ['--server', standby.url, '--token', server.token, '--name', 'follow-proc', '--cpu', '1', '--memory', '1Gi', '--work-dir', work]);
  await agent.waitFor(/agent: node follow-proc connected/);
  const [line] = await agent.waitFor(/not the leader/);
  const logged = JSON.parse(line!) as { msg: string; leader: string; epoch: number };
  t.equal(logged.msg, `${standby.agentUrl}: not the leader; the leader is ${server.url} (epoch 1); connecting to ${agentUrls(server.url)[0]}`);
  t.match(logged, { leader: server.url, epoch: 1 }, 'the leader and its epoch as fields too');
  const c = reader(t);
  await until('the node on the leader', () => c.nodes(), (ns) => ns.some((n) => n.name === 'follow-proc' && n.state === 'ready'));
  agent.child.kill('SIGTERM');
  t.match(await agent.exited, { code: 0 });
});
