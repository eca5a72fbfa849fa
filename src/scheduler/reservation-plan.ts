/**
 * Where and when a blocked queue head will fit: the planning half of backfill with reservations (Slurm's
 * conservative backfill, for each queue's head). Pure: given a site's nodes, what each holds now and when
 * each live attempt is sure to have ended (its placement plus its time limit; never, without one), it sweeps
 * forward through those ends until the head's tasks fit, and names the nodes and amounts it will take then.
 *
 * The fit test follows the solver's rules for one candidate: only ready nodes whose labels match the
 * selectors, `distinctNodes` one task per node, a gang all at once (a candidate is always placed whole or
 * not at all here). It is a plan, not a placement: the solver places the head when the capacity is there;
 * until then the holds keep longer work off the reserved amounts (cycle-coordinator.ts, site-actor.ts).
 */
import type { Labels, NodeState, Resources, Selector } from '../model/index.js';
import { matchesAll } from '../model/index.js';
import type { TaskRequest } from '../placement/index.js';

export interface PlanNode {
  /** The node's id in its site's table. */
  readonly id: number;
  readonly name: string;
  readonly capacity: Resources;
  readonly labels: Labels;
  readonly state: NodeState;
}

export interface Release {
  /** When the attempt is sure to have ended (scheduler time), Infinity when it has no time limit. */
  readonly until: number;
  readonly resources: Resources;
}

export interface SitePlanInput {
  readonly site: string;
  readonly nodes: readonly PlanNode[];
  /** What each node's live attempts hold, with when each is sure to end, by node name. */
  readonly live: ReadonlyMap<string, readonly Release[]>;
}

export interface HeadShape {
  readonly tasks: readonly TaskRequest[];
  readonly selectors?: readonly Selector[];
  readonly distinctNodes?: boolean;
}

export interface Hold {
  readonly id: number;
  readonly node: string;
  readonly resources: Resources;
}

export interface ReservationPlan {
  readonly site: string;
  /** The earliest time the head fits. */
  readonly start: number;
  /** What it will take on each node then. */
  readonly holds: readonly Hold[];
}

/**
 * Most distinct end times one plan sweeps through: past them the head waits without a reservation. A site
 * of a few thousand nodes running small work has tens of thousands of ends; each step costs a few
 * operations (the slot totals move with each end), the full fit test runs only when the totals say it may.
 */
export const MAX_PLAN_STEPS = 65_536;

interface Free {
  cpu: number;
  memory: number;
  gpu: number;
  extended: Record<string, number>;
}

/** How many tasks of size `r` fit in `free` (Infinity for a task that asks for nothing). */
function slots(free: Free, r: Resources): number {
  let n = Infinity;
  if (r.cpu > 0) n = Math.min(n, Math.floor(free.cpu / r.cpu));
  if (r.memory > 0) n = Math.min(n, Math.floor(free.memory / r.memory));
  if (r.gpu > 0) n = Math.min(n, Math.floor(free.gpu / r.gpu));
  for (const name in r.extended) {
    const need = r.extended[name] ?? 0;
    if (need > 0) n = Math.min(n, Math.floor((free.extended[name] ?? 0) / need));
  }
  return n;
}

function give(free: Free, r: Resources, sign: 1 | -1, cap: Resources): void {
  free.cpu = Math.min(cap.cpu, free.cpu + sign * r.cpu);
  free.memory = Math.min(cap.memory, free.memory + sign * r.memory);
  free.gpu = Math.min(cap.gpu, free.gpu + sign * r.gpu);
  for (const name in r.extended) free.extended[name] = Math.min(cap.extended[name] ?? 0, (free.extended[name] ?? 0) + sign * (r.extended[name] ?? 0));
}

/**
 * Greedy assignment of the head's tasks to nodes, largest groups first, each task on the node with the most
 * room for it: the tasks per node (by node index) or undefined when they do not all fit.
 */
function assign(head: HeadShape, nodes: readonly PlanNode[], free: readonly Free[]): Map<number, Map<number, number>> | undefined {
  const room = free.map((f) => ({ ...f, extended: { ...f.extended } }));
  const used = new Set<number>();
  const out = new Map<number, Map<number, number>>();
  const groups = head.tasks.map((g, i) => ({ g, i })).sort((a, b) => b.g.resources.cpu * b.g.count - a.g.resources.cpu * a.g.count);
  for (const { g, i } of groups) {
    let left = g.count;
    const order = nodes.map((_, k) => k).filter((k) => !(head.distinctNodes && used.has(k))).sort((a, b) => slots(room[b]!, g.resources) - slots(room[a]!, g.resources) || a - b);
    for (const k of order) {
      if (left === 0) break;
      const fit = Math.min(left, head.distinctNodes ? Math.min(1, slots(room[k]!, g.resources)) : slots(room[k]!, g.resources));
      if (fit <= 0) continue;
      for (let n = 0; n < fit; n++) give(room[k]!, g.resources, -1, nodes[k]!.capacity);
      left -= fit;
      used.add(k);
      const per = out.get(k) ?? new Map<number, number>();
      per.set(i, (per.get(i) ?? 0) + fit);
      out.set(k, per);
    }
    if (left > 0) return undefined;
  }
  return out;
}

