/**
 * The README's table as `npm run bench:table` makes it: the result files, the catalog and git's answer to
 * "did the code this result measures change after its commit?" (`git log COMMIT..HEAD -- MEASURES`).
 * A result written before results carried `measures` is judged by the paths its benchmark declares now.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CATALOG } from '../catalog.js';
import type { Benchmark } from './benchmark.js';
import { changedAfter } from './git.js';
import type { BenchResult } from './report.js';
import { readResults } from './results.js';
import { benchTable } from './table.js';

async function measuresOf(root: string, result: BenchResult): Promise<readonly string[]> {
  if (result.measures) return result.measures;
  const module = (await import(pathToFileURL(join(root, 'bench', `${result.name}.bench.ts`)).href)) as { default: Benchmark };
  return module.default.measures;
}

/** The table for the checkout at `root`. */
export async function readmeTable(root: string): Promise<string> {
  const results = readResults(join(root, 'bench', 'results'));
  const stale: Record<string, boolean | undefined> = {};
  for (const result of results) {
    const commit = String(result.env['commitFull'] ?? result.env['commit'] ?? '');
    stale[result.name] = commit === '' || commit === 'unknown' ? undefined : changedAfter(root, commit, await measuresOf(root, result));
  }
  return benchTable(results, CATALOG, { stale });
}
