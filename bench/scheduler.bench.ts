/**
 * The scheduling core end to end on a simulated cluster: 10,000 nodes on 3 sites, 1,000,000 jobs of
 * mixed shapes (bench/workloads/cluster.ts), on the virtual clock (bench/scheduler-core.ts runs it).
 *
 * - `core`: placements per second of wall time through the whole core (queues → dispatcher → sites on a
 *   worker → solver → events, plus the task starts and ends the virtual fleet reports) as a server runs
 *   it: every event in an embedded store (temporary folder, group commit, fsync), placements dispatched
 *   only once durable, and the state rebuilt from the events with every placement checked against node
 *   capacity (as the scheduler's tests check);
 * - `core-no-store`: the same run without a store and without that verification (events durable at once,
 *   nothing rebuilt): the core alone; its baseline is `core`, so the ratio is what the store and the
 *   verification cost;
 * - `solver`: the placements of the `core` run, timed inside the site actors around the solver calls
 *   alone (the baseline of `core`);
 * - `core-overall`: the `core` run's placements ÷ its whole wall time;
 * - `cycle-p50`, `cycle-p99`: wall time of one dispatch cycle of the `core` run (a cycle's time does not
 *   include waiting for the store: the harness waits for durability after the cycle);
 * - `rss-growth`: resident memory after 2,000,000 short jobs ÷ after 200,000, with a 10 s retention
 *   (bench/scheduler-rss.ts);
 * - `snapshot-stall-ms`: the longest main-thread pause while a snapshot of 1,000,000 pending jobs with
 *   distinct arguments is taken, against `encode-on-main-ms`, the previous design's encoding on the main
 *   thread (bench/scheduler-snapshot.ts).
 *
 * Each run is checked before anything is recorded (scheduler-core.ts says how).
 */
import { activeBackend } from '../src/placement/index.js';
import { defineBenchmark, quantile, RUNNER } from './lib/index.js';
import { clusterScript, taskCount } from './workloads/cluster.js';
import { runCore } from './scheduler-core.js';
import { rssGrowthCase } from './scheduler-rss.js';
import { snapshotStallCase } from './scheduler-snapshot.js';

export default defineBenchmark({
  name: 'scheduler',
  measures: ['src/scheduler', 'src/placement', 'src/model', 'src/actors', 'src/store', 'src/errors', 'src/log', 'native', 'wasm', 'bench/scheduler*', 'bench/workloads', ...RUNNER],
  async run(ctx) {
    const workload = ctx.quick ? { sites: 3, nodes: 1000, jobs: 50_000, batch: 5000, seed: 7 } : { sites: 3, nodes: 10_000, jobs: 1_000_000, batch: 20_000, seed: 7 };
    ctx.config({ ...workload });
    ctx.env({ backend: activeBackend() });
    const tasks = taskCount(clusterScript(workload));
    ctx.log(`${workload.nodes} nodes, ${workload.jobs} jobs, ${tasks} tasks`);
    // Samples: the placement rate over consecutive windows of this many placements.
    const window = ctx.quick ? 25_000 : 200_000;

    // core: with the embedded store and verification, as a server runs it.
    const run = await runCore(clusterScript(workload), { store: true, jobs: workload.jobs, tasks, window });
    ctx.log(`core: ${run.seconds.toFixed(1)} s wall, ${(run.simulatedMs / 1000).toFixed(0)} s simulated, ${run.cycles} cycles, ${run.placed} placements`);
    ctx.log(`store: ${run.storeWrites} batches written, ${run.storeMeanMs.toFixed(1)} ms mean from write to durable`);
    const solverMs = run.sites.reduce((s, x) => s + x.placeMs, 0);
    ctx.log(`solver: ${run.sites.map((s) => `${s.site} ${s.calls} calls ${s.placeMs.toFixed(0)} ms`).join(', ')}`);
    const solverRates = run.sites.filter((s) => s.placeMs > 0).map((s) => s.placedTasks / (s.placeMs / 1000));
    ctx.record({ id: 'solver', unit: 'placements/s', samples: solverRates.length ? solverRates : [run.placed / (solverMs / 1000)] });
    ctx.record({ id: 'core', unit: 'placements/s', samples: run.windowRates.length ? run.windowRates : [run.placed / run.seconds], baseline: 'solver' });
    ctx.record({ id: 'core-overall', unit: 'placements/s', samples: [run.placed / run.seconds] });
    ctx.record({ id: 'cycle-p50', unit: 'ms', samples: [quantile(run.cycleMs, 0.5)] });
    ctx.record({ id: 'cycle-p99', unit: 'ms', samples: [quantile(run.cycleMs, 0.99)] });

    // core-no-store: the previous configuration, no store and no verification.
    const bare = await runCore(clusterScript(workload), { store: false, jobs: workload.jobs, tasks, window });
    ctx.log(`core-no-store: ${bare.seconds.toFixed(1)} s wall, ${bare.cycles} cycles, ${bare.placed} placements`);
    ctx.record({ id: 'core-no-store', unit: 'placements/s', samples: bare.windowRates.length ? bare.windowRates : [bare.placed / bare.seconds], baseline: 'core' });

    // rss-growth: memory flat under a stream of jobs with retention (bench/scheduler-rss.ts).
    await rssGrowthCase(ctx);

    // snapshot-stall-ms: the main thread while a snapshot is folded on the pool (bench/scheduler-snapshot.ts).
    await snapshotStallCase(ctx);
  },
});
