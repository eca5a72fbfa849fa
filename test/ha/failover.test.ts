/**
 * High availability end to end, with real processes: three etcd members, two `muster server --etcd`
 * replicas and a simulated fleet (`muster sim`) given both replicas. The standby refuses with the leader's
 * URL and holds the log; SIGKILL of the leader hands leadership to the standby, which serves within seconds
 * under a higher epoch; every acknowledged job is there with its id, resubmitting with the same keys gives
 * the same ids, running tasks keep running (a failover alone reschedules nothing: each still on attempt 1),
 * agents follow the new leader, and short jobs submitted before the failover finish on it. Snapshots are
 * frequent, so the log in etcd is snapshotted and compacted under the standby while it follows.
 */
import t from 'tap';
import { MusterClient } from '../../src/client/index.js';
import type { SubmitResult } from '../../src/client/index.js';
import { MusterChild } from '../server/muster-child.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { until } from '../helpers/until.js';
import { ADMIN, ReplicaSet, get } from './replica-fixture.js';

const NODES = 4;
const LONG = 6;
const SHORT = 20;

const spec = (key: string, duration: string): Record<string, unknown> => ({
  queue: 'default',
  idempotencyKey: key,
  tasks: [{ resources: { cpu: '1', memory: '64Mi' }, command: ['true'], env: { MUSTER_SIM_DURATION: duration } }],
});

t.test('SIGKILL of the leader: the standby takes over, nothing acknowledged is lost, nothing running is rescheduled', async (t) => {
  const cluster = await EtcdCluster.start({ members: 3 });
  t.teardown(() => cluster.close());
  const replicas = new ReplicaSet(cluster.endpoints, { config: { snapshot: { everyEvents: 20, everySeconds: 1 } } });
  t.teardown(() => replicas.close());

  const first = await replicas.start('r1');
  await first.child.line(/^ready: /);
  const second = await replicas.start('r2');
  const standbyView = await until('the standby to know the leader', () => get(second.url, '/v1/leader'), (r) => r.status === 200 && r.body.leader === first.url);
  t.match(standbyView.body, { leader: first.url, self: false, role: 'standby', replica: second.url });
  t.ok(second.child.logs.some((l) => /^caught up with the log at seq \d+: campaigning$/.test(l.msg)), 'a replica campaigns once it has read the log to its end');
  const epoch1 = standbyView.body.epoch as number;
  const ready = await get(second.url, '/readyz');
  t.match(ready, { status: 503, body: { ready: false, code: 'MUSTER_ERR_NOT_LEADER', leader: { url: first.url, epoch: epoch1 } } }, 'the standby is not ready, and says who is');
  t.match(await get(second.url, '/v1/jobs'), { status: 503, body: { code: 'MUSTER_ERR_NOT_LEADER', leader: { url: first.url } } });
  t.match(await get(second.url, '/healthz'), { status: 200 }, 'a standby is healthy');
  const metric = async (url: string, name: string): Promise<number> => {
    const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? NaN : Number(line.split(' ')[1]);
  };
  t.same([await metric(second.url, 'muster_leader'), await metric(second.url, 'muster_epoch')], [0, epoch1], 'a standby says so in its metrics, with the epoch it knows');
  t.equal(await metric(first.url, 'muster_leader'), 1);

  const endpoints = `${second.url},${first.url}`;
  const sim = new MusterChild(['sim', '--nodes', String(NODES), '--connections', '2', '--cpu', '4', '--server', endpoints, '--token', ADMIN], { MUSTER_LOG_LEVEL: 'warn' });
  t.teardown(() => sim.kill());
  await until('the fleet registered', () => get(first.url, '/v1/nodes'), (r) => r.status === 200 && (r.body.nodes as unknown[]).filter((n: any) => n.state === 'ready').length === NODES);

  const client = new MusterClient({ endpoints: [second.url, first.url], token: ADMIN });
  t.teardown(() => client.close());
  const specs = [...Array.from({ length: LONG }, (_, i) => spec(`long-${i}`, '120s')), ...Array.from({ length: SHORT }, (_, i) => spec(`short-${i}`, '200ms'))];
  const before = await client.submit(specs as never);
  t.ok(before.every((r) => r.ok), 'all acknowledged');
  const ids = before.map((r) => (r as SubmitResult & { job: string }).job);
  const longIds = ids.slice(0, LONG);
  await until('the long tasks running', () => Promise.all(longIds.map((id) => get(first.url, `/v1/jobs/${id}`))), (views) => views.every((v) => v.body?.status === 'running'));

  const snapshotted = (c: MusterChild): boolean => c.logs.some((l) => l.msg === 'snapshot written, log compacted');
  await until('a snapshot written by the leader', async () => snapshotted(first.child), (done) => done);
  await first.child.kill();
  await second.child.line(/^ready: /);
  const leaderView = await until('the new leader', () => get(second.url, '/v1/leader'), (r) => r.status === 200 && r.body.role === 'leader');
  t.ok(leaderView.body.epoch > epoch1, `a higher epoch (${epoch1} → ${leaderView.body.epoch})`);
  t.same([await metric(second.url, 'muster_leader'), await metric(second.url, 'muster_epoch')], [1, leaderView.body.epoch], 'the new leader says so in its metrics');
  t.ok((await metric(second.url, 'muster_leader_changes_total')) >= 2, 'and counted the change of leader');

  const again = await client.submit(specs as never);
  t.same(
    again.map((r) => (r as SubmitResult & { job: string }).job),
    ids,
    'resubmitting with the same idempotency keys after the failover gives the same ids',
  );
  await until('the fleet back on the new leader', () => get(second.url, '/v1/nodes'), (r) => r.status === 200 && (r.body.nodes as any[]).filter((n) => n.state === 'ready').length === NODES);
  await until('the short jobs finished', () => Promise.all(ids.slice(LONG).map((id) => get(second.url, `/v1/jobs/${id}`))), (views) => views.every((v) => v.body?.status === 'succeeded'));
  const longViews = await Promise.all(longIds.map((id) => get(second.url, `/v1/jobs/${id}`)));
  t.same(
    longViews.map((v) => [v.body.status, v.body.taskList[0].attempt, v.body.taskList[0].failures]),
    longIds.map(() => ['running', 1, 0]),
    'the long tasks still run as attempt 1: the failover rescheduled nothing',
  );

  await until('a snapshot written by the new leader', async () => snapshotted(second.child), (done) => done);
  t.same([...first.child.logs, ...second.child.logs].filter((l) => l.level >= 50), [], 'no replica logged an error');
  const roles = second.child.logs.map((l) => `${String(l['role'])}@${String(l['epoch'])}`);
  t.ok(roles.includes(`standby@${epoch1}`) && roles.includes(`leader@${leaderView.body.epoch}`), "the replica's log lines say its role and the leader's epoch");

  second.child.signal('SIGTERM');
  t.equal((await second.child.exited).code, 0, 'the last replica stops cleanly');
  sim.signal('SIGTERM');
  await sim.exited;
  t.notOk(replicas.children.some((c) => c.running) || sim.running, 'no process left');
});
