/**
 * Faults (issue 12; DESIGN.md §7b and §9): the long campaign of the fault suite's runs (test/faults/, the
 * same code: the tests run a bounded version), against real `muster server` and `muster agent` processes
 * (dist/), real sockets and files. Cases, in run order:
 *
 * - `server-kills`: SIGKILLs of `muster server` survived in one run, at random moments under keyed
 *   submission load from four clients, each followed by a restart on the same data folder
 *   (test/faults/server-kills.ts). Target: ≥ 50.
 * - `acked-lost`: jobs acknowledged during that run that are missing (or have another id) after the last
 *   restart. Must be 0. (Also checked and logged: no key names two jobs, resubmitting every acknowledged key
 *   gives its id as `existing`, no key was acknowledged with two ids.)
 * - `double-runs`: tasks seen with two attempts alive at once (task flocks and marker intervals:
 *   test/faults/marker-task.ts, findings.ts) across every agent fault run (test/faults/agent-faults.ts:
 *   agent SIGKILL and restart, agent SIGSTOP past the lost timeout, server SIGSTOP past it, link cuts
 *   while tasks end and past the lost timeout), several rounds each. Must be 0.
 * - `wrong-outcomes`: attempts whose recorded outcome or exit code is not the real one, in those runs. Must be 0.
 * - `orphans`: processes naming a run's scratch folder once it was stopped (tasks, shims, agents,
 *   servers), over every run. Must be 0.
 * - `restart-empty` (baseline), `restart-p50`, `restart-p90`: seconds from spawning `muster server` to
 *   `/readyz` 200, on an empty data folder and on one holding 100,000 jobs, each restart after a SIGKILL
 *   (bench/faults-restart.ts); p50 is the median of the samples, p90 their 90th percentile. Target: p50 ≤ 2 s.
 *
 * Every count is measured, never assumed: a run whose faults did not happen as designed (no task running
 * on the faulted agent, a node never lost) fails rather than records.
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { FAULT_FENCE_MS, FAULT_LIVENESS } from '../test/faults/fault-cluster.js';
import type { RunReport } from '../test/faults/fault-cluster.js';
import { AGENT_FAULT_RUNS } from '../test/faults/agent-faults.js';
import { serverKillRun } from '../test/faults/server-kills.js';
import { ROOT } from '../test/server/muster-child.js';
import { measureRestarts } from './faults-restart.js';
import type { BenchContext } from './lib/index.js';
import { defineBenchmark, median, quantile, MUSTER_PROCESS, RUNNER } from './lib/index.js';

/** Issue 12, "Done when"; DESIGN.md §9. */
const TARGET = { serverKills: 50, restartP50Seconds: 2 } as const;

interface Plan {
  readonly kills: number;
  /** Rounds of each agent fault in its cluster. */
  readonly rounds: number;
  readonly restartJobs: number;
  readonly restarts: number;
}

const FULL: Plan = { kills: 60, rounds: 3, restartJobs: 100_000, restarts: 7 };
const QUICK: Plan = { kills: 10, rounds: 1, restartJobs: 20_000, restarts: 3 };

/** The server-kill run's load: four clients, 20 jobs a submission, kills up to 300 ms after load resumes. */
const KILL_LOAD = { clients: 4, batch: 20, maxDelayMs: 300 } as const;

