// bench/history.jsonl: the line a run appends, read back; and the committed history is well-formed.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { appendHistory, historyLine, readHistory } from '../../bench/lib/history.js';
import type { BenchResult } from '../../bench/lib/report.js';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

const RESULT: BenchResult = {
  name: 'gateway',
  measures: ['src'],
  env: { commit: 'abc1234', commitFull: 'abc1234'.padEnd(40, '0'), dirty: true, date: '2026-12-07T10:00:00.000Z', cpu: 'x' },
  config: { quick: true },
  cases: [{ id: 'accept-batch-1000', value: 100_000, unit: 'jobs/s', samples: [1, 2, 3], spread: 0.1, baseline: 'x', ratio: 2 }],
};

t.test('a run\'s line: what identifies it and each case\'s value, appended and read back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'muster-history-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'history.jsonl');
  t.same(readHistory(file), [], 'no file, no lines');
  const line = historyLine(RESULT);
  t.same(line, {
    name: 'gateway',
    commit: 'abc1234',
    dirty: true,
    date: '2026-12-07T10:00:00.000Z',
    quick: true,
    env: RESULT.env,
    cases: [{ id: 'accept-batch-1000', value: 100_000, unit: 'jobs/s' }],
  });
  appendHistory(file, line);
  appendHistory(file, historyLine({ ...RESULT, env: { date: 'd' }, config: {} }, { seeded: true }));
  const [first, second] = readHistory(file);
  t.same(first, line);
  t.same([second!.commit, second!.dirty, second!.quick, second!.seeded], ['unknown', 'unknown', false, true], 'what a result does not say is unknown');
  writeFileSync(file, '{"name":"x"}\nnot json\n');
  t.throws(() => readHistory(file), /history\.jsonl:2: not a JSON line/);
});

t.test('the committed history: a line per run with its cases', async (t) => {
  const lines = readHistory(join(ROOT, 'bench', 'history.jsonl'));
  t.ok(lines.length > 0);
  for (const [i, line] of lines.entries()) {
    t.ok(line.name && line.commit && line.date && Array.isArray(line.cases) && line.cases.length > 0, `line ${i + 1}: ${line.name} at ${line.commit}`);
    for (const c of line.cases) t.ok(typeof c.id === 'string' && Number.isFinite(c.value) && typeof c.unit === 'string', `line ${i + 1}: ${c.id}`);
  }
});
