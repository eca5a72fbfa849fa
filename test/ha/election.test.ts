/**
 * Leader election against a real three-member etcd: one leader that all agree on, its epoch the key's
 * create revision; a clean handover on resign and on close; options refused with a code.
 */
import t from 'tap';
import type { Test } from 'tap';
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { campaign, DEFAULT_TTL_SECONDS } from '../../src/ha/index.js';
import { codeOf } from '../../src/errors/index.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { until } from '../helpers/until.js';
import { agreedLeader, candidateKeys, firstEvent, leadership, overlaps, Replica } from './helpers.js';

const TTL_MS = DEFAULT_TTL_SECONDS * 1000;

t.test('options outside their range are refused with MUSTER_ERR_INVALID_VALUE', async (t) => {
  const client = new Etcd3({ hosts: 'http://127.0.0.1:1' });
  t.teardown(() => client.close());
  const self = { id: 'a', url: 'http://a' };
  const cases = [
    { name: 'a TTL below one second', options: { ttlSeconds: 0 } },
    { name: 'a TTL that is not whole seconds', options: { ttlSeconds: 1.5 } },
    { name: 'a margin of zero', options: { marginMs: 0 } },
    { name: 'a margin as long as the TTL', options: { ttlSeconds: 2, marginMs: 2000 } },
    { name: 'a prefix ending in /', options: { prefix: '/muster/' } },
    { name: 'an empty id', options: { self: { id: '', url: 'http://a' } } },
  ];
  for (const c of cases) {
    let thrown: unknown;
    try {
      campaign({ client, prefix: '/muster', self, ...c.options });
    } catch (err) {
      thrown = err;
    }
    t.ok(thrown instanceof RangeError && codeOf(thrown) === 'MUSTER_ERR_INVALID_VALUE', c.name);
  }
});

