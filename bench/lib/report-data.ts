/**
 * What the report page (bench/report/index.html) plots, computed from the result files and the history:
 * pure, so a test can check the numbers without a browser. report-page.ts draws it.
 */
import type { HistoryLine } from './history.js';
import type { BenchResult } from './report.js';

/** A chart with a shared x axis: `series[i].values[j]` is at `x[j]` (null: no point there). */
export interface Chart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** x is a time in seconds since 1970 (history) rather than a number. */
  readonly time?: boolean;
  readonly logX?: boolean;
  readonly logY?: boolean;
  readonly x: readonly number[];
  readonly series: ReadonlyArray<{ readonly label: string; readonly values: ReadonlyArray<number | null> }>;
  /** One line per x, shown under the chart (the commits of history points). */
  readonly xNotes?: readonly string[];
}

export interface EnvRow {
  readonly benchmark: string;
  readonly date: string;
  readonly commit: string;
  readonly dirty: string;
  readonly quick: boolean;
  readonly seeded: boolean;
  readonly env: Record<string, unknown>;
}

export interface ReportData {
  readonly generated: string;
  readonly throughput: readonly Chart[];
  readonly latency: readonly Chart[];
  readonly history: readonly Chart[];
  readonly runs: readonly EnvRow[];
  /** Each current result's environment and configuration, by benchmark. */
  readonly current: ReadonlyArray<{ readonly name: string; readonly env: Record<string, unknown>; readonly config: Record<string, unknown> }>;
}

const SIZE = /^(\d+(?:\.\d+)?)([km]?)$/;
const SUFFIX: Record<string, number> = { '': 1, k: 1_000, m: 1_000_000 };
const TIME_UNITS = new Set(['ns', 'µs', 'us', 'ms', 's']);

/**
 * The size in a case id and its family: the last dash-separated part that is a number (`1000`, `10k`, `1m`)
 * becomes `*` (`accept-batch-1000` → `accept-batch-*`, 1000; `native-10k-mixed` → `native-*-mixed`, 10,000).
 */
export function sizeOf(id: string): { family: string; size: number } | undefined {
  const parts = id.split('-');
  for (let i = parts.length - 1; i >= 0; i--) {
    const m = SIZE.exec(parts[i]!);
    if (!m) continue;
    return { family: [...parts.slice(0, i), '*', ...parts.slice(i + 1)].join('-'), size: Number(m[1]) * SUFFIX[m[2]!]! };
  }
  return undefined;
}

/** Throughput (any value) against size: one chart per benchmark and unit, a series per family of two or more sizes. */
function throughputCharts(results: readonly BenchResult[]): Chart[] {
  const charts: Chart[] = [];
  for (const result of results) {
    const byUnit = new Map<string, Map<string, Map<number, number>>>();
    for (const c of result.cases) {
      const sized = sizeOf(c.id);
      if (!sized) continue;
      const families = byUnit.get(c.unit) ?? new Map<string, Map<number, number>>();
      byUnit.set(c.unit, families);
      const points = families.get(sized.family) ?? new Map<number, number>();
      families.set(sized.family, points);
      points.set(sized.size, c.value);
    }
    for (const [unit, families] of byUnit) {
      const kept = [...families].filter(([, points]) => points.size >= 2);
      if (kept.length === 0) continue;
      const x = [...new Set(kept.flatMap(([, points]) => [...points.keys()]))].sort((a, b) => a - b);
      const series = kept.map(([family, points]) => ({ label: family, values: x.map((s) => points.get(s) ?? null) }));
      const values = series.flatMap((s) => s.values).filter((v): v is number => v !== null && v > 0);
      charts.push({
        title: `${result.name}: ${unit} against size`,
        xLabel: 'size (from the case id)',
        yLabel: unit,
        logX: true,
        logY: values.length > 0 && Math.max(...values) / Math.min(...values) > 100,
        x,
        series,
      });
    }
  }
  return charts;
}

/** The samples of every case in a time unit with two or more samples, sorted: one chart per case (x: rank ÷ n). */
function latencyCharts(results: readonly BenchResult[]): Chart[] {
  const charts: Chart[] = [];
  for (const result of results) {
    for (const c of result.cases) {
      if (!TIME_UNITS.has(c.unit) || c.samples.length < 2) continue;
      const sorted = [...c.samples].sort((a, b) => a - b);
      charts.push({
        title: `${result.name} ${c.id}: ${sorted.length} samples`,
        xLabel: 'fraction of samples at or below',
        yLabel: c.unit,
        x: sorted.map((_, i) => (i + 1) / sorted.length),
        series: [{ label: c.id, values: sorted }],
      });
    }
  }
  return charts;
}

/** Each case's value across full (not --quick) runs: one chart per benchmark and unit, x the run's date. */
function historyCharts(history: readonly HistoryLine[]): Chart[] {
  const charts: Chart[] = [];
  const full = history.filter((h) => !h.quick);
  for (const name of [...new Set(full.map((h) => h.name))].sort()) {
    const runs = full.filter((h) => h.name === name).sort((a, b) => Date.parse(a.date) - Date.parse(b.date));
    const units = [...new Set(runs.flatMap((r) => r.cases.map((c) => c.unit)))];
    for (const unit of units) {
      const ids = [...new Set(runs.flatMap((r) => r.cases.filter((c) => c.unit === unit).map((c) => c.id)))];
      const series = ids.map((id) => ({ label: id, values: runs.map((r) => r.cases.find((c) => c.id === id && c.unit === unit)?.value ?? null) }));
      const values = series.flatMap((s) => s.values).filter((v): v is number => v !== null && v > 0);
      charts.push({
        title: `${name}: ${unit} across runs`,
        xLabel: 'date of the run',
        yLabel: unit,
        time: true,
        logY: values.length > 0 && Math.max(...values) / Math.min(...values) > 100,
        x: runs.map((r) => Date.parse(r.date) / 1000),
        series,
        xNotes: runs.map((r) => `${r.date.slice(0, 16).replace('T', ' ')} ${r.commit}${r.dirty === true ? ' dirty' : ''}${r.seeded ? ' (seeded)' : ''}`),
      });
    }
  }
  return charts;
}

export function reportData(results: readonly BenchResult[], history: readonly HistoryLine[], generated: string): ReportData {
  const sorted = [...results].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    generated,
    throughput: throughputCharts(sorted),
    latency: latencyCharts(sorted),
    history: historyCharts(history),
    runs: [...history]
      .sort((a, b) => Date.parse(b.date) - Date.parse(a.date))
      .map((h) => ({ benchmark: h.name, date: h.date, commit: h.commit, dirty: String(h.dirty), quick: h.quick === true, seeded: h.seeded === true, env: h.env })),
    current: sorted.map((r) => ({ name: r.name, env: r.env, config: r.config })),
  };
}
