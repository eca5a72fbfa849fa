/** The placement contract: what every backend (native, wasm, ts) takes and gives. */
import type { Labels, NodeState, Resources, Selector, Strategy } from '../model/index.js';
import type { PlacementResult } from './result.js';

/** The backends the server chooses among (MUSTER_PLACEMENT), fastest first. */
export const BACKENDS = ['native', 'wasm', 'ts'] as const;
export type BackendName = (typeof BACKENDS)[number];
/**
 * Every implementation of the contract: the backends, plus `ts-kernel`, the kernel's algorithm in plain
 * TypeScript (ts-kernel.ts), a benchmark baseline and a second differential check that no server chooses.
 */
export type SolverName = BackendName | 'ts-kernel';

export interface TableOptions {
  /** Node slots: ids run from 0 to capacity − 1. At most MAX_TABLE_NODES. */
  readonly capacity: number;
  /** Extended resource slots (distinct names the table can hold); default DEFAULT_EXTENDED_SLOTS. */
  readonly extendedSlots?: number;
  /** Label bits (distinct key=value pairs the table can hold), a multiple of 32; default DEFAULT_LABEL_BITS. */
  readonly labelBits?: number;
}

export interface NodeInput {
  /** The node's index in the table: the tie-breaker of every strategy (lowest wins). */
  readonly id: number;
  readonly capacity: Resources;
  /** Free resources; default: all of the capacity. */
  readonly free?: Resources;
  readonly labels?: Labels;
  /** Default `ready`. Only ready nodes take work. */
  readonly state?: NodeState;
}

/** One change to the table. A batch names each node at most once and is applied all or nothing. */
export type NodeChange =
  | { readonly kind: 'add'; readonly node: NodeInput }
  | {
      readonly kind: 'update';
      readonly id: number;
      readonly capacity?: Resources;
      readonly free?: Resources;
      readonly labels?: Labels;
      readonly state?: NodeState;
    }
  | { readonly kind: 'remove'; readonly id: number };

/** Resources given back to a node (a task ended). A batch is applied all or nothing. */
export interface ReleaseItem {
  readonly node: number;
  readonly resources: Resources;
}

export interface TaskRequest {
  readonly count: number;
  /** Per task. */
  readonly resources: Resources;
}

/** One job of a batch: what `place` needs of a JobSpec (see `requestOf`). */
export interface PlacementRequest {
  readonly tasks: readonly TaskRequest[];
  readonly selectors?: readonly Selector[];
  /** Default `binpack`. */
  readonly strategy?: Strategy;
  /** No two tasks of the job on one node. */
  readonly distinctNodes?: boolean;
  /** All tasks of the job are placed, or none is. */
  readonly gang?: boolean;
}

/** Why a task could not be placed: every node of the table counted once, under the first check it fails. */
export interface ReasonCounts {
  readonly notReady: number;
  readonly labels: number;
  /** Ready and matching, but already holding a task of this distinctNodes job. */
  readonly distinct: number;
  readonly cpu: number;
  readonly memory: number;
  readonly gpu: number;
  readonly extended: number;
}

export const REASONS = ['notReady', 'labels', 'distinct', 'cpu', 'memory', 'gpu', 'extended'] as const satisfies readonly (keyof ReasonCounts)[];

export type JobStatus = 'placed' | 'partial' | 'unplaced';

export interface NodeView {
  readonly capacity: Resources;
  readonly free: Resources;
  readonly labels: Labels;
  readonly state: NodeState;
}

/** A batch validated and encoded for one table; reusable across calls on that table. */
export interface CompiledBatch {
  readonly requests: readonly PlacementRequest[];
  readonly jobCount: number;
  readonly taskCount: number;
  /** Task offset of each job in the result (length jobCount + 1). */
  readonly taskStart: Int32Array;
}

/** A site's node table with its solver. One owner: nothing else writes it. */
export interface NodeTable {
  readonly backend: SolverName;
  readonly capacity: number;
  /** Nodes present. */
  readonly size: number;
  /** Add, update and remove nodes; all or nothing. */
  apply(changes: readonly NodeChange[]): void;
  /** Give resources back; all or nothing. */
  release(items: readonly ReleaseItem[]): void;
  /** Validate and encode a batch once, to place it (or equal batches) many times. */
  compile(requests: readonly PlacementRequest[]): CompiledBatch;
  /** Place a batch in order; each placed task takes its resources from the table at once. */
  place(batch: readonly PlacementRequest[] | CompiledBatch): PlacementResult;
  node(id: number): NodeView | undefined;
  /** Frees the table's memory now (the native arena is otherwise freed by the garbage collector). */
  dispose(): void;
}

export interface PlacementBackend {
  readonly name: SolverName;
  createTable(options: TableOptions): NodeTable;
}
