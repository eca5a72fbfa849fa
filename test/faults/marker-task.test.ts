/**
 * The marker task's witness (marker-task.ts) on real processes, without muster: run as its shim would run
 * it (`/bin/sh -c`, its own process group, in an attempt's `work/` folder), a second attempt of a task
 * started while the first is alive records `overlap`; one started after the first was SIGKILLed (group
 * and all, as a fence kills) records `alone`; an attempt that runs to its end writes its end marker with the
 * exit code (`FAULT_EXIT` for the first to end, 0 after), and the records read back say all of it (with
 * the start's epoch when the agent set `MUSTER_EPOCH`).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { until } from '../helpers/until.js';
import { MARKER_SCRIPT, readAttempts } from './marker-task.js';
import { processGone } from './processes.js';

t.test('the task lock says overlap exactly while an earlier attempt lives; markers and ends read back', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'muster-faults-markers-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const markers = join(root, 'markers');
  const locks = join(root, 'locks');
  mkdirSync(markers);
  mkdirSync(locks);
  const run = (attempt: number, sleep: string): number => {
    const work = join(root, String(attempt), 'work');
    mkdirSync(work, { recursive: true });
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', FAULT_MARKERS: markers, FAULT_LOCKS: locks, FAULT_SLEEP: sleep, FAULT_EXIT: '3', MUSTER_JOB_ID: 'j-1', MUSTER_TASK_INDEX: '0', MUSTER_ATTEMPT: String(attempt), MUSTER_NODE: 'n1', ...(attempt === 3 ? { MUSTER_EPOCH: '7' } : {}) };
    const child = spawn('/bin/sh', ['-c', MARKER_SCRIPT], { cwd: work, env, detached: true, stdio: 'ignore' });
    t.teardown(() => {
      if (!processGone(child.pid!)) process.kill(-child.pid!, 'SIGKILL');
    });
    return child.pid!;
  };
  const started = (n: number) => until(`attempt ${n} to start`, async () => readAttempts(markers).find((a) => a.attempt === n), (a) => a !== undefined);

  const first = run(1, '30');
  await started(1);
  run(2, '0');
  const second = await started(2);
  t.equal(second?.overlapAtStart, true, 'an attempt started while the first lives finds the lock held');
  await until('attempt 2 to end', async () => existsSync(join(markers, 'j-1.0.2.end')), (x) => x);

  process.kill(-first, 'SIGKILL');
  await until('attempt 1 to be gone', async () => processGone(first), (x) => x);
  run(3, '0');
  const third = await started(3);
  t.equal(third?.overlapAtStart, false, 'once the first is killed, the lock is free');
  await until('attempt 3 to end', async () => existsSync(join(markers, 'j-1.0.3.end')), (x) => x);

  const records = new Map(readAttempts(markers).map((a) => [a.attempt, a]));
  t.equal(records.get(1)?.end, undefined, 'the killed attempt wrote no end marker');
  t.equal(records.get(2)?.end?.code, 3, 'the first attempt to end on its own exits FAULT_EXIT');
  t.equal(records.get(3)?.end?.code, 0, 'later ones exit 0');
  t.match(records.get(3), { job: 'j-1', task: 0, node: 'n1', pid: Number }, 'the start marker names the job, task, node and pid');
  t.ok(records.get(2)!.startNs < records.get(3)!.startNs, 'start times in order');
  t.equal(records.get(3)?.epoch, 7, "the start marker carries the start's epoch (MUSTER_EPOCH)");
  t.equal(records.get(2)?.epoch, undefined, 'a start without MUSTER_EPOCH reads back without an epoch');
});
