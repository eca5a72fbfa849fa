/**
 * One run of the scheduling core on the cluster workload (bench/workloads/cluster.ts), for the `core` and
 * `core-no-store` cases of bench/scheduler.bench.ts: the whole core (queues → dispatcher → sites on a
 * worker → solver → events, plus the task starts and ends the virtual fleet reports) on the virtual clock.
 *
 * With `store`, it runs as a server does: every event goes to an embedded store in a temporary folder
 * (group commit with the server's defaults, fsync per group), placements reach the fleet only once
 * durable, and the simulation rebuilds the whole state from the events and checks every placement
 * against node capacity, as the scheduler's tests do. Without it (the old configuration), events are
 * durable at once and nothing is rebuilt or checked per placement.
 *
 * Either way, before anything is returned the run is checked: every job succeeded, every task was placed
 * exactly as often as the sites say they placed, and no node actor still holds an allocation; with the
 * store, also no over-commitment, every emitted event durable, and the rebuilt state agreeing that every
 * job succeeded.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createLogger } from '../src/log/index.js';
import type { EventSink, SiteStats, SimScript } from '../src/scheduler/index.js';
import { recoverScheduler, Simulation, storeSink } from '../src/scheduler/index.js';
import { openEmbeddedStore } from '../src/store/index.js';

export interface CoreRun {
  /** Placements per second of wall time over consecutive windows of `window` placements. */
  readonly windowRates: number[];
  readonly placed: number;
  readonly seconds: number;
  readonly cycleMs: readonly number[];
  readonly sites: readonly SiteStats[];
  readonly cycles: number;
  readonly simulatedMs: number;
  /** With the store: batches the dispatcher handed it, and their mean time from write to durable (ms). */
  readonly storeWrites: number;
  readonly storeMeanMs: number;
}

export async function runCore(script: SimScript, options: { readonly store: boolean; readonly jobs: number; readonly tasks: number; readonly window: number }): Promise<CoreRun> {
  const dir = options.store ? await mkdtemp(join(tmpdir(), 'muster-bench-core-')) : undefined;
  const store = dir ? await openEmbeddedStore({ dir, logger: createLogger({ name: 'bench', level: 'warn' }) }) : undefined;
  try {
    let sink: EventSink | undefined;
    let durable = 0;
    let writes = 0;
    let waitMs = 0;
    if (store) {
      const inner = storeSink(store, (await recoverScheduler(store)).epoch);
      sink = {
        write: (events, firstSeq) => {
          const at = performance.now();
          writes++;
          return inner.write(events, firstSeq)?.then(() => {
            durable += events.length;
            waitMs += performance.now() - at;
          });
        },
      };
    }
    const windowRates: number[] = [];
    let windowStart = performance.now();
    let windowPlaced = 0;
    let placed = 0;
    let emitted = 0;
    const sim = await Simulation.create({
      script,
      verify: options.store,
      ...(sink ? { sink } : {}),
      onEvent: (e) => {
        emitted++;
        if (e.kind !== 'TasksPlaced') return;
        placed += e.placements.length;
        windowPlaced += e.placements.length;
        if (windowPlaced >= options.window) {
          const now = performance.now();
          windowRates.push(windowPlaced / ((now - windowStart) / 1000));
          windowStart = now;
          windowPlaced = 0;
        }
      },
    });
    const started = performance.now();
    const report = await sim.run();
    const seconds = (performance.now() - started) / 1000;
    const sites = await sim.core.siteStats();
    // The outcome, from the queue actors themselves: every job succeeded, and no node actor holds anything.
    const slices = await sim.core.queueSlices();
    const jobs = slices.flatMap((s) => [...s.jobs.values()]);
    const unfinished = jobs.filter((j) => j.status !== 'succeeded').length;
    if (jobs.length !== options.jobs || unfinished > 0) throw new Error(`${unfinished} of ${jobs.length} jobs did not succeed`);
    const held = (await sim.core.nodeSnapshots()).filter((n) => n.allocations.length > 0).length;
    if (held > 0) throw new Error(`${held} node actors still hold allocations`);
    await sim.close();
    if (placed !== options.tasks) throw new Error(`placed ${placed} tasks, expected ${options.tasks}`);
    const solverPlaced = sites.reduce((s, x) => s + x.placedTasks, 0);
    if (solverPlaced !== placed) throw new Error(`sites report ${solverPlaced} placements, events ${placed}`);
    if (options.store) {
      if (report.overcommits.length > 0) throw new Error(`${report.overcommits.length} over-commitments, first ${JSON.stringify(report.overcommits[0])}`);
      const rebuilt = [...sim.state.jobs.values()];
      const ended = rebuilt.filter((j) => j.status === 'succeeded').length;
      if (rebuilt.length !== options.jobs || ended !== options.jobs) throw new Error(`the state rebuilt from the events has ${ended} of ${rebuilt.length} jobs succeeded`);
      if (durable !== emitted) throw new Error(`${emitted} events emitted, ${durable} durable`);
    }
    return { windowRates, placed, seconds, cycleMs: sim.cycleMs, sites, cycles: report.cycles, simulatedMs: report.endedAt, storeWrites: writes, storeMeanMs: writes ? waitMs / writes : 0 };
  } finally {
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}
