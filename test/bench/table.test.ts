// The README's benchmark table: a pure function of results, catalog and git facts; and the README's table is
// the one it makes from the committed results (so a hand edit fails here).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Catalog } from '../../bench/lib/catalog-types.js';
import { formatNumber } from '../../bench/lib/format.js';
import { readmeTable } from '../../bench/lib/readme-table.js';
import type { BenchResult, CaseResult } from '../../bench/lib/report.js';
import { benchTable, replaceTable, TABLE_BEGIN, TABLE_END } from '../../bench/lib/table.js';
import { judge, targetText } from '../../bench/lib/target.js';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

function aCase(id: string, value: number, more: Partial<CaseResult> = {}): CaseResult {
  return { id, value, unit: 'jobs/s', samples: [value], spread: 0, ...more };
}

function aResult(name: string, cases: CaseResult[], env: Record<string, unknown> = {}): BenchResult {
  return { name, env: { commit: 'abc1234', dirty: false, ...env }, config: {}, cases };
}

/** The table's rows (not the header, separator or legend), as arrays of cells. */
function rows(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| benchmark |'))
    .map((l) => l.slice(2, -2).split(' | '));
}

const CATALOG: Catalog = {
  gateway: {
    'accept-batch-1000': { description: 'accepted jobs/s', target: { atLeast: 100_000 } },
    'ack-p99': { description: 'p99 ack', target: { atMost: 10, unit: 'ms' } },
  },
  store: {
    'group-commit': { description: 'group commit', target: { atLeast: 200_000, ratio: { atLeast: 50 } } },
  },
};

t.test('targets: bounds on the value and on the ratio, judged from the value', async (t) => {
  const run = [aCase('native', 1_000_000), aCase('wasm', 700_000), aCase('fast', 300, { baseline: 'slow', ratio: 6 })];
  const cases: Array<[string, Parameters<typeof judge>[0], CaseResult, boolean | undefined, string]> = [
    ['at least, met', { atLeast: 100_000 }, aCase('x', 100_000), true, '≥ 100,000'],
    ['at least, missed', { atLeast: 100_000 }, aCase('x', 99_999), false, '≥ 100,000'],
    ['at most with a unit, met', { atMost: 10, unit: 'ms' }, aCase('x', 9.9, { unit: 'ms' }), true, '≤ 10 ms'],
    ['at most with a unit, missed', { atMost: 10, unit: 'ms' }, aCase('x', 10.1, { unit: 'ms' }), false, '≤ 10 ms'],
    ['another unit is not judged', { atMost: 10, unit: 'ms' }, aCase('x', 1, { unit: 's' }), undefined, '≤ 10 ms'],
    ['equals', { equals: 0 }, aCase('x', 0), true, '= 0'],
    ['equals, missed', { equals: 0 }, aCase('x', 1), false, '= 0'],
    ['ratio to another case', { ratio: { atLeast: 0.6, of: 'native' } }, run[1]!, true, '≥ 0.6× native'],
    ['ratio to another case, missed', { ratio: { atLeast: 0.8, of: 'native' } }, run[1]!, false, '≥ 0.8× native'],
    ['ratio to a missing case', { ratio: { atLeast: 0.6, of: 'nowhere' } }, run[1]!, undefined, '≥ 0.6× nowhere'],
    ['ratio to the baseline and a value', { atLeast: 200, ratio: { atLeast: 5 } }, run[2]!, true, '≥ 200 and ≥ 5× slow'],
    ['both must hold', { atLeast: 400, ratio: { atLeast: 5 } }, run[2]!, false, '≥ 400 and ≥ 5× slow'],
    ['ratio without a baseline', { ratio: { atLeast: 5 } }, aCase('x', 1), undefined, '≥ 5× baseline'],
    ['a note', { atMost: 50, unit: 'ms', note: 'median' }, aCase('x', 36, { unit: 'ms' }), true, '≤ 50 ms (median)'],
  ];
  for (const [name, target, c, met, text] of cases) {
    const verdict = judge(target, c, run);
    t.equal(verdict.met, met, `${name}: verdict`);
    t.equal(verdict.text, text, `${name}: text`);
    t.equal(targetText(target, c.baseline), text, `${name}: targetText`);
  }
});

t.test('rows: value with unit, spread, ratio to the baseline, target mark, commit', async (t) => {
  const results = [
    aResult('gateway', [
      aCase('accept-batch-1', 20_000.4, { samples: [19_000, 20_000.4, 21_000], spread: 0.1 }),
      aCase('accept-batch-1000', 120_000, { baseline: 'accept-batch-1', ratio: 6 }),
      aCase('ack-p99', 12.34, { unit: 'ms' }),
    ]),
  ];
  const [first, second, third] = rows(benchTable(results, CATALOG, { stale: { gateway: false } }));
  t.same(first, ['gateway', 'accept-batch-1', '20,000 jobs/s', '±5%', '', '', '`abc1234`'], 'a case the catalog does not hold: id only, no target');
  t.same(second, ['gateway', 'accept-batch-1000 — accepted jobs/s', '120,000 jobs/s', '', '6.00× accept-batch-1', '≥ 100,000 ✔', '`abc1234`']);
  t.same(third, ['gateway', 'ack-p99 — p99 ack', '12.3 ms', '', '', '≤ 10 ms ✘', '`abc1234`']);
});

