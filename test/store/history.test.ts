import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { createLogger } from '../../src/log/index.js';
import { openEmbeddedStore, readHistory, type StoredEvent } from '../../src/store/index.js';
import { captureLogger, openRecovered, segmentFiles } from './helpers.js';
import { isJobSubmitted, jobSubmitted } from './fixtures/events.js';

const silent = createLogger({ name: 'store', level: 'silent' });

/** Small segments so a few hundred events make several of them. */
const SMALL = { segmentBytes: 4096 };

type Opened = Awaited<ReturnType<typeof openRecovered>>;

async function appendEach(opened: Opened, from: number, to: number): Promise<void> {
  for (let i = from; i <= to; i++) await opened.store.append(opened.recovered.epoch, [jobSubmitted(i)]);
}

async function snapshotAndCompact(opened: Opened, seq: number): Promise<void> {
  await opened.store.writeSnapshot(seq, Buffer.from(`state@${seq}`));
  await opened.store.compact();
}

async function readAll(dir: string): Promise<{ firstSeq: number; events: StoredEvent[] }> {
  const history = await readHistory(dir, { logger: silent });
  const events: StoredEvent[] = [];
  for await (const e of history.events()) events.push(e);
  return { firstSeq: history.firstSeq, events };
}

function historyFiles(dir: string): string[] {
  const folder = join(dir, 'history');
  return existsSync(folder) ? readdirSync(folder).sort() : [];
}

/** Every file of the folder (and of history/) with its size and modification time: what a reader must not change. */
function fingerprint(dir: string): string {
  const entries: string[] = [];
  for (const [folder, prefix] of [[dir, ''], [join(dir, 'history'), 'history/']] as const) {
    if (!existsSync(folder)) continue;
    for (const name of readdirSync(folder).sort()) {
      const s = statSync(join(folder, name));
      if (s.isFile()) entries.push(`${prefix}${name} ${s.size} ${s.mtimeMs}`);
    }
  }
  return entries.join('\n');
}

function checkConsecutive(t: Test, events: readonly StoredEvent[], from: number, to: number): void {
  t.same(events.map((e) => e.seq), Array.from({ length: to - from + 1 }, (_, i) => from + i), `seqs ${from}..${to}, each once, in order`);
  t.ok(events.every((e) => isJobSubmitted(e.event, e.seq)), 'every event is the one appended at its seq');
}

t.test('compaction moves covered segments into history/; recovery still starts after the snapshot', async (t) => {
  const dir = t.testdir();
  const opened = await openRecovered(dir, SMALL);
  await appendEach(opened, 1, 200);
  const before = segmentFiles(dir);
  await snapshotAndCompact(opened, 150);
  const after = segmentFiles(dir);
  const archived = historyFiles(dir);
  t.ok(archived.length > 0, `${archived.length} segments archived`);
  t.same([...archived, ...after].sort(), before, 'each segment is in exactly one place: archived or live');
  t.ok(Number(after[0]?.slice(8, 28)) <= 151, 'the first live segment holds seq 151');
  await opened.store.close();

  const again = await openRecovered(dir, SMALL);
  t.equal(again.recovered.snapshot?.seq, 150);
  t.same(again.recovered.events.map((e) => e.seq), Array.from({ length: 50 }, (_, i) => 151 + i), 'recovery reads no archived segment');
  await again.store.close();
});

t.test('the reader yields every event once, in order, across the archive and the live segments', async (t) => {
  const dir = t.testdir();
  const opened = await openRecovered(dir, SMALL);
  await appendEach(opened, 1, 120);
  await snapshotAndCompact(opened, 100);
  await appendEach(opened, 121, 260);
  await snapshotAndCompact(opened, 250);
  await appendEach(opened, 261, 300);
  t.ok(historyFiles(dir).length >= 2, 'two compactions archived segments');
  const { firstSeq, events } = await readAll(dir);
  t.equal(firstSeq, 1);
  checkConsecutive(t, events, 1, 300);
  await opened.store.close();
});

t.test('a torn tail of the live segment is left out and left alone; damage mid-archive is corruption', async (t) => {
  const dir = t.testdir();
  const opened = await openRecovered(dir, SMALL);
  await appendEach(opened, 1, 100);
  await snapshotAndCompact(opened, 90);
  await opened.store.close();
  const last = join(dir, segmentFiles(dir).at(-1) as string);
  appendFileSync(last, Buffer.from([7, 0, 0, 0, 1, 2, 3])); // a record header cut short
  const size = statSync(last).size;
  const { logger, lines } = captureLogger();
  const history = await readHistory(dir, { logger });
  const events: StoredEvent[] = [];
  for await (const e of history.events()) events.push(e);
  checkConsecutive(t, events, 1, 100);
  t.equal(statSync(last).size, size, 'nothing truncated');
  t.match(lines.find((l) => /leaving out 7 bytes/.test(l.msg))?.msg, /nothing is truncated/);

  const archived = join(dir, 'history', historyFiles(dir)[0] as string);
  const bytes = readFileSync(archived);
  bytes[30] = (bytes[30] as number) ^ 0xff;
  writeFileSync(archived, bytes);
  await t.rejects(readAll(dir), { code: 'MUSTER_ERR_STORE_CORRUPT', message: /not the last|followed by an intact record/ });
});

