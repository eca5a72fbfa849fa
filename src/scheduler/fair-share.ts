/**
 * Hierarchical weighted dominant-resource fairness (DRF) across the queue tree (queue-tree.ts). Capacity is
 * shared top-down: at each level the dispatcher serves the child that comes first among its siblings, then
 * descends into it, until it reaches a queue's own candidates. Among siblings:
 *
 *   1. queue priority: a higher-priority sibling is served before any lower one;
 *   2. guarantee: a sibling below its guarantee (in every resource it has one for) comes first, the one
 *      furthest below it (lowest used ÷ guaranteed) before the others;
 *   3. weighted dominant share: the largest fraction of any cluster resource the subtree holds, divided by
 *      its weight; lower first;
 *   4. the name, so the order is deterministic.
 *
 * The dispatcher charges each candidate it hands to a site to its queue and every ancestor at once
 * (tentatively), so one cycle interleaves queues exactly as a sequence of single placements would; what
 * was not placed is refunded when the sites answer.
 */
import type { Resources } from '../model/index.js';
import { dominantShare } from '../model/index.js';
import { BinaryHeap } from './heap.js';
import type { QueueAccount } from './queue-tree.js';

/** Used ÷ guaranteed in the subtree's most used guaranteed resource; Infinity with no guarantee. */
export function guaranteeUse(account: QueueAccount): number {
  const g = account.guarantee;
  const u = account.usage;
  let use = -1;
  const consider = (used: number, guaranteed: number): void => {
    if (guaranteed > 0) use = Math.max(use, used / guaranteed);
  };
  consider(u.cpu, g.cpu);
  consider(u.memory, g.memory);
  consider(u.gpu, g.gpu);
  for (const name in g.extended) consider(u.extended[name] ?? 0, g.extended[name] ?? 0);
  return use < 0 ? Infinity : use;
}

/** How far a subtree is into its weighted fair share of the cluster: lower is served first. */
export function weightedShare(account: QueueAccount, total: Resources): number {
  return dominantShare(account.usage, total) / account.weight;
}

/** Whether sibling `a` is served before sibling `b`. */
export function servedBefore(a: QueueAccount, b: QueueAccount, total: Resources): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  const ga = guaranteeUse(a);
  const gb = guaranteeUse(b);
  if (ga < 1 !== gb < 1) return ga < 1;
  if (ga < 1 && ga !== gb) return ga < gb;
  const sa = weightedShare(a, total);
  const sb = weightedShare(b, total);
  if (sa !== sb) return sa < sb;
  if (a.name !== b.name) return a.name < b.name;
  return a.own;
}

/**
 * Accounts with candidates, served top-down. `pop` takes the path from the top to the leaf served next out
 * of its parents' heaps; the next `pop` (after the caller charged the pick) puts the path back, re-keyed, as
 * far as it still has candidates. Small heaps (one entry per child with work), so each pick costs the
 * tree's depth times a few comparisons.
 */
export class ServiceOrder {
  readonly #total: Resources;
  readonly #top: BinaryHeap<QueueAccount>;
  readonly #heaps = new Map<QueueAccount, BinaryHeap<QueueAccount>>();
  /** Candidates left in each account's subtree. */
  readonly #left = new Map<QueueAccount, number>();
  #path: QueueAccount[] = [];

  constructor(total: Resources) {
    this.#total = total;
    this.#top = this.#heap();
  }

  /** A leaf with `count` candidates to serve (before the first `pop`). */
  add(leaf: QueueAccount, count: number): void {
    if (count <= 0) return;
    for (let a: QueueAccount | undefined = leaf; a; a = a.parent) {
      const before = this.#left.get(a) ?? 0;
      this.#left.set(a, before + count);
      // An account with candidates left sits in its parent's heap; one that had none joins it now.
      if (before === 0) this.#heapOf(a.parent).push(a);
    }
  }

  /** The leaf to serve next (one candidate of it), or undefined when no candidate is left. */
  pop(): QueueAccount | undefined {
    this.#restore();
    let heap = this.#top;
    for (;;) {
      const next = heap.pop();
      if (!next) return undefined;
      this.#path.push(next);
      this.#left.set(next, this.#left.get(next)! - 1);
      const below = this.#heaps.get(next);
      if (!below || below.size === 0) return next;
      heap = below;
    }
  }

  /** Puts the last path back, bottom-up, each account that still has candidates. */
  #restore(): void {
    const path = this.#path;
    for (let i = path.length - 1; i >= 0; i--) {
      const a = path[i]!;
      if (this.#left.get(a)! > 0) this.#heapOf(a.parent).push(a);
    }
    this.#path = [];
  }

  #heapOf(parent: QueueAccount | undefined): BinaryHeap<QueueAccount> {
    if (!parent) return this.#top;
    let heap = this.#heaps.get(parent);
    if (!heap) {
      heap = this.#heap();
      this.#heaps.set(parent, heap);
    }
    return heap;
  }

  #heap(): BinaryHeap<QueueAccount> {
    return new BinaryHeap((a, b) => servedBefore(a, b, this.#total));
  }
}
