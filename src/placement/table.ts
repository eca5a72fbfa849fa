/**
 * What every table does before its backend decides: check the input (validate.ts), intern labels and
 * extended names (interner.ts), and compile batches. Backends (kernel-table.ts, reference.ts) implement
 * only the decisions, so all of them accept and reject exactly the same inputs.
 */
import { typeError } from '../errors/index.js';
import { Interner } from './interner.js';
import { internChanges } from './encode.js';
import type { PlacementResult } from './result.js';
import type { CompiledBatch, NodeChange, NodeTable, NodeView, PlacementRequest, ReleaseItem, SolverName, TableOptions } from './types.js';
import { checkChanges, checkNodeId, checkReleases, checkRequests, checkTableOptions } from './validate.js';
import type { TableShape } from './validate.js';

/** A compiled batch: the checked requests, plus the kernel encoding valid for one interner version. */
export class Compiled implements CompiledBatch {
  readonly requests: readonly PlacementRequest[];
  readonly jobCount: number;
  readonly taskCount: number;
  readonly taskStart: Int32Array;
  readonly owner: BaseTable;
  encoded: Int32Array | undefined;
  version = -1;

  constructor(owner: BaseTable, requests: readonly PlacementRequest[], taskStart: Int32Array) {
    this.owner = owner;
    this.requests = requests;
    this.jobCount = requests.length;
    this.taskStart = taskStart;
    this.taskCount = taskStart[requests.length] ?? 0;
  }
}

export abstract class BaseTable implements NodeTable {
  abstract readonly backend: SolverName;
  readonly capacity: number;
  protected readonly interner: Interner;
  protected disposed = false;

  constructor(options: TableOptions) {
    const shape: TableShape = checkTableOptions(options);
    this.capacity = shape.capacity;
    this.interner = new Interner(shape.labelWords, shape.extendedSlots);
  }

  abstract get size(): number;
  protected abstract applyChecked(changes: readonly NodeChange[]): void;
  protected abstract releaseChecked(items: readonly ReleaseItem[]): void;
  protected abstract placeCompiled(batch: Compiled): PlacementResult;
  protected abstract readNode(id: number): NodeView | undefined;
  protected abstract free(): void;

  protected live(): void {
    if (this.disposed) throw typeError('MUSTER_ERR_PLACEMENT_INVALID_BUFFER', 'the table was disposed');
  }

  apply(changes: readonly NodeChange[]): void {
    this.live();
    checkChanges(changes);
    internChanges(this.interner, changes);
    this.applyChecked(changes);
  }

  release(items: readonly ReleaseItem[]): void {
    this.live();
    checkReleases(items);
    for (const item of items) this.interner.internResources(item.resources);
    this.releaseChecked(items);
  }

  compile(requests: readonly PlacementRequest[]): Compiled {
    const taskStart = checkRequests(requests);
    for (const r of requests) for (const g of r.tasks) this.interner.internResources(g.resources);
    return new Compiled(this, requests, taskStart);
  }

  place(batch: readonly PlacementRequest[] | CompiledBatch): PlacementResult {
    this.live();
    const compiled = batch instanceof Compiled && batch.owner === this ? batch : this.compile(Array.isArray(batch) ? batch : (batch as CompiledBatch).requests);
    return this.placeCompiled(compiled);
  }

  node(id: number): NodeView | undefined {
    this.live();
    checkNodeId(id);
    return id < this.capacity ? this.readNode(id) : undefined;
  }

  dispose(): void {
    if (!this.disposed) this.free();
    this.disposed = true;
  }
}
