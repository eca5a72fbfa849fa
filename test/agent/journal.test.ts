// The attempt journal (src/agent/executor/journal.ts): one file per attempt, written whole (write + rename),
// writes to one attempt serialised so the newest wins and a removal is never overtaken; load() returns every
// entry and skips what a crash left half-written.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { AttemptJournal } from '../../src/agent/executor/journal.js';
import type { JournalEntry } from '../../src/agent/executor/journal.js';
import { createLogger } from '../../src/log/index.js';

const quiet = createLogger({ name: 'journal-test', level: 'silent' });

async function journal(t: { teardown(fn: () => unknown): void }): Promise<AttemptJournal> {
  const work = await mkdtemp(join(tmpdir(), 'muster-journal-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  return new AttemptJournal(work, quiet);
}

const entry = (attempt: number, extra: Partial<JournalEntry> = {}): JournalEntry => ({ job: 'j.1:x', task: 2, attempt, epoch: 3, node: 'n1', command: 'true', ...extra });

t.test('entries round-trip; the newest version of an attempt wins; a removal is never overtaken', async (t) => {
  const j = await journal(t);
  void j.put(entry(1));
  void j.put(entry(1, { pgid: 42 }));
  await j.put(entry(1, { pgid: 42, end: { outcome: 'failed', exitCode: 3 } }));
  void j.put(entry(2, { shim: { pid: 7, startTime: '123' } }));
  void j.put(entry(3));
  void j.remove(entry(3));
  await j.settled();
  const loaded = (await j.load()).sort((a, b) => a.attempt - b.attempt);
  t.same(loaded, [entry(1, { pgid: 42, end: { outcome: 'failed', exitCode: 3 } }), entry(2, { shim: { pid: 7, startTime: '123' } })]);
  t.same((await readdir(j.dir)).sort(), ['j.1:x#2#1.json', 'j.1:x#2#2.json'], 'one file per attempt, named unambiguously');
  await j.remove(entry(1));
  await j.remove(entry(1));
  t.same((await j.load()).map((e) => e.attempt), [2], 'removing twice is harmless');
});

t.test('load skips a write cut short and an unreadable entry', async (t) => {
  const j = await journal(t);
  await j.put(entry(1));
  await writeFile(join(j.dir, 'j.1:x#2#9.json.tmp'), '{"job":');
  await writeFile(join(j.dir, 'broken#0#0.json'), 'not json');
  t.same((await j.load()).map((e) => e.attempt), [1]);
  t.notOk((await readdir(j.dir)).some((n) => n.endsWith('.tmp')), 'the half-written file is removed');
});

t.test('a journal with no folder yet loads as empty', async (t) => {
  const j = await journal(t);
  t.same(await j.load(), []);
});
