/**
 * Fencing of the etcd store against a real three-member etcd: every write is refused with MUSTER_ERR_FENCED
 * once the writer's election key is gone, and etcd is left exactly as it was (same keys, same revision);
 * a newer writer takes the log over; two stores on one fence cannot both write a seq.
 */
import t from 'tap';
import { openEtcdStore } from '../../src/store/index.js';
import { jobSubmitted } from './fixtures/events.js';
import { currentRevision, keysUnder, leaseFence, openRecoveredEtcd, plainFence, silent, startEtcd } from './etcd-helpers.js';

t.test('against a three-member etcd', async (t) => {
  const etcd = await startEtcd(t);
  const { client } = etcd;

  /** What the store's keys hold, and etcd's revision. */
  const etcdState = async (prefix: string): Promise<{ keys: string[]; revision: number }> => ({
    keys: (await keysUnder(client, prefix)).map((kv) => `${kv.key.toString()}@${kv.mod_revision}`),
    revision: await currentRevision(client),
  });

  const operations = [
    { name: 'append', run: (s: Awaited<ReturnType<typeof openRecoveredEtcd>>) => s.store.append(s.epoch, [jobSubmitted(99)]) },
    { name: 'writeSnapshot', run: (s: Awaited<ReturnType<typeof openRecoveredEtcd>>) => s.store.writeSnapshot(20, Buffer.alloc(9000, 1)) },
    { name: 'compact', run: (s: Awaited<ReturnType<typeof openRecoveredEtcd>>) => s.store.compact() },
  ];
  for (const op of operations) {
    t.test(`once the lease of its election key is revoked, ${op.name} is refused with MUSTER_ERR_FENCED and writes nothing`, async (t) => {
      const prefix = etcd.prefix();
      const leader = await leaseFence(client, `${prefix}-election/a`);
      const s = await openRecoveredEtcd(client, prefix, { fence: leader.fence, maxBatchBytes: 4096 });
      t.teardown(() => s.store.close());
      for (let i = 1; i <= 20; i++) await s.store.append(s.epoch, [jobSubmitted(i)]);
      await s.store.writeSnapshot(10, Buffer.from('ten')); // something for compact to delete
      t.equal(s.epoch, leader.fence.epoch, "the store's epoch is the key's create revision");
      await leader.revoke();
      const before = await etcdState(prefix);
      await t.rejects(op.run(s).then(() => undefined), { code: 'MUSTER_ERR_FENCED', message: /fence key .* is gone/ });
      t.same(await etcdState(prefix), before, 'no key changed, and etcd applied no transaction');
      // The store stays fenced for every write, and says so without asking etcd.
      await t.rejects(s.store.append(s.epoch, [jobSubmitted(100)]), { code: 'MUSTER_ERR_FENCED' });
      await t.rejects(s.store.writeSnapshot(20, Buffer.from('x')), { code: 'MUSTER_ERR_FENCED' });
      await t.rejects(s.store.compact(), { code: 'MUSTER_ERR_FENCED' });
      await t.rejects(s.store.recover(), { code: 'MUSTER_ERR_FENCED' });
      t.same(await etcdState(prefix), before, 'still nothing written');
      await s.store.close();
    });
  }

  t.test('a newer writer takes the log over; the deposed one can no longer write, its acknowledged events stay', async (t) => {
    const prefix = etcd.prefix();
    const a = await leaseFence(client, `${prefix}-election/a`);
    const b = await leaseFence(client, `${prefix}-election/b`);
    t.ok(b.fence.epoch > a.fence.epoch, 'the second key is newer');
    const first = await openRecoveredEtcd(client, prefix, { fence: a.fence });
    t.teardown(() => first.store.close());
    t.same(await first.store.append(first.epoch, [jobSubmitted(1), jobSubmitted(2)]), { firstSeq: 1, lastSeq: 2 });
    await a.revoke(); // a's lease expires, as when its process dies or pauses: b leads
    const second = await openEtcdStore({ client, prefix, fence: b.fence, logger: silent });
    t.teardown(() => second.close());
    const r = await second.recover();
    t.same([r.epoch, r.lastSeq, r.events.map((e) => e.epoch)], [b.fence.epoch, 2, [a.fence.epoch, a.fence.epoch]], 'b reads what a wrote');
    t.same(await second.append(r.epoch, [jobSubmitted(3)]), { firstSeq: 3, lastSeq: 3 });
    await t.rejects(first.store.append(first.epoch, [jobSubmitted(3)]), { code: 'MUSTER_ERR_FENCED' }, "a's next append");
    const check = await openEtcdStore({ client, prefix, fence: b.fence, logger: silent });
    const again = await check.recover();
    t.same(again.events.map((e) => [e.seq, e.epoch, (e.event as { counter: number }).counter]), [[1, a.fence.epoch, 1], [2, a.fence.epoch, 2], [3, b.fence.epoch, 3]]);
    await check.close();
    await t.rejects(openEtcdStore({ client, prefix, fence: a.fence, logger: silent }), { code: 'MUSTER_ERR_FENCED' }, 'a store cannot even be opened on a gone fence');
    await b.revoke();
  });

  t.test('two stores on one fence cannot both write a seq: the second is MUSTER_ERR_STORE_CORRUPT and writes nothing', async (t) => {
    const prefix = etcd.prefix();
    const fence = await plainFence(client, `${prefix}-leader`);
    const one = await openRecoveredEtcd(client, prefix, { fence });
    const two = await openRecoveredEtcd(client, prefix, { fence });
    t.teardown(() => Promise.all([one.store.close(), two.store.close()]));
    t.same(await one.store.append(one.epoch, [jobSubmitted(1)]), { firstSeq: 1, lastSeq: 1 });
    await t.rejects(two.store.append(two.epoch, [jobSubmitted(-1)]), { code: 'MUSTER_ERR_STORE_CORRUPT', message: /another store is writing with the same fence/ });
    await t.rejects(two.store.append(two.epoch, [jobSubmitted(-2)]), { code: 'MUSTER_ERR_STORE_CORRUPT' }, 'and refuses every later append');
    const check = await openEtcdStore({ client, prefix, fence, logger: silent });
    const r = await check.recover();
    t.same(r.events.map((e) => (e.event as { counter: number }).counter), [1], "only the first store's event");
    await check.close();
  });

  t.test('a fence is checked when the store opens, and options are checked with codes', async (t) => {
    const prefix = etcd.prefix();
    await t.rejects(openEtcdStore({ client, prefix, fence: { key: `${prefix}-nobody`, epoch: 5 }, logger: silent }), { code: 'MUSTER_ERR_FENCED' });
    const fence = await plainFence(client, `${prefix}-leader`);
    await t.rejects(openEtcdStore({ client, prefix, fence: { key: fence.key, epoch: fence.epoch + 1 }, logger: silent }), { code: 'MUSTER_ERR_FENCED', message: /now has create revision/ });
    const cases = [
      { name: 'a prefix ending in /', options: { prefix: '/muster/' }, code: 'MUSTER_ERR_INVALID_VALUE' },
      { name: 'an empty prefix', options: { prefix: '' }, code: 'MUSTER_ERR_INVALID_VALUE' },
      { name: 'an epoch of 0', options: { fence: { key: fence.key, epoch: 0 } }, code: 'MUSTER_ERR_INVALID_VALUE' },
      { name: 'no fence key', options: { fence: { key: '', epoch: 3 } }, code: 'MUSTER_ERR_INVALID_VALUE' },
      { name: 'a negative window', options: { commitWindowMs: -1 }, code: 'MUSTER_ERR_INVALID_VALUE' },
      { name: 'batches above 1 MiB', options: { maxBatchBytes: 2 * 1024 * 1024 }, code: 'MUSTER_ERR_INVALID_VALUE' },
      { name: 'batches below 1 KiB', options: { maxBatchBytes: 100 }, code: 'MUSTER_ERR_INVALID_VALUE' },
      { name: 'no client', options: { client: {} as typeof client }, code: 'MUSTER_ERR_INVALID_TYPE' },
    ];
    for (const c of cases) await t.rejects(openEtcdStore({ client, prefix, fence, logger: silent, ...c.options }), { code: c.code }, c.name);
    const s = await openRecoveredEtcd(client, prefix, { fence, maxBatchBytes: 4096 });
    await t.rejects(s.store.append(s.epoch, [{ blob: 'x'.repeat(5000) }]), { code: 'MUSTER_ERR_LIMIT_EXCEEDED' }, 'an event bigger than a batch');
    await t.rejects(s.store.recover({ after: -1 }), { code: 'MUSTER_ERR_INVALID_VALUE' });
    await t.rejects(s.store.recover({ after: 5 }), { code: 'MUSTER_ERR_INVALID_VALUE', message: /beyond the store/ });
    await s.store.close();
  });
});
