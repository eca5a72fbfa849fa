/**
 * The whole control plane, end to end: jobs from a client's submission to their end on a simulated fleet
 * (bench/e2e-run.ts). A benchmark of its own rather than more gateway cases: it measures every part of
 * the server at once (gateway, scheduler, store, agent hub) against a fleet of 10,000 nodes that takes a
 * while to start, so it runs apart from the gateway's quicker accept cases, and its result file stands for
 * all of the server. Cases, in run order:
 * - e2e-run-1000: jobs per second run to completion, frames of 1,000 jobs (target ≥ 50,000).
 * - e2e-run-p50, e2e-run-p99: submission → start latency at half that rate (target p99 ≤ 50 ms).
 */
import { activeBackend } from '../src/placement/index.js';
import { runCases } from './e2e-run.js';
import { defineBenchmark, MUSTER_PROCESS, RUNNER } from './lib/index.js';

export default defineBenchmark({
  name: 'e2e',
  measures: [...MUSTER_PROCESS, 'bench/e2e*', 'bench/gateway-load*', 'bench/load-generator.ts', 'bench/submit-throughput.ts', 'bench/heartbeats-fleet.ts', 'bench/heartbeats-probe.ts', 'bench/workloads', 'test/client/server-process.ts', ...RUNNER],
  async run(ctx) {
    ctx.env({ backend: activeBackend(), code: 'dist (tsc output)' });
    await runCases(ctx);
  },
});
