/**
 * What a site actor knows of its nodes besides the kernel's table: enough to summarize the site for the
 * dispatcher (free totals, the most free on any one node per dimension, the labels present) without
 * reading the table back node by node. It follows the same changes, placements and releases as the table.
 */
import type { Labels, NodeState, Resources } from '../model/index.js';
import type { NodeChange, PlacementRequest, ReleaseItem } from '../placement/index.js';
import type { SiteSummary } from './site-choice.js';

interface MirrorNode {
  capacity: Resources;
  free: { cpu: number; memory: number; gpu: number; extended: Record<string, number> };
  labels: Labels;
  state: NodeState;
}

function copy(r: Resources): MirrorNode['free'] {
  return { cpu: r.cpu, memory: r.memory, gpu: r.gpu, extended: { ...r.extended } };
}

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
          const node: MirrorNode = { capacity: c.node.capacity, free: copy(c.node.free ?? c.node.capacity), labels: c.node.labels ?? {}, state: c.node.state ?? 'ready' };
          this.#nodes.set(c.node.id, node);
          this.#countLabels(node, 1);
          out.push(c);
          break;
        }
        case 'update': {
          const node = this.#nodes.get(c.id);
          if (!node) {
            out.push(c);
            break;
          }
          this.#countLabels(node, -1);
          let free = c.free;
          if (c.capacity && !free) {
            const cap = c.capacity;
            const f = node.free;
            const ext: Record<string, number> = {};
            for (const name in cap.extended) ext[name] = Math.max(0, (f.extended[name] ?? 0) + (cap.extended[name] ?? 0) - (node.capacity.extended[name] ?? 0));
            free = {
              cpu: Math.max(0, f.cpu + cap.cpu - node.capacity.cpu),
              memory: Math.max(0, f.memory + cap.memory - node.capacity.memory),
              gpu: Math.max(0, f.gpu + cap.gpu - node.capacity.gpu),
              extended: ext,
            };
          }
          if (c.capacity) node.capacity = c.capacity;
          if (free) node.free = copy(free);
          if (c.labels) node.labels = c.labels;
          if (c.state) node.state = c.state;
          this.#countLabels(node, 1);
          out.push(free && !c.free ? { ...c, free } : c);
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
          const r = group.resources;
          node.free.cpu -= r.cpu;
          node.free.memory -= r.memory;
          node.free.gpu -= r.gpu;
          for (const name in r.extended) node.free.extended[name] = (node.free.extended[name] ?? 0) - (r.extended[name] ?? 0);
        }
      }
    });
  }

  released(items: readonly ReleaseItem[]): void {
    for (const { node: id, resources: r } of items) {
      const node = this.#nodes.get(id);
      if (!node) continue;
      node.free.cpu += r.cpu;
      node.free.memory += r.memory;
      node.free.gpu += r.gpu;
      for (const name in r.extended) node.free.extended[name] = (node.free.extended[name] ?? 0) + (r.extended[name] ?? 0);
    }
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
