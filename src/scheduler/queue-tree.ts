/**
 * The queues as one tree for a dispatch cycle: each queue's account holds what its whole subtree uses
 * (its own jobs and its children's, charged as the cycle picks), its effective guarantee in absolute
 * amounts, and its caps (its limit; its guarantee plus its borrowing limit).
 *
 * - **Guarantees** are computed top-down from the cluster's capacity: a share takes that fraction of the
 *   parent's guarantee (the cluster's at the top), an absolute guarantee its amounts. Where a family asks
 *   for more than its parent has in a resource (the cluster shrank, or absolute children under a share),
 *   each child's guarantee in that resource is scaled down in proportion, so a guarantee is always a part of
 *   its parent's and the top level a part of the cluster.
 * - **Caps** bind the whole subtree: a candidate fits only if, for its queue and every ancestor, what the
 *   subtree holds plus the candidate stays within the limit and within guarantee + borrowing limit (just the
 *   guarantee for a queue that may not borrow).
 * - **Own jobs beside children.** A queue that has both jobs of its own and child queues serves its own jobs
 *   as one more child (weight 1, no guarantee or caps of its own; the queue's caps bind it).
 * - **Parents nobody defined** (a job named `a/b` before anyone defined `a`) stand in the tree with weight 1
 *   and no guarantee or caps; their guarantee is their children's.
 */
import type { QueueSpec, ResourceLimit, Resources } from '../model/index.js';
import { parentQueue, withinLimit } from '../model/index.js';

export interface Usage {
  cpu: number;
  memory: number;
  gpu: number;
  extended: Record<string, number>;
}

export interface QueueAccount {
  /** The queue's name (for an own-jobs account, the queue's own name too). */
  readonly name: string;
  /** Whether this is the account of a queue's own jobs beside its children. */
  readonly own: boolean;
  readonly weight: number;
  readonly priority: number;
  readonly parent: QueueAccount | undefined;
  readonly children: QueueAccount[];
  /** The queue's spec; undefined for a parent nobody defined and for own-jobs accounts. */
  readonly spec: QueueSpec | undefined;
  /** The effective guarantee, absolute. */
  guarantee: Resources;
  /** What the subtree holds, plus what this cycle tentatively gave it. */
  readonly usage: Usage;
  /** The most the subtree may hold: its guarantee plus its borrowing limit (undefined: no such cap). */
  borrowCap: ResourceLimit | undefined;
}

const ZERO: Resources = { cpu: 0, memory: 0, gpu: 0, extended: {} };

function usageOf(r: Resources | undefined): Usage {
  return r ? { cpu: r.cpu, memory: r.memory, gpu: r.gpu, extended: { ...r.extended } } : { cpu: 0, memory: 0, gpu: 0, extended: {} };
}

export class QueueTree {
  readonly roots: QueueAccount[] = [];
  readonly #nodes = new Map<string, QueueAccount>();
  readonly #own = new Map<string, QueueAccount>();

  /**
   * `specs`: every queue; `usage`: what each queue's own jobs hold now (absent: nothing); `total`: the
   * cluster's capacity.
   */
  constructor(specs: Iterable<QueueSpec>, usage: ReadonlyMap<string, Resources>, total: Resources) {
    const byName = new Map<string, QueueSpec>();
    for (const spec of specs) byName.set(spec.name, spec);
    for (const name of [...byName.keys()].sort()) this.#node(name, byName);
    for (const [name, account] of this.#nodes) {
      const own = usage.get(name);
      if (account.children.length > 0 && own) {
        const leaf: QueueAccount = { name, own: true, weight: 1, priority: 0, parent: account, children: [], spec: undefined, guarantee: ZERO, usage: usageOf(own), borrowCap: undefined };
        account.children.push(leaf);
        this.#own.set(name, leaf);
      }
      if (own) for (let a: QueueAccount | undefined = account; a; a = a.parent) charge(a, own, 1);
    }
    shareGuarantees(this.roots, total);
  }

