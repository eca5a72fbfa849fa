/**
 * A soak run: a long stream of short jobs through a simulated fleet with retention on, measured at
 * checkpoints. The soak test (a bounded run) and the `rss-growth` benchmark (2,000,000 jobs) both run it:
 * what they check is that the live state stops growing once retention keeps pace with the stream.
 *
 * The fleet is `nodes` nodes of `NODE_CPU` cores in one site; every job is one task of one core that runs
 * `JOB_MS` and succeeds. Jobs arrive in batches every `BATCH_EVERY_MS` at `LOAD` of the fleet's throughput,
 * so the queue stays short and the live state is what retention keeps plus what runs. Arrivals are made as
 * the run goes (the script's feed): nothing per job is held outside the scheduler.
 */
import type { ActorSystem } from '../../actors/index.js';
import { MusterError } from '../../errors/index.js';
import type { JobSpec, NodeSpec } from '../../model/index.js';
import { validateJob, validateNode } from '../../model/index.js';
import type { RetentionPolicy } from '../retention.js';
import type { SimJob } from './script.js';
import { Simulation } from './harness.js';

/** Cores per simulated node. */
export const NODE_CPU = 8;
/** How long each job runs (simulated): short jobs, so a million of them pass in minutes of simulated time. */
export const JOB_MS = 1000;
/** Arrivals come in batches this often (simulated), as clients' frames would. */
export const BATCH_EVERY_MS = 100;
/** Arrival rate as a share of what the fleet can run: below 1, so the queue does not grow without bound. */
export const LOAD = 0.9;

export interface SoakOptions {
  readonly jobs: number;
  readonly nodes: number;
  readonly retention: RetentionPolicy;
  /** Call `onCheckpoint` each time this many more jobs have ended. */
  readonly checkpointEvery: number;
  readonly onCheckpoint?: (at: SoakCheckpoint) => void | Promise<void>;
  readonly system?: ActorSystem;
  /** Rebuild the whole state from the events beside the run and check capacity (slower). */
  readonly verify?: boolean;
}

export interface SoakCheckpoint {
  /** Jobs ended so far. */
  readonly ended: number;
  /** Jobs in the queue actors' live state now. */
  readonly live: number;
  /** Jobs retired so far. */
  readonly retired: number;
  readonly simulatedMs: number;
}

export interface SoakReport {
  readonly checkpoints: readonly SoakCheckpoint[];
  /** Most live jobs seen at any checkpoint. */
  readonly maxLive: number;
  /** Jobs that did not succeed (none when the scheduler is right). */
  readonly failed: number;
  readonly overcommits: number;
  readonly simulatedMs: number;
}

function valid<T = JobSpec>(checked: { ok: true; value: T } | { ok: false }): T {
  if (!checked.ok) throw new MusterError('MUSTER_ERR_INTERNAL', 'the soak workload\'s specs are invalid');
  return checked.value;
}

/** The jobs' arrival rate (per second) for a fleet of `nodes`. */
export function arrivalRate(nodes: number): number {
  return Math.floor(((nodes * NODE_CPU * 1000) / JOB_MS) * LOAD);
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const perBatch = Math.max(1, Math.round((arrivalRate(options.nodes) * BATCH_EVERY_MS) / 1000));
  // One spec for every job (as interned specs would be): the run measures the scheduler, not the specs.
  const spec = valid(validateJob({ queue: 'default', tasks: [{ resources: { cpu: '1', memory: '256Mi' }, command: 'true' }] }));
  let made = 0;
  const feed = (): SimJob | undefined => {
    if (made >= options.jobs) return undefined;
    const at = Math.floor(made / perBatch) * BATCH_EVERY_MS;
    made++;
    return { at, spec, durationMs: JOB_MS };
  };
  const nodes = Array.from({ length: options.nodes }, (_, i) => ({ spec: valid<NodeSpec>(validateNode({ name: `n${i}`, site: 'a', capacity: { cpu: String(NODE_CPU), memory: `${NODE_CPU * 4}Gi` } })) }));
  let ended = 0;
  let retired = 0;
  let failed = 0;
  const sim = await Simulation.create({
    script: { sites: ['a'], nodes, jobs: [], feed },
    ...(options.system ? { system: options.system } : {}),
    verify: options.verify ?? false,
    retention: options.retention,
    onEvent: (e) => {
      if (e.kind === 'JobEnded') {
        ended++;
        if (e.outcome !== 'succeeded') failed++;
      } else if (e.kind === 'JobsRetired') retired += e.jobs.length;
    },
  });
  const checkpoints: SoakCheckpoint[] = [];
  let maxLive = 0;
  let next = options.checkpointEvery;
  try {
    for (let until = JOB_MS; ended < options.jobs; until += JOB_MS) {
      const report = await sim.run(until);
      if (ended >= next || ended >= options.jobs) {
        const live = (await sim.core.queueSlices()).reduce((n, slice) => n + slice.jobs.size, 0);
        maxLive = Math.max(maxLive, live);
        const at: SoakCheckpoint = { ended, live, retired, simulatedMs: report.endedAt };
        checkpoints.push(at);
        await options.onCheckpoint?.(at);
        while (next <= ended) next += options.checkpointEvery;
      }
      if (report.endedAt < until && ended < options.jobs) throw new Error(`the soak stopped at ${report.endedAt} ms with ${ended} of ${options.jobs} jobs ended`);
    }
    return { checkpoints, maxLive, failed, overcommits: sim.overcommits.length, simulatedMs: sim.clock.now() };
  } finally {
    await sim.close();
  }
}
