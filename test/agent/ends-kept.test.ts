/**
 * An attempt's end is kept until the server acknowledges it (PROTOCOL.md, `/v1/agent`): an end that happens
 * while the agent is disconnected keeps its real outcome and is carried by the next `register`; one sent
 * but never acknowledged is carried again; `acked` and `registered` let the agent forget them (its journal
 * too); ends that arise while a `register` waits for its reply go as `ended` frames right after the reply;
 * attempts in `registered.kill` are killed and nothing is reported for them. A real agent with real
 * processes against a scripted WebSocket peer.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { Agent } from '../../src/agent/index.js';
import { createLogger } from '../../src/log/index.js';
import { until } from '../helpers/until.js';
import { AgentPeer, startFrame } from './agent-peer.js';
import type { Frame } from './agent-peer.js';
import { processGone } from './executor-fixtures.js';

const quiet = createLogger({ name: 'ends-kept-test', level: 'silent' });

interface Setup {
  readonly peer: AgentPeer;
  readonly agent: Agent;
  readonly work: string;
}

async function setup(t: Test): Promise<Setup> {
  const peer = await AgentPeer.start({ heartbeatMs: 200 });
  const work = await mkdtemp(join(tmpdir(), 'muster-ends-'));
  const agent = new Agent({ endpoints: [peer.agentUrl], token: 't', name: 'n1', site: 'local', capacity: { cpu: 4000, memory: 4096, gpu: 0, extended: {} }, workDir: work, graceMs: 300, log: quiet });
  t.teardown(async () => {
    await agent.stop();
    await peer.close();
    await rm(work, { recursive: true, force: true });
  });
  await agent.start();
  await peer.next('register');
  return { peer, agent, work };
}

/** A shell task that waits for `marker` to exist, then runs `then`. */
const waitFor = (marker: string, then: string): string => `while [ ! -e ${marker} ]; do sleep 0.02; done; ${then}`;

const journal = async (work: string): Promise<string[]> => readdir(join(work, 'journal')).catch(() => []);

const ofAttempt = (attempt: number) => (f: Frame) => f['job'] === 'j-1' && f['attempt'] === attempt;

/** Drops the connection and refuses new ones until `reopen`. */
async function cut(peer: AgentPeer, agent: Agent): Promise<void> {
  peer.refusing = true;
  peer.dropAll();
  await until('the agent to notice', async () => agent.link.connected, (c) => !c);
}

t.test('an end while disconnected keeps its real outcome: the next register carries it, its registered acknowledges it', async (t) => {
  const { peer, agent, work } = await setup(t);
  const marker = join(work, 'go');
  peer.sendLatest(startFrame('n1', 'j-1', 1, waitFor(marker, 'exit 7')));
  await peer.next('started', ofAttempt(1));
  await cut(peer, agent);
  await writeFile(marker, '');
  await until('the end to be known while disconnected', async () => agent.link.unacknowledged, (n) => n === 1);
  t.same(await journal(work), ['j-1#0#1.json'], 'the journal holds it meanwhile');

  peer.refusing = false;
  const register = await peer.next('register', () => true, 2);
  t.same(register['running'], [], 'it runs no longer');
  t.same(register['ended'], [{ job: 'j-1', task: 0, attempt: 1, outcome: 'failed', exitCode: 7, reason: 'exit code 7' }], 'the register carries its real end');
  await until('the registered reply to acknowledge it', async () => agent.link.unacknowledged, (n) => n === 0);
  await until('the journal to forget it', () => journal(work), (names) => names.length === 0);

  // A later attempt's end arrives as a frame; the acknowledged one was never sent again.
  peer.sendLatest(startFrame('n1', 'j-1', 2, 'exit 0'));
  await peer.next('ended', ofAttempt(2));
  t.same(peer.framesOf('ended').map((f) => f['attempt']), [2], 'no ended frame for the end the register carried');
});

t.test('an end sent but not acknowledged is carried again by the next register; an acked frame lets it go', async (t) => {
  const { peer, agent } = await setup(t);
  peer.sendLatest(startFrame('n1', 'j-1', 1, 'exit 3'));
  await peer.next('ended', ofAttempt(1));
  t.equal(agent.link.unacknowledged, 1, 'kept: the server has not acknowledged it');
  peer.dropAll();
  const again = await peer.next('register', () => true, 2);
  t.match(again['ended'], [{ job: 'j-1', attempt: 1, outcome: 'failed', exitCode: 3 }], 'carried again after the reconnection');

  peer.sendLatest(startFrame('n1', 'j-1', 2, 'exit 4'));
  const ended = await peer.next('ended', ofAttempt(2));
  peer.sendLatest({ kind: 'acked', node: 'n1', attempts: [{ job: ended['job'], task: ended['task'], attempt: ended['attempt'] }] });
  await until('the acked frame to land', async () => agent.link.unacknowledged, (n) => n === 0);
  peer.dropAll();
  const third = await peer.next('register', () => true, 3);
  t.equal(third['ended'], undefined, 'nothing left to carry');
});

t.test('ends that arise while a register waits for its reply are sent as ended frames right after the reply', async (t) => {
  const { peer, agent, work } = await setup(t);
  const marker = join(work, 'go');
  peer.sendLatest(startFrame('n1', 'j-1', 1, waitFor(marker, 'exit 5')));
  await peer.next('started', ofAttempt(1));
  peer.holdRegistered = true;
  peer.dropAll();
  const register = await peer.next('register', () => true, 2);
  t.match(register['running'], [{ job: 'j-1', attempt: 1 }], 'the register was sent while the attempt ran');
  await writeFile(marker, '');
  await until('the end to be known', async () => agent.link.unacknowledged, (n) => n === 1);
  t.equal(peer.framesOf('ended').length, 0, 'nothing is sent about the node before its registered');
  peer.holdRegistered = false;
  peer.release();
  const ended = await peer.next('ended', ofAttempt(1));
  t.match(ended, { outcome: 'failed', exitCode: 5 }, 'the end follows the registered reply');
  const kinds = peer.received.map((r) => r.frame.kind);
  t.ok(kinds.lastIndexOf('ended') > kinds.lastIndexOf('register'), 'after the register it missed');
});

t.test('attempts in registered.kill are killed and reported to nobody; the journal forgets them', async (t) => {
  const { peer, agent, work } = await setup(t);
  peer.sendLatest(startFrame('n1', 'j-1', 1, 'echo $$; exec sleep 30'));
  await peer.next('started', ofAttempt(1));
  const stdout = agent.executor.logPath({ job: 'j-1', task: 0, attempt: 1 }, 'stdout');
  const pid = Number(await until('the task to print its pid', () => readFile(stdout, 'utf8'), (s) => /^\d+\n/.test(s)));
  peer.kill = [{ job: 'j-1', task: 0, attempt: 1 }];
  peer.dropAll();
  await until('the replaced attempt to be killed', async () => processGone(pid), (gone) => gone);
  await until('the journal to forget it', () => journal(work), (names) => names.length === 0);
  peer.sendLatest(startFrame('n1', 'j-1', 2, 'exit 0'));
  await peer.next('ended', ofAttempt(2));
  t.same(peer.framesOf('ended').map((f) => f['attempt']), [2], 'no end reported for the killed attempt');
  t.equal(agent.link.unacknowledged, 1, 'only the later end waits for an acknowledgement');
});