  /** The queue's own account in the tree (its subtree). */
  account(queue: string): QueueAccount | undefined {
    return this.#nodes.get(queue);
  }

  /** The account the queue's own candidates are served and charged from. */
  leaf(queue: string): QueueAccount | undefined {
    return this.#own.get(queue) ?? this.#nodes.get(queue);
  }

  #node(name: string, specs: ReadonlyMap<string, QueueSpec>): QueueAccount {
    const known = this.#nodes.get(name);
    if (known) return known;
    const parentName = parentQueue(name);
    const parent = parentName === undefined ? undefined : this.#node(parentName, specs);
    const spec = specs.get(name);
    const account: QueueAccount = {
      name,
      own: false,
      weight: spec?.weight ?? 1,
      priority: spec?.priority ?? 0,
      parent,
      children: [],
      spec,
      guarantee: ZERO,
      usage: usageOf(undefined),
      borrowCap: undefined,
    };
    this.#nodes.set(name, account);
    if (parent) parent.children.push(account);
    else this.roots.push(account);
    return account;
  }
}

type Dim = 'cpu' | 'memory' | 'gpu';
const DIMS: readonly Dim[] = ['cpu', 'memory', 'gpu'];

/** Each family's guarantees from its parent's (`base`), scaled to fit, then their children's. */
function shareGuarantees(family: readonly QueueAccount[], base: Resources): void {
  const asked = family.map((a) => (a.spec ? askedGuarantee(a.spec, base) : undefined));
  const fitted = fitInto(asked.map((g) => g ?? ZERO), base);
  family.forEach((a, i) => {
    if (a.own) return;
    if (a.spec) {
      a.guarantee = fitted[i]!;
      shareGuarantees(a.children, a.guarantee);
    } else {
      // Undefined parent: transparent; its children share what it would have passed on, and it holds their sum.
      shareGuarantees(a.children, base);
      a.guarantee = a.children.reduce((sum, c) => addResources(sum, c.guarantee), ZERO);
    }
    a.borrowCap = a.spec ? borrowCapOf(a.spec, a.guarantee) : undefined;
  });
}

function askedGuarantee(spec: QueueSpec, base: Resources): Resources {
  const g = spec.guarantee;
  if (g) {
    const extended: Record<string, number> = {};
    for (const [name, v] of Object.entries(g.extended)) extended[name] = v;
    return { cpu: g.cpu ?? 0, memory: g.memory ?? 0, gpu: g.gpu ?? 0, extended };
  }
  const s = spec.guaranteedShare;
  const extended: Record<string, number> = {};
  for (const [name, v] of Object.entries(base.extended)) extended[name] = Math.floor(v * s);
  return { cpu: Math.floor(base.cpu * s), memory: Math.floor(base.memory * s), gpu: Math.floor(base.gpu * s), extended };
}

/** Scales the asked guarantees down, per resource, where they add up to more than `base` has. */
function fitInto(asked: readonly Resources[], base: Resources): Resources[] {
  const factor = (sum: number, have: number): number => (sum > have ? have / sum : 1);
  const f: Record<string, number> = {};
  for (const d of DIMS) f[d] = factor(asked.reduce((s, a) => s + a[d], 0), base[d]);
  const names = new Set(asked.flatMap((a) => Object.keys(a.extended)));
  for (const n of names) f[`x:${n}`] = factor(asked.reduce((s, a) => s + (a.extended[n] ?? 0), 0), base.extended[n] ?? 0);
  return asked.map((a) => {
    const extended: Record<string, number> = {};
    for (const [n, v] of Object.entries(a.extended)) extended[n] = Math.floor(v * f[`x:${n}`]!);
    return { cpu: Math.floor(a.cpu * f['cpu']!), memory: Math.floor(a.memory * f['memory']!), gpu: Math.floor(a.gpu * f['gpu']!), extended };
  });
}

