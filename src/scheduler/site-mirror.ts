/**
 * What a site actor knows of its nodes besides the kernel's table: enough to summarize the site for the
 * dispatcher (free totals, the most free on any one node per dimension, the labels present) without
 * reading the table back node by node. It follows the same changes, placements and releases as the table.
 *
 * It keeps what is allocated on each node, and free is derived: capacity less allocated, never below zero.
 * A node may come back with less capacity than its running attempts hold (an agent re-registers smaller):
 * it is then full, not negative, until enough of them end, and an end gives back only what it held; the
 * table is told each node's new free amount rather than a release, so it can never be over-released.
 */
import type { Labels, NodeState, Resources } from '../model/index.js';
import type { NodeChange, PlacementRequest, ReleaseItem } from '../placement/index.js';
import type { SiteSummary } from './site-choice.js';

interface Amounts {
  cpu: number;
  memory: number;
  gpu: number;
  extended: Record<string, number>;
}

interface MirrorNode {
  capacity: Resources;
  /** What live attempts hold (may exceed capacity after the capacity shrank). */
  allocated: Amounts;
  /** Capacity less allocated, floored at zero per dimension. */
  free: Amounts;
  labels: Labels;
  state: NodeState;
}

function freeOf(capacity: Resources, allocated: Amounts): Amounts {
  const extended: Record<string, number> = {};
  for (const name in capacity.extended) extended[name] = Math.max(0, (capacity.extended[name] ?? 0) - (allocated.extended[name] ?? 0));
  return {
    cpu: Math.max(0, capacity.cpu - allocated.cpu),
    memory: Math.max(0, capacity.memory - allocated.memory),
    gpu: Math.max(0, capacity.gpu - allocated.gpu),
    extended,
  };
}

/** Adds `sign` × `r` to `into`, never below zero (an over-release is a no-op past zero, not a negative). */
function add(into: Amounts, r: Resources, sign: 1 | -1): void {
  into.cpu = Math.max(0, into.cpu + sign * r.cpu);
  into.memory = Math.max(0, into.memory + sign * r.memory);
  into.gpu = Math.max(0, into.gpu + sign * r.gpu);
  for (const name in r.extended) into.extended[name] = Math.max(0, (into.extended[name] ?? 0) + sign * (r.extended[name] ?? 0));
}

function copy(r: Resources): Amounts {
  return { cpu: r.cpu, memory: r.memory, gpu: r.gpu, extended: { ...r.extended } };
}

const NOTHING: Resources = { cpu: 0, memory: 0, gpu: 0, extended: {} };

export class SiteMirror {
  readonly site: string;
  readonly #nodes = new Map<number, MirrorNode>();
  /** Ready nodes carrying each `key=value`. */
  readonly #pairs = new Map<string, number>();

  constructor(site: string) {
    this.site = site;
  }

  #countLabels(node: MirrorNode, sign: 1 | -1): void {
    if (node.state !== 'ready') return;
    for (const [k, v] of Object.entries(node.labels)) {
      const pair = `${k}=${v}`;
      const n = (this.#pairs.get(pair) ?? 0) + sign;
      if (n === 0) this.#pairs.delete(pair);
      else this.#pairs.set(pair, n);
    }
  }

  /**
   * Applies changes and returns them completed for the table: an update that changes capacity without
   * saying the free amount keeps what is allocated allocated (free moves by the capacity's change).
   */
  apply(changes: readonly NodeChange[]): NodeChange[] {
    const out: NodeChange[] = [];
    for (const c of changes) {
      switch (c.kind) {
        case 'add': {
          // A given free amount says what is allocated (capacity less free); free itself is then derived.
          const allocated = copy(NOTHING);
          if (c.node.free) {
            add(allocated, c.node.capacity, 1);
            add(allocated, c.node.free, -1);
          }
          const node: MirrorNode = { capacity: c.node.capacity, allocated, free: freeOf(c.node.capacity, allocated), labels: c.node.labels ?? {}, state: c.node.state ?? 'ready' };
          this.#nodes.set(c.node.id, node);
          this.#countLabels(node, 1);
          out.push({ kind: 'add', node: { ...c.node, free: node.free } });
          break;
        }
        case 'update': {
          const node = this.#nodes.get(c.id);
          if (!node) {
            out.push(c);
            break;
          }
          this.#countLabels(node, -1);
          if (c.capacity) node.capacity = c.capacity;
          if (c.free) {
            // An explicit free amount (a rebuild) says what is allocated, as for `add`.
            node.allocated = copy(NOTHING);
            add(node.allocated, node.capacity, 1);
            add(node.allocated, c.free, -1);
          }
          // What is allocated stays allocated: a new capacity moves free by its change, floored at zero.
          if (c.capacity || c.free) node.free = freeOf(node.capacity, node.allocated);
          if (c.labels) node.labels = c.labels;
          if (c.state) node.state = c.state;
          this.#countLabels(node, 1);
          out.push(c.capacity || c.free ? { ...c, free: copy(node.free) } : c);
          break;
        }
        case 'remove': {
          const node = this.#nodes.get(c.id);
          if (node) this.#countLabels(node, -1);
          this.#nodes.delete(c.id);
          out.push(c);
          break;
        }
      }
    }
    return out;
  }

