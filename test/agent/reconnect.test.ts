/**
 * Agents never give up: `muster agent` (and `muster sim`) started with no server keeps running, says on its
 * log that it retries (which endpoints, when next), and registers once a server appears; an idle agent
 * survives its server's death and registers with a new server on the same port. Real processes (dist/),
 * real sockets, a scripted WebSocket peer as the server.
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { deadAddress } from '../client/scripted-peer.js';
import { until } from '../helpers/until.js';
import { AgentPeer } from './agent-peer.js';
import { AgentProcess, cleanUpWorkFolder } from './agent-process.js';

const BIN = join(import.meta.dirname, '../../bin/muster.js');
const RETRYING = /no control plane answers/;

async function workFolder(t: Test): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'muster-reconnect-'));
  cleanUpWorkFolder(t, work);
  return work;
}

function agentArgs(server: string, work: string): string[] {
  return ['--server', server, '--token', 'agent-token-0123456789', '--name', 'n1', '--cpu', '1', '--memory', '1Gi', '--work-dir', work];
}

async function peerOn(t: Test, port: number): Promise<AgentPeer> {
  const peer = await AgentPeer.start({ port, heartbeatMs: 200 });
  t.teardown(() => peer.close());
  return peer;
}

t.test('muster agent with no server keeps running, logs that it retries, and registers once a server appears', async (t) => {
  const server = await deadAddress();
  const agent = new AgentProcess(t, agentArgs(server, await workFolder(t)));
  const [line] = await agent.waitFor(RETRYING, 3);
  t.equal(agent.exit, undefined, 'still running after three failed rounds');
  const logged = JSON.parse(line!) as { level: number; endpoints: string[]; retryInS: number };
  t.ok(logged.level >= 40, 'at warn level');
  t.match(logged.endpoints, [/^ws:\/\/127\.0\.0\.1:\d+\/v1\/agent$/], 'naming the endpoints it tries');
  t.type(logged.retryInS, 'number', 'and when it tries next');

  const peer = await peerOn(t, Number(new URL(server).port));
  const register = await peer.next('register');
  t.match(register['node'], { name: 'n1' }, 'it registers with the server that appeared');
  await agent.waitFor(/agent: node n1 connected/);
  agent.child.kill('SIGTERM');
  t.match(await agent.exited, { code: 0 }, 'and stops when told to');
});

t.test('an idle agent survives the death of its server and registers with a new one on the same port', async (t) => {
  const first = await AgentPeer.start({ heartbeatMs: 200 });
  const port = first.port;
  const agent = new AgentProcess(t, agentArgs(first.url, await workFolder(t)));
  await first.next('register');
  await first.close();
  await agent.waitFor(/lost the connection to the control plane/);
  await agent.waitFor(RETRYING, 2);
  t.equal(agent.exit, undefined, 'still running with no server');

  const second = await peerOn(t, port);
  await second.next('register');
  t.pass('registered with the new server');
  agent.child.kill('SIGTERM');
  t.match(await agent.exited, { code: 0 });
});

t.test('muster sim with no server keeps running and retrying', async (t) => {
  const server = await deadAddress();
  const sim = spawn(process.execPath, [BIN, 'sim', '--server', server, '--token', 'agent-token-0123456789', '--nodes', '3', '--connections', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let exited = false;
  sim.once('exit', () => (exited = true));
  t.teardown(() => void sim.kill('SIGKILL'));
  let log = '';
  sim.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
  await until('three failed rounds on its log', async () => log.split('\n').filter((l) => RETRYING.test(l)).length, (n) => n >= 3 || exited);
  t.notOk(exited, 'still running');
  const peer = await peerOn(t, Number(new URL(server).port));
  await peer.next('register', () => true, 3);
  t.pass('its three nodes registered once a server appeared');
  sim.kill('SIGTERM');
  await new Promise((resolve) => sim.once('exit', resolve));
});

t.test('one agent per work folder: a second muster agent on it is refused (it would adopt the first one\'s tasks)', async (t) => {
  const server = await deadAddress();
  const work = await workFolder(t);
  const first = new AgentProcess(t, agentArgs(server, work));
  await first.waitFor(RETRYING);
  const second = new AgentProcess(t, agentArgs(server, work));
  const { code } = await second.exited;
  t.not(code, 0, 'the second agent exits with an error');
  t.ok(second.lines.some((l) => l.includes('MUSTER_ERR_WORK_LOCKED')), `and says why: ${second.lines.slice(-2).join(' | ')}`);
  t.equal(first.exit, undefined, 'the first agent runs on');
  first.child.kill('SIGTERM');
  t.equal((await first.exited).code, 0, 'and stops cleanly');
  const third = new AgentProcess(t, agentArgs(server, work));
  await third.waitFor(RETRYING);
  t.pass('once it has stopped, another agent may use the folder');
  third.child.kill('SIGTERM');
  await third.exited;
});
