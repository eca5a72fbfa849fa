/**
 * The scheduling policy, judged on outcomes rather than speed: the whole scheduling core on the virtual
 * clock (src/scheduler/sim), 1,000 nodes on 3 sites, three workloads (bench/policy-workloads.ts), the
 * metrics as pure functions (bench/policy-metrics.ts) of what the run observed (bench/policy-run.ts).
 * The run is deterministic: the same code gives the same numbers, so each case has one sample.
 *
 * - `utilisation` (mixed workload): useful busy resource-time within the arrival window ÷ the offline upper
 *   bound of the same workload on the same cluster (policy-metrics.ts `utilisationBound` says why no
 *   schedule can beat it);
 * - `share-error` (mixed): the largest gap, in percentage points, between a queue's used and entitled
 *   dominant share over one-minute windows in which it had pending work throughout (entitlement: weighted
 *   max-min over the queues with pending work, guarantees as floors);
 * - `gang-wait-p99` (flood): seconds from a gang's submission to its placement, p99, under a flood of small
 *   jobs from another queue. Its baseline, `gang-wait-p99-no-reservations`, is the same run with
 *   reservations off (the core's `reservations` option), in the same process;
 * - `reclaim-cycles` (reclaim): dispatch cycles from the guaranteed queue's submission until its share
 *   reaches min(guarantee, its demand). With no preemption in the scheduler, the guarantee is met only as
 *   the borrower's running work ends;
 * - `preemptions-per-reclaim` (reclaim): attempts preempted (`TasksPreempted` events) ÷ the tasks the
 *   reclaim needed. Recorded only when the run saw a preemption: with none in the scheduler, 0 would meet
 *   the target without measuring anything.
 *
 * Each run is checked before anything is recorded (policy-run.ts says how).
 */
import { activeBackend } from '../src/placement/index.js';
import { defineBenchmark, RUNNER } from './lib/index.js';
import { gangWaitP99, preemptionsPerReclaim, reclaimCycles, shareError, utilisation, utilisationBound } from './policy-metrics.js';
import type { PolicySwitches } from './policy-run.js';
import { demandsOf, runPolicy } from './policy-run.js';
import { floodWorkload, mixedWorkload, RECLAIM_TASK_CORES, reclaimWorkload } from './policy-workloads.js';

/** Shares are judged over windows of one minute (simulated). */
const SHARE_WINDOW_MS = 60_000;
const GUARANTEE = 0.5;

