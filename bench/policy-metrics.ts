/**
 * The scheduling-policy benchmark's metrics (bench/policy.bench.ts), as pure functions of what a run
 * observed: no clock, no scheduler, no I/O. test/bench/policy-metrics.test.ts checks each on small cases
 * computed by hand.
 *
 * Resources are compared dimension by dimension over cpu, memory and gpu (the policy workloads ask for no
 * extended resources); a queue's share of the cluster is its dominant share (dominant-resource fairness).
 */
import { quantile } from './lib/stats.js';

/** The dimensions the metrics compare. */
export const DIMENSIONS = ['cpu', 'memory', 'gpu'] as const;
export type Dimension = (typeof DIMENSIONS)[number];
export type Amounts = Readonly<Record<Dimension, number>>;

/** Shares within this of a target count as reaching it (sums of fractions are not exact). */
export const SHARE_EPSILON = 1e-9;

// ---------------------------------------------------------------------------------------------------------
// utilisation

/** One task as the workload asks for it: when its job arrives, how long it really runs, what it holds. */
export interface TaskDemand {
  readonly arrivalMs: number;
  readonly durationMs: number;
  readonly resources: Amounts;
}

/**
 * The most resource-time (per dimension, resource × ms) that any schedule of `tasks` on a cluster of
 * `capacity` can keep busy within the window [0, horizonMs]: an offline upper bound.
 *
 * Why it holds: split the window at any instant t. Before t, task j can have run at most
 * min(duration_j, t − arrival_j)⁺ (it cannot start before its job arrives, nor run longer than it takes),
 * so the work done in [0, t] is at most A(t) = Σ_j r_j · min(duration_j, (t − arrival_j)⁺). After t, at
 * most the whole capacity is busy: C · (horizon − t). So every schedule's busy resource-time is at most
 * A(t) + C · (horizon − t) for every t, hence at most the minimum over t. t = 0 gives the capacity bound
 * C · horizon, t = horizon the demand bound A(horizon); the minimum in between respects arrivals (work
 * that arrives late cannot fill the early idle capacity). The function is piecewise linear in t, changing
 * slope only where a task's fluid run starts (its arrival) or ends (arrival + duration), so its minimum is
 * at one of those instants or at an end of the window.
 *
 * It ignores what no fluid bound sees (packing tasks into nodes, gangs starting whole, queue limits), so a
 * real scheduler may not reach it; no schedule can beat it.
 */
export function utilisationBound(tasks: readonly TaskDemand[], capacity: Amounts, horizonMs: number): Amounts {
  // Slope changes of A(t): +r at a task's arrival, −r when its fluid run ends; only instants in the window matter.
  const changes: { at: number; delta: Amounts }[] = [];
  for (const task of tasks) {
    if (task.arrivalMs >= horizonMs || task.durationMs <= 0) continue;
    const negative = {} as Record<Dimension, number>;
    for (const d of DIMENSIONS) negative[d] = -task.resources[d];
    changes.push({ at: Math.max(0, task.arrivalMs), delta: task.resources });
    if (task.arrivalMs + task.durationMs < horizonMs) changes.push({ at: task.arrivalMs + task.durationMs, delta: negative });
  }
  changes.sort((a, b) => a.at - b.at);
  const bound = {} as Record<Dimension, number>;
  for (const d of DIMENSIONS) {
    let best = capacity[d] * horizonMs; // t = 0
    let done = 0; // A(t)
    let slope = 0;
    let at = 0;
    for (let i = 0; i <= changes.length; i++) {
      const next = i < changes.length ? changes[i]!.at : horizonMs;
      done += slope * (next - at);
      at = next;
      best = Math.min(best, done + capacity[d] * (horizonMs - at));
      if (i < changes.length) slope += changes[i]!.delta[d];
    }
    bound[d] = best;
  }
  return bound;
}

/**
 * Busy resource-time ÷ its upper bound, over the dimensions the bound is not zero in, each counted in
 * units of the whole cluster (resource-time ÷ capacity) so that no dimension outweighs another by its unit.
 * Since busy ≤ bound in every dimension, the result is at most 1 for any schedule.
 */
export function utilisation(busy: Amounts, bound: Amounts, capacity: Amounts): number {
  let used = 0;
  let most = 0;
  for (const d of DIMENSIONS) {
    if (capacity[d] <= 0 || bound[d] <= 0) continue;
    used += busy[d] / capacity[d];
    most += bound[d] / capacity[d];
  }
  if (most === 0) throw new RangeError('utilisation of a workload that asks for nothing');
  return used / most;
}

// ---------------------------------------------------------------------------------------------------------
// share-error

/** A queue at one moment, for the entitlement: its weight, guarantee, share used and whether it waits. */
export interface QueueMoment {
  readonly weight: number;
  /** The fraction of the cluster it may always reclaim (QueueSpec.guaranteedShare), in [0, 1]. */
  readonly guarantee: number;
  /** Its dominant share of the cluster now. */
  readonly used: number;
  /** Whether it has pending work (wants more than it holds). */
  readonly pending: boolean;
}

/**
 * Each queue's entitled share of the cluster: weighted max-min fairness on dominant shares with
 * guarantees as floors (the DRF entitlement, by progressive filling). A queue with pending work wants
 * without bound; a queue with nothing pending wants exactly what it holds and no more. The cluster (share
 * 1) is filled by raising a common level L: queue i gets min(want_i, max(floor_i, weight_i · L)), with
 * floor_i = min(guarantee_i, want_i), L the largest level at which the sum stays within 1. When no queue
 * waits, each is entitled to what it holds.
 */
