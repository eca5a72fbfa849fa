/**
 * How the queues of a cluster must agree with each other: the tree their names make (`acme/ml/train` is a
 * child of `acme/ml`) and the guarantees along it. A path cannot form a cycle, so what is left to check is
 * that every parent exists, a child stays with its parent's tenant, and a parent's guarantee bounds its
 * children's: their shares add up to at most one, and where the parent's guarantee is absolute, their
 * absolute guarantees plus their shares of it fit in it, per resource.
 *
 * A child with an absolute guarantee under a parent whose guarantee is a share of the cluster cannot be
 * judged here (the cluster's size changes); the scheduler scales such children down, per resource, when
 * they add up to more than the parent has (src/scheduler/queue-tree.ts).
 */
import type { Problem } from './problems.js';
import { formatCpu, formatMemory } from './quantity.js';
import type { QueueSpec } from './queue.js';
import type { ResourceLimit } from './resources.js';

/** The parent of a queue name (`a/b/c` → `a/b`), or undefined for a top-level queue. */
export function parentQueue(name: string): string | undefined {
  const cut = name.lastIndexOf('/');
  return cut < 0 ? undefined : name.slice(0, cut);
}

/** Whether a queue has any guarantee at all. */
export function hasGuarantee(spec: QueueSpec): boolean {
  if (spec.guaranteedShare > 0) return true;
  const g = spec.guarantee;
  return g !== undefined && ((g.cpu ?? 0) > 0 || (g.memory ?? 0) > 0 || (g.gpu ?? 0) > 0 || Object.values(g.extended).some((v) => v > 0));
}

/** Resource names a guarantee (as limits: absent is none) speaks of. */
function dimensions(limits: readonly ResourceLimit[]): string[] {
  const names = new Set<string>();
  for (const l of limits) {
    for (const d of ['cpu', 'memory', 'gpu'] as const) if (l[d] !== undefined) names.add(d);
    for (const n of Object.keys(l.extended)) names.add(n);
  }
  return [...names];
}

function amount(l: ResourceLimit | undefined, dim: string): number {
  if (!l) return 0;
  if (dim === 'cpu' || dim === 'memory' || dim === 'gpu') return l[dim] ?? 0;
  return l.extended[dim] ?? 0;
}

/**
 * Every problem of the queue set `all` (by name) that touches a changed queue, each at the path `where`
 * gives for the changed queue it concerns (`queues[3]`). Queues not changed are not judged alone: a set
 * made before these rules (a job made `a/b` without `a`) stays as it is until someone changes it.
 */
export function queueSetProblems(all: ReadonlyMap<string, QueueSpec>, where: ReadonlyMap<string, string>): Problem[] {
  const problems: Problem[] = [];
  const children = new Map<string | undefined, QueueSpec[]>();
  for (const spec of all.values()) {
    const parent = parentQueue(spec.name);
    const list = children.get(parent);
    if (list) list.push(spec);
    else children.set(parent, [spec]);
  }
  for (const [name, path] of where) {
    const spec = all.get(name);
    const parentName = parentQueue(name);
    if (!spec || parentName === undefined) continue;
    const parent = all.get(parentName);
    if (!parent) {
      problems.push({ path: `${path}.name`, code: 'MUSTER_ERR_NOT_FOUND', message: `its parent queue ${parentName} is not defined; define it first or in the same apply` });
    } else if (parent.tenant !== spec.tenant) {
      problems.push({ path: `${path}.tenant`, code: 'MUSTER_ERR_INVALID_VALUE', message: `its parent queue ${parentName} belongs to tenant ${parent.tenant}; a child queue has its parent's tenant` });
    } else if (hasGuarantee(spec) && !hasGuarantee(parent)) {
      problems.push({ path: `${path}.guarantee`, code: 'MUSTER_ERR_INVALID_VALUE', message: `its parent queue ${parentName} has no guarantee to share` });
    }
  }
  // Each family with a changed member (or a changed parent) is judged once, and a problem is reported at
  // the first changed queue among those it names (else at the changed parent).
  const judged = new Set<string | undefined>();
  for (const name of where.keys()) {
    for (const family of [parentQueue(name), name]) {
      if (judged.has(family)) continue;
      const kids = children.get(family) ?? [];
      if (kids.length === 0) continue;
      judged.add(family);
      for (const { named, field, problem } of familyProblems(family === undefined ? undefined : all.get(family), family, kids)) {
        const changed = named.find((k) => where.has(k.name));
        const path = changed ? `${where.get(changed.name)!}.${field}` : `${where.get(family!) ?? where.get(name)!}.guarantee`;
        problems.push({ ...problem, path });
      }
    }
  }
  return problems;
}

interface FamilyProblem {
  /** The children the problem is about. */
  readonly named: readonly QueueSpec[];
  /** Their field it is about. */
  readonly field: 'guarantee' | 'guaranteedShare';
  readonly problem: Omit<Problem, 'path'>;
}

/** Whether children `kids` of `parent` (undefined: the top of the tree) fit in its guarantee. */
function familyProblems(parent: QueueSpec | undefined, parentName: string | undefined, kids: readonly QueueSpec[]): FamilyProblem[] {
  const of = parentName === undefined ? 'the cluster' : `queue ${parentName}'s guarantee`;
  const shares = kids.reduce((sum, k) => sum + k.guaranteedShare, 0);
  const names = (list: readonly QueueSpec[]): string => list.map((k) => k.name).join(', ');
  if (shares > 1 + 1e-9) {
    const sharing = kids.filter((k) => k.guaranteedShare > 0);
    const message = `the guaranteed shares of ${names(sharing)} add up to ${round(shares * 100)}% of ${of}; at most 100%`;
    return [{ named: sharing, field: 'guaranteedShare', problem: { code: 'MUSTER_ERR_INVALID_VALUE', message } }];
  }
  const absolute = parent?.guarantee;
  if (!absolute) return [];
  const withAmounts = kids.filter((k) => k.guarantee !== undefined);
  const problems: FamilyProblem[] = [];
  for (const dim of dimensions(withAmounts.map((k) => k.guarantee!))) {
    const have = amount(absolute, dim) * (1 - shares);
    const asked = withAmounts.reduce((sum, k) => sum + amount(k.guarantee, dim), 0);
    if (asked > have + 1e-9) {
      const sharesNote = shares > 0 ? ` (after its children's shares, ${round(shares * 100)}%)` : '';
      const message = `the ${dim} guarantees of ${names(withAmounts)} add up to ${show(dim, asked)}, more than ${of} of ${show(dim, have)}${sharesNote}`;
      problems.push({ named: withAmounts, field: 'guarantee', problem: { code: 'MUSTER_ERR_INVALID_VALUE', message } });
    }
  }
  return problems;
}

/** An amount as a spec writes it (`4`, `500m`, `16Gi`). */
function show(dim: string, v: number): string {
  return dim === 'cpu' ? formatCpu(Math.floor(v)) : dim === 'memory' ? formatMemory(Math.floor(v)) : String(Math.floor(v));
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
