/**
 * One run of a policy workload (bench/policy-workloads.ts) through the whole scheduling core on the
 * virtual clock (src/scheduler/sim), and what bench/policy-metrics.ts needs from it, observed from the
 * event stream (`onEvent`): each queue's usage and pending tasks over time, the useful busy resource-time,
 * when each gang was placed, a watched queue's share after each dispatch cycle, preempted attempts.
 *
 * Before anything is returned the run is checked: every job succeeded, no node was over-committed (the
 * harness rebuilds the state and checks every placement), no node actor still holds an allocation, and
 * the usage this observer kept returned to zero.
 */
import { performance } from 'node:perf_hooks';
import type { JobSpec, QueueSpec } from '../src/model/index.js';
import { dominantShare, jobTaskCount, resources } from '../src/model/index.js';
import type { SchedulerEvent, SimScript } from '../src/scheduler/index.js';
import { Simulation } from '../src/scheduler/index.js';
import type { Amounts, CycleShare, Dimension, ShareSample, TaskDemand } from './policy-metrics.js';
import { DIMENSIONS } from './policy-metrics.js';

/**
 * The policy switches: the one place the scheduler's policy features are turned off for a run. Absent
 * fields: the scheduler as it is. `reservations: false`: backfill without reservations (the baseline of
 * gang-wait-p99), the core's `reservations` option.
 */
export interface PolicySwitches {
  readonly reservations?: false;
}

export interface PolicyRunOptions {
  readonly script: SimScript;
  readonly policy?: PolicySwitches;
  /** Busy resource-time counts within [0, horizonMs]. */
  readonly horizonMs: number;
  /** Gangs of this queue have their wait recorded. */
  readonly gangQueue?: string;
  /** This queue's share is recorded after every cycle that placed some of its tasks (reclaim). */
  readonly watchQueue?: string;
}

export interface PolicyRun {
  readonly capacity: Amounts;
  readonly queues: readonly QueueSpec[];
  /** Useful busy resource-time (attempts that succeeded) within [0, horizonMs], per dimension. */
  readonly busy: Amounts;
  /** The queues' state at every instant something changed. */
  readonly timeline: readonly ShareSample[];
  readonly gangs: readonly { readonly submittedAt: number; readonly placedAt: number }[];
  /** The watched queue: cycles run before its first submission, its share after each cycle placing its tasks, its running tasks then. */
  readonly watched?: { readonly submittedAfter: number; readonly shares: readonly (CycleShare & { readonly at: number; readonly running: number })[] };
  /** Attempts preempted (`TasksPreempted` events) after the watched queue's first submission, by the cycle that preempted them. */
  readonly preemptions: readonly CycleCount[];
  readonly cycles: number;
  readonly placements: number;
  readonly simulatedMs: number;
  readonly seconds: number;
}

/** The resource-time every task of the script asks for, for the offline bound: arrival, duration, size. */
export function demandsOf(script: SimScript): TaskDemand[] {
  const out: TaskDemand[] = [];
  for (const job of script.jobs) {
    const durationMs = job.durationMs ?? 1000;
    for (let element = 0; element < (job.spec.array ?? 1); element++) {
      for (const group of job.spec.tasks) {
        for (let k = 0; k < group.count; k++) out.push({ arrivalMs: job.at, durationMs, resources: amounts(group.resources) });
      }
    }
  }
  return out;
}

function amounts(r: { readonly cpu: number; readonly memory: number; readonly gpu: number }): Amounts {
  return { cpu: r.cpu, memory: r.memory, gpu: r.gpu };
}

/** Resources of task `task` of a job (its element's groups fill it in order; tasks.ts in the scheduler). */
function taskAmounts(spec: JobSpec, task: number): Amounts {
  let k = task % jobTaskCount(spec);
  for (const group of spec.tasks) {
    if (k < group.count) return amounts(group.resources);
    k -= group.count;
  }
  throw new RangeError(`task ${task} is past the job's tasks`);
}

function add(into: Record<Dimension, number>, r: Amounts, times: number): void {
  for (const d of DIMENSIONS) into[d] += r[d] * times;
}

const zero = (): Record<Dimension, number> => ({ cpu: 0, memory: 0, gpu: 0 });

export interface CycleCount {
  readonly cycle: number;
  readonly attempts: number;
}

interface QueueTrack {
  readonly spec: QueueSpec;
  readonly usage: Record<Dimension, number>;
  pending: number;
  running: number;
}

/**
 * Attempts a preemption event stops, or undefined for any other event. The event will be `TasksPreempted
 * { attempts: Placement[] }`; src/scheduler/events.ts has no such kind yet, so it is matched by its kind
 * string and read loosely typed, and counts as soon as the scheduler emits it.
 */
function preemptedAttempts(e: SchedulerEvent): number | undefined {
  const loose = e as unknown as { readonly kind: string; readonly attempts?: readonly unknown[] };
  return loose.kind === 'TasksPreempted' ? (loose.attempts?.length ?? 0) : undefined;
}