/**
 * Guarantee + borrowing limit per resource; just the guarantee when the queue may not borrow. An absolute
 * guarantee binds only the resources it names (a queue guaranteed 8 cpus and no memory figure may use
 * memory up to its limit); a share names every resource.
 */
function borrowCapOf(spec: QueueSpec, guarantee: Resources): ResourceLimit | undefined {
  if (!spec.borrow) {
    const named = spec.guarantee;
    if (!named) return guarantee;
    const extended: Record<string, number> = {};
    for (const n of Object.keys(named.extended)) extended[n] = guarantee.extended[n] ?? 0;
    const cap: { cpu?: number; memory?: number; gpu?: number; extended: Record<string, number> } = { extended };
    for (const d of DIMS) if (named[d] !== undefined) cap[d] = guarantee[d];
    return cap;
  }
  const b = spec.borrowLimit;
  if (!b) return undefined;
  const extended: Record<string, number> = {};
  for (const [n, v] of Object.entries(b.extended)) extended[n] = (guarantee.extended[n] ?? 0) + v;
  const cap: { cpu?: number; memory?: number; gpu?: number; extended: Record<string, number> } = { extended };
  for (const d of DIMS) if (b[d] !== undefined) cap[d] = guarantee[d] + b[d]!;
  return cap;
}

function addResources(a: Resources, b: Resources): Resources {
  const extended: Record<string, number> = { ...a.extended };
  for (const [n, v] of Object.entries(b.extended)) extended[n] = (extended[n] ?? 0) + v;
  return { cpu: a.cpu + b.cpu, memory: a.memory + b.memory, gpu: a.gpu + b.gpu, extended };
}

/** Adds (or, with sign -1, takes back) `r` to one account's usage. */
function charge(account: QueueAccount, r: Resources, sign: 1 | -1): void {
  const u = account.usage;
  u.cpu += sign * r.cpu;
  u.memory += sign * r.memory;
  u.gpu += sign * r.gpu;
  for (const name in r.extended) u.extended[name] = (u.extended[name] ?? 0) + sign * (r.extended[name] ?? 0);
}

/** Charges `r` to an account and every ancestor (a tentative pick, or its refund with -1). */
export function chargePath(leaf: QueueAccount, r: Resources, sign: 1 | -1): void {
  for (let a: QueueAccount | undefined = leaf; a; a = a.parent) charge(a, r, sign);
}

/** Whether usage has room for `r` more under `cap` (without changing usage). */
function roomFor(usage: Usage, r: Resources, cap: ResourceLimit): boolean {
  const after: Resources = { cpu: usage.cpu + r.cpu, memory: usage.memory + r.memory, gpu: usage.gpu + r.gpu, extended: usage.extended };
  if (!withinLimit(after, { ...cap, extended: {} })) return false;
  for (const [n, c] of Object.entries(cap.extended)) if ((usage.extended[n] ?? 0) + (r.extended[n] ?? 0) > c) return false;
  return true;
}

/**
 * Why the leaf's queue may not take `r` more now (its own or an ancestor's limit or borrowing cap), or
 * undefined when it may. The first cap met, from the queue up.
 */
export function capBlocking(leaf: QueueAccount, r: Resources): string | undefined {
  const queue = leaf.name;
  for (let a: QueueAccount | undefined = leaf; a; a = a.parent) {
    const spec = a.spec;
    if (!spec) continue;
    const who = a.name === queue ? `queue ${queue}` : parentQueue(queue) === a.name ? `its parent ${a.name}` : `its ancestor ${a.name}`;
    if (spec.limit && !roomFor(a.usage, r, spec.limit)) return `${who} is at its limit`;
    if (a.borrowCap && !roomFor(a.usage, r, a.borrowCap)) {
      return spec.borrow ? `${who} is over its borrowing limit` : `${who} may not borrow beyond its guarantee`;
    }
  }
  return undefined;
}
