/**
 * An agent SIGKILLed and restarted on the same work folder finds its attempts again (their shims outlive
 * it; its journal names them): the one still running is re-adopted, reported in `running` and not run a
 * second time, and its later end is found through its status file; the one that ended while no agent ran is
 * reported in `ended` with its real exit code; one whose shim was killed meanwhile (no status) is reported
 * `lost`, saying its end cannot be known, and what its task left is killed; an adopted attempt can still be
 * killed. Real `muster agent`
 * processes (dist/), real shims and tasks, against a scripted WebSocket peer; nothing is left running.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { until } from '../helpers/until.js';
import { AgentPeer, startFrame } from './agent-peer.js';
import type { Frame } from './agent-peer.js';
import { AgentProcess, cleanUpWorkFolder, processesMentioning } from './agent-process.js';
import { processGone } from './executor-fixtures.js';

t.test('SIGKILL and restart: the running attempt is re-adopted (no second run), the one that ended meanwhile is reported with its exit code', async (t) => {
  const peer = await AgentPeer.start({ heartbeatMs: 200 });
  const work = await mkdtemp(join(tmpdir(), 'muster-restart-'));
  t.teardown(() => peer.close());
  cleanUpWorkFolder(t, work);
  const args = ['--server', peer.url, '--token', 'agent-token-0123456789', '--name', 'n1', '--cpu', '1', '--memory', '1Gi', '--work-dir', work, '--grace', '300ms'];
  const first = new AgentProcess(t, args);
  await peer.next('register');
  const marker = (name: string): string => join(work, name);
  const is = (job: string) => (f: Frame) => f['job'] === job;
  // j-1 runs on across the restart and exits 3 after it; j-2 exits 7 while no agent runs; j-3 is killed after the restart.
  peer.sendLatest(startFrame('n1', 'j-1', 1, `echo $$ >> ${marker('runs-1')}; while [ ! -e ${marker('go-1')} ]; do sleep 0.02; done; exit 3`));
  peer.sendLatest(startFrame('n1', 'j-2', 1, `echo $$ > ${marker('pid-2')}; while [ ! -e ${marker('go-2')} ]; do sleep 0.02; done; exit 7`));
  peer.sendLatest(startFrame('n1', 'j-3', 1, `echo $$ > ${marker('pid-3')}; exec sleep 30`));
  // j-4's shim is killed while no agent runs: its leader dies with it, its background sleep would not.
  peer.sendLatest(startFrame('n1', 'j-4', 1, `sleep 30 & echo $! > ${marker('pid-4')}; wait`));
  for (const job of ['j-1', 'j-2', 'j-3', 'j-4']) await peer.next('started', is(job));
  const pids = await until('the tasks to write their pids', async () => [await readFile(marker('runs-1'), 'utf8').catch(() => ''), await readFile(marker('pid-2'), 'utf8').catch(() => ''), await readFile(marker('pid-3'), 'utf8').catch(() => '')], (texts) => texts.every((s) => /^\d+\n$/.test(s)));
  const [pid1, pid2, pid3] = pids.map(Number);
  const pid4 = Number(await until('j-4 to write its pid', () => readFile(marker('pid-4'), 'utf8').catch(() => ''), (s) => /^\d+\n$/.test(s)));
  const entry4 = JSON.parse(await readFile(join(work, 'journal', 'j-4#0#1.json'), 'utf8')) as { shim: { pid: number } };

  first.child.kill('SIGKILL');
  await first.exited;
  t.notOk(processGone(pid1!) || processGone(pid3!), 'the tasks outlive their agent');
  await writeFile(marker('go-2'), '');
  await until('j-2 to end while no agent runs', async () => existsSync(join(work, 'jobs', 'j-2', '0', '1', 'status')), (x) => x);
  process.kill(entry4.shim.pid, 'SIGKILL');
  await until("j-4's shim to die", async () => processGone(entry4.shim.pid), (gone) => gone);

  const second = new AgentProcess(t, args);
  const register = await peer.next('register', () => true, 2);
  const running = (register['running'] as Frame[]).map((r) => r['job']).sort();
  t.same(running, ['j-1', 'j-3'], 'the attempts still running are reported running (re-adopted)');
  const ended = [...(register['ended'] as Frame[])].sort((a, b) => String(a['job']).localeCompare(String(b['job'])));
  t.same(ended[0], { job: 'j-2', task: 0, attempt: 1, outcome: 'failed', exitCode: 7, reason: 'exit code 7' }, 'the one that ended while the agent was down, with its real exit code');
  t.match(ended[1], { job: 'j-4', attempt: 1, outcome: 'lost', reason: /cannot be known/ }, 'the one whose shim died without a status: lost, saying why');
  t.equal(ended.length, 2);
  await until("what j-4's task left to be killed", async () => processGone(pid4), (gone) => gone, 5_000);
  t.pass('its background sleep is gone');
  t.equal(await readFile(marker('runs-1'), 'utf8'), `${pid1}\n`, 'j-1 ran once: it was adopted, not started again');
  t.ok(processGone(pid2!), 'j-2 is gone');

  await writeFile(marker('go-1'), '');
  t.match(await peer.next('ended', is('j-1')), { attempt: 1, outcome: 'failed', exitCode: 3 }, 'an adopted attempt ends with its real exit code (found through its status file)');
  peer.sendLatest({ kind: 'kill', node: 'n1', epoch: 1, job: 'j-3', task: 0, attempt: 1, reason: 'cancel', graceMs: 200 });
  t.match(await peer.next('ended', is('j-3')), { attempt: 1, outcome: 'killed', reason: 'cancel' }, 'an adopted attempt can be killed');

  second.child.kill('SIGTERM');
  t.match(await second.exited, { code: 0 }, 'the agent stops cleanly');
  for (const pid of [pid1!, pid2!, pid3!, pid4]) t.ok(processGone(pid), `task ${pid} is gone`);
  t.same(processesMentioning(work), [], 'no shim or task of this work folder is left');
});
