import t from 'tap';
import { openEmbeddedStore } from '../../src/store/index.js';
import { captureLogger, countingFs, openRecovered } from './helpers.js';
import { isJobSubmitted, jobSubmitted } from './fixtures/events.js';

t.test('many concurrent appends share one write and one fsync, resolve in call order, and are all on disk', async (t) => {
  const dir = t.testdir();
  const { openFile, counts } = countingFs();
  const { store, recovered } = await openRecovered(dir, { openFile, commitWindowMs: 20 });
  const order: number[] = [];
  const appends = Array.from({ length: 500 }, (_, i) => store.append(recovered.epoch, [jobSubmitted(i + 1)]).then((r) => (order.push(i), r)));
  const results = await Promise.all(appends);
  t.same(results.map((r) => [r.firstSeq, r.lastSeq]), results.map((_, i) => [i + 1, i + 1]), 'consecutive seqs in call order');
  t.same(order, [...order].sort((a, b) => a - b), 'resolved in call order');
  t.equal(counts.segmentWrites, 1, 'one write');
  t.equal(counts.segmentSyncs, 1, 'one fsync');
  await store.close();

  const again = await openRecovered(dir);
  t.equal(again.recovered.events.length, 500);
  t.ok(again.recovered.events.every((e, i) => e.seq === i + 1 && isJobSubmitted(e.event, i + 1)), 'every event back, in order');
  await again.store.close();
});

t.test('a group is written as soon as it fills, without waiting for the window', async (t) => {
  const { openFile, counts } = countingFs();
  const { store, recovered } = await openRecovered(t.testdir(), { openFile, commitWindowMs: 3_600_000, commitMaxEvents: 10 });
  const results = await Promise.all(Array.from({ length: 4 }, (_, i) => store.append(recovered.epoch, Array.from({ length: 5 }, (_, k) => jobSubmitted(i * 5 + k)))));
  t.same(results, [{ firstSeq: 1, lastSeq: 5 }, { firstSeq: 6, lastSeq: 10 }, { firstSeq: 11, lastSeq: 15 }, { firstSeq: 16, lastSeq: 20 }]);
  t.equal(counts.segmentWrites, 2, 'two full groups of 10 events');
  t.equal(counts.segmentSyncs, 2);
  await store.close();
});

t.test('appends arriving during a write go out together in the next group', async (t) => {
  const { openFile, counts } = countingFs();
  const { store, recovered } = await openRecovered(t.testdir(), { openFile, commitWindowMs: 0 });
  const first = store.append(recovered.epoch, [jobSubmitted(1)]); // window 0: written at once
  const rest = Array.from({ length: 100 }, (_, i) => store.append(recovered.epoch, [jobSubmitted(i + 2)]));
  await Promise.all([first, ...rest]);
  t.equal(counts.segmentWrites, 2, 'the first alone, then the 100 that gathered during its fsync');
  t.equal(counts.segmentSyncs, 2);
  await store.close();
});

t.test('with a zero window, sequential appends take one write and one fsync each', async (t) => {
  const { openFile, counts } = countingFs();
  const { store, recovered } = await openRecovered(t.testdir(), { openFile, commitWindowMs: 0 });
  for (let i = 1; i <= 5; i++) t.same(await store.append(recovered.epoch, [jobSubmitted(i)]), { firstSeq: i, lastSeq: i });
  t.same(counts, { segmentWrites: 5, segmentSyncs: 5 });
  await store.close();
});

t.test('an empty append is a barrier: it resolves after what came before is durable, and writes nothing', async (t) => {
  const { openFile, counts } = countingFs();
  const { store, recovered } = await openRecovered(t.testdir(), { openFile });
  t.same(await store.append(recovered.epoch, []), { firstSeq: 1, lastSeq: 0 });
  t.equal(counts.segmentWrites, 0);
  const before = store.append(recovered.epoch, [jobSubmitted(1), jobSubmitted(2)]);
  const barrier = await store.append(recovered.epoch, []);
  t.same(barrier, { firstSeq: 3, lastSeq: 2 });
  t.same(await before, { firstSeq: 1, lastSeq: 2 });
  await store.close();
});

