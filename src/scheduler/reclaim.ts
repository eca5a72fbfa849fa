/**
 * Who is preempted, and for whom: guarantee reclaim and priority preemption, decided at the end of each
 * dispatch cycle from what the cycle left (the queue tree with its usage, the candidates that got nothing).
 *
 * - **Reclaim.** A queue below its guarantee whose candidates did not fit takes back capacity lent to
 *   others: for each of its waiting candidates in service order (offered, its head, its claims), as long as
 *   it stays within its guarantee, the attempts of borrowing queues (over their own guarantee, and still at
 *   or over it after the eviction, so the victim never becomes a reclaimer: no loops) are evicted in order —
 *   the borrower furthest over its guarantee first, then the lowest job priority, then the youngest attempt.
 *   The queues furthest below their guarantee reclaim first.
 * - **Priority.** A queue's blocked head whose job says `mayPreempt` evicts the queue's own attempts of
 *   lower job priority, in the same order.
 * - **Never for nothing.** A plan is made only if the simulation of the site after the evictions shows the
 *   candidate fits (reclaim-plan.ts), with the fewest victims; the candidate then gets those nodes reserved
 *   at once (reservations.ts) so nothing else takes what the victims free while they stop.
 * - **Limits.** Attempts of jobs that are not `preemptible`, and tasks preempted less than their queue's
 *   `protectFor` ago, are never victims. A queue's `disruptionBudget` caps its tasks preempted in any
 *   minute; a plan the budget does not allow is not made, and why-pending says so.
 *
 * The ledger of recent preemptions is soft state, rebuilt from the records' `preemptedAt` at recovery.
 */
import type { JobSpec, Resources } from '../model/index.js';
import { isPreemptible } from '../model/index.js';
import type { Candidate } from './candidates.js';
import type { Placement, PreemptedBy } from './events.js';
import { guaranteeUse } from './fair-share.js';
import type { LiveAttempt } from './live-attempts.js';
import type { QueueAccount, QueueTree } from './queue-tree.js';
import { chargePath } from './queue-tree.js';
import type { ReclaimPlan, VictimUnit } from './reclaim-plan.js';
import { planEvictions } from './reclaim-plan.js';
import type { PlanNode } from './reservation-plan.js';
import type { ClusterView } from './reservations.js';
import { elementOf } from './tasks.js';

/** The window a disruption budget counts preemptions over. */
export const DISRUPTION_WINDOW_MS = 60_000;

/** Most jobs one cycle considers for priority preemption. */
export const MAX_PRIORITY_PREEMPTORS = 16;

/** Most candidates one cycle reclaims for, in all: the rest wait for the next cycle. */
export const MAX_RECLAIMS_PER_CYCLE = 256;

export interface Preemption {
  readonly by: PreemptedBy;
  readonly candidate: Candidate;
  readonly site: string;
  readonly plan: ReclaimPlan;
  readonly reason: string;
}

/** What reclaim needs of the dispatcher's state. */
export interface ReclaimView extends ClusterView {
  job(id: string): { readonly queue: string; readonly spec: JobSpec; readonly perElement: number } | undefined;
  liveAttempts(): Iterable<LiveAttempt>;
  liveOf(job: string, task: number): LiveAttempt | undefined;
  protectForMs(queue: string): number;
  disruptionBudget(queue: string): number | undefined;
}

export class Reclaimer {
  /** Task (`job#task`) → when it was last preempted. */
  readonly #preemptedAt = new Map<string, { readonly at: number; readonly queue: string }>();
  /** When the ledger last dropped what no longer protects or counts (scheduler time). */
  #prunedAt = -Infinity;
  /** Queue → times of its recent preemptions (one per task), oldest first. */
  readonly #recent = new Map<string, number[]>();

  /** A preemption happened (live, or replayed at recovery): it counts for protection and budgets. */
  record(queue: string, job: string, task: number, at: number): void {
    this.#preemptedAt.set(`${job}#${task}`, { at, queue });
    const list = this.#recent.get(queue) ?? [];
    while (list.length > 0 && list[0]! <= at - DISRUPTION_WINDOW_MS) list.shift();
    list.push(at);
    this.#recent.set(queue, list);
  }

