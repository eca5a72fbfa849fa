import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CaseInput } from './benchmark.js';
import { formatNumber } from './format.js';
import { median, spread } from './stats.js';

export interface CaseResult {
  readonly id: string;
  readonly value: number;
  readonly unit: string;
  readonly samples: readonly number[];
  readonly spread: number;
  readonly baseline?: string;
  readonly ratio?: number;
}

export interface BenchResult {
  readonly name: string;
  /** The benchmark's `measures` when it ran (results from before the field lack it). */
  readonly measures?: readonly string[];
  readonly env: Record<string, unknown>;
  readonly config: Record<string, unknown>;
  readonly cases: readonly CaseResult[];
}

export function summarize(cases: readonly CaseInput[]): CaseResult[] {
  const out: CaseResult[] = [];
  for (const c of cases) {
    const value = median(c.samples);
    const base = c.baseline === undefined ? undefined : out.find((o) => o.id === c.baseline);
    if (c.baseline !== undefined && base === undefined) throw new Error(`case ${c.id}: baseline ${c.baseline} was not recorded before it`);
    out.push({
      id: c.id,
      value,
      unit: c.unit,
      samples: c.samples,
      spread: spread(c.samples),
      ...(base ? { baseline: base.id, ratio: base.value === 0 ? Infinity : value / base.value } : {}),
    });
  }
  return out;
}


export function table(result: BenchResult): string {
  const rows = [['case', 'value', 'unit', 'spread', 'samples', 'vs baseline']];
  for (const c of result.cases) {
    rows.push([
      c.id,
      formatNumber(c.value),
      c.unit,
      `±${(c.spread * 50).toFixed(1)}%`,
      String(c.samples.length),
      c.baseline ? `${formatNumber(c.ratio ?? 0)}× ${c.baseline}` : '',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => `| ${r.map((cell, i) => (i === 1 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

export function writeResult(path: string, result: BenchResult): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
}
