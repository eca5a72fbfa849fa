/**
 * `muster submit --wait`: follows the job to its end and exits as it did (src/cli/wait.ts), against a real
 * `muster start` (server and agent) running real processes.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobDetailView } from '../../src/client/index.js';
import { run } from '../../src/cli/main.js';
import { EXIT_CANCELLED, EXIT_LOST, exitStatusOf } from '../../src/cli/wait.js';
import { MusterChild } from '../server/muster-child.js';
import { localCluster } from './local-cluster.js';

t.setTimeout(180_000);

/** A job view that ended, with one attempt per task given. */
function ended(status: string, attempts: readonly (Record<string, unknown> | undefined)[]): JobDetailView {
  return {
    id: 'j-1',
    tenant: 'default',
    queue: 'default',
    status,
    submittedAt: 0,
    tasks: { total: attempts.length, pending: 0, placed: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 },
    spec: {},
    taskList: attempts.map((a, index) => ({ index, state: a?.['state'] === undefined ? 'failed' : String(a['state']), attempt: 1, failures: 1, ...(a ? { attempts: [{ attempt: 1, node: 'n', placedAt: 0, ...a }] } : {}) })),
  } as JobDetailView;
}

t.test('the exit status of an ended job', async (t) => {
  const cases: [string, JobDetailView, number][] = [
    ['succeeded', ended('succeeded', [{ state: 'succeeded', outcome: 'succeeded', exitCode: 0, endedAt: 5 }]), 0],
    ['failed with an exit code', ended('failed', [{ outcome: 'failed', exitCode: 3, endedAt: 5 }]), 3],
    ['the task that failed first decides', ended('failed', [{ outcome: 'failed', exitCode: 4, endedAt: 9 }, { outcome: 'failed', exitCode: 7, endedAt: 2 }]), 7],
    ['a time limit: no exit code', ended('failed', [{ outcome: 'timeout', endedAt: 5 }]), 1],
    ['could not start', ended('failed', [{ outcome: 'failed', reason: 'working directory /x does not exist', endedAt: 5 }]), 1],
    ['lost with its node', ended('failed', [{ outcome: 'lost', endedAt: 5 }]), EXIT_LOST],
    ['failed without any attempt (a dependency)', ended('failed', [undefined]), 1],
    ['cancelled', ended('cancelled', [{ state: 'cancelled', outcome: 'killed', endedAt: 5 }]), EXIT_CANCELLED],
  ];
  for (const [what, job, status] of cases) t.equal(exitStatusOf(job), status, what);
});

t.test('with a real server and agent', async (t) => {
  const cluster = await localCluster(t);

  t.test('a task that exits 3: the command exits 3 and says so', async (t) => {
    // The task ends once the command has printed its first progress line: its watch is up by then.
    const go = join(t.testdir({}), 'go');
    const waiting = new MusterChild(['submit', '--wait', '--shell', '--', `while [ ! -e ${go} ]; do sleep 0.05; done; exit 3`], cluster.env);
    t.teardown(() => waiting.kill());
    const id = (await waiting.line(/^submitted (\S+)$/))[1]!;
    await waiting.line(new RegExp(`^${id} `));
    writeFileSync(go, '');
    t.equal((await waiting.exited).code, 3);
    const lines = waiting.printed;
    t.ok(lines.some((l) => new RegExp(`^${id} task 0 attempt 1 failed: exit code 3$`).test(l)), `a plain line per event: stdout is not a terminal\n${lines.join('\n')}`);
    t.notOk(lines.some((l) => /\r|\x1b/.test(l)), 'nothing redrawn in place');
    t.equal(lines[lines.length - 1], `${id} failed (task 0 attempt 1 failed: exit code 3); exit status 3`);
  });

  t.test('a task that succeeds: 0', async (t) => {
    const ran = await cluster.muster(['submit', '--wait', '--', 'true']);
    t.equal(ran.code, 0, ran.stderr);
    t.match(ran.stdout, / succeeded$/m);
  });

  t.test('a task that cannot start: 1, with the reason', async (t) => {
    const ran = await cluster.muster(['submit', '--wait', '--workdir', '/nonexistent/muster-test', '--', 'true']);
    t.equal(ran.code, 1, ran.stderr);
    t.match(ran.stdout, /failed \(task 0 attempt 1 failed: .*\/nonexistent\/muster-test.*\); exit status 1$/m);
  });

  t.test('-o json: the results once ended, each with its status and exit status', async (t) => {
    const ran = await cluster.muster(['submit', '--wait', '-o', 'json', '--', 'sh', '-c', 'exit 5']);
    t.equal(ran.code, 5, ran.stderr);
    const { results } = JSON.parse(ran.stdout) as { results: { ok: boolean; job: string; status: string; exitStatus: number }[] };
    t.match(results, [{ ok: true, status: 'failed', exitStatus: 5 }]);
  });

  t.test('a job cancelled while it is waited for: 130', async (t) => {
    const waiting = new MusterChild(['submit', '--wait', '--', 'sleep', '60'], cluster.env);
    t.teardown(() => waiting.kill());
    const id = (await waiting.line(/^submitted (\S+)$/))[1]!;
    await waiting.line(new RegExp(`^${id} task 0 attempt 1 running$`));
    const cancel = await cluster.muster(['cancel', id]);
    t.equal(cancel.code, 0, cancel.stderr);
    t.equal((await waiting.exited).code, EXIT_CANCELLED);
  });

  t.test('on a terminal, progress is one line redrawn in place', async (t) => {
    // The task ends once the first progress line is drawn: the watch is up by then, so its end is an event.
    const go = join(t.testdir({}), 'go');
    const out: string[] = [];
    const written: string[] = [];
    const write = (text: string): void => {
      written.push(text);
      writeFileSync(go, '');
    };
    const errors: string[] = [];
    const io = { out: (line: string) => void out.push(line), err: (line: string) => void errors.push(line), write, terminal: true };
    const code = await run(['submit', '--wait', '--server', cluster.url, '--token', cluster.token, '--shell', '--', `while [ ! -e ${go} ]; do sleep 0.05; done; exit 4`], io);
    t.equal(code, 4, `exit status 4 (stderr: ${errors.join(' | ') || 'nothing'}; stdout: ${out.join(' | ')})`);
    t.ok(written.length >= 2, 'several redraws');
    t.ok(written.slice(0, -1).every((w) => w.startsWith('\r\x1b[K') && !w.includes('\n')), 'each redraw returns to the start of the line and erases it');
    t.equal(written[written.length - 1], '\n', 'the line is ended once');
    t.match(out, [/^submitted /, /failed .*exit status 4$/], 'only the submission and the end as whole lines');
  });
});