t.test('retention drops the oldest archived segments first; the reader names the first seq kept', async (t) => {
  const dir = t.testdir();
  const bound = 3 * 4096;
  const opened = await openRecovered(dir, { ...SMALL, historyBytes: bound });
  await appendEach(opened, 1, 150);
  await snapshotAndCompact(opened, 140);
  const firstArchive = historyFiles(dir);
  await appendEach(opened, 151, 400);
  await snapshotAndCompact(opened, 390);
  const kept = historyFiles(dir);
  const bytes = kept.reduce((sum, f) => sum + statSync(join(dir, 'history', f)).size, 0);
  t.ok(bytes <= bound, `the archive holds ${bytes} bytes, within ${bound}`);
  t.ok(kept.length > 0, 'the newest archived segments are kept');
  t.notOk(kept.includes(firstArchive[0] as string), 'the oldest archived segment went first');
  t.same(kept, [...kept].sort(), 'what is kept is the newest run');
  const { firstSeq, events } = await readAll(dir);
  t.equal(firstSeq, Number(kept[0]?.slice(8, 28)), 'firstSeq is the first seq of the oldest segment kept');
  t.ok(firstSeq > 1);
  checkConsecutive(t, events, firstSeq, 400);
  await opened.store.close();
});

t.test('historyBytes 0 deletes covered segments, as compaction did before the archive', async (t) => {
  const dir = t.testdir();
  const opened = await openRecovered(dir, { ...SMALL, historyBytes: 0 });
  await appendEach(opened, 1, 200);
  await snapshotAndCompact(opened, 150);
  t.notOk(existsSync(join(dir, 'history')), 'no archive');
  const { firstSeq, events } = await readAll(dir);
  t.ok(firstSeq > 1 && firstSeq <= 151, `the history starts at seq ${firstSeq}`);
  checkConsecutive(t, events, firstSeq, 200);
  await opened.store.close();
  await t.rejects(openEmbeddedStore({ dir, historyBytes: -1, logger: silent }), { code: 'MUSTER_ERR_INVALID_VALUE', message: /historyBytes/ });
});

t.test('the reader needs no lock and writes nothing: it reads a folder this process has open', async (t) => {
  const dir = t.testdir();
  const opened = await openRecovered(dir, SMALL);
  await appendEach(opened, 1, 150);
  await snapshotAndCompact(opened, 120);
  const before = fingerprint(dir);
  const { events } = await readAll(dir);
  checkConsecutive(t, events, 1, 150);
  t.equal(fingerprint(dir), before, 'no file created, changed or removed');
  await appendEach(opened, 151, 160);
  checkConsecutive(t, (await readAll(dir)).events, 1, 160);
  await opened.store.close();
});

t.test('the reader reads a folder another process is writing and compacting, again and again', async (t) => {
  const dir = t.testdir();
  // The writer: appends in small batches, snapshots and compacts every 100 events, says "ready" once it has
  // compacted twice, and stops when its stdin closes.
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', `
    const { openEmbeddedStore } = await import(${JSON.stringify(new URL('../../src/store/index.js', import.meta.url).href)});
    const { jobSubmitted } = await import(${JSON.stringify(new URL('./fixtures/events.js', import.meta.url).href)});
    const store = await openEmbeddedStore({ dir: ${JSON.stringify(dir)}, segmentBytes: 4096 });
    const { epoch } = await store.recover();
    let stop = false;
    process.stdin.resume();
    process.stdin.on('end', () => { stop = true; });
    let seq = 0;
    while (!stop) {
      await store.append(epoch, [1, 2, 3].map(() => jobSubmitted(++seq)));
      if (seq % 99 === 0) { await store.writeSnapshot(seq, Buffer.from('s')); await store.compact(); }
      if (seq === 300) process.stdout.write('ready\\n');
      if (seq % 30 === 0) await new Promise((r) => setImmediate(r));
    }
    await store.close();
    process.exit(0);
  `], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, MUSTER_LOG_LEVEL: 'warn' } });
  await once(child.stdout, 'data');
  await t.rejects(openEmbeddedStore({ dir, logger: silent }), { code: 'MUSTER_ERR_STORE_LOCKED' }, 'the writer holds the lock');
  let previous = 0;
  for (let round = 0; round < 5; round++) {
    const { firstSeq, events } = await readAll(dir);
    t.equal(firstSeq, 1, `round ${round}: from seq 1`);
    const last = events.at(-1)?.seq ?? 0;
    t.ok(last >= previous, `round ${round}: ${last} events, no fewer than before`);
    t.ok(events.every((e, i) => e.seq === i + 1 && isJobSubmitted(e.event, e.seq)), `round ${round}: every event once, in order, as appended`);
    previous = last;
  }
  child.stdin.end();
  await once(child, 'exit');
  t.ok(historyFiles(dir).length > 0, 'the writer archived segments while the reader read');
});