t.test('measured at: stale when the measured code changed after, dirty when the tree was, quick, unknown commit', async (t) => {
  const results = [
    aResult('gateway', [aCase('accept-batch-1000', 1)]),
    aResult('store', [aCase('group-commit', 1)], { commit: 'def5678', dirty: true }),
    aResult('old', [aCase('x', 1)], { commit: '0123abc', dirty: undefined, uncommittedSources: [' M src/a.ts'] }),
    aResult('older', [aCase('y', 1)], { commit: '9999999', dirty: undefined, uncommittedSources: [] }),
    { ...aResult('smoke', [aCase('z', 1)]), config: { quick: true } },
  ];
  const at = rows(benchTable(results, CATALOG, { stale: { gateway: true, store: false, old: undefined, older: false, smoke: true } })).map((r) => r[6]);
  t.same(at, ['`abc1234` **stale**', '`def5678` **dirty**', '`0123abc` commit unknown here **dirty**', '`9999999`', '`abc1234` **stale** **quick**']);
});

t.test('order: the catalog\'s benchmarks in its order, then the others by name; cases as recorded', async (t) => {
  const results = [
    aResult('zeta', [aCase('z', 1)]),
    aResult('store', [aCase('group-commit', 1), aCase('fsync', 1)]),
    aResult('alpha', [aCase('a', 1)]),
    aResult('gateway', [aCase('ack-p99', 1, { unit: 'ms' }), aCase('accept-batch-1000', 1)]),
  ];
  const order = rows(benchTable(results, CATALOG, { stale: {} })).map((r) => `${r[0]}/${r[1]!.split(' ')[0]}`);
  t.same(order, ['gateway/ack-p99', 'gateway/accept-batch-1000', 'store/group-commit', 'store/fsync', 'alpha/a', 'zeta/z']);
});

t.test('number formatting', async (t) => {
  const cases: Array<[number, string]> = [
    [16_151_448.25, '16,151,448'],
    [1000, '1,000'],
    [999.94, '999.9'],
    [151.058, '151.1'],
    [6.942, '6.94'],
    [0.957, '0.957'],
    [0.0028, '0.00280'],
    [0, '0'],
    [Infinity, 'Infinity'],
  ];
  for (const [n, text] of cases) t.equal(formatNumber(n), text, String(n));
  const table = benchTable([aResult('store', [aCase('group-commit', 157_007.06, { baseline: 'fsync', ratio: 147.6 })])], CATALOG, { stale: {} });
  t.match(table, '| 157,007 jobs/s |  | 147.6× fsync | ≥ 200,000 and ≥ 50× fsync ✘ |');
});

t.test('a pipe in a description does not break the row', async (t) => {
  const table = benchTable([aResult('x', [aCase('a', 1)])], { x: { a: { description: 'one | two' } } }, { stale: {} });
  t.match(table, 'a — one \\| two');
});

t.test('replaceTable swaps what lies between the markers, and refuses a README without them', async (t) => {
  const text = `# readme\n\n${TABLE_BEGIN}\nold\n${TABLE_END}\n\nafter\n`;
  t.equal(replaceTable(text, 'new'), `# readme\n\n${TABLE_BEGIN}\nnew\n${TABLE_END}\n\nafter\n`);
  t.throws(() => replaceTable('# no markers', 'new'));
  t.throws(() => replaceTable(`${TABLE_END}\n${TABLE_BEGIN}`, 'new'));
  t.throws(() => replaceTable(`${TABLE_BEGIN}${TABLE_BEGIN}${TABLE_END}`, 'new'));
});

// A shallow clone does not hold the commits the results were measured at, so it cannot tell stale results
// from fresh ones: the comparison needs the history and is skipped, saying why, without it.
const shallow = ((): boolean => {
  try {
    return execFileSync('git', ['rev-parse', '--is-shallow-repository'], { cwd: ROOT, encoding: 'utf8' }).trim() === 'true';
  } catch {
    return true;
  }
})();

t.test('the README\'s table is the one generated from the committed results (git asked in this repository)', { skip: shallow ? 'a shallow clone or no git checkout: the commits the results were measured at are not here' : false }, async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  t.equal(readme, replaceTable(readme, await readmeTable(ROOT)), 'README.md differs from `npm run bench:table`: run it (never edit the table by hand)');
});
