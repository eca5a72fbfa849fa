/**
 * Jobs run to their end through the whole control plane: a real `muster server` (the built CLI in its own
 * process, embedded store in a temporary folder, rate limit lifted as in the accept cases), a simulated
 * fleet of 10,000 nodes (`muster sim` in its own process, bench/heartbeats-fleet.ts) and the load
 * generator (the client library in a third process; its `run` orders, bench/e2e-run-load.ts). Each job is
 * one task that the fleet runs for no time: submission, durable ack, placement, dispatch to a node, the
 * node's start and end reports, the job's end, each recorded and streamed to a watch.
 *
 * Cases, in run order (one server and one fleet for all of them, after a warm-up order):
 * - `e2e-run-1000`: jobs per second, frames of 1,000 jobs with about 8,000 jobs in flight (closed loop),
 *   from the first frame sent to the last job's `ended` event received by the load generator. Every job
 *   is checked to have been placed, started and ended once, succeeded (none lost, none run twice).
 *   Target: ≥ 50,000 jobs/s. The server's CPU per job (/proc, every thread) is in config
 *   (`e2eRun.serverCpuMicrosPerJob`), beside the fleet's and the load generator's.
 * - `e2e-run-p50`, `e2e-run-p99`: frames of 1,000 jobs sent open loop at half the e2e-run-1000 rate: the
 *   time from when a job's frame was due to its `started` event's `at` (the server's wall clock when the
 *   agent's start report is recorded), taken against the load generator's wall clock on the same machine.
 *   Each sample is one round's quantile. Target: p99 ≤ 50 ms. Where the time goes is in config
 *   (`e2eRunPaced.stepsMs`): the quantiles of each step, due → submitted (durable) → placed (dispatched) →
 *   started → ended, from the events' `at`.
 *
 * At the end the fleet's own counts of attempts started and ended must equal the jobs submitted in all
 * (warm-up included), none left running.
 *
 * `MUSTER_BENCH_CPU_PROF=DIR` runs the server under `node --cpu-prof` (bench/submit-throughput.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerProcess } from '../test/client/server-process.js';
import { RUN_STEPS } from './e2e-run-load.js';
import type { RunStep } from './e2e-run-load.js';
import { FleetProcess } from './heartbeats-fleet.js';
import { ControlPlaneProbe } from './heartbeats-probe.js';
import type { BenchContext } from './lib/index.js';
import { cpuSeconds, median, percentOfCore, quantile } from './lib/index.js';
import { LoadGenerator } from './load-generator.js';
import { framesInFlight, freshServer } from './submit-throughput.js';

/** The fleet: 10,000 nodes (16 cores each) multiplexed over 10 connections, heartbeating at the server's interval. */
const FLEET = { nodes: 10_000, connections: 10, prefix: 'run' } as const;

/** Jobs per frame in both cases. */
const BATCH = 1_000;

/** Registration of 10,000 nodes plus their first heartbeats on a loaded machine. */
const FLEET_READY_TIMEOUT_MS = 120_000;

/** The fleet prints its counts every 5 s: wait for one print past that. */
const FLEET_COUNTS_TIMEOUT_MS = 15_000;

interface Plan {
  readonly warmupJobs: number;
  readonly samples: number;
  readonly jobsPerSample: number;
  readonly pacedRounds: number;
  readonly pacedRoundMs: number;
}

const FULL: Plan = { warmupJobs: 20_000, samples: 3, jobsPerSample: 50_000, pacedRounds: 3, pacedRoundMs: 5_000 };
const QUICK: Plan = { warmupJobs: 5_000, samples: 1, jobsPerSample: 10_000, pacedRounds: 1, pacedRoundMs: 2_000 };

/** One closed-loop order: its jobs per second and the CPU seconds per job of each process. */
interface RunSample {
  readonly rate: number;
  readonly serverCpuPerJob: number;
  readonly fleetCpuPerJob: number;
  readonly loadCpuPerJob: number;
}

/** Waiting for an order's jobs to end fails past this: a minute, plus a millisecond per job (1,000 jobs/s). */
function deadlineMs(jobs: number): number {
  return 60_000 + jobs;
}