export function entitlements(queues: readonly QueueMoment[]): number[] {
  const want = queues.map((q) => (q.pending ? Infinity : q.used));
  const floor = queues.map((q, i) => Math.min(q.guarantee, want[i]!));
  const at = (level: number): number[] => queues.map((q, i) => Math.min(want[i]!, Math.max(floor[i]!, q.weight * level)));
  const total = (level: number): number => at(level).reduce((s, x) => s + x, 0);
  if (!queues.some((q) => q.pending)) return [...want];
  // The sum is piecewise linear and non-decreasing in L, bending where a queue's share leaves its floor
  // (L = floor/weight) or meets its want (L = want/weight): find the segment where it crosses 1, then solve
  // the line. Past the last bend only the waiting queues still rise, each by its weight. Guarantees summing
  // past 1 leave every queue at its floor.
  const bends = [...new Set(queues.flatMap((q, i) => [floor[i]! / q.weight, want[i]! / q.weight]).filter((b) => Number.isFinite(b) && b > 0))].sort((a, b) => a - b);
  let low = 0;
  let level: number | undefined;
  for (const high of bends) {
    if (total(high) >= 1) {
      const [a, b] = [total(low), total(high)];
      level = b === a ? high : low + ((1 - a) * (high - low)) / (b - a);
      break;
    }
    low = high;
  }
  if (level === undefined) {
    const rising = queues.reduce((s, q) => (q.pending ? s + q.weight : s), 0);
    level = low + Math.max(0, 1 - total(low)) / rising;
  }
  return at(level);
}

/** The queues' state from `at` until the next sample's `at` (the last one until the run's end). */
export interface ShareSample {
  readonly at: number;
  readonly queues: readonly QueueMoment[];
}

export interface ShareError {
  /** Largest gap, in percentage points, between a queue's mean used and mean entitled share in a window. */
  readonly maxPp: number;
  /** Where: the queue's index and the window's start (ms); undefined when no queue was judged. */
  readonly queue?: number;
  readonly windowStart?: number;
  /** Queue-windows judged. */
  readonly judged: number;
}

/**
 * Share error over consecutive windows of `windowMs` from the first sample to `endMs` (a last, partial
 * window is not judged). A queue is judged in a window when it had pending work throughout it; its gap is
 * |mean used share − mean entitled share| over the window (time-weighted), in percentage points.
 */
export function shareError(timeline: readonly ShareSample[], windowMs: number, endMs: number): ShareError {
  if (timeline.length === 0) return { maxPp: 0, judged: 0 };
  const n = timeline[0]!.queues.length;
  const segments = timeline.map((s, i) => ({ from: s.at, to: i + 1 < timeline.length ? timeline[i + 1]!.at : endMs, queues: s.queues, entitled: entitlements(s.queues) }));
  let worst: ShareError = { maxPp: 0, judged: 0 };
  let judged = 0;
  let k = 0;
  for (let start = timeline[0]!.at; start + windowMs <= endMs; start += windowMs) {
    const end = start + windowMs;
    while (k < segments.length && segments[k]!.to <= start) k++;
    const used = new Array<number>(n).fill(0);
    const entitled = new Array<number>(n).fill(0);
    const waiting = new Array<boolean>(n).fill(true);
    for (let j = k; j < segments.length && segments[j]!.from < end; j++) {
      const s = segments[j]!;
      const span = Math.min(end, s.to) - Math.max(start, s.from);
      if (span <= 0) continue;
      for (let q = 0; q < n; q++) {
        if (!s.queues[q]!.pending) waiting[q] = false;
        used[q]! += s.queues[q]!.used * span;
        entitled[q]! += s.entitled[q]! * span;
      }
    }
    for (let q = 0; q < n; q++) {
      if (!waiting[q]) continue;
      judged++;
      const gap = (Math.abs(used[q]! - entitled[q]!) / windowMs) * 100;
      if (gap > worst.maxPp) worst = { maxPp: gap, queue: q, windowStart: start, judged: 0 };
    }
  }
  return { ...worst, judged };
}

// ---------------------------------------------------------------------------------------------------------
// gang-wait-p99

/** p99 (nearest rank) of the gangs' waits from submission to placement, in seconds. */
export function gangWaitP99(gangs: readonly { readonly submittedAt: number; readonly placedAt: number }[]): number {
  return quantile(gangs.map((g) => (g.placedAt - g.submittedAt) / 1000), 0.99);
}

// ---------------------------------------------------------------------------------------------------------
// reclaim-cycles, preemptions-per-reclaim

/** The starved queue's share after dispatch cycle `cycle` (cycles numbered from 1 over the whole run). */
export interface CycleShare {
  readonly cycle: number;
  readonly share: number;
}

/**
 * Dispatch cycles from the starved queue's submission to the first cycle where its share reaches
 * `target` (min(guarantee, its demand)): `submittedAfter` is the number of cycles run before the
 * submission, so a guarantee met by the very next cycle counts 1. Undefined when it is never reached.
 */
export function reclaimCycles(shares: readonly CycleShare[], submittedAfter: number, target: number): number | undefined {
  const met = shares.find((s) => s.cycle > submittedAfter && s.share >= target - SHARE_EPSILON);
  return met ? met.cycle - submittedAfter : undefined;
}

/** Attempts preempted for a reclaim ÷ the tasks the reclaim needed placed (the starved queue's demand up to its guarantee). */
export function preemptionsPerReclaim(preempted: number, neededTasks: number): number {
  if (neededTasks <= 0) throw new RangeError('a reclaim that needed no tasks');
  return preempted / neededTasks;
}
