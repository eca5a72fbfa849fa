/**
 * `muster job ID` shows every attempt of every task (node, start, end, elapsed, outcome, exit code,
 * reason), from the job view's `taskList[].attempts`, against a real `muster start` (server and agent)
 * running real processes.
 */
import t from 'tap';
import type { AttemptView } from '../../src/client/index.js';
import { localCluster } from './local-cluster.js';

t.setTimeout(180_000);


t.test('with a real server and agent', async (t) => {
  const cluster = await localCluster(t);

  t.test('a task that could not start: each of its attempts, with the reason', async (t) => {
    const submitted = await cluster.muster(['submit', '--wait', '--retries', '3', '--retry-backoff', '100ms', '--workdir', '/nonexistent/muster-attempts', '--', 'true']);
    t.equal(submitted.code, 1, submitted.stderr);
    const id = /^submitted (\S+)$/m.exec(submitted.stdout)![1]!;

    const json = await cluster.muster(['job', id, '-o', 'json']);
    const attempts = (JSON.parse(json.stdout) as { taskList: { attempts?: AttemptView[] }[] }).taskList[0]?.attempts ?? [];
    t.same(attempts.map((a) => a.attempt), [1, 2, 3, 4], 'four attempts in the view');
    for (const a of attempts) {
      t.equal(a.outcome, 'failed');
      t.match(a.reason, /\/nonexistent\/muster-attempts/);
      t.ok(a.endedAt! >= a.placedAt, 'ended after it was placed');
      t.notOk('startedAt' in a, 'never started');
    }

    const shown = await cluster.muster(['job', id]);
    t.equal(shown.code, 0, shown.stderr);
    const lines = shown.stdout.trimEnd().split('\n');
    const header = lines.indexOf('attempts:');
    t.ok(header > 0, shown.stdout);
    t.match(lines[header + 1], /^TASK\s+ATTEMPT\s+NODE\s+STARTED\s+ENDED\s+ELAPSED\s+OUTCOME\s+EXIT\s+REASON$/);
    const rows = lines.slice(header + 2);
    t.equal(rows.length, 4, 'a row per attempt');
    rows.forEach((row, i) => t.match(row, new RegExp(`^\\s*0\\s+${i + 1}\\s+\\S+\\s+-\\s+\\d{4}-\\S+Z\\s+-\\s+failed\\s+-\\s+.*/nonexistent/muster-attempts`), `attempt ${i + 1}`));
  });

  t.test('a task that ran and exited 3: its start, end, elapsed time and exit code', async (t) => {
    const submitted = await cluster.muster(['submit', '--wait', '--', 'sh', '-c', 'exit 3']);
    t.equal(submitted.code, 3, submitted.stderr);
    const id = /^submitted (\S+)$/m.exec(submitted.stdout)![1]!;
    const shown = await cluster.muster(['job', id]);
    const lines = shown.stdout.trimEnd().split('\n');
    const rows = lines.slice(lines.indexOf('attempts:') + 2);
    t.equal(rows.length, 1);
    t.match(rows[0], /^\s*0\s+1\s+\S+\s+\d{4}-\S+Z\s+\d{4}-\S+Z\s+\d+\.\ds\s+failed\s+3\s+exit code 3$/);
  });
});
