/**
 * Weighted dominant-resource fairness (DRF) across queues. A queue's dominant share is the largest
 * fraction of any cluster resource it holds; divided by its weight, it orders the queues: the queue that
 * is furthest below its fair share is served next. Queue priority comes first (a higher-priority queue is
 * served before any lower one), the queue name breaks ties so the order is deterministic.
 *
 * The dispatcher charges each job it hands to a site to its queue at once (tentatively), so one cycle
 * interleaves queues by share exactly as a sequence of single placements would; jobs that were not placed
 * are refunded when the sites answer.
 */
import type { ResourceLimit, Resources } from '../model/index.js';
import { dominantShare, withinLimit } from '../model/index.js';
import { BinaryHeap } from './heap.js';

export interface ShareAccount {
  readonly name: string;
  readonly weight: number;
  readonly priority: number;
  readonly limit: ResourceLimit | undefined;
  /** Mutable usage: what the queue holds now, plus what this cycle tentatively gave it. */
  readonly usage: { cpu: number; memory: number; gpu: number; extended: Record<string, number> };
}

/** How far a queue is into its fair share: lower is served first. */
export function weightedShare(account: ShareAccount, total: Resources): number {
  return dominantShare(account.usage, total) / account.weight;
}

/** Whether account `a` is served before `b`. */
export function servedBefore(a: ShareAccount, b: ShareAccount, total: Resources): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  const sa = weightedShare(a, total);
  const sb = weightedShare(b, total);
  if (sa !== sb) return sa < sb;
  return a.name < b.name;
}

export function charge(account: ShareAccount, r: Resources, sign: 1 | -1): void {
  const u = account.usage;
  u.cpu += sign * r.cpu;
  u.memory += sign * r.memory;
  u.gpu += sign * r.gpu;
  for (const name in r.extended) u.extended[name] = (u.extended[name] ?? 0) + sign * (r.extended[name] ?? 0);
}

/** Whether giving `r` more to the account keeps it within its limit. */
export function fitsLimit(account: ShareAccount, r: Resources): boolean {
  if (!account.limit) return true;
  charge(account, r, 1);
  const ok = withinLimit(account.usage, account.limit);
  charge(account, r, -1);
  return ok;
}

/**
 * Accounts in service order, re-keyed after each charge (pop, charge, push back). Small (one entry per
 * queue with work), so a heap beats sorting every pick.
 */
export class ServiceOrder {
  readonly #heap: BinaryHeap<ShareAccount>;

  constructor(total: Resources) {
    this.#heap = new BinaryHeap((a, b) => servedBefore(a, b, total));
  }

  get size(): number {
    return this.#heap.size;
  }

  push(account: ShareAccount): void {
    this.#heap.push(account);
  }

  /** The account to serve next, removed; push it back after charging it if it has more work. */
  pop(): ShareAccount | undefined {
    return this.#heap.pop();
  }
}
