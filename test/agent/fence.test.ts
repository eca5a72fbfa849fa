/**
 * The fence (PROTOCOL.md, "Fence"): an agent with no contact with the server for `fenceMs` gives up every
 * attempt, which ends `lost` with a reason starting `fenced:`, reported once the server is back.
 *
 * - A real `muster agent` stopped with SIGSTOP past its fence: its task's shim kills the task while the
 *   agent is still stopped; resumed, the agent reports the attempt lost.
 * - An agent cut off (no pongs, no frames, no new connections): it kills its attempts itself.
 * - The simulated fleet fences its simulated attempts the same way.
 * - No `fenceMs` in `registered` (an older server): no fence.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { Agent, SimFleet } from '../../src/agent/index.js';
import { createLogger } from '../../src/log/index.js';
import { until } from '../helpers/until.js';
import { AgentPeer, startFrame } from './agent-peer.js';
import type { Frame } from './agent-peer.js';
import { AgentProcess, cleanUpWorkFolder, processesMentioning } from './agent-process.js';
import { processGone } from './executor-fixtures.js';

const quiet = createLogger({ name: 'fence-test', level: 'silent' });
const FENCE_MS = 1_000;
const HEARTBEAT_MS = 200;

async function workFolder(t: Test): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'muster-fence-'));
  cleanUpWorkFolder(t, work);
  return work;
}

/** A scripted server sending `fenceMs` in `registered` (null: none, as an older server). */
async function peer(t: Test, fenceMs: number | null = FENCE_MS): Promise<AgentPeer> {
  const p = await AgentPeer.start({ heartbeatMs: HEARTBEAT_MS, ...(fenceMs !== null ? { fenceMs } : {}) });
  t.teardown(() => p.close());
  return p;
}

const fencedLost = (f: Frame): boolean => f['outcome'] === 'lost' && typeof f['reason'] === 'string' && f['reason'].startsWith('fenced:');

/** The `ended` reports the peer has seen, as frames or carried by a register. */
function endsSeen(p: AgentPeer): Frame[] {
  return [...p.framesOf('ended'), ...p.framesOf('register').flatMap((r) => (r['ended'] as Frame[] | undefined) ?? [])];
}

t.test('an agent stopped (SIGSTOP) past its fence: the shim kills the task while the agent is still stopped', async (t) => {
  const p = await peer(t);
  const work = await workFolder(t);
  const agent = new AgentProcess(t, ['--server', p.url, '--token', 'agent-token-0123456789', '--name', 'n1', '--cpu', '1', '--memory', '1Gi', '--work-dir', work]);
  await p.next('register');
  p.sendLatest(startFrame('n1', 'j-1', 1, `echo $$ > ${join(work, 'pid')}; exec sleep 60`));
  await p.next('started');
  const pid = Number(await until('the task to write its pid', () => readFile(join(work, 'pid'), 'utf8').catch(() => ''), (s) => /^\d+\n$/.test(s)));

  agent.child.kill('SIGSTOP');
  t.teardown(() => void agent.child.kill('SIGCONT'));
  await until('the agent to be stopped', async () => agent.state(), (s) => s === 'T');
  const stoppedAt = Date.now();
  await until('the task to be killed', async () => processGone(pid), (gone) => gone);
  const tookMs = Date.now() - stoppedAt;
  t.equal(agent.state(), 'T', `the task is gone while the agent is still stopped (${tookMs} ms after the stop; fence ${FENCE_MS} ms)`);
  t.ok(tookMs < FENCE_MS + 3_000, 'within the fence and a margin');

  agent.child.kill('SIGCONT');
  const ended = await until('the agent to report the attempt', async () => endsSeen(p).find((f) => f['job'] === 'j-1'), (f) => f !== undefined);
  t.ok(fencedLost(ended!), `reported lost, fenced: ${JSON.stringify(ended)}`);
  agent.child.kill('SIGTERM');
  await agent.exited;
  t.same(processesMentioning(work), [], 'nothing of the work folder is left');
});

