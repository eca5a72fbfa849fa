/** Reading the committed result files (bench/results/NAME.json). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResult } from './report.js';

/** Every `*.json` in `dir`, by file name. */
export function readResults(dir: string): BenchResult[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as BenchResult);
}
