/**
 * The scheduling core end to end on a simulated cluster: 10,000 nodes on 3 sites, 1,000,000 jobs of
 * mixed shapes (bench/workloads/cluster.ts), on the virtual clock.
 *
 * - `core`: placements per second of wall time through the whole core (queues → dispatcher → sites on a
 *   worker → solver → events, plus the task starts and ends the virtual fleet reports);
 * - `solver`: the same placements, timed inside the site actors around the solver calls alone (baseline);
 * - `cycle-p50`, `cycle-p99`: wall time of one dispatch cycle;
 * - `rss-growth`: resident memory after 2,000,000 short jobs ÷ after 200,000, with a 10 s retention
 *   (bench/scheduler-rss.ts);
 * - `snapshot-stall-ms`: the longest main-thread pause while a snapshot of 1,000,000 pending jobs with
 *   distinct arguments is taken, against `encode-on-main-ms`, the previous design's encoding on the main
 *   thread (bench/scheduler-snapshot.ts).
 *
 * Before recording, it checks the run: every job succeeded, every task was placed exactly as often as the
 * sites say they placed, and no node actor still holds an allocation. (Over-commitment is checked by the
 * scheduler's tests, which rebuild the state from the events; doing it here would time that copy too.)
 */
import { performance } from 'node:perf_hooks';
import { activeBackend } from '../src/placement/index.js';
import { Simulation } from '../src/scheduler/index.js';
import { defineBenchmark, quantile, RUNNER } from './lib/index.js';
import { clusterScript, taskCount } from './workloads/cluster.js';
import { rssGrowthCase } from './scheduler-rss.js';
import { snapshotStallCase } from './scheduler-snapshot.js';

export default defineBenchmark({
  name: 'scheduler',
  measures: ['src/scheduler', 'src/placement', 'src/model', 'src/actors', 'src/store', 'src/errors', 'src/log', 'native', 'wasm', 'bench/scheduler*', 'bench/workloads', ...RUNNER],
  async run(ctx) {
    const workload = ctx.quick ? { sites: 3, nodes: 1000, jobs: 50_000, batch: 5000, seed: 7 } : { sites: 3, nodes: 10_000, jobs: 1_000_000, batch: 20_000, seed: 7 };
    ctx.config({ ...workload });
    ctx.env({ backend: activeBackend() });
    const script = clusterScript(workload);
    const tasks = taskCount(script);
    ctx.log(`${workload.nodes} nodes, ${workload.jobs} jobs, ${tasks} tasks`);

    // Samples: the placement rate over consecutive windows of this many placements.
    const window = ctx.quick ? 25_000 : 200_000;
    const coreRates: number[] = [];
    let windowStart = performance.now();
    let windowPlaced = 0;
    let placed = 0;
    const sim = await Simulation.create({
      script,
      verify: false,
      onEvent: (e) => {
        if (e.kind !== 'TasksPlaced') return;
        placed += e.placements.length;
        windowPlaced += e.placements.length;
        if (windowPlaced >= window) {
          const now = performance.now();
          coreRates.push(windowPlaced / ((now - windowStart) / 1000));
          windowStart = now;
          windowPlaced = 0;
        }
      },
    });
    const started = performance.now();
    const report = await sim.run();
    const seconds = (performance.now() - started) / 1000;
    const stats = await sim.core.siteStats();
    // The outcome, from the queue actors themselves: every job succeeded, and no node actor holds anything.
    const slices = await sim.core.queueSlices();
    const jobs = slices.flatMap((s) => [...s.jobs.values()]);
    const unfinished = jobs.filter((j) => j.status !== 'succeeded').length;
    if (jobs.length !== workload.jobs || unfinished > 0) throw new Error(`${unfinished} of ${jobs.length} jobs did not succeed`);
    const held = (await sim.core.nodeSnapshots()).filter((n) => n.allocations.length > 0).length;
    if (held > 0) throw new Error(`${held} node actors still hold allocations`);
    await sim.close();
    if (placed !== tasks) throw new Error(`placed ${placed} tasks, expected ${tasks}`);
    ctx.log(`run: ${seconds.toFixed(1)} s wall, ${(report.endedAt / 1000).toFixed(0)} s simulated, ${report.cycles} cycles, ${placed} placements`);

    const solverMs = stats.reduce((s, x) => s + x.placeMs, 0);
    const solverPlaced = stats.reduce((s, x) => s + x.placedTasks, 0);
    if (solverPlaced !== placed) throw new Error(`sites report ${solverPlaced} placements, events ${placed}`);
    ctx.log(`solver: ${stats.map((s) => `${s.site} ${s.calls} calls ${s.placeMs.toFixed(0)} ms`).join(', ')}`);
    const solverRates = stats.filter((s) => s.placeMs > 0).map((s) => s.placedTasks / (s.placeMs / 1000));
    ctx.record({ id: 'solver', unit: 'placements/s', samples: solverRates.length ? solverRates : [solverPlaced / (solverMs / 1000)] });
    ctx.record({ id: 'core', unit: 'placements/s', samples: coreRates.length ? coreRates : [placed / seconds], baseline: 'solver' });
    ctx.record({ id: 'core-overall', unit: 'placements/s', samples: [placed / seconds] });
    const cycles = sim.cycleMs;
    ctx.record({ id: 'cycle-p50', unit: 'ms', samples: [quantile(cycles, 0.5)] });
    ctx.record({ id: 'cycle-p99', unit: 'ms', samples: [quantile(cycles, 0.99)] });

    // rss-growth: memory flat under a stream of jobs with retention (bench/scheduler-rss.ts).
    await rssGrowthCase(ctx);

    // snapshot-stall-ms: the main thread while a snapshot is folded on the pool (bench/scheduler-snapshot.ts).
    await snapshotStallCase(ctx);
  },
});