t.test('an agent cut off from its server kills its attempts itself and reports them lost once back', async (t) => {
  const p = await peer(t);
  const work = await workFolder(t);
  const agent = new Agent({ endpoints: [p.agentUrl], token: 't', name: 'n1', site: 'local', capacity: { cpu: 1000, memory: 1024, gpu: 0, extended: {} }, workDir: work, graceMs: 5_000, log: quiet });
  t.teardown(() => agent.stop());
  await agent.start();
  await p.next('register');
  // A task that ignores SIGTERM: only the fence's SIGKILL ends it.
  p.sendLatest(startFrame('n1', 'j-1', 1, `trap "" TERM; echo $$ > ${join(work, 'pid')}; while :; do sleep 0.05; done`));
  await p.next('started');
  const pid = Number(await until('the task to write its pid', () => readFile(join(work, 'pid'), 'utf8').catch(() => ''), (s) => /^\d+\n$/.test(s)));
  t.match(await readFile(agent.executor.leasePath, 'utf8'), new RegExp(`^\\d+ ${FENCE_MS}\\n$`), 'the lease file holds the deadline and the fence');

  p.answering = false;
  p.refusing = true;
  const cutAt = Date.now();
  await until('the attempt to be given up', async () => agent.executor.running().length, (n) => n === 0);
  const tookMs = Date.now() - cutAt;
  t.ok(tookMs >= FENCE_MS - HEARTBEAT_MS - 100, `not before the fence (${tookMs} ms)`);
  t.ok(processGone(pid), 'the task is gone');
  t.equal(agent.link.unacknowledged, 1, 'its end waits for the server');

  p.answering = true;
  p.refusing = false;
  const register = await p.next('register', (r) => Array.isArray(r['ended']));
  const [end] = register['ended'] as Frame[];
  t.ok(end && end['job'] === 'j-1' && fencedLost(end), `the register carries it as lost, fenced: ${JSON.stringify(end)}`);
});

t.test('the simulated fleet fences its simulated attempts the same way', async (t) => {
  const p = await peer(t);
  const fleet = new SimFleet({ endpoints: [p.agentUrl], token: 't', nodes: 2, sites: ['local'], connections: 1, log: quiet });
  t.teardown(() => fleet.stop());
  await fleet.start();
  await p.next('register', () => true, 2);
  p.sendLatest(startFrame('sim-local-0', 'j-1', 1, 'sleep 60', { shell: false, command: 'sleep', args: ['60'] }));
  await p.next('started');
  t.equal(fleet.stats().running, 1);
  p.answering = false;
  p.refusing = true;
  await until('the simulated attempt to be given up', async () => fleet.stats().running, (n) => n === 0);
  p.answering = true;
  p.refusing = false;
  const register = await p.next('register', (r) => Array.isArray(r['ended']));
  const [end] = register['ended'] as Frame[];
  t.ok(end && end['job'] === 'j-1' && fencedLost(end), `carried as lost, fenced: ${JSON.stringify(end)}`);
});

t.test('no fenceMs in registered (an older server): no fence, the lease says none', async (t) => {
  const p = await peer(t, null);
  const work = await workFolder(t);
  const agent = new Agent({ endpoints: [p.agentUrl], token: 't', name: 'n1', site: 'local', capacity: { cpu: 1000, memory: 1024, gpu: 0, extended: {} }, workDir: work, graceMs: 300, log: quiet });
  t.teardown(() => agent.stop());
  await agent.start();
  await p.next('register');
  p.sendLatest(startFrame('n1', 'j-1', 1, 'exec sleep 60'));
  await p.next('started');
  p.answering = false;
  p.refusing = true;
  // Past where a fence would have fired, and past the link's silent-connection bound: the link reconnects
  // (refused) and the attempt runs on.
  await until('the link to give up the silent connection', async () => agent.link.connected, (c) => !c);
  t.equal(agent.executor.running().length, 1, 'the attempt still runs');
  t.equal(agent.link.fenceMs, undefined, 'the link keeps no fence');
  t.equal(await readFile(agent.executor.leasePath, 'utf8').catch(() => 'none\n'), 'none\n', 'and the shims see none');
});
