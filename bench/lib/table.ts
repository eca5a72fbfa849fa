/**
 * The README's benchmark table, generated: a pure function of the result files, the catalog and what git
 * says about each result's commit, so the table can be tested and can never be typed by hand. The README
 * holds it between two marker comments; `replaceTable` swaps the block.
 */
import type { Catalog } from './catalog-types.js';
import { formatNumber, formatRatio, formatSpread } from './format.js';
import type { BenchResult, CaseResult } from './report.js';
import { judge } from './target.js';

export const TABLE_BEGIN = '<!-- bench-table:begin -->';
export const TABLE_END = '<!-- bench-table:end -->';

export interface TableFacts {
  /**
   * Result name → whether a commit after the one it was measured at touched a path it measures (true:
   * stale); undefined when git cannot tell (the commit is unknown here).
   */
  readonly stale: Readonly<Record<string, boolean | undefined>>;
}

const HEADER = ['benchmark', 'case', 'value', 'spread', 'vs baseline (same run)', 'target', 'measured at'];

const LEGEND =
  'value: median of the samples; spread: half their range around the median; target ✔/✘ computed from the value ' +
  '(bench/catalog.ts); measured at: the commit, _stale_ when a later commit changed the code the benchmark measures, ' +
  '_dirty_ when the tree held uncommitted changes, _quick_ for a smoke run (--quick).';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Whether the tree was dirty when `result` was measured: `dirty`, or (older results) `uncommittedSources`. */
export function wasDirty(result: BenchResult): boolean {
  const env = result.env;
  if (env['dirty'] === true) return true;
  const uncommitted = env['uncommittedSources'];
  return Array.isArray(uncommitted) && uncommitted.length > 0;
}

function measuredAt(result: BenchResult, stale: boolean | undefined): string {
  const marks = [`\`${String(result.env['commit'] ?? 'unknown')}\``];
  if (stale === true) marks.push('**stale**');
  if (stale === undefined) marks.push('commit unknown here');
  if (wasDirty(result)) marks.push('**dirty**');
  if (result.config['quick'] === true) marks.push('**quick**');
  return marks.join(' ');
}

function row(result: BenchResult, c: CaseResult, catalog: Catalog, stale: boolean | undefined): string[] {
  const entry = catalog[result.name]?.[c.id];
  const verdict = entry?.target ? judge(entry.target, c, result.cases) : undefined;
  const mark = verdict === undefined ? '' : verdict.met === true ? ' ✔' : verdict.met === false ? ' ✘' : ' ?';
  return [
    result.name,
    entry ? `${c.id} — ${entry.description}` : c.id,
    `${formatNumber(c.value)} ${c.unit}`,
    c.samples.length > 1 ? formatSpread(c.spread) : '',
    c.baseline !== undefined && c.ratio !== undefined ? `${formatRatio(c.ratio)} ${c.baseline}` : '',
    verdict ? `${verdict.text}${mark}` : '',
    measuredAt(result, stale),
  ].map(cell);
}

/** Results in table order: the catalog's benchmarks in its order, then the others by name. */
export function orderResults(results: readonly BenchResult[], catalog: Catalog): BenchResult[] {
  const rank = (name: string): number => {
    const i = Object.keys(catalog).indexOf(name);
    return i === -1 ? Number.MAX_SAFE_INTEGER : i;
  };
  return [...results].sort((a, b) => rank(a.name) - rank(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The markdown table (with its one-line legend) of `results`. */
export function benchTable(results: readonly BenchResult[], catalog: Catalog, facts: TableFacts): string {
  const lines = [`| ${HEADER.join(' | ')} |`, `|${HEADER.map(() => '---').join('|')}|`];
  for (const result of orderResults(results, catalog)) {
    for (const c of result.cases) lines.push(`| ${row(result, c, catalog, facts.stale[result.name]).join(' | ')} |`);
  }
  return `${LEGEND}\n\n${lines.join('\n')}`;
}

/** `text` with what lies between the markers replaced by `table`; throws when the markers are not there once each. */
export function replaceTable(text: string, table: string): string {
  const begin = text.indexOf(TABLE_BEGIN);
  const end = text.indexOf(TABLE_END);
  if (begin === -1 || end === -1 || end < begin || text.indexOf(TABLE_BEGIN, begin + 1) !== -1 || text.indexOf(TABLE_END, end + 1) !== -1) {
    throw new Error(`expected one ${TABLE_BEGIN} followed by one ${TABLE_END}`);
  }
  return `${text.slice(0, begin + TABLE_BEGIN.length)}\n${table}\n${text.slice(end)}`;
}
