/**
 * Runs one benchmark in this (fresh) process: `node --import tsx bench/run.ts NAME [--quick]`.
 * `npm run bench -- NAME` starts it through scripts/bench.mjs.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Benchmark, CaseInput } from './lib/index.js';
import { environment } from './lib/index.js';
import { summarize, table, writeResult } from './lib/report.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const [name, ...flags] = process.argv.slice(2);
const unknown = flags.filter((f) => f !== '--quick');
if (!name || unknown.length > 0) {
  console.error(`usage: npm run bench -- NAME [--quick]${unknown.length ? ` (unknown: ${unknown.join(' ')})` : ''}`);
  process.exit(2);
}
const file = join(here, `${name}.bench.ts`);
if (!existsSync(file)) {
  console.error(`bench: no benchmark ${JSON.stringify(name)} (expected ${file})`);
  process.exit(2);
}
const benchmark = (await import(pathToFileURL(file).href)).default as Benchmark;
const quick = flags.includes('--quick');
const env = environment();
const config: Record<string, unknown> = { quick };
const cases: CaseInput[] = [];

console.log(`bench ${benchmark.name}${quick ? ' (quick)' : ''}`);
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

const result = { name: benchmark.name, env, config, cases: summarize(cases) };
console.log(`\nenv: ${Object.entries(env).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`);
console.log(`config: ${JSON.stringify(config)}\n`);
console.log(table(result));
const out = join(here, 'results', `${benchmark.name}.json`);
writeResult(out, result);
console.log(`\nwrote ${out}`);
process.exit(0);
