/**
 * One simulated run of a script over the recorded window: the whole scheduling core on a virtual clock
 * (src/scheduler/sim), watched by the same report builder as the recording. The run stops at the window's
 * end, whatever is still pending or running then, so runs under different policies cover the same time.
 */
import type { ActorSystem } from '../actors/index.js';
import { MusterError } from '../errors/index.js';
import { Simulation } from '../scheduler/index.js';
import { ReportBuilder, type ReplayReport } from './report.js';
import type { WhatIfScript } from './what-if.js';

export async function simulateReport(built: WhatIfScript, windowMs: number, buckets: number, system: ActorSystem | undefined): Promise<ReplayReport> {
  const builder = new ReportBuilder(0);
  const sim = await Simulation.create({ script: built.script, ...(system ? { system } : {}), onEvent: (e, state) => builder.observe(e, state) });
  try {
    sim.clock.schedule(windowMs, () => {}); // the run reaches the window's end even if nothing happens there
    await sim.run(windowMs);
    built.expectedIds.forEach((id, i) => {
      if (sim.jobIds[i] !== id) {
        throw new MusterError('MUSTER_ERR_INTERNAL', `the simulation gave job ${i + 1} of the script the id ${String(sim.jobIds[i])}, not ${id}: dependencies would point at the wrong jobs`);
      }
    });
    return builder.finish(sim.state, windowMs, buckets);
  } finally {
    await sim.close();
  }
}
