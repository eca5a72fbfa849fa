/**
 * `npm run chaos -- [--faults N] [--seed S] [--logs DIR]`: the chaos campaign of chaos-run.ts, as long as
 * asked (40 faults by default), printing each fault as it happens and then a report: faults by kind,
 * failover and step-down times (median, 90th percentile, most), the load's counts, the log's size and
 * epochs, and every finding. `--logs DIR` keeps every process's log lines there. Exits 0 when nothing was
 * found, 1 otherwise. Runs the built CLI (dist/): build first.
 */
import { parseArgs } from 'node:util';
import { chaosRun } from './chaos-run.js';
import { problemLines, reportLines } from './chaos-report.js';

/** A campaign of this many faults when none is asked for: twice the CI run's. */
const DEFAULT_FAULTS = 40;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { faults: { type: 'string' }, seed: { type: 'string' }, logs: { type: 'string' } } });
  const faults = values.faults !== undefined ? Number(values.faults) : DEFAULT_FAULTS;
  const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 1_000_000;
  if (!Number.isSafeInteger(faults) || faults < 1) throw new Error(`--faults: ${values.faults} is not a positive integer`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`--seed: ${values.seed} is not a non-negative integer`);
  const report = await chaosRun({ faults, seed, log: (line) => console.log(line), ...(values.logs !== undefined ? { logDir: values.logs } : {}) });
  if (values.logs !== undefined) console.log(`every process's log: ${values.logs}`);
  console.log('');
  for (const line of reportLines(report)) console.log(line);
  const problems = problemLines(report);
  console.log(problems.length === 0 ? 'findings: none' : `findings: ${problems.length}`);
  for (const line of problems) console.log(`  ${line}`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}

await main();
