/**
 * Backfill with reservations: the dispatcher's book of each queue's blocked head and where and when it will
 * fit (reservation-plan.ts). In run order, per cycle:
 *
 *   1. a cycle plans and places as before, except that on a site with reservations each candidate is placed
 *      with the holds of the reservations that bind it taken off the table (held-placement.ts): every
 *      reservation binds every candidate but its own head and work whose longest time limit ends before
 *      the reservation starts, which is sure to be gone by then (conservative backfill; work with no time
 *      limit never backfills into a reservation);
 *   2. when the cycle ends, each queue whose first candidate (its head: highest priority, oldest) was not
 *      placed at all, for want of capacity (not a cap), while other work was placed, gets a reservation: the
 *      earliest time it fits, from the time limits of what runs, on the site where that is soonest. A head
 *      already reserved keeps its plan until it starts or `RESERVATION_REFRESH_MS` passes, so planning costs
 *      little on a busy cluster.
 *
 * A head that is placed, cancelled or overtaken by a higher-priority job of its queue loses the reservation.
 * Reservations are soft state: a new leader or a restart makes them again at its first cycles.
 */
import type { Candidate } from './candidates.js';
import type { Hold, PlanNode, Release, ReservationPlan } from './reservation-plan.js';
import { planReservation } from './reservation-plan.js';

export interface Reservation extends ReservationPlan {
  readonly queue: string;
  readonly job: string;
  /** When the plan was made (scheduler time). */
  readonly madeAt: number;
}

/**
 * How long a plan stands before it is made again (scheduler time): ends come earlier than time limits say,
 * so a plan made again later may start sooner.
 */
export const RESERVATION_REFRESH_MS = 5_000;

/** Reservations one site keeps at once (a bit each in a candidate's mask); later ones wait for a slot. */
export const MAX_RESERVATIONS_PER_SITE = 30;

/** What planning needs of the cluster, built only when some head needs a plan. */
export interface ClusterView {
  sites(): Iterable<{ readonly site: string; readonly nodes: readonly PlanNode[] }>;
  /** Live attempts by node name. */
  live(): ReadonlyMap<string, readonly Release[]>;
}

export class ReservationBook {
  readonly #byQueue = new Map<string, Reservation>();
  /** Room made by preemption (reclaim.ts), by job: held from now until the job is placed or `expiresAt`. */
  readonly #preempted = new Map<string, Reservation & { readonly expiresAt: number }>();

  get size(): number {
    return this.#byQueue.size + this.#preempted.size;
  }

  all(): Reservation[] {
    return [...this.#byQueue.values(), ...this.#preempted.values()];
  }

  /** The reservations on one site, earliest first. */
  onSite(site: string): Reservation[] {
    return this.all().filter((r) => r.site === site).sort((a, b) => a.start - b.start);
  }

  /**
   * Holds what preempted attempts free for the job they were preempted for, from now: nothing else is placed
   * there while they stop. Kept until the job is placed or `expiresAt` (their grace, and some, has passed).
   */
  reserveFreed(queue: string, job: string, site: string, holds: readonly Hold[], now: number, expiresAt: number): void {
    this.#preempted.set(job, { queue, job, site, start: now, holds, madeAt: now, expiresAt });
  }

  /** After a cycle: a job placed, or past its time, no longer needs what was freed for it. */
  settleFreed(placed: ReadonlySet<string>, now: number): void {
    for (const [job, r] of this.#preempted) if (placed.has(job) || now >= r.expiresAt) this.#preempted.delete(job);
  }

  /** The queue's reservation, if its head has one. */
  of(queue: string): Reservation | undefined {
    return this.#byQueue.get(queue);
  }

  /** The site where room is held for the job, if any. */
  siteOf(job: string): string | undefined {
    return this.#preempted.get(job)?.site ?? [...this.#byQueue.values()].find((r) => r.job === job)?.site;
  }

  /** The queue's jobs room is held for. */
  jobsOf(queue: string): string[] {
    return this.all().filter((r) => r.queue === queue).map((r) => r.job);
  }

  /** Whether room preempted for the job is held. */
  freedFor(job: string): Reservation | undefined {
    return this.#preempted.get(job);
  }

  /**
   * After a cycle: `heads` are the queues' first candidates with whether each may hold room (`reserve`);
   * `overtaken` says whether the cycle placed anything. A head that only waits for capacity to free, with
   * nothing getting ahead of it, needs no reservation: it is served first when capacity frees. One that
   * other work got ahead of gets one, and keeps it while it stays blocked. Queues that offered nothing keep
   * no reservation.
   */
  update(heads: ReadonlyMap<string, { readonly head: Candidate; readonly blocked: boolean; readonly reserve: boolean }>, overtaken: boolean, now: number, cluster: ClusterView): void {
    for (const queue of [...this.#byQueue.keys()]) if (!heads.get(queue)?.reserve) this.#byQueue.delete(queue);
    let live: ReadonlyMap<string, readonly Release[]> | undefined;
    for (const [queue, { head, reserve }] of heads) {
      if (!reserve) continue;
      const held = this.#byQueue.get(queue);
      if (!held && !overtaken) continue;
      if (held && held.job === head.job && held.start > now && now - held.madeAt < RESERVATION_REFRESH_MS) continue;
      live ??= cluster.live();
      const plan = bestPlan(head, now, cluster, live);
      if (plan) this.#byQueue.set(queue, { ...plan, queue, job: head.job, madeAt: now });
      else this.#byQueue.delete(queue);
    }
  }

  /**
   * What a cycle sends one site: the holds of each of its reservations (earliest first, at most
   * `MAX_RESERVATIONS_PER_SITE`) and, per candidate, a bit mask of the reservations that bind it and the
   * reservation it owns (-1: none). A reservation binds every candidate but its own and work sure to end
   * before it starts.
   */
  forBatch(
    site: string,
    candidates: readonly Candidate[],
    now: number,
  ): { readonly reserved: readonly (readonly Hold[])[]; readonly bound: readonly number[]; readonly owns: readonly number[] } | undefined {
    const here = this.onSite(site).slice(0, MAX_RESERVATIONS_PER_SITE);
    if (here.length === 0) return undefined;
    const bound = candidates.map((c) => {
      let mask = 0;
      here.forEach((r, i) => {
        if (r.job !== c.job && now + c.runsFor > r.start) mask |= 1 << i;
      });
      return mask;
    });
    if (bound.every((m) => m === 0)) return undefined;
    const owns = candidates.map((c) => here.findIndex((r) => r.job === c.job));
    return { reserved: here.map((r) => r.holds), bound, owns };
  }
}

/** The plan that starts soonest over the sites the head allows (ties: the site named first). */
function bestPlan(head: Candidate, now: number, cluster: ClusterView, live: ReadonlyMap<string, readonly Release[]>): ReservationPlan | undefined {
  let best: ReservationPlan | undefined;
  for (const { site, nodes } of cluster.sites()) {
    if (head.sites.length > 0 && !head.sites.includes(site)) continue;
    const plan = planReservation(head.request, now, { site, nodes, live });
    if (plan && (!best || plan.start < best.start)) best = plan;
  }
  return best;
}