export default defineBenchmark({
  name: 'policy',
  measures: ['src/scheduler', 'src/placement', 'src/model', 'src/actors', 'src/errors', 'src/log', 'native', 'wasm', 'bench/policy*', 'bench/workloads/random.ts', ...RUNNER],
  async run(ctx) {
    const nodes = 1000;
    const config = {
      nodes,
      sites: 3,
      mixedArrivalMs: ctx.quick ? 300_000 : 1_200_000,
      floodArrivalMs: ctx.quick ? 300_000 : 900_000,
      reclaimSubmitAtMs: 300_000,
      guarantee: GUARANTEE,
      seed: 11,
    };
    ctx.config(config);
    ctx.env({ backend: activeBackend() });

    // Mixed: utilisation and share error.
    const mixed = mixedWorkload({ nodes, arrivalMs: config.mixedArrivalMs, seed: config.seed });
    const run = await runPolicy({ script: mixed.script, horizonMs: mixed.arrivalMs });
    ctx.log(`mixed: ${mixed.script.jobs.length} jobs, ${run.placements} placements, ${run.cycles} cycles, ${(run.simulatedMs / 60_000).toFixed(1)} min simulated in ${run.seconds.toFixed(1)} s`);
    const bound = utilisationBound(demandsOf(mixed.script), run.capacity, mixed.arrivalMs);
    const util = utilisation(run.busy, bound, run.capacity);
    ctx.log(`mixed: busy ${(run.busy.cpu / run.capacity.cpu / 60_000).toFixed(2)} cluster-minutes of cpu, bound ${(bound.cpu / run.capacity.cpu / 60_000).toFixed(2)} (window ${(mixed.arrivalMs / 60_000).toFixed(0)} min)`);
    if (!(util > 0 && util <= 1)) throw new Error(`utilisation ${util} is outside (0, 1]: the bound or the busy time is wrong`);
    ctx.record({ id: 'utilisation', unit: 'ratio', samples: [util] });
    const shares = shareError(run.timeline, SHARE_WINDOW_MS, run.simulatedMs);
    if (shares.judged === 0) throw new Error('no queue had pending work through a whole window: the mixed workload does not load the cluster');
    const where = shares.queue === undefined ? '' : `, worst ${run.queues[shares.queue]!.name} in the minute from ${(shares.windowStart! / 60_000).toFixed(0)}`;
    ctx.log(`mixed: ${shares.judged} queue-minutes judged${where}`);
    ctx.record({ id: 'share-error', unit: 'pp', samples: [shares.maxPp] });

    // Flood: gang waits, without reservations (the baseline) and with them, the same workload.
    const flood = floodWorkload({ nodes, arrivalMs: config.floodArrivalMs, seed: config.seed });
    const expectedGangs = flood.script.jobs.filter((j) => j.spec.gang).length;
    const floodWaits = async (label: string, policy: PolicySwitches): Promise<number> => {
      const floodRun = await runPolicy({ script: flood.script, horizonMs: flood.arrivalMs, gangQueue: 'gangs', policy });
      ctx.log(`flood ${label}: ${flood.script.jobs.length} jobs, ${floodRun.placements} placements, ${floodRun.cycles} cycles, ${(floodRun.simulatedMs / 60_000).toFixed(1)} min simulated in ${floodRun.seconds.toFixed(1)} s`);
      if (floodRun.gangs.length !== expectedGangs || expectedGangs === 0) throw new Error(`${floodRun.gangs.length} gangs placed of ${expectedGangs}`);
      ctx.log(`flood ${label}: gang waits (s) ${floodRun.gangs.map((g) => ((g.placedAt - g.submittedAt) / 1000).toFixed(0)).join(', ')}`);
      return gangWaitP99(floodRun.gangs);
    };
    ctx.record({ id: 'gang-wait-p99-no-reservations', unit: 's', samples: [await floodWaits('without reservations', { reservations: false })] });
    ctx.record({ id: 'gang-wait-p99', unit: 's', samples: [await floodWaits('with reservations', {})], baseline: 'gang-wait-p99-no-reservations' });

    // Reclaim: cycles to the guarantee, preemptions per reclaim.
    const reclaim = reclaimWorkload({ nodes, submitAtMs: config.reclaimSubmitAtMs, guarantee: GUARANTEE, seed: config.seed });
    const reclaimRun = await runPolicy({ script: reclaim.script, horizonMs: reclaim.arrivalMs, watchQueue: 'owner' });
    ctx.log(`reclaim: ${reclaim.script.jobs.length} jobs, ${reclaimRun.placements} placements, ${reclaimRun.cycles} cycles, ${(reclaimRun.simulatedMs / 60_000).toFixed(1)} min simulated in ${reclaimRun.seconds.toFixed(1)} s`);
    const watched = reclaimRun.watched;
    if (!watched) throw new Error('the owner queue never submitted');
    const owner = reclaimRun.queues.find((q) => q.name === 'owner')!;
    const demandShare = (reclaim.ownerTasks * RECLAIM_TASK_CORES * 1000) / reclaimRun.capacity.cpu;
    const target = Math.min(owner.guaranteedShare, demandShare);
    const cycles = reclaimCycles(watched.shares, watched.submittedAfter, target);
    if (cycles === undefined) throw new Error(`the owner queue never reached its share ${target}`);
    // The sample that met it: a cycle's placements come in several events, so not the cycle's first.
    const met = watched.shares.find((s) => s.cycle === watched.submittedAfter + cycles && s.share >= target - 1e-9)!;
    // Preemptions up to the cycle that met the guarantee (one that preempts places the freed room later).
    const preempted = reclaimRun.preemptions.filter((p) => p.cycle <= met.cycle).reduce((s, p) => s + p.attempts, 0);
    ctx.log(`reclaim: owner submitted after cycle ${watched.submittedAfter}, reached ${(met.share * 100).toFixed(1)} % (target ${(target * 100).toFixed(1)} %) at cycle ${met.cycle} (${(met.at / 60_000).toFixed(1)} min) with ${met.running} tasks running; ${preempted} attempts preempted`);
    ctx.record({ id: 'reclaim-cycles', unit: 'cycles', samples: [cycles] });
    if (preempted > 0) ctx.record({ id: 'preemptions-per-reclaim', unit: 'ratio', samples: [preemptionsPerReclaim(preempted, met.running)] });
    else ctx.log('preemptions-per-reclaim: not recorded, no TasksPreempted event in the run (the scheduler has no preemption yet)');
  },
});
