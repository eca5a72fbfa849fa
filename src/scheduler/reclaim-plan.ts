/**
 * Which running attempts to preempt so that one waiting candidate fits: the planning half of reclaim and
 * of priority preemption (reclaim.ts decides who may be preempted and for whom). Pure: a simulation of one
 * site after the evictions, as the solver would see it.
 *
 *   victims in the caller's order ──▶ evict one unit (a task, or a whole gang element) ──▶ does the
 *   candidate fit now? ──no──▶ next victim
 *                        └─yes─▶ keep only the victims on the nodes the candidate would use, then drop
 *                                each one the fit does not need (latest first): no evicting for nothing
 *
 * A unit the budget does not allow (`allowed` says no) is passed over. The fit test is the reservation
 * planner's (reservation-plan.ts): ready nodes matching the selectors, one task per node for
 * `distinctNodes`, all tasks at once.
 */
import type { Resources } from '../model/index.js';
import type { HeadShape, Hold, PlanNode } from './reservation-plan.js';
import { fitNow } from './reservation-plan.js';

/** Attempts that go together: one task, or every live member of a gang element. */
export interface VictimUnit {
  readonly queue: string;
  readonly members: readonly { readonly node: string; readonly resources: Resources; readonly job: string; readonly task: number; readonly attempt: number }[];
}

export interface ReclaimPlan {
  readonly victims: readonly VictimUnit[];
  /** Where the candidate will run once they are gone. */
  readonly holds: readonly Hold[];
}

/**
 * The fewest victims, taken in order, whose eviction lets `shape` fit on the site's `nodes` (`used`: what
 * each node's live attempts hold now), or undefined when no prefix of `victims` the budget allows does.
 */
export function planEvictions(
  shape: HeadShape,
  nodes: readonly PlanNode[],
  used: ReadonlyMap<string, Resources>,
  victims: readonly VictimUnit[],
  allowed: (unit: VictimUnit, chosen: readonly VictimUnit[]) => boolean,
): ReclaimPlan | undefined {
  const eligible = new Set(nodes.map((n) => n.name));
  const freed = new Map<string, Resources>();
  const chosen: VictimUnit[] = [];
  let fit = fitNow(shape, nodes, used, freed);
  for (const unit of victims) {
    if (fit) break;
    if (!unit.members.some((m) => eligible.has(m.node)) || !allowed(unit, chosen)) continue;
    chosen.push(unit);
    for (const m of unit.members) freed.set(m.node, plus(freed.get(m.node), m.resources));
    fit = fitNow(shape, nodes, used, freed);
  }
  if (!fit || chosen.length === 0) return undefined;
  // Only victims on the nodes the candidate takes, then each one it can do without (latest first).
  const onTaken = (u: VictimUnit, holds: readonly Hold[]): boolean => u.members.some((m) => holds.some((h) => h.node === m.node));
  let kept = chosen.filter((u) => onTaken(u, fit!));
  for (let i = kept.length - 1; i >= 0; i--) {
    const without = kept.filter((_, k) => k !== i);
    const holds = fitNow(shape, nodes, used, freedBy(without));
    if (holds) {
      kept = without;
      fit = holds;
    }
  }
  const holds = fitNow(shape, nodes, used, freedBy(kept));
  return holds && kept.length > 0 ? { victims: kept, holds } : undefined;
}

function freedBy(units: readonly VictimUnit[]): Map<string, Resources> {
  const freed = new Map<string, Resources>();
  for (const u of units) for (const m of u.members) freed.set(m.node, plus(freed.get(m.node), m.resources));
  return freed;
}

function plus(a: Resources | undefined, b: Resources): Resources {
  if (!a) return b;
  const extended: Record<string, number> = { ...a.extended };
  for (const [n, v] of Object.entries(b.extended)) extended[n] = (extended[n] ?? 0) + v;
  return { cpu: a.cpu + b.cpu, memory: a.memory + b.memory, gpu: a.gpu + b.gpu, extended };
}
