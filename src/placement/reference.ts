/**
 * The reference backend (`ts`): the oracle the kernel is tested against. Exhaustive and obvious: every
 * task looks at every node, in index order, with the model's own functions (`matchesAll`, `fits`,
 * `shortfall`, `subtract`, `add`). Slow by design (O(nodes) per task); it shares nothing with the kernel
 * but the contract, so an agreement between them means something.
 */
import { rangeError } from '../errors/index.js';
import { add, fits, matchesAll, shortfall, subtract } from '../model/index.js';
import type { Labels, NodeState, Resources } from '../model/index.js';
import { JOB_OUT, SCORE_SCALE } from './limits.js';
import { PlacementResult } from './result.js';
import { BaseTable } from './table.js';
import type { Compiled } from './table.js';
import type { NodeChange, NodeView, PlacementBackend, ReleaseItem, TableOptions } from './types.js';
import { REASONS } from './types.js';

interface RefNode {
  capacity: Resources;
  free: Resources;
  labels: Labels;
  state: NodeState;
}

const STATUS_PLACED = 0;
const STATUS_PARTIAL = 1;
const STATUS_UNPLACED = 2;

function names(a: Resources, b: Resources): string[] {
  return [...new Set([...Object.keys(a.extended), ...Object.keys(b.extended)])];
}

/** free ≤ capacity in every dimension. */
function within(free: Resources, capacity: Resources): boolean {
  return fits(free, capacity) && names(free, capacity).every((n) => (free.extended[n] ?? 0) <= (capacity.extended[n] ?? 0));
}

/** Spread score: floor(free × 1024 / capacity) of cpu, plus the same of memory (a zero capacity adds 0). */
export function spreadScore(node: { readonly capacity: Resources; readonly free: Resources }): number {
  const part = (free: number, cap: number): number => (cap > 0 ? Math.floor((free * SCORE_SCALE) / cap) : 0);
  return part(node.free.cpu, node.capacity.cpu) + part(node.free.memory, node.capacity.memory);
}

export class ReferenceTable extends BaseTable {
  readonly backend = 'ts' as const;
  #nodes: (RefNode | undefined)[];

  constructor(options: TableOptions) {
    super(options);
    this.#nodes = new Array<RefNode | undefined>(this.capacity).fill(undefined);
  }

  get size(): number {
    return this.#nodes.filter(Boolean).length;
  }

  protected applyChecked(changes: readonly NodeChange[]): void {
    const seen = new Set<number>();
    const next = new Map<number, RefNode | undefined>();
    changes.forEach((c, k) => {
      const id = c.kind === 'add' ? c.node.id : c.id;
      const fail = (code: Parameters<typeof rangeError>[0], why: string): never => {
        throw rangeError(code, `placement apply: ${why} (record ${k})`);
      };
      if (id >= this.capacity) fail(c.kind === 'add' ? 'MUSTER_ERR_PLACEMENT_TABLE_FULL' : 'MUSTER_ERR_PLACEMENT_UNKNOWN_NODE', `node ${id} is past the capacity`);
      if (seen.has(id)) fail('MUSTER_ERR_PLACEMENT_DUPLICATE_NODE', `node ${id} is named twice`);
      seen.add(id);
      const current = this.#nodes[id];
      if (c.kind === 'add' && current) fail('MUSTER_ERR_PLACEMENT_DUPLICATE_NODE', `node ${id} is already in the table`);
      if (c.kind !== 'add' && !current) fail('MUSTER_ERR_PLACEMENT_UNKNOWN_NODE', `node ${id} is not in the table`);
      let node: RefNode | undefined;
      if (c.kind === 'add') {
        node = { capacity: c.node.capacity, free: c.node.free ?? c.node.capacity, labels: c.node.labels ?? {}, state: c.node.state ?? 'ready' };
      } else if (c.kind === 'update' && current) {
        node = {
          capacity: c.capacity ?? current.capacity,
          free: c.free ?? current.free,
          labels: c.labels ?? current.labels,
          state: c.state ?? current.state,
        };
      }
      if (node && !within(node.free, node.capacity)) fail('MUSTER_ERR_PLACEMENT_INVALID_QUANTITY', `node ${id} would have more free than capacity`);
      next.set(id, node);
    });
    for (const [id, node] of next) this.#nodes[id] = node;
  }

