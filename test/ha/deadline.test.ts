/**
 * The leader's own deadline: it stops leading at the deadline (last answered keepalive's send time + TTL −
 * margin), before etcd could expire its lease and elect another: seen with a clock that jumps, with its
 * keepalives going unanswered (a stalled path: its key is still in etcd when it steps down), and with every
 * etcd member paused (it steps down while etcd is stopped, so before anything else could happen).
 */
import t from 'tap';
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { DEFAULT_MARGIN_MS, DEFAULT_TTL_SECONDS } from '../../src/ha/index.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { until } from '../helpers/until.js';
import { agreedLeader, candidateKeys, leadership, overlaps, Replica } from './helpers.js';
import { StallRelay } from './stall-relay.js';

t.test('the leader steps down at its own deadline', async (t) => {
  const cluster = await EtcdCluster.start({ members: 3 });
  const admin = new Etcd3({ hosts: cluster.endpoints });
  t.teardown(async () => {
    admin.close();
    await cluster.close();
  });

  t.test('a clock past the deadline: isLeader and fence turn false at once, deposed for deadline at the deadline', async (t) => {
    let skew = 0;
    const a = new Replica(cluster.endpoints, 'a', { prefix: '/clock', now: () => performance.now() + skew });
    t.teardown(() => a.close());
    const elected = await a.waitFor('elected');
    const deadline = a.election.deadline!;
    t.ok(a.election.isLeader && deadline > performance.now(), 'leads, with a deadline ahead');
    skew = deadline - performance.now() + 1;
    t.equal(a.election.isLeader, false, 'isLeader is false the moment the clock passes the deadline');
    t.equal(a.election.fence, undefined, 'and so is the fence, before any timer ran');
    t.equal(a.events.filter((e) => e.kind === 'deposed').length, 0, 'the event comes from the timer or the next tick');
    const deposed = await a.waitFor('deposed');
    t.same({ reason: deposed.value.reason, epoch: deposed.value.epoch }, { reason: 'deadline', epoch: elected.value.epoch }, 'deposed for its deadline, from its epoch');
    t.ok(deposed.value.at <= performance.now() + skew && deposed.value.at >= deadline, 'it ended at a deadline no earlier than the one read');
    const again = await a.waitFor('elected', (e) => e.epoch > elected.value.epoch);
    t.not(again.value.key, elected.value.key, 'rejoined with a new key and leads again (alone)');
  });

  t.test('keepalives unanswered (a stalled path): it steps down while its key is still in etcd', async (t) => {
    // A longer TTL and margin than the defaults: the key outlives the deadline by 1.5 s, which bounds how
    // late this test's own read may be on a loaded machine, not anything the election does.
    const options = { prefix: '/stall', ttlSeconds: 3, marginMs: 1500 };
    const relays = cluster.endpoints.map((url) => new StallRelay(url));
    const urls = await Promise.all(relays.map((r) => r.listen()));
    const a = new Replica(urls, 'a', options);
    const elected = await a.waitFor('elected');
    const b = new Replica(cluster.endpoints, 'b', options);
    t.teardown(async () => {
      await Promise.all([a.close(), b.close()]);
      await Promise.all(relays.map((r) => r.close()));
    });
    await b.waitFor('leader', (l) => l?.id === 'a');
    const stalledAt = performance.now();
    for (const r of relays) r.stall();
    const deposed = await a.waitFor('deposed');
    const keys = await candidateKeys(admin, '/stall');
    t.equal(deposed.value.reason, 'deadline', 'deposed for its deadline');
    t.ok(deposed.value.at - stalledAt <= 3000 - 1500, `within TTL − margin of the last answer (${Math.round(deposed.value.at - stalledAt)} ms after the stall)`);
    t.equal(keys[0]?.createRevision, elected.value.epoch, 'its key is still the lowest in etcd: nobody else could have been elected');
    t.equal(b.events.filter((e) => e.kind === 'elected').length, 0, 'nor was anybody');
    const taken = await b.waitFor('elected');
    t.ok(taken.value.epoch > elected.value.epoch, `b leads once the lease expired, with a higher epoch (${elected.value.epoch} → ${taken.value.epoch})`);
    t.ok(taken.at > deposed.value.at, 'after a stepped down');
    t.same(overlaps(leadership([a, b])), [], 'no two leaderships overlap');
  });

  t.test('every etcd member paused: the leader steps down while etcd is stopped, and a leader is elected after', async (t) => {
    const replicas = ['a', 'b', 'c'].map((id) => new Replica(cluster.endpoints, id, { prefix: '/paused' }));
    t.teardown(() => Promise.all(replicas.map((r) => r.close())));
    const first = await agreedLeader(replicas);
    const marks = replicas.map((r) => r.events.length);
    const pausedAt = performance.now();
    cluster.members.forEach((_, i) => cluster.pause(i));
    let resumedAt: number;
    try {
      const deposed = await first.leader.waitFor('deposed', () => true, marks[replicas.indexOf(first.leader)]);
      resumedAt = performance.now();
      t.equal(deposed.value.reason, 'deadline', 'deposed for its deadline');
      t.ok(deposed.value.at - pausedAt < DEFAULT_TTL_SECONDS * 1000 - DEFAULT_MARGIN_MS, `at most TTL − margin after the last answer (${Math.round(deposed.value.at - pausedAt)} ms after the pause)`);
    } finally {
      cluster.members.forEach((_, i) => cluster.resume(i));
    }
    t.same(
      replicas.flatMap((r, i) => r.events.slice(marks[i]).filter((e) => e.kind === 'elected' && e.at < resumedAt)),
      [],
      'nobody was elected while etcd was paused',
    );
    const second = await agreedLeader(replicas, (_, epoch) => epoch > first.epoch);
    t.ok(second.epoch > first.epoch, `a leader again after the resume, with a higher epoch (${first.epoch} → ${second.epoch})`);
    t.same(overlaps(leadership(replicas)), [], 'no two leaderships overlap');
    const keys = await until('a key for each replica', () => candidateKeys(admin, '/paused'), (keys) => keys.length === 3);
    t.same(keys.map((k) => k.id).sort(), ['a', 'b', 'c'], 'the deposed one is a candidate again');
  });
});
