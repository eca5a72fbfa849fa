import t from 'tap';
import { RunLedger } from '../../bench/e2e-run-ledger.js';
import type { JobEvent } from '../../src/client/index.js';

/** The events of one job that ran once and succeeded, from `at`. */
function ranOnce(job: string, at: number, attempt = 1): JobEvent[] {
  const common = { job, tenant: 't', queue: 'q', task: 0, attempt };
  return [
    { seq: at, at, type: 'submitted', job, tenant: 't', queue: 'q' },
    { ...common, seq: at + 1, at: at + 1, type: 'placed', node: 'n-1' },
    { ...common, seq: at + 2, at: at + 5, type: 'started' },
    { ...common, seq: at + 3, at: at + 6, type: 'task-ended', node: 'n-1', outcome: 'succeeded', exitCode: 0 },
    { seq: at + 4, at: at + 6, type: 'ended', job, tenant: 't', queue: 'q', outcome: 'succeeded' },
  ];
}

const acked = (...jobs: string[]): { size: number; has(job: string): boolean } => ({ size: jobs.length, has: (job) => jobs.includes(job) });

t.test('jobs that each ran once: ended resolves with the last end, verify passes, traces keep the times', async (t) => {
  const ledger = new RunLedger(2);
  let done = false;
  void ledger.ended.then(() => (done = true));
  for (const e of ranOnce('j-1', 100)) ledger.event(e);
  await Promise.resolve();
  t.notOk(done, 'one job of two ended: not yet');
  for (const e of ranOnce('j-2', 200)) ledger.event(e);
  t.type(await ledger.ended, 'number');
  ledger.verify(acked('j-1', 'j-2'));
  const trace = ledger.trace('j-2');
  t.same([trace?.submittedAt, trace?.placedAt, trace?.startedAt, trace?.endedAt], [200, 201, 205, 206]);
});

t.test('verify fails on a job run twice, a second attempt, a failure, a stray job, a lost job', async (t) => {
  const twice = new RunLedger(1);
  for (const e of [...ranOnce('j-1', 100), ...ranOnce('j-1', 100).slice(1, 3)]) twice.event(e);
  t.throws(() => twice.verify(acked('j-1')), /j-1: placed 2, started 2/);

  const retried = new RunLedger(1);
  for (const e of ranOnce('j-1', 100, 2)) retried.event(e);
  t.throws(() => retried.verify(acked('j-1')), /j-1: placed of attempt 2/);

  const failed = new RunLedger(1);
  for (const e of ranOnce('j-1', 100)) failed.event(e.type === 'ended' ? { ...e, outcome: 'failed', reason: 'boom' } : e);
  t.throws(() => failed.verify(acked('j-1')), /j-1: ended failed \(boom\)/);

  const stray = new RunLedger(1);
  for (const e of [...ranOnce('j-1', 100), ...ranOnce('j-9', 200)]) stray.event(e);
  t.throws(() => stray.verify(acked('j-1')), /j-9, which this order did not submit/);

  const lost = new RunLedger(2);
  for (const e of ranOnce('j-1', 100)) lost.event(e);
  t.throws(() => lost.verify(acked('j-1', 'j-2')), /events for 1 jobs of 2/);
  t.match(lost.progress(), /1 ended of 2/);
});
