/**
 * Feasibility: whether a job could ever be placed on the nodes the cluster knows, whatever they run now.
 * "Never" (no node is big enough, none has the labels, none is in the sites asked for) is told apart from
 * "not now" (the nodes are busy, or the ones that fit are draining or lost): the first is refused at
 * submission (`MUSTER_ERR_UNSATISFIABLE`) and named by why-pending; the second waits.
 *
 * Every node that has joined counts, in whatever state it is: a lost node may come back, a drain may end,
 * so a job that fits only such a node is "not now". A cluster with no node at all says nothing: a fresh
 * cluster whose agents have not connected yet must still take work (PROTOCOL.md, "Jobs no node can run").
 *
 * Pure: reads specs, writes nothing.
 */
import type { JobSpec, NodeSpec, Problem, Resources } from '../model/index.js';
import { fits, formatCpu, formatMemory, formatSelector, matchesAll } from '../model/index.js';

/** One reason a job can never run, as a problem of its spec (the path names the field to change). */
export type Infeasibility = Problem & { readonly code: 'MUSTER_ERR_UNSATISFIABLE' };

function problem(path: string, message: string): Infeasibility {
  return { path, code: 'MUSTER_ERR_UNSATISFIABLE', message };
}

function amount(dim: string, value: number): string {
  if (dim === 'cpu') return `${formatCpu(value)} cpu`;
  if (dim === 'memory') return `${formatMemory(value)} memory`;
  if (dim === 'gpu') return `${value} gpu`;
  return `${value} ${dim}`;
}

function need(r: Resources, dim: string): number {
  if (dim === 'cpu' || dim === 'memory' || dim === 'gpu') return r[dim];
  return r.extended[dim] ?? 0;
}

/** Each resource dimension one task of a group asks for more of than any eligible node has in all. */
function tooBig(path: string, r: Resources, nodes: readonly NodeSpec[]): Infeasibility[] {
  const dims = ['cpu', 'memory', 'gpu', ...Object.keys(r.extended)];
  const out: Infeasibility[] = [];
  for (const dim of dims) {
    const asked = need(r, dim);
    if (asked === 0) continue;
    const largest = nodes.reduce((m, n) => Math.max(m, need(n.capacity, dim)), 0);
    if (asked > largest) out.push(problem(`${path}.${dim}`, `one task needs ${amount(dim, asked)}; the largest eligible node has ${amount(dim, largest)}`));
  }
  if (out.length === 0 && !nodes.some((n) => fits(r, n.capacity))) {
    out.push(problem(path, 'no single eligible node has all of what one task needs, though each amount alone fits on some node'));
  }
  return out;
}

/**
 * Every reason `spec` can never run on `nodes` (empty when some placement is possible). `nodes` empty
 * gives no reason: see the module comment.
 */
export function neverRuns(spec: JobSpec, nodes: readonly NodeSpec[]): Infeasibility[] {
  if (nodes.length === 0) return [];
  const out: Infeasibility[] = [];
  const { sites, selectors } = spec.constraints;
  const inSites = sites.length === 0 ? nodes : nodes.filter((n) => sites.includes(n.site));
  if (inSites.length === 0) {
    out.push(problem('constraints.sites', `no node is in site ${sites.join(', ')} (nodes are in ${[...new Set(nodes.map((n) => n.site))].join(', ')})`));
    return out;
  }
  const eligible = inSites.filter((n) => matchesAll(selectors, n.labels));
  if (eligible.length === 0) {
    out.push(problem('constraints.selectors', `no node${sites.length > 0 ? ` in site ${sites.join(', ')}` : ''} has labels matching ${selectors.map(formatSelector).join(', ')}`));
    return out;
  }
  const fitting: NodeSpec[][] = [];
  spec.tasks.forEach((group, i) => {
    out.push(...tooBig(`tasks[${i}].resources`, group.resources, eligible));
    fitting.push(eligible.filter((n) => fits(group.resources, n.capacity)));
  });
  if (out.length > 0) return out;
  if (spec.distinctNodes) {
    const perElement = spec.tasks.reduce((sum, g) => sum + g.count, 0);
    const distinct = new Set(fitting.flat().map((n) => n.name)).size;
    if (perElement > distinct) out.push(problem('distinctNodes', `${perElement} tasks on distinct nodes, but only ${distinct} eligible node(s) can take one`));
  }
  if (spec.gang && spec.tasks.length > 1) {
    // A gang lands inside one site: some site must hold a fitting node for every group.
    const siteNames = new Set(eligible.map((n) => n.site));
    const whole = [...siteNames].some((site) => fitting.every((nodesOfGroup) => nodesOfGroup.some((n) => n.site === site)));
    if (!whole) out.push(problem('gang', 'a gang runs inside one site, and no site has nodes for every task group'));
  }
  return out;
}

/** The sentence why-pending and refusals say: "can never run on the current nodes: …". */
export function neverRunsMessage(reasons: readonly Infeasibility[]): string {
  return `can never run on the current nodes: ${reasons.map((r) => `${r.path}: ${r.message}`).join('; ')}`;
}

/** What the cache needs of the site registry: every node, and a number that grows when any changes. */
export interface NodeSource {
  readonly version: number;
  nodeSpecs(): NodeSpec[];
}

/**
 * Job shapes remembered per constraints object before the cache starts again: clusters see a few dozen
 * shapes; a tenant sending endless distinct sizes costs one walk over the nodes per job, never memory.
 */
export const MAX_CACHED_SHAPES = 4096;

/** What feasibility depends on besides constraints: each group's count and resources, distinct, gang. */
function shapeKey(spec: JobSpec): string {
  let key = `${spec.distinctNodes ? 'd' : ''}${spec.gang ? 'g' : ''}`;
  for (const g of spec.tasks) {
    const r = g.resources;
    key += `|${g.count}:${r.cpu}:${r.memory}:${r.gpu}`;
    for (const name in r.extended) key += `:${name}=${r.extended[name]}`;
  }
  return key;
}

/**
 * `neverRuns` at submission, on the hot path: answers are kept per job shape (the resources and counts of
 * its groups, its flags, and its constraints object: interned specs share it) until a node joins, leaves
 * or changes capacity or labels. Commands and arguments do not matter, so jobs that differ only in them
 * share one answer. Node states do not matter either: every node counts whatever its state.
 */
export class FeasibilityCache {
  readonly #nodes: NodeSource;
  #version = -1;
  #specs: NodeSpec[] = [];
  #answers = new WeakMap<object, Map<string, Infeasibility[]>>();

  constructor(nodes: NodeSource) {
    this.#nodes = nodes;
  }

  neverRuns(spec: JobSpec): Infeasibility[] {
    if (this.#version !== this.#nodes.version) {
      this.#version = this.#nodes.version;
      this.#specs = this.#nodes.nodeSpecs();
      this.#answers = new WeakMap();
    }
    if (this.#specs.length === 0) return [];
    let byShape = this.#answers.get(spec.constraints);
    if (!byShape || byShape.size >= MAX_CACHED_SHAPES) this.#answers.set(spec.constraints, (byShape = new Map()));
    const key = shapeKey(spec);
    let answer = byShape.get(key);
    if (!answer) byShape.set(key, (answer = neverRuns(spec, this.#specs)));
    return answer;
  }
}
