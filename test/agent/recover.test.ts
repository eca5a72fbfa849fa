// Recovery (src/agent/executor/recovery.ts): what a restarted executor makes of each journal entry its
// predecessor left. An end not yet acknowledged is reported; one nobody wants (a reconciliation kill) is
// forgotten; a shim that is not the one recorded (same pid, another start time) or is gone with no status
// means lost, saying the end cannot be known; a shim spawned but never recorded is found on /proc by its
// attempt folder and adopted. Real executors, real shims and tasks.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { Executor } from '../../src/agent/index.js';
import type { JournalEntry } from '../../src/agent/executor/journal.js';
import { createLogger } from '../../src/log/index.js';
import { launch, makeExecutor, run, tempFolder, until } from './executor-fixtures.js';

const quiet = createLogger({ name: 'recover-test', level: 'silent' });

async function writeEntry(workDir: string, entry: JournalEntry): Promise<void> {
  await mkdir(join(workDir, 'journal'), { recursive: true });
  await writeFile(join(workDir, 'journal', `${entry.job}#${entry.task}#${entry.attempt}.json`), JSON.stringify(entry));
}

const base = (attempt: number, extra: Partial<JournalEntry> = {}): JournalEntry => ({ job: 'j-r', task: 0, attempt, epoch: 4, node: 'n1', command: 'true', ...extra });

t.test('journal entries a previous agent left: ends reported, silent ones forgotten, an unknowable end is lost', async (t) => {
  const workDir = await tempFolder(t);
  await writeEntry(workDir, base(1, { end: { outcome: 'failed', exitCode: 2, reason: 'exit code 2' } }));
  await writeEntry(workDir, base(2, { stop: { outcome: 'killed', reason: 'replaced', silent: true }, end: { outcome: 'killed', reason: 'replaced' } }));
  // A shim identity whose pid is this process, with another start time: pid reuse, not the shim.
  await writeEntry(workDir, base(3, { shim: { pid: process.pid, startTime: '1' }, pgid: 999_999 }));
  const ex = new Executor({ workDir, log: quiet });
  t.teardown(() => ex.shutdown(0));
  const ends = (await ex.recover()).sort((a, b) => a.attempt - b.attempt);
  t.same(ends[0], { job: 'j-r', task: 0, attempt: 1, outcome: 'failed', exitCode: 2, reason: 'exit code 2' }, 'a recorded end is reported');
  t.match(ends[1], { attempt: 3, outcome: 'lost', reason: /cannot be known/ }, 'a pid now someone else\'s is no shim of ours: lost');
  t.equal(ends.length, 2, 'the silent end is reported to nobody');
  t.same(ex.running(), []);
  t.equal(ex.epoch, 4, 'the epochs seen are remembered');
  await ex.shutdown(0);
  t.same((await readdir(join(workDir, 'journal'))).sort(), ['j-r#0#1.json', 'j-r#0#3.json'], 'the silent one is gone; the others wait for their acknowledgement');
  t.match(JSON.parse(await readFile(join(workDir, 'journal', 'j-r#0#3.json'), 'utf8')), { end: { outcome: 'lost' } }, 'the end found is journaled');
});

t.test('a shim spawned but never recorded in the journal is found by its attempt folder and adopted', async (t) => {
  const first = await makeExecutor(t);
  const marker = join(first.workDir, 'go');
  const r = run(first, launch('sh', { job: 'j-a', args: ['-c', `while [ ! -e ${marker} ]; do sleep 0.02; done; exit 6`] }));
  await r.started;
  const file = join(first.workDir, 'journal', `j-a#${r.ref.task}#0.json`);
  await until('the journal to record the task', async () => (JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as JournalEntry).pgid !== undefined);
  const { shim: _shim, ...unrecorded } = JSON.parse(await readFile(file, 'utf8')) as JournalEntry;
  await writeFile(file, JSON.stringify(unrecorded));

  const second = new Executor({ workDir: first.workDir, log: quiet });
  t.teardown(() => second.shutdown(0));
  t.same(await second.recover(), [], 'nothing ended');
  t.match(second.running(), [{ job: 'j-a', task: r.ref.task, attempt: 0 }], 'adopted');
  const ended = new Promise((resolve) => second.once('ended', resolve));
  await writeFile(marker, '');
  t.match(await ended, { job: 'j-a', outcome: 'failed', exitCode: 6 }, 'its end is found by the executor that adopted it');
});