  /** Takes placed tasks' resources off their nodes (`nodes`: the result's node of each task, −1 if none). */
  placed(requests: readonly PlacementRequest[], taskStart: Int32Array, nodes: Int32Array, nodesOffset: number): void {
    requests.forEach((request, j) => {
      let t = (taskStart[j] ?? 0) + nodesOffset;
      for (const group of request.tasks) {
        for (let k = 0; k < group.count; k++, t++) {
          const node = this.#nodes.get(nodes[t] ?? -1);
          if (!node) continue;
          add(node.allocated, group.resources, 1);
          node.free = freeOf(node.capacity, node.allocated);
        }
      }
    });
  }

  /**
   * Gives ended attempts' resources back; returns, for the table, each touched node's new free amount (an
   * update, never a release: a node that shrank below what it ran gets back only up to its capacity).
   */
  released(items: readonly ReleaseItem[]): NodeChange[] {
    const touched = new Set<number>();
    for (const { node: id, resources } of items) {
      const node = this.#nodes.get(id);
      if (!node) continue;
      add(node.allocated, resources, -1);
      node.free = freeOf(node.capacity, node.allocated);
      touched.add(id);
    }
    return [...touched].map((id) => ({ kind: 'update', id, free: copy(this.#nodes.get(id)!.free) }));
  }

  /**
   * For the table, the free amounts with reservations' holds taken off (never below zero), for placing work
   * that may not use them; `truth` gives the real ones back. The mirror itself does not change.
   */
  held(holds: readonly { readonly id: number; readonly resources: Resources }[]): NodeChange[] {
    const out: NodeChange[] = [];
    const byNode = new Map<number, Amounts>();
    for (const { id, resources } of holds) {
      const node = this.#nodes.get(id);
      if (!node) continue;
      let free = byNode.get(id);
      if (!free) byNode.set(id, (free = copy(node.free)));
      add(free, resources, -1);
    }
    for (const [id, free] of byNode) out.push({ kind: 'update', id, free });
    return out;
  }

  /** For the table, the real free amounts of these nodes. */
  truth(ids: Iterable<number>): NodeChange[] {
    const out: NodeChange[] = [];
    for (const id of new Set(ids)) {
      const node = this.#nodes.get(id);
      if (node) out.push({ kind: 'update', id, free: copy(node.free) });
    }
    return out;
  }

  get size(): number {
    return this.#nodes.size;
  }

  /** Every node as an `add` with its current free amounts: to rebuild a table (e.g. a bigger one). */
  asAdds(): NodeChange[] {
    return [...this.#nodes].map(([id, n]) => ({
      kind: 'add',
      node: { id, capacity: n.capacity, free: { cpu: n.free.cpu, memory: n.free.memory, gpu: n.free.gpu, extended: { ...n.free.extended } }, labels: n.labels, state: n.state },
    }));
  }

  /** The highest node id in use, or −1. */
  maxId(): number {
    let max = -1;
    for (const id of this.#nodes.keys()) if (id > max) max = id;
    return max;
  }

  summary(): SiteSummary {
    const capacity = { cpu: 0, memory: 0, gpu: 0, extended: {} as Record<string, number> };
    const free = { cpu: 0, memory: 0, gpu: 0, extended: {} as Record<string, number> };
    const largest = { cpu: 0, memory: 0, gpu: 0, extended: {} as Record<string, number> };
    let ready = 0;
    for (const node of this.#nodes.values()) {
      if (node.state !== 'ready') continue;
      ready++;
      capacity.cpu += node.capacity.cpu;
      capacity.memory += node.capacity.memory;
      capacity.gpu += node.capacity.gpu;
      free.cpu += node.free.cpu;
      free.memory += node.free.memory;
      free.gpu += node.free.gpu;
      if (node.free.cpu > largest.cpu) largest.cpu = node.free.cpu;
      if (node.free.memory > largest.memory) largest.memory = node.free.memory;
      if (node.free.gpu > largest.gpu) largest.gpu = node.free.gpu;
      for (const name in node.free.extended) {
        const amount = node.free.extended[name] ?? 0;
        free.extended[name] = (free.extended[name] ?? 0) + amount;
        if (amount > (largest.extended[name] ?? 0)) largest.extended[name] = amount;
      }
      for (const name in node.capacity.extended) capacity.extended[name] = (capacity.extended[name] ?? 0) + (node.capacity.extended[name] ?? 0);
    }
    return { site: this.site, nodes: this.#nodes.size, readyNodes: ready, capacity, free, largest, labels: [...this.#pairs.keys()].sort() };
  }
}