export async function runCases(ctx: BenchContext): Promise<void> {
  const plan = ctx.quick ? QUICK : FULL;
  const scratch = mkdtempSync(join(tmpdir(), 'muster-bench-e2e-run-'));
  const load = new LoadGenerator();
  let server: ServerProcess | undefined;
  let fleet: FleetProcess | undefined;
  ctx.env({
    e2eServer: 'muster server (dist) in its own process, embedded store',
    e2eFleet: `muster sim (dist) in its own process: ${FLEET.nodes} nodes over ${FLEET.connections} connections`,
    e2eClient: 'src/client (dist) in a separate load-generator process: one client submits, another watches',
  });
  try {
    server = await freshServer(scratch, 'run');
    fleet = await FleetProcess.start({ server: server.url, token: server.token, ...FLEET });
    await new ControlPlaneProbe(server.url, server.token).fleetReady(FLEET.nodes, FLEET_READY_TIMEOUT_MS);
    let seed = 70_000;
    let submitted = 0;

    const run = async (label: string, jobs: number): Promise<RunSample> => {
      const before = [cpuSeconds(server!.pid) ?? NaN, cpuSeconds(fleet!.pid) ?? NaN];
      const answer = await load.run({ kind: 'run', url: server!.url, token: server!.token, batch: BATCH, total: jobs, window: framesInFlight(BATCH), seed: seed++, deadlineMs: deadlineMs(jobs) });
      submitted += answer.jobs;
      const serverCpu = (cpuSeconds(server!.pid) ?? NaN) - before[0]!;
      const fleetCpu = (cpuSeconds(fleet!.pid) ?? NaN) - before[1]!;
      ctx.log(
        `${label}: ${answer.jobs} jobs run in ${answer.seconds.toFixed(2)} s (all acked at ${answer.ackSeconds.toFixed(2)} s; last ${answer.lastJob}); ` +
          `cpu: server ${percentOfCore(serverCpu, answer.seconds)} (${((serverCpu / answer.jobs) * 1e6).toFixed(0)} µs/job), ` +
          `fleet ${percentOfCore(fleetCpu, answer.seconds)}, load generator ${percentOfCore(answer.cpuSeconds, answer.seconds)} of one core`,
      );
      return { rate: answer.jobs / answer.seconds, serverCpuPerJob: serverCpu / answer.jobs, fleetCpuPerJob: fleetCpu / answer.jobs, loadCpuPerJob: answer.cpuSeconds / answer.jobs };
    };

    await run('e2e-run warm-up', plan.warmupJobs);
    const samples: RunSample[] = [];
    for (let s = 1; s <= plan.samples; s++) samples.push(await run(`e2e-run-${BATCH} sample ${s}`, plan.jobsPerSample));
    const micros = (pick: (s: RunSample) => number): number[] => samples.map((s) => Math.round(pick(s) * 1e7) / 10);
    ctx.config({
      e2eRun: {
        batch: BATCH,
        framesInFlight: framesInFlight(BATCH),
        warmupJobs: plan.warmupJobs,
        jobsPerSample: plan.jobsPerSample,
        jobSeconds: 0,
        fleet: FLEET,
        retention: 'server defaults',
        serverCpuMicrosPerJob: micros((s) => s.serverCpuPerJob),
        fleetCpuMicrosPerJob: micros((s) => s.fleetCpuPerJob),
        loadGeneratorCpuMicrosPerJob: micros((s) => s.loadCpuPerJob),
      },
    });
    const rates = samples.map((s) => s.rate);
    ctx.record({ id: `e2e-run-${BATCH}`, unit: 'jobs/s', samples: rates });

    const rate = median(rates) / 2;
    const p50: number[] = [];
    const p99: number[] = [];
    const steps = Object.fromEntries(RUN_STEPS.map((step) => [step, { p50: [] as number[], p99: [] as number[] }])) as Record<RunStep, { p50: number[]; p99: number[] }>;
    for (let r = 0; r < plan.pacedRounds; r++) {
      const jobs = Math.max(1, Math.floor(plan.pacedRoundMs / ((BATCH / rate) * 1000))) * BATCH;
      const answer = await load.run({ kind: 'run-paced', url: server.url, token: server.token, batch: BATCH, jobsPerSecond: rate, durationMs: plan.pacedRoundMs, seed: seed++, deadlineMs: deadlineMs(jobs) });
      submitted += answer.jobs;
      p50.push(quantile(answer.startLatenciesMs, 0.5));
      p99.push(quantile(answer.startLatenciesMs, 0.99));
      for (const step of RUN_STEPS) {
        steps[step].p50.push(quantile(answer.stepsMs[step], 0.5));
        steps[step].p99.push(quantile(answer.stepsMs[step], 0.99));
      }
      const stepText = RUN_STEPS.map((step) => `${step} ${steps[step].p50.at(-1)!.toFixed(0)}/${steps[step].p99.at(-1)!.toFixed(0)}`).join(', ');
      ctx.log(
        `e2e-run paced round ${r + 1}: ${answer.jobs} jobs in frames of ${BATCH} at ${Math.round(rate)} jobs/s: due → started p50 ${p50.at(-1)!.toFixed(1)} ms, p99 ${p99.at(-1)!.toFixed(1)} ms, ` +
          `max ${Math.max(...answer.startLatenciesMs).toFixed(1)} ms; steps p50/p99 ms: ${stepText} (sends at most ${answer.maxLateMs.toFixed(2)} ms late)`,
      );
    }
    ctx.config({
      e2eRunPaced: {
        jobsPerSecond: Math.round(rate),
        batch: BATCH,
        roundMs: plan.pacedRoundMs,
        rounds: plan.pacedRounds,
        clock: "Date.now() of the load generator (frame due) against the server's Date.now() in the event's at, one machine",
        stepsMs: { what: 'per round, p50 and p99 of: due → submitted (durable), submitted → placed, placed → started, started → ended', ...steps },
      },
    });
    ctx.record({ id: 'e2e-run-p50', unit: 'ms', samples: p50 });
    ctx.record({ id: 'e2e-run-p99', unit: 'ms', samples: p99 });

    const counts = await fleet.nextCounts(FLEET_COUNTS_TIMEOUT_MS);
    if (counts.started !== submitted || counts.ended !== submitted || counts.running !== 0) {
      throw new Error(`the fleet started ${counts.started} attempts and ended ${counts.ended} (${counts.running} running) for ${submitted} jobs submitted`);
    }
    ctx.log(`fleet: ${counts.started} attempts started and ended for ${submitted} jobs submitted, none running`);
  } finally {
    load.stop();
    await fleet?.stop();
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}