  /** Tasks of `queue` preempted within the window before `now`. */
  #spent(queue: string, now: number): number {
    const list = this.#recent.get(queue);
    if (!list) return 0;
    while (list.length > 0 && list[0]! <= now - DISRUPTION_WINDOW_MS) list.shift();
    return list.length;
  }

  /**
   * The preemptions to make after a cycle, and why each waiting candidate that wanted one did not get it
   * (by job). `tree` is the cycle's, with its placements charged; it is charged further as plans are made.
   */
  plan(
    tree: QueueTree,
    waiting: () => ReadonlyMap<string, readonly Candidate[]>,
    heads: ReadonlyMap<string, { readonly head: Candidate; readonly blocked: boolean }>,
    unplaced: Iterable<Candidate>,
    now: number,
    view: ReclaimView,
  ): { preemptions: Preemption[]; refused: Map<string, string>; retryAt: number } {
    const preemptions: Preemption[] = [];
    const refused = new Map<string, string>();
    this.#retryAt = Infinity;
    this.#taken.clear();
    this.#prune(now, view);
    // With no queue holding more than its guarantee there is nothing to reclaim: skip the simulation (it
    // reads every live attempt) while a starving queue simply waits for capacity.
    const starving = !anyBorrower(tree.roots)
      ? []
      : [...heads.keys()]
          .map((q) => tree.leaf(q))
          .filter((a): a is QueueAccount => a !== undefined && belowGuarantee(ownerOf(a)))
          .sort((a, b) => guaranteeUse(ownerOf(a)) - guaranteeUse(ownerOf(b)) || (a.name < b.name ? -1 : 1));
    // Candidates that may preempt their own queue's lower priorities: blocked heads, and what was offered and not placed.
    const mayPreempt: Candidate[] = [];
    const seenJobs = new Set<string>();
    for (const c of [...[...heads.values()].filter((h) => h.blocked).map((h) => h.head), ...unplaced]) {
      if (mayPreempt.length >= MAX_PRIORITY_PREEMPTORS || seenJobs.has(c.job) || view.job(c.job)?.spec.mayPreempt !== true) continue;
      seenJobs.add(c.job);
      mayPreempt.push(c);
    }
    if (starving.length === 0 && mayPreempt.length === 0) return { preemptions, refused, retryAt: Infinity };
    const sim = new Simulation(view);
    const lists = starving.length > 0 ? waiting() : new Map<string, readonly Candidate[]>();
    for (const leaf of starving) {
      const owner = ownerOf(leaf);
      for (const c of lists.get(leaf.name) ?? []) {
        if (preemptions.length >= MAX_RECLAIMS_PER_CYCLE || !withinGuarantee(owner, c.demand)) break;
        const victims = sim.units((u) => u.queue !== leaf.name && borrowsAfter(tree.leaf(u.queue), u), (a, b) => overBy(tree, b) - overBy(tree, a));
        const made = this.#tryPlan(c, leaf.name, victims, sim, now, view, `reclaim: queue ${leaf.name} is below its guarantee`);
        if (typeof made === 'string') {
          refused.set(c.job, made);
          break;
        }
        preemptions.push(made);
        chargePath(leaf, c.demand, 1);
        for (const u of made.plan.victims) {
          const victimLeaf = tree.leaf(u.queue);
          if (victimLeaf) chargePath(victimLeaf, unitResources(u), -1);
        }
      }
    }
    for (const head of mayPreempt) {
      const queue = head.queue;
      if (preemptions.length >= MAX_RECLAIMS_PER_CYCLE || preemptions.some((p) => p.candidate.job === head.job)) continue;
      const priority = view.job(head.job)!.spec.priority;
      const victims = sim.units((u) => u.queue === queue && u.priority < priority, () => 0);
      const made = this.#tryPlan(head, queue, victims, sim, now, view, `priority: job ${head.job} may preempt lower-priority jobs of queue ${queue}`);
      if (typeof made === 'string') refused.set(head.job, made);
      else preemptions.push(made);
    }
    return { preemptions, refused, retryAt: this.#retryAt };
  }

  /** When a spent disruption budget next has room (a cycle should run then), or Infinity. */
  #retryAt = Infinity;
  /** Tasks of each queue this cycle's plans preempt (they count against its budget before they are recorded). */
  readonly #taken = new Map<string, number>();

  /**
   * Drops, once a window, the tasks whose protection is over and the queues with no preemption in the
   * window: the ledger holds only what can still matter, however long the server runs.
   */
  #prune(now: number, view: ReclaimView): void {
    if (now - this.#prunedAt < DISRUPTION_WINDOW_MS) return;
    this.#prunedAt = now;
    for (const [key, p] of this.#preemptedAt) if (p.at + view.protectForMs(p.queue) <= now) this.#preemptedAt.delete(key);
    for (const queue of [...this.#recent.keys()]) if (this.#spent(queue, now) === 0) this.#recent.delete(queue);
  }

  /** A plan for `c` from `victims` on the site where it takes the fewest, or why there is none. */
  #tryPlan(c: Candidate, queue: string, victims: readonly RankedUnit[], sim: Simulation, now: number, view: ReclaimView, reason: string): Preemption | string {
    let budgetSpent: string | undefined;
    const taken = this.#taken;
    const allowed = (unit: VictimUnit, chosen: readonly VictimUnit[]): boolean => {
      const budget = view.disruptionBudget(unit.queue);
      if (budget === undefined) return true;
      const planned = chosen.filter((u) => u.queue === unit.queue).reduce((n, u) => n + u.members.length, 0);
      if (this.#spent(unit.queue, now) + (taken.get(unit.queue) ?? 0) + planned + unit.members.length <= budget) return true;
      budgetSpent ??= unit.queue;
      const oldest = this.#recent.get(unit.queue)?.[0];
      if (oldest !== undefined) this.#retryAt = Math.min(this.#retryAt, oldest + DISRUPTION_WINDOW_MS);
      return false;
    };
    const usable = victims.filter((u) => u.members.every((m) => (this.#preemptedAt.get(`${m.job}#${m.task}`)?.at ?? -Infinity) + view.protectForMs(u.queue) <= now));
    let best: { site: string; plan: ReclaimPlan } | undefined;
    for (const { site, nodes } of sim.sites()) {
      if (c.sites.length > 0 && !c.sites.includes(site)) continue;
      const onSite = usable.filter((u) => u.members.some((m) => sim.siteOf(m.node) === site));
      const plan = planEvictions(c.request, nodes, sim.used(), onSite, allowed);
      if (plan && (!best || plan.victims.length < best.plan.victims.length)) best = { site, plan };
    }
    if (!best) {
      return budgetSpent !== undefined
        ? `would preempt, but the disruption budget of queue ${budgetSpent} is spent (${view.disruptionBudget(budgetSpent)} a minute)`
        : 'nothing it may preempt would make room for it';
    }
    sim.take(best.plan);
    for (const u of best.plan.victims) taken.set(u.queue, (taken.get(u.queue) ?? 0) + u.members.length);
    return { by: { job: c.job, queue }, candidate: c, site: best.site, plan: best.plan, reason };
  }
}

interface RankedUnit extends VictimUnit {
  readonly priority: number;
  readonly since: number;
}

/**
 * The cluster as the plans leave it: live attempts less the victims already chosen, plus the candidates
 * already planned for (their holds), so one cycle's plans never count the same room twice.
 */
class Simulation {
  readonly #view: ReclaimView;
  readonly #used = new Map<string, Resources>();
  readonly #gone = new Set<string>();
  readonly #sites: { readonly site: string; readonly nodes: readonly PlanNode[] }[];
  readonly #siteOf = new Map<string, string>();
  #units: RankedUnit[] | undefined;

  constructor(view: ReclaimView) {
    this.#view = view;
    this.#sites = [...view.sites()];
    for (const { site, nodes } of this.#sites) for (const n of nodes) this.#siteOf.set(n.name, site);
    for (const a of view.liveAttempts()) this.#used.set(a.node, plus(this.#used.get(a.node), a.resources, 1));
  }

  sites(): readonly { readonly site: string; readonly nodes: readonly PlanNode[] }[] {
    return this.#sites;
  }

  siteOf(node: string): string | undefined {
    return this.#siteOf.get(node);
  }

  used(): ReadonlyMap<string, Resources> {
    return this.#used;
  }

  /** Victim units passing `keep`, in order: `first` (queue order), then lowest priority, then youngest. */
  units(keep: (u: RankedUnit) => boolean, first: (a: RankedUnit, b: RankedUnit) => number): RankedUnit[] {
    this.#units ??= this.#allUnits();
    return this.#units
      .filter((u) => !u.members.some((m) => this.#gone.has(`${m.job}#${m.task}`)) && keep(u))
      .sort((a, b) => first(a, b) || a.priority - b.priority || b.since - a.since || (a.members[0]!.job < b.members[0]!.job ? -1 : 1));
  }

  #allUnits(): RankedUnit[] {
    const units: RankedUnit[] = [];
    const seen = new Set<string>();
    for (const a of this.#view.liveAttempts()) {
      const job = this.#view.job(a.job);
      if (!job || !isPreemptible(job.spec) || seen.has(`${a.job}#${a.task}`)) continue;
      const tasks = job.spec.gang ? range(elementOf(job.perElement, a.task) * job.perElement, job.perElement) : [a.task];
      const members = tasks.flatMap((t) => {
        const live = t === a.task ? a : this.#view.liveOf(a.job, t);
        if (!live) return [];
        seen.add(`${a.job}#${t}`);
        return [{ node: live.node, resources: live.resources, job: a.job, task: t, attempt: live.attempt }];
      });
      units.push({ queue: job.queue, members, priority: job.spec.priority, since: a.since });
    }
    return units;
  }

  /** A plan is made: its victims' room is free, its candidate's holds are taken. */
  take(plan: ReclaimPlan): void {
    for (const u of plan.victims) {
      for (const m of u.members) {
        this.#gone.add(`${m.job}#${m.task}`);
        this.#used.set(m.node, plus(this.#used.get(m.node), m.resources, -1));
      }
    }
    for (const h of plan.holds) this.#used.set(h.node, plus(this.#used.get(h.node), h.resources, 1));
  }
}

/** Whether some queue in the tree holds something beyond its guarantee (none at all counts as beyond). */
function anyBorrower(accounts: readonly QueueAccount[]): boolean {
  for (const a of accounts) {
    const u = a.usage;
    const holds = u.cpu > 0 || u.memory > 0 || u.gpu > 0;
    if (holds && (!hasGuarantee(a) || guaranteeUse(a) > 1)) return true;
    if (anyBorrower(a.children)) return true;
  }
  return false;
}

/** The account whose guarantee a leaf's candidates count against: the queue itself for an own-jobs leaf. */
function ownerOf(leaf: QueueAccount): QueueAccount {
  return leaf.own && leaf.parent ? leaf.parent : leaf;
}

function hasGuarantee(a: QueueAccount): boolean {
  const g = a.guarantee;
  return g.cpu > 0 || g.memory > 0 || g.gpu > 0 || Object.values(g.extended).some((v) => v > 0);
}

function belowGuarantee(a: QueueAccount): boolean {
  return hasGuarantee(a) && guaranteeUse(a) < 1;
}

/** Whether `more` keeps the queue within its guarantee in every resource the guarantee has. */
function withinGuarantee(a: QueueAccount, more: Resources): boolean {
  const g = a.guarantee;
  const u = a.usage;
  if (g.cpu > 0 && u.cpu + more.cpu > g.cpu) return false;
  if (g.memory > 0 && u.memory + more.memory > g.memory) return false;
  if (g.gpu > 0 && u.gpu + more.gpu > g.gpu) return false;
  return hasGuarantee(a);
}

/** Whether the victim's queue, less the unit, still holds at least its guarantee (it borrows, and would still). */
function borrowsAfter(leaf: QueueAccount | undefined, unit: VictimUnit): boolean {
  if (!leaf) return false;
  const a = ownerOf(leaf);
  const g = a.guarantee;
  const u = a.usage;
  const r = unitResources(unit);
  if (!hasGuarantee(a)) return u.cpu > 0 || u.memory > 0 || u.gpu > 0;
  return u.cpu - r.cpu >= g.cpu && u.memory - r.memory >= g.memory && u.gpu - r.gpu >= g.gpu;
}

/** How far a victim's queue is over its guarantee (Infinity with none): the furthest over gives first. */
function overBy(tree: QueueTree, u: VictimUnit): number {
  const leaf = tree.leaf(u.queue);
  return leaf ? guaranteeUse(ownerOf(leaf)) : 0;
}

function unitResources(u: VictimUnit): Resources {
  let r: Resources | undefined;
  for (const m of u.members) r = plus(r, m.resources, 1);
  return r ?? { cpu: 0, memory: 0, gpu: 0, extended: {} };
}

function plus(a: Resources | undefined, b: Resources, sign: 1 | -1): Resources {
  const base = a ?? { cpu: 0, memory: 0, gpu: 0, extended: {} };
  const extended: Record<string, number> = { ...base.extended };
  for (const [n, v] of Object.entries(b.extended)) extended[n] = (extended[n] ?? 0) + sign * v;
  return { cpu: base.cpu + sign * b.cpu, memory: base.memory + sign * b.memory, gpu: base.gpu + sign * b.gpu, extended };
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

/** The attempts of a plan, as the preemption event names them. */
export function attemptsOf(plan: ReclaimPlan): Placement[] {
  return plan.victims.flatMap((u) => u.members.map((m) => ({ job: m.job, task: m.task, attempt: m.attempt, node: m.node })));
}