function load(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

function verdict(ctx: BenchContext, what: string, value: number, met: boolean, target: string): void {
  ctx.log(`target ${what} ${target}: ${met ? 'met' : 'MISSED'} (${value < 100 ? Number(value.toPrecision(3)) : Math.round(value)})`);
}

function describeRun(ctx: BenchContext, r: RunReport): void {
  const f = r.findings;
  ctx.log(
    `${r.label}: ${r.jobs} jobs, ${r.attempts} attempts in ${r.seconds.toFixed(1)} s; double runs ${f.tasksRunTwice}, wrong outcomes ${f.wrongOutcomes.length}, unended ${f.unended.length}, ends per attempt ${f.endsPerAttempt.length}, not terminal ${f.notTerminal.length}, fault findings ${r.faultFindings.length}, tasks after the end ${r.tasksAfterEnd.length}, leftovers ${r.leftovers.length}; load ${load()}`,
  );
  for (const line of [...r.notes, ...f.doubleRuns.map((d) => JSON.stringify(d)), ...f.wrongOutcomes, ...f.unended, ...f.endsPerAttempt, ...f.notTerminal, ...r.faultFindings]) ctx.log(`  ${line}`);
  for (const p of [...r.tasksAfterEnd, ...r.leftovers]) ctx.log(`  left: ${p.pid} ${p.command}`);
}

async function serverKillCases(ctx: BenchContext, plan: Plan): Promise<number> {
  const seed = Date.now() % 1_000_000;
  const report = await serverKillRun({ kills: plan.kills, ...KILL_LOAD, seed, log: (line) => ctx.log(line) });
  ctx.log(`server kills (seed ${seed}): ${report.acked} acknowledged, ${report.jobs} listed, ${report.retriedSubmissions} submissions sent again, ${report.seconds.toFixed(1)} s; restart after a kill: median ${median(report.restartSeconds).toFixed(2)} s`);
  for (const line of [...report.ackedLost, ...report.duplicated, ...report.resubmitChanged, ...report.ackConflicts]) ctx.log(`  ${line}`);
  if (report.acked < plan.kills) throw new Error(`only ${report.acked} jobs acknowledged over ${plan.kills} kills: the kills were not under load`);
  ctx.log(`no key names two jobs: ${report.duplicated.length === 0}; resubmission gives the same ids: ${report.resubmitChanged.length === 0}; no key acknowledged twice differently: ${report.ackConflicts.length === 0}`);
  ctx.record({ id: 'server-kills', unit: 'kills', samples: [report.kills] });
  ctx.record({ id: 'acked-lost', unit: 'jobs', samples: [report.ackedLost.length] });
  verdict(ctx, 'server-kills', report.kills, report.kills >= TARGET.serverKills, `≥ ${TARGET.serverKills}`);
  verdict(ctx, 'acked-lost', report.ackedLost.length, report.ackedLost.length === 0, '= 0');
  return report.leftovers.length;
}

async function agentFaultCases(ctx: BenchContext, plan: Plan): Promise<number> {
  let doubleRuns = 0;
  let wrongOutcomes = 0;
  let orphans = 0;
  for (const [name, run] of Object.entries(AGENT_FAULT_RUNS)) {
    const report = await run({ rounds: plan.rounds });
    describeRun(ctx, report);
    if (report.jobs === 0 || report.attempts < report.jobs) throw new Error(`${name}: the run ran nothing`);
    doubleRuns += report.findings.tasksRunTwice;
    wrongOutcomes += report.findings.wrongOutcomes.length;
    orphans += report.leftovers.length;
  }
  ctx.record({ id: 'double-runs', unit: 'tasks', samples: [doubleRuns] });
  ctx.record({ id: 'wrong-outcomes', unit: 'attempts', samples: [wrongOutcomes] });
  verdict(ctx, 'double-runs', doubleRuns, doubleRuns === 0, '= 0');
  verdict(ctx, 'wrong-outcomes', wrongOutcomes, wrongOutcomes === 0, '= 0');
  return orphans;
}

async function restartCases(ctx: BenchContext, plan: Plan): Promise<void> {
  const { empty, loaded } = await measureRestarts({ jobs: plan.restartJobs, restarts: plan.restarts, log: (line) => ctx.log(line) });
  ctx.record({ id: 'restart-empty', unit: 's', samples: empty });
  ctx.record({ id: 'restart-p50', unit: 's', samples: loaded, baseline: 'restart-empty' });
  ctx.record({ id: 'restart-p90', unit: 's', samples: [quantile(loaded, 0.9)], baseline: 'restart-empty' });
  verdict(ctx, 'restart-p50', median(loaded), median(loaded) <= TARGET.restartP50Seconds, `≤ ${TARGET.restartP50Seconds} s with ${plan.restartJobs.toLocaleString('en-US')} jobs (p90 ${quantile(loaded, 0.9).toFixed(3)} s)`);
}

export default defineBenchmark({
  name: 'faults',
  measures: [...MUSTER_PROCESS, 'bench/faults*', 'test/faults', 'test/server', 'test/helpers', ...RUNNER],
  async run(ctx) {
    const plan = ctx.quick ? QUICK : FULL;
    ctx.env({
      server: 'muster server (dist) in its own process, embedded store in a temporary folder',
      agents: 'muster agent (dist), each in its own process and work folder, behind its own TCP relay',
      shim: existsSync(join(ROOT, 'native', 'build', 'shim', 'muster-shim')) ? 'native' : 'node',
      loadAverageStart: load(),
    });
    ctx.config({ plan, killLoad: KILL_LOAD, liveness: { ...FAULT_LIVENESS, fenceMs: FAULT_FENCE_MS }, targets: TARGET });
    let orphans = await serverKillCases(ctx, plan);
    orphans += await agentFaultCases(ctx, plan);
    ctx.record({ id: 'orphans', unit: 'processes', samples: [orphans] });
    verdict(ctx, 'orphans', orphans, orphans === 0, '= 0');
    await restartCases(ctx, plan);
    ctx.env({ loadAverageEnd: load() });
  },
});