export async function runPolicy(options: PolicyRunOptions): Promise<PolicyRun> {
  const { script, horizonMs } = options;
  const capacity = zero();
  for (const n of script.nodes) add(capacity, amounts(n.spec.capacity), 1);
  const queues = script.queues ?? [];
  const tracks = new Map<string, QueueTrack>(queues.map((q) => [q.name, { spec: q, usage: zero(), pending: 0, running: 0 }]));
  const total = resources(capacity);
  const jobs = new Map<string, { readonly track: QueueTrack; readonly spec: JobSpec; readonly submittedAt: number; placed: boolean }>();
  const live = new Map<string, { readonly start: number; readonly size: Amounts }>();
  const busy = zero();
  const timeline: ShareSample[] = [];
  const gangs: { submittedAt: number; placedAt: number }[] = [];
  const watchedShares: (CycleShare & { at: number; running: number })[] = [];
  let submittedAfter: number | undefined;
  const preemptions: CycleCount[] = [];
  let lastAt = 0;
  let changed = false;
  // Set once the simulation exists: cycles run so far (the harness times every cycle, one entry each).
  let cyclesRun = (): number => 0;

  const moment = (): ShareSample => ({
    at: lastAt,
    queues: queues.map((q) => {
      const t = tracks.get(q.name)!;
      return { weight: q.weight, guarantee: q.guaranteedShare, used: dominantShare(resources(t.usage), total), pending: t.pending > 0 };
    }),
  });
  const onEvent = (e: SchedulerEvent): void => {
    if (e.at > lastAt) {
      if (changed) timeline.push(moment());
      lastAt = e.at;
      changed = false;
    }
    const preempted = preemptedAttempts(e);
    if (preempted !== undefined) {
      if (submittedAfter !== undefined) preemptions.push({ cycle: cyclesRun(), attempts: preempted });
      return;
    }
    switch (e.kind) {
      case 'JobSubmitted': {
        const track = tracks.get(e.spec.queue);
        if (!track) throw new Error(`job in queue ${e.spec.queue}, which the workload does not define`);
        jobs.set(e.job, { track, spec: e.spec, submittedAt: e.at, placed: false });
        track.pending += jobTaskCount(e.spec) * (e.spec.array ?? 1);
        if (e.spec.queue === options.watchQueue) submittedAfter ??= cyclesRun();
        changed = true;
        return;
      }
      case 'TasksPlaced': {
        let watched: QueueTrack | undefined;
        for (const p of e.placements) {
          const job = jobs.get(p.job)!;
          const size = taskAmounts(job.spec, p.task);
          live.set(`${p.job}#${p.task}`, { start: e.at, size });
          add(job.track.usage, size, 1);
          job.track.pending--;
          job.track.running++;
          if (job.spec.queue === options.watchQueue) watched = job.track;
          if (!job.placed && job.spec.gang && job.spec.queue === options.gangQueue) gangs.push({ submittedAt: job.submittedAt, placedAt: e.at });
          job.placed = true;
        }
        // A cycle's placements are written (a microtask after the dispatcher's turn) once the harness has
        // counted the cycle, so the count is this cycle's number (test/bench/policy-run.test.ts holds it to that).
        if (watched) watchedShares.push({ cycle: cyclesRun(), at: e.at, share: dominantShare(resources(watched.usage), total), running: watched.running });
        changed = true;
        return;
      }
      case 'TaskEnded': {
        const job = jobs.get(e.job)!;
        const attempt = live.get(`${e.job}#${e.task}`);
        if (!attempt) throw new Error(`an end of ${e.job} task ${e.task}, which is not running`);
        live.delete(`${e.job}#${e.task}`);
        add(job.track.usage, attempt.size, -1);
        job.track.running--;
        if (e.outcome === 'succeeded') add(busy, attempt.size, Math.max(0, Math.min(e.at, horizonMs) - attempt.start));
        else job.track.pending++; // killed (a preemption, a gang sibling) or lost: the task waits again
        changed = true;
        return;
      }
      default:
        return;
    }
  };

  const sim = await Simulation.create({
    script,
    ...(options.policy?.reservations === false ? { core: { reservations: false } } : {}),
    onEvent,
  });
  cyclesRun = () => sim.cycleMs.length;
  const started = performance.now();
  try {
    const report = await sim.run();
    const seconds = (performance.now() - started) / 1000;
    if (changed) timeline.push(moment());
    const slices = await sim.core.queueSlices();
    const ended = slices.flatMap((s) => [...s.jobs.values()]);
    const unfinished = ended.filter((j) => j.status !== 'succeeded').length;
    if (ended.length !== script.jobs.length || unfinished > 0) throw new Error(`${unfinished} of ${ended.length} jobs did not succeed (${script.jobs.length} submitted)`);
    if (report.overcommits.length > 0) throw new Error(`${report.overcommits.length} over-commitments, first ${JSON.stringify(report.overcommits[0])}`);
    const held = (await sim.core.nodeSnapshots()).filter((n) => n.allocations.length > 0).length;
    if (held > 0) throw new Error(`${held} node actors still hold allocations`);
    for (const t of tracks.values()) {
      if (t.pending !== 0 || t.running !== 0 || DIMENSIONS.some((d) => t.usage[d] !== 0)) throw new Error(`queue ${t.spec.name} ends with ${t.pending} pending, ${t.running} running`);
    }
    return {
      capacity,
      queues,
      busy,
      timeline,
      gangs,
      ...(submittedAfter !== undefined ? { watched: { submittedAfter, shares: watchedShares } } : {}),
      preemptions,
      cycles: report.cycles,
      placements: report.placements,
      simulatedMs: report.endedAt,
      seconds,
    };
  } finally {
    await sim.close();
  }
}
