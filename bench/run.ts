/**
 * Runs one benchmark in this (fresh) process: `node --import tsx bench/run.ts NAME [--quick] [--profile]`.
 * `npm run bench -- NAME` starts it through scripts/bench.mjs.
 *
 * A plain run writes bench/results/NAME.json and appends a line to bench/history.jsonl. A profiled run
 * (`--profile`: scripts/bench.mjs turns on V8's CPU profiler in this process and in every Node process it starts)
 * measures with a profiler attached, so its numbers are not comparable: its result goes next to the
 * profiles (bench/profiles/NAME/NAME.json) and neither the results nor the history see it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Benchmark, CaseInput } from './lib/index.js';
import { appendHistory, environment, historyLine, loadAverage } from './lib/index.js';
import type { BenchResult } from './lib/report.js';
import { summarize, table, writeResult } from './lib/report.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..');
const [name, ...flags] = process.argv.slice(2);
const unknown = flags.filter((f) => f !== '--quick' && f !== '--profile');
if (!name || unknown.length > 0) {
  console.error(`usage: npm run bench -- NAME [--quick] [--profile]${unknown.length ? ` (unknown: ${unknown.join(' ')})` : ''}`);
  process.exit(2);
}
const file = join(here, `${name}.bench.ts`);
if (!existsSync(file)) {
  console.error(`bench: no benchmark ${JSON.stringify(name)} (expected ${file})`);
  process.exit(2);
}
const profileDir = flags.includes('--profile') ? process.env['MUSTER_BENCH_PROFILE_DIR'] : undefined;
if (flags.includes('--profile') && !profileDir) {
  console.error('bench: --profile is set up by scripts/bench.mjs (npm run bench -- NAME --profile), which sets MUSTER_BENCH_PROFILE_DIR');
  process.exit(2);
}
const benchmark = (await import(pathToFileURL(file).href)).default as Benchmark;
const quick = flags.includes('--quick');
const env = environment(root);
const config: Record<string, unknown> = { quick, ...(profileDir ? { profiled: true } : {}) };
const cases: CaseInput[] = [];

console.log(`bench ${benchmark.name}${quick ? ' (quick)' : ''}${profileDir ? ' (profiled)' : ''}`);
await benchmark.run({
  quick,
  env: (facts) => Object.assign(env, facts),
  config: (values) => Object.assign(config, values),
  record: (c) => {
    cases.push(c);
    console.log(`  ${c.id}: ${c.samples.length} samples`);
  },
  log: (message) => console.log(`  ${message}`),
});
env['loadAverageAtEnd'] = loadAverage();

const result: BenchResult = { name: benchmark.name, measures: benchmark.measures, env, config, cases: summarize(cases) };
console.log(`\nenv: ${Object.entries(env).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`);
console.log(`config: ${JSON.stringify(config)}\n`);
console.log(table(result));
const out = profileDir ? join(profileDir, `${benchmark.name}.json`) : join(here, 'results', `${benchmark.name}.json`);
writeResult(out, result);
console.log(`\nwrote ${out}`);
if (!profileDir) {
  appendHistory(join(here, 'history.jsonl'), historyLine(result));
  console.log(`appended a line to ${join(here, 'history.jsonl')}`);
}
process.exit(0);
