/**
 * A node table whose decisions are made by the C kernel, through a port: the Node-API addon or the wasm
 * instance (or the kernel's algorithm transcribed to TypeScript, ts-kernel.ts, the benchmarks' baseline). One call per batch: changes, releases and requests cross the boundary as Int32Arrays built in
 * reused scratch buffers; the result comes back as one Int32Array.
 */
import { NODE_STATES } from '../model/index.js';
import type { NodeState } from '../model/index.js';
import { encodeChanges, encodeReleases, encodeRequests, Scratch } from './encode.js';
import { JOB_OUT } from './limits.js';
import { PlacementResult } from './result.js';
import { BaseTable } from './table.js';
import type { Compiled } from './table.js';
import type { NodeChange, NodeView, ReleaseItem, SolverName, TableOptions } from './types.js';

/** The kernel's entry points for one table (native/src/placement.h). Errors are thrown coded. */
export interface KernelPort {
  apply(ops: Int32Array): void;
  release(records: Int32Array): void;
  place(batch: Int32Array, out: Int32Array): void;
  readNode(id: number, out: Int32Array): void;
  nodeCount(): number;
  dispose(): void;
}

export type PortFactory = (capacity: number, dims: number, labelWords: number) => KernelPort;

export class KernelTable extends BaseTable {
  readonly backend: SolverName;
  readonly #port: KernelPort;
  readonly #scratch = new Scratch();
  readonly #nodeOut: Int32Array;

  constructor(backend: SolverName, options: TableOptions, factory: PortFactory) {
    super(options);
    this.backend = backend;
    this.#port = factory(this.capacity, this.interner.dims, this.interner.labelWords);
    this.#nodeOut = new Int32Array(2 + 2 * this.interner.dims + this.interner.labelWords);
  }

  get size(): number {
    this.live();
    return this.#port.nodeCount();
  }

  protected applyChecked(changes: readonly NodeChange[]): void {
    this.#port.apply(encodeChanges(this.interner, changes, this.#scratch));
  }

  protected releaseChecked(items: readonly ReleaseItem[]): void {
    this.#port.release(encodeReleases(this.interner, items, this.#scratch));
  }

  protected placeCompiled(batch: Compiled): PlacementResult {
    if (!batch.encoded || batch.version !== this.interner.version) {
      batch.encoded = encodeRequests(this.interner, batch.requests);
      batch.version = this.interner.version;
    }
    const out = new Int32Array(batch.jobCount * JOB_OUT + batch.taskCount);
    this.#port.place(batch.encoded, out);
    return new PlacementResult(out, batch.jobCount, batch.taskStart);
  }

  protected readNode(id: number): NodeView | undefined {
    const out = this.#nodeOut;
    this.#port.readNode(id, out);
    if (!out[0]) return undefined;
    const D = this.interner.dims;
    return {
      state: NODE_STATES[out[1] ?? 0] as NodeState,
      capacity: this.interner.readResources(out, 2),
      free: this.interner.readResources(out, 2 + D),
      labels: this.interner.readLabels(out, 2 + 2 * D),
    };
  }

  protected free(): void {
    this.#port.dispose();
  }
}
