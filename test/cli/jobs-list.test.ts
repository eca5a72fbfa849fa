/**
 * `muster jobs`: its columns (exit code, elapsed time, command, reason), its filters (state, queue, name,
 * submission time; applied by the server) and output formats (-o wide, -o csv, --format), against a real
 * `muster start` (server and agent) running real processes.
 */
import t from 'tap';
import { localCluster } from './local-cluster.js';

t.setTimeout(180_000);

t.test('with a real server and agent', async (t) => {
  const cluster = await localCluster(t);
  const before = Date.now();
  const ok = await cluster.muster(['submit', '--wait', '--name', 'ok', '--queue', 'list-a', '--', 'echo', 'fine']);
  const bad = await cluster.muster(['submit', '--wait', '--name', 'bad', '--queue', 'list-b', '--', 'sh', '-c', 'exit 2']);
  t.equal(ok.code, 0, ok.stderr);
  t.equal(bad.code, 2, bad.stderr);
  const okId = /^submitted (\S+)$/m.exec(ok.stdout)![1]!;
  const badId = /^submitted (\S+)$/m.exec(bad.stdout)![1]!;

  t.test('the default table: exit code, elapsed time and the last reason', async (t) => {
    const ran = await cluster.muster(['jobs']);
    t.equal(ran.code, 0, ran.stderr);
    const lines = ran.stdout.trimEnd().split('\n');
    t.match(lines[0], /^ID\s+NAME\s+TENANT\s+QUEUE\s+STATUS\s+TASKS\s+EXIT\s+ELAPSED\s+AGE\s+REASON$/);
    t.match(lines.find((l) => l.startsWith(`${okId} `)), /\ssucceeded\s+1\/1\s+0\s+\d+\.\ds\s+\d+s$/);
    t.match(lines.find((l) => l.startsWith(`${badId} `)), /\sfailed\s+0\/1 \(1 failed\)\s+2\s+\d+\.\ds\s+\d+s\s+task 0 failed after 1 attempt\(s\)/);
  });

  t.test('filters, applied by the server', async (t) => {
    const ids = async (args: string[]): Promise<string[]> => {
      const ran = await cluster.muster(['jobs', '-o', 'json', ...args]);
      t.equal(ran.code, 0, ran.stderr);
      return (JSON.parse(ran.stdout) as { jobs: { id: string }[] }).jobs.map((j) => j.id);
    };
    t.same(await ids(['--name', 'bad']), [badId], '--name');
    t.same(await ids(['--state', 'failed']), [badId], '--state');
    t.same(await ids(['--status', 'succeeded']), [okId], '--status');
    t.same(await ids(['--queue', 'list-a']), [okId], '--queue');
    t.same(await ids(['--since', new Date(before - 1000).toISOString()]), [okId, badId], '--since a date');
    t.same(await ids(['--since', '1h']), [okId, badId], '--since a duration ago');
    t.same(await ids(['--until', new Date(before - 1000).toISOString()]), [], '--until before both');
    t.same(await ids(['--since', new Date(Date.now() + 60_000).toISOString()]), [], '--since after both');
  });

  t.test('-o csv with --format, and -o wide', async (t) => {
    const csv = await cluster.muster(['jobs', '-o', 'csv', '--format', 'id,status,exit,command']);
    t.equal(csv.code, 0, csv.stderr);
    t.same(csv.stdout.trimEnd().split('\n'), ['ID,STATUS,EXIT,COMMAND', `${okId},succeeded,0,echo fine`, `${badId},failed,2,sh -c exit 2`]);
    const wide = await cluster.muster(['jobs', '-o', 'wide', '--name', 'ok']);
    t.match(wide.stdout.split('\n')[0], /^ID\s+NAME\s+TENANT\s+QUEUE\s+STATUS\s+TASKS\s+EXIT\s+ELAPSED\s+AGE\s+SUBMITTED\s+ENDED\s+COMMAND\s+REASON$/);
    t.match(wide.stdout.split('\n')[1], /\s\d{4}-\d\d-\d\dT\S+Z\s+\d{4}-\d\d-\d\dT\S+Z\s+echo fine$/);
  });

  t.test('wrong filters and formats: a usage error naming the flag, exit 2', async (t) => {
    for (const [args, message] of [
      [['--format', 'id,nope'], /^muster jobs: MUSTER_ERR_USAGE: --format: "NOPE" is not a column/],
      [['--since', 'yesterday'], /^muster jobs: MUSTER_ERR_USAGE: --since: "yesterday" is neither a date/],
      [['-o', 'yaml'], /^muster jobs: MUSTER_ERR_USAGE: -o\/--output: "yaml" is not one of: table, wide, json, csv/],
      [['-o', 'json', '--format', 'id'], /^muster jobs: MUSTER_ERR_USAGE: --format chooses columns/],
    ] as const) {
      const ran = await cluster.muster(['jobs', ...args]);
      t.equal(ran.code, 2, args.join(' '));
      t.match(ran.stderr, message, args.join(' '));
    }
  });

  t.test('the route refuses a time that is not one, naming the parameter', async (t) => {
    const res = await fetch(`${cluster.url}/v1/jobs?since=yesterday`, { headers: { authorization: `Bearer ${cluster.token}` } });
    t.equal(res.status, 400);
    t.match(await res.json(), { code: 'MUSTER_ERR_INVALID_TYPE', field: 'since', message: /^since: expected an unsigned integer/ });
  });
});
