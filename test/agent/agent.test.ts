/**
 * `muster agent` against a real server: real processes, real sockets, the embedded store. What a job's
 * tasks print, how they exit, time limits, cancels of running tasks and retries after failures.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import type { MusterClient } from '../../src/client/index.js';
import { until } from '../helpers/until.js';
import type { InProcessAgent } from './in-process-agent.js';
import { inProcessAgent } from './in-process-agent.js';

/** The agent's kill grace here: short, so cancels and time limits end tasks fast. */
const setup = (t: Test): Promise<InProcessAgent> => inProcessAgent(t, 500);

function job(command: string[], extra: Record<string, unknown> = {}, task: Record<string, unknown> = {}): Record<string, unknown> {
  return { queue: 'default', tasks: [{ resources: { cpu: '500m', memory: '64Mi' }, command, ...task }], ...extra };
}

async function submitOne(client: MusterClient, spec: Record<string, unknown>): Promise<string> {
  const [result] = await client.submit([spec]);
  if (!result?.ok) throw new Error(`submit refused: ${JSON.stringify(result)}`);
  return result.job;
}

const ended = (s: string): boolean => s === 'succeeded' || s === 'failed' || s === 'cancelled';

t.test('a job runs as a real process: its output lands in the work folder, exit codes decide the outcome', async (t) => {
  const { client, agent } = await setup(t);
  const hello = await submitOne(client, job(['sh', '-c', 'echo "hello from $MUSTER_JOB_ID task $MUSTER_TASK_INDEX"; echo oops >&2']));
  const failing = await submitOne(client, job(['sh', '-c', 'exit 3']));
  const [a, b] = await until('both jobs to end', () => Promise.all([client.job(hello), client.job(failing)]), (js) => js.every((j) => ended(j.status)));
  t.equal(a!.status, 'succeeded');
  t.equal(b!.status, 'failed', 'a non-zero exit fails the job');
  t.equal(readFileSync(agent.executor.logPath({ job: hello, task: 0, attempt: 1 }, 'stdout'), 'utf8'), `hello from ${hello} task 0\n`);
  t.equal(readFileSync(agent.executor.logPath({ job: hello, task: 0, attempt: 1 }, 'stderr'), 'utf8'), 'oops\n');
});

t.test('a time limit kills the task; a cancel kills a running task', async (t) => {
  const { client, agent } = await setup(t);
  const slow = await submitOne(client, job(['sleep', '30'], {}, { timeLimit: '1s' }));
  const cancelled = await submitOne(client, job(['sleep', '30']));
  await until('the second job to run', () => client.job(cancelled), (j) => j.status === 'running');
  await client.cancel([cancelled]);
  const [a, b] = await until('both jobs to end', () => Promise.all([client.job(slow), client.job(cancelled)]), (js) => js.every((j) => ended(j.status)), 30_000);
  t.equal(a!.status, 'failed', 'the time limit ends the job as failed');
  t.match(a!.reason, /timed out/, `and says why: ${a!.reason}`);
  t.equal(b!.status, 'cancelled');
  t.same(agent.executor.running(), [], 'no process is left running');
});

t.test('a failed task is retried as a new attempt until it succeeds', async (t) => {
  const { client, work } = await setup(t);
  const marker = join(work, 'tries');
  // Fails on its first two attempts (it counts them in a file), succeeds on the third.
  const script = `n=$(cat ${marker} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${marker}; [ "$MUSTER_ATTEMPT" = "$n" ] || exit 9; [ $n -ge 3 ]`;
  const id = await submitOne(client, job(['sh', '-c', script], { retries: { max: 3, backoff: '100ms' } }));
  const done = await until('the job to end', () => client.job(id), (j) => ended(j.status), 30_000);
  t.equal(done.status, 'succeeded', 'the third attempt succeeded');
  t.equal(readFileSync(marker, 'utf8').trim(), '3', 'three attempts ran, each seeing its attempt number');
});

t.test('muster logs reads a task output through the control plane, and follows a running one', async (t) => {
  const { client } = await setup(t);
  const { printLogs } = await import('../../src/cli/logs.js');
  const id = await submitOne(client, job(['sh', '-c', 'echo out; echo err >&2']));
  await until('the job to end', () => client.job(id), (j) => ended(j.status));
  const out = await client.logs(id);
  t.equal(out.data.toString(), 'out\n');
  t.equal(out.running, false);
  t.equal((await client.logs(id, { stream: 'stderr' })).data.toString(), 'err\n');
  t.equal((await client.logs(id, { offset: 2 })).data.toString(), 't\n', 'from an offset');

  // Following: lines written over a second arrive, and the read ends when the attempt does.
  const slow = await submitOne(client, job(['sh', '-c', 'for i in 1 2 3 4; do echo line $i; sleep 0.3; done']));
  await until('it to run', () => client.job(slow), (j) => j.status === 'running');
  const lines: string[] = [];
  await printLogs(client, { out: (l) => lines.push(l), err: () => {}, raw: (d) => lines.push(Buffer.from(d).toString()) }, slow, { stream: 'stdout', follow: true });
  t.equal(lines.join(''), 'line 1\nline 2\nline 3\nline 4\n', 'every line, once, in order');
  t.ok(lines.length > 1, `in more than one piece (${lines.length}) while it ran`);

  const [kept] = await client.submit([job(['true'], {}, { resources: { cpu: '64', memory: '1Gi' } })], { holdUnsatisfiable: true });
  const pending = kept?.ok ? kept.job : '';
  await t.rejects(client.logs(pending), { code: 'MUSTER_ERR_LOGS_UNAVAILABLE' }, 'a task that has not run has no output');
});