/**
 * Slots for each task group summed over the nodes, kept as nodes gain free room: the cheap test of whether
 * the head may fit (enough slots for every group: necessary, not sufficient) before the greedy assignment.
 */
class SlotTotals {
  readonly #head: HeadShape;
  readonly #per: number[][];
  readonly #totals: number[];

  constructor(head: HeadShape, free: readonly Free[]) {
    this.#head = head;
    this.#per = free.map((f) => head.tasks.map((g) => this.#slots(f, g.resources)));
    this.#totals = head.tasks.map((_, g) => this.#per.reduce((sum, row) => sum + row[g]!, 0));
  }

  #slots(f: Free, r: Resources): number {
    const n = slots(f, r);
    return this.#head.distinctNodes ? Math.min(1, n) : Math.min(n, 1 << 20);
  }

  /** Node k's free room changed. */
  update(k: number, f: Free): void {
    this.#head.tasks.forEach((g, i) => {
      const now = this.#slots(f, g.resources);
      this.#totals[i]! += now - this.#per[k]![i]!;
      this.#per[k]![i] = now;
    });
  }

  mayFit(): boolean {
    return this.#head.tasks.every((g, i) => this.#totals[i]! >= g.count);
  }
}

/** The earliest time at or after `now` the head fits on the site, and where; undefined when it never does by the known ends. */
export function planReservation(head: HeadShape, now: number, input: SitePlanInput): ReservationPlan | undefined {
  const nodes = input.nodes.filter((n) => n.state === 'ready' && matchesAll(head.selectors ?? [], n.labels));
  if (nodes.length === 0) return undefined;
  const free: Free[] = [];
  const ends: { until: number; k: number; r: Resources }[] = [];
  nodes.forEach((n, k) => {
    const f: Free = { cpu: n.capacity.cpu, memory: n.capacity.memory, gpu: n.capacity.gpu, extended: { ...n.capacity.extended } };
    for (const a of input.live.get(n.name) ?? []) {
      give(f, a.resources, -1, n.capacity);
      if (Number.isFinite(a.until)) ends.push({ until: Math.max(now, a.until), k, r: a.resources });
    }
    for (const name in f.extended) f.extended[name] = Math.max(0, f.extended[name] ?? 0);
    f.cpu = Math.max(0, f.cpu);
    f.memory = Math.max(0, f.memory);
    f.gpu = Math.max(0, f.gpu);
    free.push(f);
  });
  ends.sort((a, b) => a.until - b.until);
  const totals = new SlotTotals(head, free);
  let i = 0;
  for (let step = 0, t = now; step <= MAX_PLAN_STEPS; step++) {
    // Everything sure to have ended by t gives its resources back.
    while (i < ends.length && ends[i]!.until <= t) {
      const e = ends[i++]!;
      give(free[e.k]!, e.r, 1, nodes[e.k]!.capacity);
      totals.update(e.k, free[e.k]!);
    }
    if (totals.mayFit()) {
      const placed = assign(head, nodes, free);
      if (placed) return { site: input.site, start: t, holds: holdsOf(head, nodes, placed) };
    }
    if (i >= ends.length) return undefined;
    t = ends[i]!.until;
  }
  return undefined;
}

function holdsOf(head: HeadShape, nodes: readonly PlanNode[], placed: Map<number, Map<number, number>>): Hold[] {
  const holds: Hold[] = [];
  for (const [k, perGroup] of [...placed].sort((a, b) => a[0] - b[0])) {
    const r = { cpu: 0, memory: 0, gpu: 0, extended: {} as Record<string, number> };
    for (const [g, count] of perGroup) {
      const need = head.tasks[g]!.resources;
      r.cpu += need.cpu * count;
      r.memory += need.memory * count;
      r.gpu += need.gpu * count;
      for (const name in need.extended) r.extended[name] = (r.extended[name] ?? 0) + (need.extended[name] ?? 0) * count;
    }
    holds.push({ id: nodes[k]!.id, node: nodes[k]!.name, resources: r });
  }
  return holds;
}

/**
 * Where the head fits right now if each node had `freed` more room than its live attempts leave it (`used`
 * by node name): the holds, or undefined when it does not fit (reclaim-plan.ts simulates evictions so).
 */
export function fitNow(head: HeadShape, all: readonly PlanNode[], used: ReadonlyMap<string, Resources>, freed: ReadonlyMap<string, Resources>): Hold[] | undefined {
  const nodes = all.filter((n) => n.state === 'ready' && matchesAll(head.selectors ?? [], n.labels));
  const free = nodes.map((n) => {
    const f: Free = { cpu: n.capacity.cpu, memory: n.capacity.memory, gpu: n.capacity.gpu, extended: { ...n.capacity.extended } };
    const u = used.get(n.name);
    if (u) give(f, u, -1, n.capacity);
    const back = freed.get(n.name);
    if (back) give(f, back, 1, n.capacity);
    f.cpu = Math.max(0, f.cpu);
    f.memory = Math.max(0, f.memory);
    f.gpu = Math.max(0, f.gpu);
    for (const name in f.extended) f.extended[name] = Math.max(0, f.extended[name] ?? 0);
    return f;
  });
  if (!new SlotTotals(head, free).mayFit()) return undefined;
  const placed = assign(head, nodes, free);
  return placed ? holdsOf(head, nodes, placed) : undefined;
}
