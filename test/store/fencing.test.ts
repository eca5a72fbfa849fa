import t from 'tap';
import { openEmbeddedStore } from '../../src/store/index.js';
import { createLogger } from '../../src/log/index.js';
import { openRecovered } from './helpers.js';
import { jobSubmitted } from './fixtures/events.js';

const silent = createLogger({ name: 'store', level: 'silent' });

t.test('each recover() opens an epoch higher than any before, across reopenings', async (t) => {
  const dir = t.testdir();
  const epochs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const { store, recovered } = await openRecovered(dir);
    epochs.push(recovered.epoch);
    await store.append(recovered.epoch, [jobSubmitted(i)]);
    epochs.push((await store.recover()).epoch);
    await store.close();
  }
  t.same(epochs, [1, 2, 3, 4, 5, 6]);
  const { store, recovered } = await openRecovered(dir);
  t.same(recovered.events.map((e) => [e.seq, e.epoch]), [[1, 1], [2, 3], [3, 5]], 'each event keeps the epoch it was written with');
  await store.close();
});

t.test('an append with an older epoch is refused with MUSTER_ERR_FENCED and writes nothing', async (t) => {
  const dir = t.testdir();
  const { store, recovered: first } = await openRecovered(dir);
  const inFlight = store.append(first.epoch, [jobSubmitted(1)]); // appended before the fence: kept
  const second = await store.recover();
  t.same(await inFlight, { firstSeq: 1, lastSeq: 1 });
  t.same(second.events.map((e) => e.seq), [1], 'the new writer sees what the old one had appended');
  const fenced = store.append(first.epoch, [jobSubmitted(2)]);
  await t.rejects(fenced, { code: 'MUSTER_ERR_FENCED', name: 'RangeError' });
  await t.rejects(store.append(second.epoch + 1, [jobSubmitted(2)]), { code: 'MUSTER_ERR_INVALID_VALUE' }, 'an epoch never opened');
  t.same(await store.append(second.epoch, [jobSubmitted(2)]), { firstSeq: 2, lastSeq: 2 }, 'the fenced append took no seq');
  await store.close();
  const { store: again, recovered } = await openRecovered(dir);
  t.same(recovered.events.map((e) => [e.seq, e.epoch]), [[1, first.epoch], [2, second.epoch]]);
  await again.close();
});

t.test('before recover() no epoch is open: appends are fenced, snapshots and compaction refused', async (t) => {
  const dir = t.testdir();
  const { store } = await openRecovered(dir); // epoch 1
  await store.close();
  const reopened = await openEmbeddedStore({ dir, logger: silent });
  await t.rejects(reopened.append(1, [jobSubmitted(1)]), { code: 'MUSTER_ERR_FENCED', message: /recover\(\)/ });
  await t.rejects(reopened.writeSnapshot(0, new Uint8Array(0)), { code: 'MUSTER_ERR_FENCED' });
  await t.rejects(reopened.compact(), { code: 'MUSTER_ERR_FENCED' });
  t.equal((await reopened.recover()).epoch, 2);
  await reopened.close();
});