t.test('bad input is refused with a code and writes nothing, not even part of the append', async (t) => {
  const dir = t.testdir();
  const { store, recovered } = await openRecovered(dir);
  const epoch = recovered.epoch;
  await t.rejects(store.append(epoch, [jobSubmitted(1), { bad: Symbol('no') }, jobSubmitted(3)]), { code: 'MUSTER_ERR_STORE_ENCODE' });
  await t.rejects(store.append(epoch, [{ big: 2n ** 80n }]), { code: 'MUSTER_ERR_STORE_ENCODE' });
  await t.rejects(store.append(epoch, 'x' as unknown as unknown[]), { code: 'MUSTER_ERR_INVALID_TYPE', name: 'TypeError' });
  for (const bad of [-1, 1.5, Number.NaN, 2 ** 40]) await t.rejects(store.append(bad, [jobSubmitted(1)]), { code: 'MUSTER_ERR_INVALID_VALUE', name: 'RangeError' }, `epoch ${bad}`);
  // A good append beside a bad one in the same group: the good one keeps its place, the bad leaves no trace.
  const good = store.append(epoch, [jobSubmitted(1)]);
  await t.rejects(store.append(epoch, [jobSubmitted(2), () => undefined, Symbol('x')]), { code: 'MUSTER_ERR_STORE_ENCODE' });
  const next = store.append(epoch, [jobSubmitted(2)]);
  t.same(await Promise.all([good, next]), [{ firstSeq: 1, lastSeq: 1 }, { firstSeq: 2, lastSeq: 2 }]);
  await store.close();
  const again = await openRecovered(dir);
  t.same(again.recovered.events.map((e) => e.event), [jobSubmitted(1), jobSubmitted(2)]);
  await again.store.close();
});

t.test('a failed write rejects its appends and every later one with MUSTER_ERR_STORE_FAILED', async (t) => {
  const dir = t.testdir();
  const { openFile, fail } = countingFs();
  const { store, recovered } = await openRecovered(dir, { openFile });
  await store.append(recovered.epoch, [jobSubmitted(1)]);
  fail.on = true;
  await t.rejects(store.append(recovered.epoch, [jobSubmitted(2)]), { code: 'MUSTER_ERR_STORE_FAILED' });
  await t.rejects(store.append(recovered.epoch, [jobSubmitted(3)]), { code: 'MUSTER_ERR_STORE_FAILED' });
  await store.close();
  const again = await openRecovered(dir);
  t.same(again.recovered.events.map((e) => e.seq), [1], 'the acknowledged event is there; the failed one never was');
  await again.store.close();
});

t.test('close flushes pending appends; afterwards everything is refused with MUSTER_ERR_STORE_CLOSED', async (t) => {
  const dir = t.testdir();
  const { logger } = captureLogger();
  const store = await openEmbeddedStore({ dir, logger, commitWindowMs: 3_600_000 });
  const { epoch } = await store.recover();
  const pending = store.append(epoch, [jobSubmitted(1)]);
  await store.close();
  t.same(await pending, { firstSeq: 1, lastSeq: 1 });
  await t.rejects(store.append(epoch, [jobSubmitted(2)]), { code: 'MUSTER_ERR_STORE_CLOSED' });
  await t.rejects(store.recover(), { code: 'MUSTER_ERR_STORE_CLOSED' });
  await t.rejects(store.writeSnapshot(1, new Uint8Array(1)), { code: 'MUSTER_ERR_STORE_CLOSED' });
  await t.rejects(store.compact(), { code: 'MUSTER_ERR_STORE_CLOSED' });
  await store.close(); // twice is fine
});
