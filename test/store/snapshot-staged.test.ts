/**
 * A snapshot staged off the store (stageSnapshotFile, what a CPU-pool thread runs) and adopted by it
 * (adoptSnapshot, a rename on the main thread): recovered as if written by writeSnapshot; refused with a
 * code and removed when it may not be adopted; a staged file never adopted is gone after the next open.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stageSnapshotFile } from '../../src/store/index.js';
import { openRecovered } from './helpers.js';
import { jobSubmitted } from './fixtures/events.js';

const stagedNames = (dir: string): string[] => readdirSync(dir).filter((f) => f.includes('.staged-'));

t.test('adopted: the newest snapshot, recovered with the events after it; older snapshots gone', async (t) => {
  const dir = t.testdir();
  const { store, recovered } = await openRecovered(dir);
  for (let i = 1; i <= 30; i++) await store.append(recovered.epoch, [jobSubmitted(i)]);
  await store.writeSnapshot(10, Buffer.from('old'));
  const path = await stageSnapshotFile(store.dir, 20, Buffer.from('state@20'));
  t.ok(existsSync(path), 'staged');
  await store.adoptSnapshot(20, path);
  t.same(readdirSync(dir).filter((f) => f.startsWith('snapshot-')), ['snapshot-00000000000000000020.snap'], 'only the adopted one');
  await store.close();
  const { store: again, recovered: r } = await openRecovered(dir);
  t.equal(r.snapshot?.seq, 20);
  t.equal(Buffer.from(r.snapshot?.state ?? []).toString(), 'state@20');
  t.same(r.events.map((e) => e.seq), Array.from({ length: 10 }, (_, i) => 21 + i));
  await again.close();
});

t.test('refused with a code, and the staged file removed: older than the newest, beyond the log, not a staged file of this folder', async (t) => {
  const dir = t.testdir({ elsewhere: {} });
  const { store, recovered } = await openRecovered(join(dir, 'data'));
  for (let i = 1; i <= 5; i++) await store.append(recovered.epoch, [jobSubmitted(i)]);
  await store.writeSnapshot(4, Buffer.from('four'));
  const older = await stageSnapshotFile(store.dir, 3, Buffer.from('three'));
  await t.rejects(store.adoptSnapshot(3, older), { code: 'MUSTER_ERR_INVALID_VALUE', message: /older than the newest/ });
  t.notOk(existsSync(older), 'the refused file is removed');
  const beyond = await stageSnapshotFile(store.dir, 9, Buffer.from('nine'));
  await t.rejects(store.adoptSnapshot(9, beyond), { code: 'MUSTER_ERR_INVALID_VALUE', message: /beyond the log/ });
  t.notOk(existsSync(beyond));
  const outside = await stageSnapshotFile(join(dir, 'elsewhere'), 5, Buffer.from('five'));
  await t.rejects(store.adoptSnapshot(5, outside), { code: 'MUSTER_ERR_INVALID_VALUE', message: /temporary file in/ });
  await t.rejects(store.adoptSnapshot(-1, join(store.dir, 'x.tmp')), { code: 'MUSTER_ERR_INVALID_VALUE' });
  t.same(stagedNames(store.dir), [], 'nothing staged is left in the data folder');
  await store.close();
  const { store: again, recovered: r } = await openRecovered(join(dir, 'data'));
  t.same([r.snapshot?.seq, Buffer.from(r.snapshot?.state ?? []).toString()], [4, 'four'], 'the snapshot before the refusals stands');
  await again.close();
});

t.test('a staged file never adopted (a crash, an abandoned fold) is removed when the store opens', async (t) => {
  const dir = t.testdir();
  const { store, recovered } = await openRecovered(dir);
  await store.append(recovered.epoch, [jobSubmitted(1)]);
  await stageSnapshotFile(store.dir, 1, Buffer.from('never adopted'));
  t.equal(stagedNames(dir).length, 1);
  await store.close();
  const { store: again, recovered: r } = await openRecovered(dir);
  t.same(stagedNames(dir), [], 'removed');
  t.equal(r.snapshot, undefined, 'and never taken for a snapshot');
  await again.close();
});
