import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { openRecovered, segmentFiles } from './helpers.js';
import { isJobSubmitted, jobSubmitted } from './fixtures/events.js';

/** Small segments so a few hundred events make several of them. */
const SMALL = { segmentBytes: 4096 };

async function appendEach(store: Awaited<ReturnType<typeof openRecovered>>['store'], epoch: number, from: number, to: number): Promise<void> {
  for (let i = from; i <= to; i++) await store.append(epoch, [jobSubmitted(i)]);
}

t.test('snapshot + compact + recover: the snapshot and exactly the events after it; covered segments gone', async (t) => {
  const dir = t.testdir();
  const { store, recovered } = await openRecovered(dir, SMALL);
  await appendEach(store, recovered.epoch, 1, 200);
  const before = segmentFiles(dir);
  t.ok(before.length >= 5, `${before.length} segments`);
  await store.writeSnapshot(150, Buffer.from('state@150'));
  await store.compact();
  const after = segmentFiles(dir);
  t.ok(after.length < before.length, `compaction removed ${before.length - after.length} segments`);
  t.ok(Number(after[0]?.slice(8, 28)) <= 151, 'the first kept segment holds seq 151');
  await appendEach(store, recovered.epoch, 201, 220);
  await store.close();

  const { store: again, recovered: r } = await openRecovered(dir, SMALL);
  t.equal(r.snapshot?.seq, 150);
  t.equal(Buffer.from(r.snapshot?.state ?? []).toString(), 'state@150');
  t.same(r.events.map((e) => e.seq), Array.from({ length: 70 }, (_, i) => 151 + i));
  t.ok(r.events.every((e) => isJobSubmitted(e.event, e.seq)));
  t.equal(r.lastSeq, 220);
  await again.close();
});

t.test('a newer snapshot replaces the older file; a snapshot of everything leaves only the current segment', async (t) => {
  const dir = t.testdir();
  const { store, recovered } = await openRecovered(dir, SMALL);
  await appendEach(store, recovered.epoch, 1, 100);
  await store.writeSnapshot(40, Buffer.from('a'));
  await store.writeSnapshot(100, Buffer.from('b'));
  t.same(readdirSync(dir).filter((f) => f.startsWith('snapshot-')), ['snapshot-00000000000000000100.snap']);
  await store.compact();
  t.equal(segmentFiles(dir).length, 1);
  await store.close();
  const { store: again, recovered: r } = await openRecovered(dir, SMALL);
  t.same([r.snapshot?.seq, r.events.length, r.lastSeq], [100, 0, 100]);
  t.same(await again.append(r.epoch, [jobSubmitted(101)]), { firstSeq: 101, lastSeq: 101 });
  await again.close();
});

t.test('writeSnapshot refuses bad input with codes', async (t) => {
  const { store, recovered } = await openRecovered(t.testdir());
  await store.append(recovered.epoch, [jobSubmitted(1), jobSubmitted(2)]);
  await t.rejects(store.writeSnapshot(3, new Uint8Array(1)), { code: 'MUSTER_ERR_INVALID_VALUE', message: /beyond the log/ });
  await t.rejects(store.writeSnapshot(-1, new Uint8Array(1)), { code: 'MUSTER_ERR_INVALID_VALUE' });
  await t.rejects(store.writeSnapshot(1.5, new Uint8Array(1)), { code: 'MUSTER_ERR_INVALID_VALUE' });
  await t.rejects(store.writeSnapshot(1, 'state' as unknown as Uint8Array), { code: 'MUSTER_ERR_INVALID_TYPE' });
  await store.writeSnapshot(2, new Uint8Array(1));
  await t.rejects(store.writeSnapshot(1, new Uint8Array(1)), { code: 'MUSTER_ERR_INVALID_VALUE', message: /older than the newest snapshot/ });
  await store.close();
});

t.test('a snapshot of a seq whose append is still pending waits for it to be durable', async (t) => {
  const dir = t.testdir();
  const { store, recovered } = await openRecovered(dir, { commitWindowMs: 3_600_000 });
  const pending = store.append(recovered.epoch, [jobSubmitted(1)]);
  await store.writeSnapshot(1, Buffer.from('s'));
  t.same(await pending, { firstSeq: 1, lastSeq: 1 });
  await store.close();
});

t.test('a leftover temporary snapshot is ignored and removed; a damaged snapshot is MUSTER_ERR_STORE_CORRUPT', async (t) => {
  const dir = t.testdir();
  const { store, recovered } = await openRecovered(dir);
  await appendEach(store, recovered.epoch, 1, 10);
  await store.writeSnapshot(5, Buffer.from('five'));
  await store.close();
  writeFileSync(join(dir, 'snapshot-00000000000000000009.snap.tmp'), 'half a snapshot');
  const { store: again, recovered: r } = await openRecovered(dir);
  t.equal(r.snapshot?.seq, 5);
  t.notOk(readdirSync(dir).some((f) => f.endsWith('.tmp')), 'temporary removed');
  await again.close();

  const path = join(dir, 'snapshot-00000000000000000005.snap');
  const bytes = readFileSync(path);
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
  writeFileSync(path, bytes);
  await t.rejects(openRecovered(dir), { code: 'MUSTER_ERR_STORE_CORRUPT', message: /snapshot-00000000000000000005\.snap is damaged: checksum/ });
});
