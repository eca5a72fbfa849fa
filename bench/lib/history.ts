/**
 * bench/history.jsonl: one line per run of a benchmark, appended by the runner, committed with the results,
 * so a case's value can be followed across commits (the report plots it). A line holds what identifies the
 * run (name, commit, dirty, date, quick, environment) and each case's id, value and unit; samples stay in the
 * result file. Lines marked `seeded` were derived from result files written before the history existed.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { BenchResult } from './report.js';

export interface HistoryCase {
  readonly id: string;
  readonly value: number;
  readonly unit: string;
}

export interface HistoryLine {
  readonly name: string;
  readonly commit: string;
  readonly dirty: boolean | 'unknown';
  readonly date: string;
  /** A `--quick` run: a smoke run, fewer and smaller samples (the report leaves it out of the history plots). */
  readonly quick: boolean;
  readonly env: Record<string, unknown>;
  readonly cases: readonly HistoryCase[];
  readonly seeded?: true;
}

/** The history line of `result` (`seeded`: derived afterwards from a result file, not by the run itself). */
export function historyLine(result: BenchResult, options: { seeded?: boolean } = {}): HistoryLine {
  const env = result.env;
  const dirty = env['dirty'];
  return {
    name: result.name,
    commit: String(env['commit'] ?? 'unknown'),
    dirty: typeof dirty === 'boolean' ? dirty : 'unknown',
    date: String(env['date'] ?? 'unknown'),
    quick: result.config['quick'] === true,
    env,
    cases: result.cases.map((c) => ({ id: c.id, value: c.value, unit: c.unit })),
    ...(options.seeded ? { seeded: true as const } : {}),
  };
}

export function appendHistory(path: string, line: HistoryLine): void {
  appendFileSync(path, `${JSON.stringify(line)}\n`);
}

/** Every line of the history at `path` (none when the file does not exist). */
export function readHistory(path: string): HistoryLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as HistoryLine;
      } catch (err) {
        throw new Error(`${path}:${i + 1}: not a JSON line (${(err as Error).message})`);
      }
    });
}
