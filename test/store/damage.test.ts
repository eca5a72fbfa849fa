/**
 * Damaged files, made by hand: write a log, change its bytes, reopen. A torn tail is truncated with a log
 * line (bytes and offset); damage followed by intact records, or in a segment that is not the last, is
 * MUSTER_ERR_STORE_CORRUPT naming the file and the offset.
 */
import { appendFileSync, existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { captureLogger, openRecovered, segmentFiles } from './helpers.js';
import { isJobSubmitted, jobSubmitted } from './fixtures/events.js';
import { checkRecord } from '../../src/store/record-codec.js';

/** A folder with `count` events, one append each (so each record ends an append), in small segments. */
async function writeLog(dir: string, count: number, segmentBytes = 1 << 20): Promise<void> {
  const { store, recovered } = await openRecovered(dir, { segmentBytes });
  for (let i = 1; i <= count; i++) await store.append(recovered.epoch, [jobSubmitted(i)]);
  await store.close();
}

/** Offsets at which each record of a segment starts. */
function recordOffsets(path: string): number[] {
  const bytes = readFileSync(path);
  const offsets: number[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const r = checkRecord(bytes, offset);
    if (!r.ok) break;
    offsets.push(offset);
    offset = r.next;
  }
  return offsets;
}

function flipBit(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset] = (bytes[offset] as number) ^ 0x04;
  writeFileSync(path, bytes);
}

async function reopen(t: Test, dir: string, expectedEvents: number): Promise<ReturnType<typeof captureLogger>['lines']> {
  const { logger, lines } = captureLogger();
  const { store, recovered } = await openRecovered(dir, { logger, segmentBytes: 1 << 20 });
  t.equal(recovered.lastSeq, expectedEvents, 'last seq');
  t.ok(recovered.events.length === expectedEvents && recovered.events.every((e, i) => e.seq === i + 1 && isJobSubmitted(e.event, i + 1)), `events 1..${expectedEvents}, intact`);
  // Appends continue right after the repair, and survive the next reopening.
  t.same(await store.append(recovered.epoch, [jobSubmitted(expectedEvents + 1)]), { firstSeq: expectedEvents + 1, lastSeq: expectedEvents + 1 });
  await store.close();
  const { store: third, recovered: r3 } = await openRecovered(dir);
  t.equal(r3.lastSeq, expectedEvents + 1);
  await third.close();
  return lines;
}

const truncation = (lines: { msg: string; offset?: unknown; bytes?: unknown }[]): { msg: string; offset?: unknown; bytes?: unknown } | undefined =>
  lines.find((l) => /truncating a torn tail/.test(l.msg));

t.test('torn tails are truncated, with a log line saying how many bytes from which offset', async (t) => {
  const cases: [string, (path: string, offsets: number[], size: number) => void, number][] = [
    ['the last record cut short', (path, _o, size) => truncateSync(path, size - 7), 19],
    ['only part of the last header', (path, offsets) => truncateSync(path, (offsets[19] as number) + 10), 19],
    ['garbage after the last record', (path) => appendFileSync(path, Buffer.from('this is not a record at all, just noise')), 20],
    ['zeros after the last record (a size extended, data never written)', (path) => appendFileSync(path, Buffer.alloc(4096)), 20],
    ['a flipped bit in the last record', (path, offsets) => flipBit(path, (offsets[19] as number) + 40), 19],
  ];
  for (const [name, damage, kept] of cases) {
    await t.test(name, async (t) => {
      const dir = t.testdir();
      await writeLog(dir, 20);
      const path = join(dir, segmentFiles(dir)[0] as string);
      const offsets = recordOffsets(path);
      const size = statSync(path).size;
      damage(path, offsets, size);
      const damagedSize = statSync(path).size;
      const lines = await reopen(t, dir, kept);
      const line = truncation(lines);
      const cutAt = kept === 20 ? size : (offsets[19] as number);
      t.ok(line, 'a log line');
      t.equal(line?.offset, cutAt, 'offset');
      t.equal(line?.bytes, damagedSize - cutAt, 'bytes');
      t.match(line?.msg, new RegExp(`${damagedSize - cutAt} bytes from offset ${cutAt}`));
    });
  }
});

