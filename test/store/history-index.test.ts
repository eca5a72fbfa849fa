/**
 * The history index (src/store/history-index.ts): a lookup finds exactly the records about a key, across
 * sealed segments (through sidecar files, by binary search), the growing last segment (in memory) and the
 * archive, after compaction moved segments and retention dropped some; sidecars of dropped segments go, a
 * damaged sidecar is rebuilt.
 */
import { existsSync, readdirSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createLogger } from '../../src/log/index.js';
import { openHistoryIndex } from '../../src/store/index.js';
import { openRecovered, segmentFiles } from './helpers.js';

const silent = createLogger({ name: 'store', level: 'silent' });

/** Event `i` is about keys i % 50 and, for every seventh, 1000 + i (a key of one record). */
function event(i: number): { i: number; keys: number[] } {
  return { i, keys: i % 7 === 0 ? [i % 50, 1000 + i] : [i % 50] };
}
const keysOf = (e: unknown): number[] => (e as { keys: number[] }).keys;

function expected(key: number, upTo: number, from = 1): number[] {
  const out: number[] = [];
  for (let i = from; i <= upTo; i++) if (event(i).keys.includes(key)) out.push(i);
  return out;
}

function sidecars(dir: string): string[] {
  const folder = join(dir, 'index');
  return existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith('.idx')).sort() : [];
}

t.test('lookups across sealed, growing and archived segments, then after retention drops the oldest', async (t) => {
  const dir = t.testdir();
  const { store, recovered } = await openRecovered(dir, { segmentBytes: 4096, historyBytes: 6 * 4096 });
  t.teardown(() => store.close());
  for (let i = 1; i <= 600; i++) await store.append(recovered.epoch, [event(i)]);
  const index = openHistoryIndex(dir, { keysOf, logger: silent });
  const segments = segmentFiles(dir).length;
  t.ok(segments > 5, `${segments} segments`);

  t.same((await index.lookup(7)).map((s) => (s.event as { i: number }).i), expected(7, 600), 'every record about key 7, in seq order');
  t.same((await index.lookup(1000 + 595)).map((s) => s.seq), [595], 'a key of one record');
  t.same(await index.lookup(99_999), [], 'an unknown key: nothing');
  t.equal(sidecars(dir).length, segments - 1, 'a sidecar per sealed segment; the last one is indexed in memory');

  // More records: the growing segment is indexed on from where it stopped, and sealed ones get sidecars.
  for (let i = 601; i <= 700; i++) await store.append(recovered.epoch, [event(i)]);
  t.same((await index.lookup(1000 + 700)).map((s) => s.seq), [700], 'a record appended since the last lookup');
  t.same((await index.lookup(7)).map((s) => s.seq), expected(7, 700));

  // A damaged sidecar is rebuilt.
  const first = join(dir, 'index', sidecars(dir)[0]!);
  truncateSync(first, 20);
  const fresh = openHistoryIndex(dir, { keysOf, logger: silent });
  t.same((await fresh.lookup(3)).map((s) => s.seq), expected(3, 700), 'a truncated sidecar is rebuilt');

  // A snapshot, compaction into the archive, retention dropping the oldest archived segments.
  await store.writeSnapshot(700, Buffer.from('state'));
  await store.compact();
  const left = await fresh.lookup(7);
  const firstLeft = left[0]!.seq;
  t.ok(firstLeft > 7, `the oldest records went with their segments (first left: ${firstLeft})`);
  t.same(left.map((s) => s.seq), expected(7, 700, firstLeft), 'what the history still holds is found, from the archive');
  const names = new Set([...readdirSync(join(dir, 'history')), ...readdirSync(dir)].filter((f) => f.startsWith('segment-')).map((f) => f.replace('.log', '.idx')));
  t.ok(sidecars(dir).every((f) => names.has(f)), 'no sidecar is left for a dropped segment');
});
