// The executor runs real processes: output, exit codes, environment, working directory, shell mode,
// launch failures, refusals. Stopping attempts is in executor-stop.test.ts, logs in executor-logs.test.ts.
import t from 'tap';
import { mkdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { detectCapacity, EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND } from '../../src/agent/index.js';
import { processOutcome } from '../../src/agent/executor/outcome.js';
import { longTimer } from '../../src/agent/executor/long-timer.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { launch, makeExecutor, output, run, script, tempFolder } from './executor-fixtures.js';

t.test('stdout and stderr go to separate files in WORK/jobs/JOB/TASK/ATTEMPT', async (t) => {
  const ex = await makeExecutor(t);
  const r = run(ex, launch('sh', { job: 'out-1', args: ['-c', 'echo to-out; echo to-err >&2'] }));
  t.same(r.result, { ok: true });
  const started = await r.started;
  t.ok(started.pid > 0, 'started carries the pid');
  t.equal(started.epoch, 1);
  t.match(await r.ended, { outcome: 'succeeded', exitCode: 0 });
  t.equal(ex.logPath(r.ref, 'stdout'), join(ex.workDir, 'jobs', 'out-1', String(r.ref.task), '0', 'stdout'));
  t.equal(await output(ex, r.ref, 'stdout'), 'to-out\n');
  t.equal(await output(ex, r.ref, 'stderr'), 'to-err\n');
});

t.test('exit codes: 0 succeeds, anything else fails with the code', async (t) => {
  const ex = await makeExecutor(t);
  const cases = [
    { code: 0, expect: { outcome: 'succeeded', exitCode: 0 } },
    { code: 1, expect: { outcome: 'failed', exitCode: 1, reason: 'exit code 1' } },
    { code: 42, expect: { outcome: 'failed', exitCode: 42 } },
    { code: 255, expect: { outcome: 'failed', exitCode: 255 } },
  ];
  const runs = cases.map(({ code }) => run(ex, launch('sh', { args: ['-c', `exit ${code}`] })));
  for (const [i, { code, expect }] of cases.entries()) t.match(await runs[i]!.ended, expect, `exit ${code}`);
});

t.test('a signal muster did not send fails the attempt with that signal', async (t) => {
  const ex = await makeExecutor(t);
  const end = await run(ex, script('kill -KILL $$')).ended;
  t.match(end, { outcome: 'failed', signal: 'SIGKILL', reason: 'killed by SIGKILL' });
  t.notOk('exitCode' in end, 'no exit code for a process that died of a signal');
});

t.test('environment: a minimal base, the task env, MUSTER_* variables (MUSTER_EPOCH among them) that the task cannot override', async (t) => {
  process.env['MUSTER_EXECUTOR_TEST_SECRET'] = 'agent-only';
  t.teardown(() => delete process.env['MUSTER_EXECUTOR_TEST_SECRET']);
  const ex = await makeExecutor(t);
  const l = launch('env', { job: 'env-1', args: ['-0'], attempt: 3, arrayIndex: 7, epoch: 12, node: 'n-9', env: { GREETING: 'hello world', MUSTER_JOB_ID: 'forged', MUSTER_EPOCH: '99' } });
  const r = run(ex, l);
  t.match(await r.ended, { outcome: 'succeeded' });
  const env = Object.fromEntries((await output(ex, r.ref)).split('\0').filter(Boolean).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  t.match(env, {
    GREETING: 'hello world',
    MUSTER_JOB_ID: 'env-1',
    MUSTER_TASK_INDEX: String(l.task),
    MUSTER_ARRAY_INDEX: '7',
    MUSTER_ATTEMPT: '3',
    MUSTER_EPOCH: '12',
    MUSTER_NODE: 'n-9',
    PATH: String,
    LANG: String,
  });
  t.notOk('MUSTER_EXECUTOR_TEST_SECRET' in env, "the agent's own environment is not inherited");
  const allowed = new Set(['PATH', 'LANG', 'HOME', 'PWD', 'SHLVL', '_', 'GREETING']);
  // tap's process tracking patches spawn and adds NODE_OPTIONS and _TAPJS_* to every child's environment.
  const fromTap = (k: string): boolean => k === 'NODE_OPTIONS' || k.startsWith('_TAPJS_');
  t.same(Object.keys(env).filter((k) => !k.startsWith('MUSTER_') && !allowed.has(k) && !fromTap(k)), [], 'nothing else in the base');

  const inheriting = await makeExecutor(t, { inheritEnv: true });
  const r2 = run(inheriting, launch('env'));
  await r2.ended;
  t.match(await output(inheriting, r2.ref), /^MUSTER_EXECUTOR_TEST_SECRET=agent-only$/m, 'inheritEnv passes the agent environment');
});

t.test('working directory: work/ of the attempt by default, an absolute one as given, a relative one inside work/', async (t) => {
  const ex = await makeExecutor(t);
  const elsewhere = await realpath(await tempFolder(t));
  const byDefault = run(ex, launch('pwd'));
  const absolute = run(ex, launch('pwd', { workingDir: elsewhere }));
  const relativeDir = run(ex, launch('pwd', { workingDir: 'sub/dir' }));
  const missing = run(ex, launch('pwd', { workingDir: join(elsewhere, 'missing') }));
  const escaping = run(ex, launch('pwd', { workingDir: '../../../..' }));
  for (const r of [byDefault, absolute, relativeDir]) t.match(await r.ended, { outcome: 'succeeded' });
  const work = (r: { ref: Parameters<typeof ex.logPath>[0] }): string => join(ex.workDir, 'jobs', r.ref.job, String(r.ref.task), '0', 'work');
  t.equal((await output(ex, byDefault.ref)).trim(), await realpath(work(byDefault)));
  t.equal((await output(ex, absolute.ref)).trim(), elsewhere);
  t.equal((await output(ex, relativeDir.ref)).trim(), await realpath(join(work(relativeDir), 'sub/dir')));
  t.match(await missing.ended, { outcome: 'failed', reason: /does not exist/ });
  t.match(await escaping.ended, { outcome: 'failed', reason: /leaves the attempt's folder/ });
});

t.test('without shell nothing is expanded; with shell the command is a script and args are $1…', async (t) => {
  const ex = await makeExecutor(t);
  const plain = run(ex, launch('echo', { args: ['$HOME', '*', 'a b'], env: { HOME: '/custom-home' } }));
  const shell = run(ex, script('echo "$HOME" "$1" "$2" $0', { args: ['one', 'two words'], env: { HOME: '/custom-home' } }));
  await Promise.all([plain.ended, shell.ended]);
  t.equal(await output(ex, plain.ref), '$HOME * a b\n', 'the argument arrives as written');
  t.equal(await output(ex, shell.ref), '/custom-home one two words muster-task\n');
});

t.test('a command that cannot be executed fails with 127 / 126 and the executor keeps working', async (t) => {
  const ex = await makeExecutor(t);
  const notFound = run(ex, launch('muster-no-such-command-here'));
  t.same(notFound.result, { ok: true }, 'start returns before the spawn');
  t.match(await notFound.ended, { outcome: 'failed', exitCode: EXIT_NOT_FOUND, reason: /command not found: muster-no-such-command-here/ });
  const dir = await tempFolder(t);
  t.match(await run(ex, launch(dir)).ended, { outcome: 'failed', exitCode: EXIT_NOT_EXECUTABLE }, 'a folder is not executable');
  t.match(await run(ex, launch('echo', { args: ['bad\0arg'] })).ended, { outcome: 'failed', reason: /could not start echo/ }, 'a NUL byte');
  t.match(await run(ex, launch('true')).ended, { outcome: 'succeeded' }, 'still runs attempts');
  t.same(ex.running(), []);
});

t.test('a start older than the newest epoch seen is refused; a newer one raises the bar', async (t) => {
  const ex = await makeExecutor(t);
  ex.observeEpoch(5);
  t.match(ex.start(launch('true', { epoch: 4 })), { ok: false, code: 'MUSTER_ERR_STALE_EPOCH', message: /epoch 4, older than 5/ });
  t.match(await run(ex, launch('true', { epoch: 5 })).ended, { outcome: 'succeeded' }, 'the same epoch is accepted');
  t.match(await run(ex, launch('true', { epoch: 7 })).ended, { outcome: 'succeeded' });
  t.equal(ex.epoch, 7);
  t.match(ex.start(launch('true', { epoch: 6 })), { ok: false, code: 'MUSTER_ERR_STALE_EPOCH' });
  ex.observeEpoch(3);
  t.equal(ex.epoch, 7, 'observing an older epoch changes nothing');
});

t.test('an attempt is started once; ids that cannot name a folder are refused', async (t) => {
  const ex = await makeExecutor(t);
  const l = launch('sleep', { args: ['0.2'] });
  const r = run(ex, l);
  t.match(ex.start(l), { ok: false, code: 'MUSTER_ERR_INVALID_VALUE', message: /already been started/ }, 'while it runs');
  await r.ended;
  t.match(ex.start(l), { ok: false, code: 'MUSTER_ERR_INVALID_VALUE' }, 'after it ended');
  t.match(ex.start({ ...l, attempt: 1 }), { ok: true }, 'the next attempt is another attempt');
  for (const job of ['../etc', 'a/b', '', '.hidden', 'x'.repeat(65)]) {
    t.match(ex.start(launch('true', { job })), { ok: false, code: 'MUSTER_ERR_INVALID_NAME' }, JSON.stringify(job));
  }
  t.match(ex.start(launch('true', { attempt: -1 })), { ok: false, code: 'MUSTER_ERR_INVALID_VALUE' });
  t.match(ex.start(launch('true', { task: 1.5 })), { ok: false, code: 'MUSTER_ERR_INVALID_VALUE' });
});

t.test('running() lists live attempts with their epoch and pid', async (t) => {
  const ex = await makeExecutor(t);
  const r = run(ex, launch('sleep', { job: 'live-1', args: ['30'], epoch: 2 }));
  const { pid } = await r.started;
  t.same(ex.running(), [{ job: 'live-1', task: r.ref.task, attempt: 0, epoch: 2, pid }]);
  ex.kill(r.ref, 'cancel');
  await r.ended;
  t.same(ex.running(), []);
});

t.test('a listener that throws does not break the executor', async (t) => {
  const ex = await makeExecutor(t);
  ex.on('ended', () => {
    throw new Error('a buggy listener');
  });
  let onceCalls = 0;
  ex.once('ended', () => onceCalls++);
  t.match(await run(ex, launch('true')).ended, { outcome: 'succeeded' }, 'listeners after the throwing one are called');
  t.match(await run(ex, launch('false')).ended, { outcome: 'failed', exitCode: 1 });
  t.equal(onceCalls, 1, 'a once listener is called once');
});

t.test('outcome table', async (t) => {
  const cases = [
    { exit: 0, signal: null, stop: undefined, expect: { outcome: 'succeeded', exitCode: 0 } },
    { exit: 2, signal: null, stop: undefined, expect: { outcome: 'failed', exitCode: 2 } },
    { exit: null, signal: 'SIGSEGV', stop: undefined, expect: { outcome: 'failed', signal: 'SIGSEGV' } },
    { exit: 0, signal: null, stop: { outcome: 'killed', reason: 'cancel' }, expect: { outcome: 'killed', exitCode: 0, reason: 'cancel' } },
    { exit: null, signal: 'SIGKILL', stop: { outcome: 'timeout', reason: 'time limit' }, expect: { outcome: 'timeout', signal: 'SIGKILL' } },
  ] as const;
  for (const c of cases) t.match(processOutcome(c.exit, c.signal, c.stop), c.expect, `${String(c.exit)} ${String(c.signal)} ${c.stop?.outcome ?? '-'}`);
});

t.test('time limits past setTimeout\'s range (24.8 days) do not fire at once', async (t) => {
  let fired = false;
  const timer = longTimer(2 ** 31 + 1_000, () => (fired = true));
  await sleep(100); // a plain setTimeout of this delay fires after 1 ms
  timer.cancel();
  t.notOk(fired);
  const short = await new Promise<boolean>((resolve) => longTimer(10, () => resolve(true)));
  t.ok(short, 'short delays still fire');
});

t.test('detectCapacity: this machine in millicores and MiB, no GPU', async (t) => {
  const capacity = detectCapacity();
  t.ok(capacity.cpu >= 1000 && capacity.cpu % 1000 === 0, `${capacity.cpu} millicores`);
  t.ok(capacity.memory > 0 && Number.isInteger(capacity.memory), `${capacity.memory} MiB`);
  t.equal(capacity.gpu, 0);
  t.same(capacity.extended, {});
});

t.test('a relative work folder is resolved once; attempt folders are created on demand', async (t) => {
  const dir = await tempFolder(t);
  await mkdir(join(dir, 'w'));
  const cwd = process.cwd();
  process.chdir(dir);
  t.teardown(() => process.chdir(cwd));
  const ex = await makeExecutor(t, { workDir: 'w' });
  process.chdir(cwd);
  const r = run(ex, launch('true'));
  await r.ended;
  t.equal(ex.workDir, join(dir, 'w'));
  t.equal(await output(ex, r.ref), '', 'the log file exists, empty');
  await ex.shutdown(); // its journal is written before the folder goes
});

t.test('an attempt stays in running() until its ended event is emitted (its end is journaled in between)', async (t) => {
  const ex = await makeExecutor(t);
  const runs = Array.from({ length: 8 }, () => run(ex, launch('true')));
  const emitted = new Set<number>();
  for (const r of runs) void r.ended.then(() => emitted.add(r.ref.task));
  // Looked at every turn of the event loop: a register sent in any turn lists what running() says then.
  const unseen: string[] = [];
  let looking = true;
  const look = (): void => {
    const live = new Set(ex.running().map((a) => a.task));
    for (const r of runs) if (!emitted.has(r.ref.task) && !live.has(r.ref.task)) unseen.push(`task ${r.ref.task}`);
    if (looking) setImmediate(look);
  };
  look();
  await Promise.all(runs.map((r) => r.ended));
  looking = false;
  t.same([...new Set(unseen)], [], 'no turn where an attempt was neither live nor reported');
  t.same(ex.running(), [], 'all reported, none live');
});