t.test('the records of an append cut short are dropped: an append is all there or not at all', async (t) => {
  const dir = t.testdir();
  const { store, recovered } = await openRecovered(dir);
  await store.append(recovered.epoch, [jobSubmitted(1)]);
  await store.append(recovered.epoch, [jobSubmitted(2), jobSubmitted(3), jobSubmitted(4)]);
  await store.close();
  const path = join(dir, segmentFiles(dir)[0] as string);
  truncateSync(path, (recordOffsets(path)[3] as number) + 5); // records 2 and 3 intact, 4 torn
  const lines = await reopen(t, dir, 1);
  t.match(truncation(lines)?.msg, /torn tail/);
});

t.test('damage followed by intact records is not a torn tail: MUSTER_ERR_STORE_CORRUPT with file and offset', async (t) => {
  const cases: [string, (offsets: number[]) => number][] = [
    ['a flipped payload bit in the middle', (o) => (o[10] as number) + 50],
    ['a flipped length bit in the middle', (o) => (o[10] as number) + 1],
    ['a flipped bit in the first record', (o) => (o[0] as number) + 30],
  ];
  for (const [name, where] of cases) {
    await t.test(name, async (t) => {
      const dir = t.testdir();
      await writeLog(dir, 20);
      const file = segmentFiles(dir)[0] as string;
      const path = join(dir, file);
      const offsets = recordOffsets(path);
      const at = where(offsets);
      const record = offsets.filter((o) => o <= at).pop() as number;
      flipBit(path, at);
      const size = statSync(path).size;
      await t.rejects(openRecovered(dir), { code: 'MUSTER_ERR_STORE_CORRUPT', message: new RegExp(`${file} at offset ${record}: .*followed by an intact record`) });
      t.equal(statSync(path).size, size, 'nothing truncated');
    });
  }
});

t.test('damage in a segment that is not the last is MUSTER_ERR_STORE_CORRUPT, even at its end', async (t) => {
  const dir = t.testdir();
  await writeLog(dir, 60, 4096);
  const files = segmentFiles(dir);
  t.ok(files.length >= 3);
  const path = join(dir, files[0] as string);
  const size = statSync(path).size;
  truncateSync(path, size - 3);
  await t.rejects(openRecovered(dir, { segmentBytes: 4096 }), { code: 'MUSTER_ERR_STORE_CORRUPT', message: new RegExp(`${files[0]} at offset \\d+: short record .* not the last`) });
  t.equal(statSync(path).size, size - 3, 'nothing truncated');
});

t.test('a missing segment in the middle is MUSTER_ERR_STORE_CORRUPT', async (t) => {
  const dir = t.testdir();
  await writeLog(dir, 60, 4096);
  const files = segmentFiles(dir);
  const { rmSync } = await import('node:fs');
  rmSync(join(dir, files[1] as string));
  await t.rejects(openRecovered(dir, { segmentBytes: 4096 }), { code: 'MUSTER_ERR_STORE_CORRUPT', message: /starts at seq \d+, but the previous segment ends at seq \d+/ });
});

t.test('older snapshots are removed only once the newest and the log after it are known good', async (t) => {
  const dir = t.testdir();
  await writeLog(dir, 20);
  const { store } = await openRecovered(dir);
  await store.writeSnapshot(10, Buffer.from('ten'));
  const older = join(dir, 'snapshot-00000000000000000010.snap');
  const olderBytes = readFileSync(older);
  await store.writeSnapshot(15, Buffer.from('fifteen'));
  await store.close();
  // A crash between writing the newest snapshot and removing the one before leaves both.
  writeFileSync(older, olderBytes);
  const path = join(dir, segmentFiles(dir)[0] as string);
  const offsets = recordOffsets(path);
  const pristine = readFileSync(path);
  flipBit(path, (offsets[16] as number) + 40); // seq 17, after the newest snapshot, with intact records behind it

  await t.rejects(openRecovered(dir), { code: 'MUSTER_ERR_STORE_CORRUPT' }, 'recovery refuses a damaged log after the newest snapshot');
  t.ok(existsSync(older) && readFileSync(older).equals(olderBytes), 'the older snapshot is still there, untouched: the fallback is not lost');

  writeFileSync(path, pristine);
  const { store: repaired, recovered } = await openRecovered(dir);
  t.same([recovered.snapshot?.seq, recovered.lastSeq], [15, 20]);
  t.notOk(existsSync(older), 'once the newest snapshot and its log are known good, the older one goes');
  await repaired.close();
});
