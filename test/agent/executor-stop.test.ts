// Stopping attempts: time limits, kills (SIGTERM, then SIGKILL after the grace), whole process trees,
// kills before the spawn, reconciliation kills without a report, shutdown. Real processes throughout; the
// trees are checked gone through /proc.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { makeExecutor, pidFromOutput, processGone, run, script, launch, until } from './executor-fixtures.js';

/** Margin for a loaded CI machine on top of any grace period. */
const SLACK_MS = 3_000;

t.test('a time limit ends the attempt as timeout and its whole process tree is gone', async (t) => {
  const ex = await makeExecutor(t, { graceMs: 5_000 });
  const r = run(ex, script('sleep 30 & echo $!; wait', { timeLimitMs: 300 }));
  const { pid } = await r.started;
  const child = await pidFromOutput(ex, r.ref);
  const from = Date.now();
  const end = await r.ended;
  t.match(end, { outcome: 'timeout', signal: 'SIGTERM', reason: 'time limit of 300ms reached' });
  t.ok(Date.now() - from < SLACK_MS, 'SIGTERM ended it, no need for the grace');
  await until('the shell and its background sleep to be gone', () => processGone(pid) && processGone(child), 2_000);
  t.pass('no process of the attempt survives');
});

t.test('kill: SIGTERM first, then SIGKILL after the grace for a task that ignores TERM', async (t) => {
  const graceMs = 600;
  const ex = await makeExecutor(t, { graceMs: 60_000 });
  const r = run(ex, script('trap "" TERM; sleep 30 & echo $!; wait'));
  const { pid } = await r.started;
  // The trap is set before the background sleep starts (which inherits the ignored TERM), so once its pid
  // is printed the whole tree ignores TERM.
  const child = await pidFromOutput(ex, r.ref);
  const from = Date.now();
  t.same(ex.kill(r.ref, 'cancel', { graceMs }), { ok: true, running: true });
  const end = await r.ended;
  const took = Date.now() - from;
  t.match(end, { outcome: 'killed', signal: 'SIGKILL', reason: 'cancel' });
  t.ok(took >= graceMs - 50, `TERM was ignored: it lived through the grace (${took} ms)`);
  t.ok(took < graceMs + SLACK_MS, `SIGKILL came after the grace (${took} ms)`);
  await until('the tree to be gone', () => processGone(pid) && processGone(child), 2_000);
  t.pass('no process of the attempt survives');
});

t.test('kill: a task that heeds TERM ends at once, as killed; the default grace is the executor\'s', async (t) => {
  const ex = await makeExecutor(t, { graceMs: 60_000 });
  const r = run(ex, launch('sleep', { args: ['30'] }));
  await r.started;
  const from = Date.now();
  ex.kill(r.ref, 'gang');
  t.match(await r.ended, { outcome: 'killed', signal: 'SIGTERM', reason: 'gang' });
  t.ok(Date.now() - from < SLACK_MS, 'well inside the 60 s grace');
});

t.test('kill: a clean exit inside the grace is still killed; reason timeout from the server is timeout', async (t) => {
  const ex = await makeExecutor(t, { graceMs: 60_000 });
  const graceful = run(ex, script('trap "echo bye; exit 0" TERM; echo ready; while :; do sleep 0.05; done'));
  await until('the trap', async () => (await readFile(ex.logPath(graceful.ref, 'stdout'), 'utf8').catch(() => '')).includes('ready'));
  ex.kill(graceful.ref, 'element-failed');
  t.match(await graceful.ended, { outcome: 'killed', exitCode: 0, reason: 'element-failed' });
  t.equal(await readFile(ex.logPath(graceful.ref, 'stdout'), 'utf8'), 'ready\nbye\n', 'the task saw TERM and cleaned up');

  const timedOut = run(ex, launch('sleep', { args: ['30'] }));
  await timedOut.started;
  ex.kill(timedOut.ref, 'timeout', { graceMs: 0 });
  t.match(await timedOut.ended, { outcome: 'timeout', signal: 'SIGKILL', reason: 'timeout' }, 'graceMs 0 is SIGKILL at once');
});

t.test('a second kill may shorten the grace', async (t) => {
  const ex = await makeExecutor(t);
  const r = run(ex, script('trap "" TERM; echo ready; sleep 30'));
  await until('the trap', async () => (await readFile(ex.logPath(r.ref, 'stdout'), 'utf8').catch(() => '')).includes('ready'));
  ex.kill(r.ref, 'cancel', { graceMs: 60_000 });
  const from = Date.now();
  ex.kill(r.ref, 'replaced', { graceMs: 100 });
  t.match(await r.ended, { outcome: 'killed', signal: 'SIGKILL', reason: 'cancel' }, 'the first reason stays');
  t.ok(Date.now() - from < SLACK_MS);
});

t.test('a kill that arrives before the spawn: the attempt never starts', async (t) => {
  const ex = await makeExecutor(t);
  const r = run(ex, launch('sh', { args: ['-c', 'echo ran'] }));
  let started = false;
  void r.started.then(() => (started = true));
  t.same(ex.kill(r.ref, 'cancel'), { ok: true, running: true }, 'synchronously after start');
  t.match(await r.ended, { outcome: 'killed', reason: 'cancel' });
  t.notOk(started, 'no started event');
  t.equal(await readFile(ex.logPath(r.ref, 'stdout'), 'utf8'), '', 'nothing ran');
});

t.test('kill: stale epochs refused, unknown attempts answered, report:false ends silently', async (t) => {
  const ex = await makeExecutor(t);
  ex.observeEpoch(4);
  const r = run(ex, launch('sleep', { args: ['30'], epoch: 4 }));
  await r.started;
  t.match(ex.kill(r.ref, 'cancel', { epoch: 3 }), { ok: false, code: 'MUSTER_ERR_STALE_EPOCH' });
  t.same(ex.running().length, 1, 'a refused kill kills nothing');
  t.same(ex.kill({ job: 'nope', task: 0, attempt: 0 }, 'cancel', { epoch: 4 }), { ok: true, running: false });

  let reported = false;
  ex.on('ended', (e) => {
    if (e.task === r.ref.task) reported = true;
  });
  t.same(ex.kill(r.ref, 'replaced', { epoch: 5, report: false }), { ok: true, running: true });
  t.equal(ex.epoch, 5, 'a kill raises the epoch');
  await until('the attempt to go', () => ex.running().length === 0);
  t.notOk(reported, 'no ended event for a reconciliation kill');
});

t.test('shutdown kills everything, waits for it, then refuses starts', async (t) => {
  const ex = await makeExecutor(t, { graceMs: 60_000 });
  const runs = [run(ex, launch('sleep', { args: ['30'] })), run(ex, script('trap "" TERM; sleep 30'))];
  const pids = await Promise.all(runs.map(async (r) => (await r.started).pid));
  await ex.shutdown(200);
  t.same(ex.running(), []);
  for (const r of runs) t.match(await r.ended, { outcome: 'killed', reason: 'agent shutdown' });
  for (const pid of pids) await until(`pid ${pid} to be gone`, () => processGone(pid), 2_000);
  t.match(ex.start(launch('true')), { ok: false, code: 'MUSTER_ERR_NOT_READY' });
});

t.test('processes left behind by a leader that exits are killed with it', async (t) => {
  const ex = await makeExecutor(t);
  const r = run(ex, script('sleep 30 & echo $!'));
  t.match(await r.ended, { outcome: 'succeeded' });
  const child = await pidFromOutput(ex, r.ref);
  await until('the background sleep to be gone', () => processGone(child), 2_000);
  t.pass('the background sleep is gone');
});