  protected releaseChecked(items: readonly ReleaseItem[]): void {
    items.forEach((item, k) => {
      if (item.node >= this.capacity || !this.#nodes[item.node]) {
        throw rangeError('MUSTER_ERR_PLACEMENT_UNKNOWN_NODE', `placement release: node ${item.node} is not in the table (record ${k})`);
      }
    });
    const free = new Map<number, Resources>();
    items.forEach((item, k) => {
      const node = this.#nodes[item.node] as RefNode;
      const after = add(free.get(item.node) ?? node.free, item.resources);
      if (!within(after, node.capacity)) {
        throw rangeError('MUSTER_ERR_PLACEMENT_OVER_RELEASE', `placement release: node ${item.node} would have more free than capacity (record ${k})`);
      }
      free.set(item.node, after);
    });
    for (const [id, f] of free) (this.#nodes[id] as RefNode).free = f;
  }

  protected placeCompiled(batch: Compiled): PlacementResult {
    const out = new Int32Array(batch.jobCount * JOB_OUT + batch.taskCount);
    let k = batch.jobCount * JOB_OUT;
    batch.requests.forEach((job, j) => {
      const selectors = job.selectors ?? [];
      const used = new Set<number>(); // nodes holding a task of this job (distinctNodes)
      const placed: { node: number; resources: Resources }[] = [];
      let failed = false;
      out[j * JOB_OUT + 1] = -1;
      job.tasks.forEach((group, g) => {
        let groupFailed = false;
        for (let c = 0; c < group.count; c++, k++) {
          if (groupFailed || (job.gang && failed)) {
            out[k] = -1;
            continue;
          }
          const candidate = (i: number): boolean => {
            const n = this.#nodes[i];
            return !!n && n.state === 'ready' && !used.has(i) && matchesAll(selectors, n.labels) && fits(group.resources, n.free);
          };
          // Exhaustive: every node is checked, then the best is chosen: binpack, the lowest index (first
          // fit); spread, the highest score, the lowest index among equals.
          const feasible: number[] = [];
          for (let i = 0; i < this.capacity; i++) if (candidate(i)) feasible.push(i);
          let chosen = feasible[0] ?? -1;
          if (job.strategy === 'spread') {
            for (const i of feasible) if (spreadScore(this.#nodes[i] as RefNode) > spreadScore(this.#nodes[chosen] as RefNode)) chosen = i;
          }
          if (chosen < 0) {
            if (!failed) {
              out[j * JOB_OUT + 1] = g;
              this.#reasons(group.resources, selectors, used, out, j * JOB_OUT + 2);
            }
            failed = groupFailed = true;
            out[k] = -1;
            continue;
          }
          const node = this.#nodes[chosen] as RefNode;
          node.free = subtract(node.free, group.resources);
          if (job.distinctNodes) used.add(chosen);
          placed.push({ node: chosen, resources: group.resources });
          out[k] = chosen;
        }
      });
      if (job.gang && failed) {
        for (const p of placed) {
          const node = this.#nodes[p.node] as RefNode;
          node.free = add(node.free, p.resources);
        }
        out.fill(-1, k - (batch.taskStart[j + 1]! - batch.taskStart[j]!), k);
        placed.length = 0;
      }
      out[j * JOB_OUT] = !failed ? STATUS_PLACED : placed.length ? STATUS_PARTIAL : STATUS_UNPLACED;
    });
    return new PlacementResult(out, batch.jobCount, batch.taskStart);
  }

  /** Each node once, under the first check it fails: not ready, labels, distinct, then the first short dimension. */
  #reasons(request: Resources, selectors: Parameters<typeof matchesAll>[0], used: Set<number>, out: Int32Array, at: number): void {
    this.#nodes.forEach((n, i) => {
      if (!n) return;
      let reason: (typeof REASONS)[number];
      if (n.state !== 'ready') reason = 'notReady';
      else if (!matchesAll(selectors, n.labels)) reason = 'labels';
      else if (used.has(i)) reason = 'distinct';
      else {
        const short = shortfall(request, n.free);
        if (short === undefined) throw new Error(`reference: node ${i} fits but was not chosen`);
        reason = short === 'cpu' || short === 'memory' || short === 'gpu' ? short : 'extended';
      }
      out[at + REASONS.indexOf(reason)]!++;
    });
  }

  protected readNode(id: number): NodeView | undefined {
    const n = this.#nodes[id];
    return n && { capacity: n.capacity, free: n.free, labels: n.labels, state: n.state };
  }

  protected free(): void {
    this.#nodes = [];
  }
}

export const referenceBackend: PlacementBackend = {
  name: 'ts',
  createTable: (options: TableOptions) => new ReferenceTable(options),
};

