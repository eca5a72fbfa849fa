// The report page (npm run bench -- report) from fixture results and history: what it plots, and that the
// page carries its data and its chart library inline.
import t from 'tap';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import type { HistoryLine } from '../../bench/lib/history.js';
import { historyLine } from '../../bench/lib/history.js';
import type { BenchResult, CaseResult } from '../../bench/lib/report.js';
import { reportData, sizeOf } from '../../bench/lib/report-data.js';
import { reportAssets, reportPage } from '../../bench/lib/report-page.js';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

function aCase(id: string, value: number, unit = 'jobs/s', samples: number[] = [value]): CaseResult {
  return { id, value, unit, samples, spread: 0 };
}

function aResult(name: string, cases: CaseResult[], env: Record<string, unknown> = {}, quick = false): BenchResult {
  return { name, env: { commit: 'abc1234', dirty: false, date: '2026-12-07T10:00:00.000Z', cpu: 'Test CPU', placementBackend: 'wasm', loadAverageAtStart: '0.10 0.20 0.30', ...env }, config: { quick }, cases };
}

const GATEWAY = aResult('gateway', [
  aCase('accept-batch-1', 20_000),
  aCase('accept-batch-100', 60_000),
  aCase('accept-batch-1000', 110_000),
  aCase('e2e-run-1000', 55_000),
  aCase('ack-p50', 4, 'ms', [5, 3, 4]),
  aCase('ack-p99', 9, 'ms', [12, 8, 9]),
]);
const PLACEMENT = aResult('placement', [aCase('native-1k-mixed', 1e6, 'placements/s'), aCase('native-10k-mixed', 9e5, 'placements/s'), aCase('wasm-10k-mixed', 8e5, 'placements/s')]);

t.test('sizes in case ids', async (t) => {
  t.same(sizeOf('accept-batch-1000'), { family: 'accept-batch-*', size: 1000 });
  t.same(sizeOf('native-10k-mixed'), { family: 'native-*-mixed', size: 10_000 });
  t.same(sizeOf('recovery-1m-distinct'), { family: 'recovery-*-distinct', size: 1_000_000 });
  t.equal(sizeOf('ack-p99'), undefined);
  t.equal(sizeOf('cross-thread'), undefined);
});

t.test('what the report plots', async (t) => {
  const history: HistoryLine[] = [
    historyLine(aResult('gateway', [aCase('accept-batch-1000', 90_000)], { commit: 'old0001', date: '2026-12-01T10:00:00.000Z' }), { seeded: true }),
    historyLine(GATEWAY),
    historyLine(aResult('gateway', [aCase('accept-batch-1000', 1)], { commit: 'quick01', date: '2026-12-08T10:00:00.000Z' }, true)),
  ];
  const data = reportData([PLACEMENT, GATEWAY], history, 'now');

  t.same(
    data.throughput.map((c) => ({ title: c.title, x: c.x, series: c.series })),
    [
      { title: 'gateway: jobs/s against size', x: [1, 100, 1000], series: [{ label: 'accept-batch-*', values: [20_000, 60_000, 110_000] }] },
      { title: 'placement: placements/s against size', x: [1000, 10_000], series: [{ label: 'native-*-mixed', values: [1e6, 9e5] }] },
    ],
    'a family of two or more sizes per series; e2e-run-1000 and wasm-10k-mixed (one size) are not a curve',
  );
  t.same(
    data.latency.map((c) => ({ title: c.title, x: c.x, values: c.series[0]!.values })),
    [
      { title: 'gateway ack-p50: 3 samples', x: [1 / 3, 2 / 3, 1], values: [3, 4, 5] },
      { title: 'gateway ack-p99: 3 samples', x: [1 / 3, 2 / 3, 1], values: [8, 9, 12] },
    ],
    'the sorted samples of each case in a time unit',
  );
  const jobs = data.history.find((c) => c.title === 'gateway: jobs/s across runs')!;
  t.ok(jobs, 'a history chart per benchmark and unit');
  t.same(jobs.x, [Date.parse('2026-12-01T10:00:00.000Z') / 1000, Date.parse('2026-12-07T10:00:00.000Z') / 1000], 'full runs by date, the quick one left out');
  t.same(jobs.series.find((s) => s.label === 'accept-batch-1000')!.values, [90_000, 110_000]);
  t.same(jobs.series.find((s) => s.label === 'accept-batch-1')!.values, [null, 20_000], 'a case missing from a run is a gap');
  t.match(jobs.xNotes!, ['2026-12-01 10:00 old0001 (seeded)', '2026-12-07 10:00 abc1234']);
  t.same(
    data.runs.map((r) => [r.commit, r.quick, r.seeded]),
    [
      ['quick01', true, false],
      ['abc1234', false, false],
      ['old0001', false, true],
    ],
    'every run in the environment table, newest first',
  );
});

t.test('the page carries uPlot, the data and the environment, and its scripts parse', async (t) => {
  const data = reportData([GATEWAY], [historyLine(GATEWAY)], '2026-12-07T12:00:00.000Z');
  const page = reportPage(data, reportAssets(ROOT));
  t.notMatch(page, /<script[^>]+src=/, 'no script loaded from elsewhere');
  t.notMatch(page, /<link /, 'no stylesheet loaded from elsewhere');
  const scripts = [...page.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  t.equal(scripts.length, 2, 'uPlot, then the page\'s own');
  t.match(scripts[0]!, 'uPlot', 'uPlot is inlined');
  for (const [i, s] of scripts.entries()) t.doesNotThrow(() => new Script(s), `script ${i} parses`);
  const embedded = JSON.parse(/const DATA = (.*);\n/.exec(scripts[1]!)![1]!) as typeof data;
  t.same(embedded, JSON.parse(JSON.stringify(data)), 'the data is embedded whole');
  t.match(page, '<td>abc1234</td>', 'the run\'s commit');
  t.match(page, '<td>Test CPU</td>', 'its machine');
  t.match(page, '<td>wasm</td>', 'its placement backend');
  t.match(page, '<td>0.10 0.20 0.30</td>', 'its load average');
});

t.test('a case id that would close the script element stays inside it', async (t) => {
  const nasty = aResult('x', [aCase('a</script><b>-1', 1, 'ms', [1, 2]), aCase('a</script><b>-2', 2, 'ms', [1, 2])]);
  const page = reportPage(reportData([nasty], [], 'now'), reportAssets(ROOT));
  t.equal(page.split('</script>').length - 1, 2, 'only the two script elements close');
});