t.test('against a three-member etcd', async (t) => {
  const cluster = await EtcdCluster.start({ members: 3 });
  const admin = new Etcd3({ hosts: cluster.endpoints });
  t.teardown(async () => {
    admin.close();
    await cluster.close();
  });
  const start = (t: Test, prefix: string): Replica[] => {
    const replicas = ['a', 'b', 'c'].map((id) => new Replica(cluster.endpoints, id, { prefix }));
    t.teardown(() => Promise.all(replicas.map((r) => r.close())));
    return replicas;
  };

  t.test('three candidates: exactly one leads, all agree on it, its epoch is its key create revision', async (t) => {
    const replicas = start(t, '/three');
    const { leader, epoch } = await agreedLeader(replicas);
    const keys = await until('three candidate keys', () => candidateKeys(admin, '/three'), (keys) => keys.length === 3);
    t.equal(keys[0]!.createRevision, epoch, 'the epoch is the lowest create revision');
    t.equal(keys[0]!.id, leader.id, 'the lowest key names the leader');
    t.same(leader.election.fence, { key: keys[0]!.key, epoch }, 'the fence is that key and revision');
    t.ok(leader.election.deadline! > performance.now(), 'the deadline is ahead');
    for (const r of replicas) {
      t.same(r.election.leader, { ...leader.info, epoch }, `${r.id} knows the leader`);
      t.ok(r.election.leaderChanges >= 1, `${r.id} counted the change`);
      t.equal(r.events.filter((e) => e.kind === 'elected').length, r === leader ? 1 : 0, `${r.id} elected ${r === leader ? 'once' : 'never'}`);
      t.equal(r.events.filter((e) => e.kind === 'deposed').length, 0, `${r.id} never deposed`);
    }
    t.same(keys.map((k) => k.id).sort(), ['a', 'b', 'c'], 'each candidate holds one key');
  });

  t.test('resign: another leads at once with a higher epoch; the resigned one stands by with a new key', async (t) => {
    const replicas = start(t, '/resign');
    const first = await agreedLeader(replicas);
    const others = replicas.filter((r) => r !== first.leader);
    const marks = replicas.map((r) => r.events.length);
    const resignedAt = performance.now();
    await first.leader.election.resign();
    t.equal(first.leader.election.isLeader, false, 'not leading once resign() resolves');
    const deposed = await first.leader.waitFor('deposed', () => true, marks[replicas.indexOf(first.leader)]);
    t.same({ epoch: deposed.value.epoch, reason: deposed.value.reason }, { epoch: first.epoch, reason: 'resigned' }, 'deposed for resigned');
    const next = (await firstEvent(others, 'elected', () => true, others.map((r) => marks[replicas.indexOf(r)]!))).event;
    t.ok(next.value.epoch > first.epoch, `higher epoch (${first.epoch} → ${next.value.epoch})`);
    t.ok(next.at - resignedAt < TTL_MS, `handed over in ${Math.round(next.at - resignedAt)} ms, within the TTL`);
    const second = await agreedLeader(replicas);
    t.equal(second.epoch, next.value.epoch, 'all agree on the new leader');
    const keys = await until('the resigned replica joins again', () => candidateKeys(admin, '/resign'), (keys) => keys.length === 3);
    t.notOk(keys.some((k) => k.createRevision === first.epoch), 'the old key is gone');
    t.ok(keys.find((k) => k.id === first.leader.id)!.createRevision > next.value.epoch, 'the resigned one is last in line');
    t.same(overlaps(leadership(replicas)), [], 'no two leaderships overlap');
  });

  t.test('close: another leads at once; the closed one leaves no key and hears nothing more', async (t) => {
    const replicas = start(t, '/close');
    const first = await agreedLeader(replicas);
    const others = replicas.filter((r) => r !== first.leader);
    const marks = others.map((r) => r.events.length);
    const closedAt = performance.now();
    await first.leader.close();
    const heard = first.leader.events.length;
    const deposed = first.leader.events.flatMap((e) => (e.kind === 'deposed' ? [e.value] : []));
    t.same(deposed.map((d) => ({ epoch: d.epoch, reason: d.reason })), [{ epoch: first.epoch, reason: 'closed' }], 'deposed once, for closed');
    const next = (await firstEvent(others, 'elected', () => true, marks)).event;
    t.ok(next.value.epoch > first.epoch, `higher epoch (${first.epoch} → ${next.value.epoch})`);
    t.ok(next.at - closedAt < TTL_MS, `handed over in ${Math.round(next.at - closedAt)} ms, within the TTL`);
    await agreedLeader(others);
    const keys = await candidateKeys(admin, '/close');
    t.same(keys.map((k) => k.id).sort(), others.map((r) => r.id).sort(), 'only the others hold keys');
    t.equal(first.leader.events.length, heard, 'no event after close');
    await first.leader.close();
    t.pass('a second close() resolves');
    t.same(overlaps(leadership(replicas)), [], 'no two leaderships overlap');
  });

  t.test("the leader's key deleted, then its lease revoked, by hand: deposed each time, another leads", async (t) => {
    const replicas = start(t, '/by-hand');
    const first = await agreedLeader(replicas);
    let mark = first.leader.events.length;
    await admin.delete().key(first.leader.election.fence!.key).exec();
    const deposed = await first.leader.waitFor('deposed', () => true, mark);
    t.same({ epoch: deposed.value.epoch, reason: deposed.value.reason }, { epoch: first.epoch, reason: 'key-deleted' }, 'key deleted: deposed for key-deleted');
    const second = await agreedLeader(replicas, (_, epoch) => epoch > first.epoch);
    mark = second.leader.events.length;
    const leaseId = BigInt(`0x${second.leader.election.fence!.key.split('/').pop()!}`).toString();
    await admin.leaseClient.leaseRevoke({ ID: leaseId });
    const lost = await second.leader.waitFor('deposed', () => true, mark);
    t.equal(lost.value.epoch, second.epoch, 'lease revoked: deposed');
    t.ok(lost.value.reason === 'key-deleted' || lost.value.reason === 'lease-lost', `for ${lost.value.reason} (whichever it hears first)`);
    const third = await agreedLeader(replicas, (_, epoch) => epoch > second.epoch);
    t.ok(third.epoch > second.epoch, 'and another leads');
    // No overlap check here: a deletion outside the protocol can elect the next candidate before the old
    // leader's watch tells it (its lease, hence its deadline, is not what ended). What fences the old leader
    // in that gap is the store's guard, `createRevision(key) == epoch`, false for a key that is gone.
    t.same(await candidateKeys(admin, '/by-hand').then((keys) => keys.filter((k) => k.createRevision === first.epoch || k.createRevision === second.epoch)), [], 'both deposed keys are gone: their writes would be refused');
  });

  t.test('a lone candidate that resigns leads again with a new key', async (t) => {
    const solo = new Replica(cluster.endpoints, 'solo', { prefix: '/solo' });
    t.teardown(() => solo.close());
    const first = await solo.waitFor('elected');
    await solo.election.resign();
    const again = await solo.waitFor('elected', (e) => e.epoch > first.value.epoch);
    t.not(again.value.key, first.value.key, 'a new key');
    t.same(solo.events.flatMap((e) => (e.kind === 'deposed' ? [e.value.reason] : [])), ['resigned']);
  });
});
