/**
 * Checks every input of the placement layer before any backend sees it, so native, wasm and ts reject
 * the same inputs with the same codes: wrong types are TypeErrors, wrong values RangeErrors. Checks that
 * need the table (is this id present?) are the backend's, done in the same order on every backend.
 */
import { rangeError, typeError } from '../errors/index.js';
import type { ErrorCode } from '../errors/index.js';
import { NODE_STATES, STRATEGIES, SELECTOR_OPS } from '../model/index.js';
import type { NodeState, Resources, Selector } from '../model/index.js';
import {
  DEFAULT_EXTENDED_SLOTS,
  DEFAULT_LABEL_BITS,
  LABEL_WORD_BITS,
  MAX_BATCH_JOBS,
  MAX_BATCH_TASKS,
  MAX_EXTENDED_SLOTS,
  MAX_GROUPS,
  MAX_LABEL_BITS,
  MAX_QUANTITY,
  MAX_SELECTORS,
  MAX_TABLE_NODES,
  MAX_TASKS_PER_JOB,
} from './limits.js';
import type { NodeChange, PlacementRequest, ReleaseItem, TableOptions } from './types.js';

const QUANTITY: ErrorCode = 'MUSTER_ERR_PLACEMENT_INVALID_QUANTITY';
const BUFFER: ErrorCode = 'MUSTER_ERR_PLACEMENT_INVALID_BUFFER';
const LIMIT: ErrorCode = 'MUSTER_ERR_PLACEMENT_LIMIT';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function whole(value: unknown, min: number, max: number, code: ErrorCode, what: string): number {
  if (typeof value !== 'number') throw typeError(code, `${what} must be a number, not ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw rangeError(code, `${what} must be a whole number from ${min} to ${max}, not ${String(value)}`);
  }
  return value;
}

export interface TableShape {
  readonly capacity: number;
  readonly extendedSlots: number;
  readonly labelWords: number;
}

export function checkTableOptions(options: TableOptions): TableShape {
  if (!isObject(options)) throw typeError(BUFFER, 'table options must be an object');
  const capacity = whole(options.capacity, 1, MAX_TABLE_NODES, LIMIT, 'capacity');
  const extendedSlots = whole(options.extendedSlots ?? DEFAULT_EXTENDED_SLOTS, 0, MAX_EXTENDED_SLOTS, LIMIT, 'extendedSlots');
  const labelBits = whole(options.labelBits ?? DEFAULT_LABEL_BITS, LABEL_WORD_BITS, MAX_LABEL_BITS, LIMIT, 'labelBits');
  if (labelBits % LABEL_WORD_BITS !== 0) throw rangeError(LIMIT, `labelBits must be a multiple of ${LABEL_WORD_BITS}, not ${labelBits}`);
  return { capacity, extendedSlots, labelWords: labelBits / LABEL_WORD_BITS };
}

/** A resource vector: every amount a whole number in [0, MAX_QUANTITY]. */
export function checkResources(r: Resources, what: string): void {
  if (!isObject(r)) throw typeError(QUANTITY, `${what} must be a resources object`);
  whole(r.cpu, 0, MAX_QUANTITY, QUANTITY, `${what}.cpu`);
  whole(r.memory, 0, MAX_QUANTITY, QUANTITY, `${what}.memory`);
  whole(r.gpu, 0, MAX_QUANTITY, QUANTITY, `${what}.gpu`);
  if (!isObject(r.extended)) throw typeError(QUANTITY, `${what}.extended must be an object`);
  for (const [name, amount] of Object.entries(r.extended)) whole(amount, 0, MAX_QUANTITY, QUANTITY, `${what}.extended.${name}`);
}

/** A node id: a whole number (whether the table has it is the backend's check). */
export function checkNodeId(id: unknown, what = 'node id'): number {
  return whole(id, 0, 0x7fffffff, 'MUSTER_ERR_PLACEMENT_UNKNOWN_NODE', what);
}

export function stateIndex(state: NodeState | undefined): number {
  if (state === undefined) return 0;
  const i = NODE_STATES.indexOf(state);
  if (i < 0) throw rangeError('MUSTER_ERR_PLACEMENT_INVALID_STATE', `node state ${JSON.stringify(state)} is not one of ${NODE_STATES.join(', ')}`);
  return i;
}

function checkLabels(labels: unknown, what: string): void {
  if (labels === undefined) return;
  if (!isObject(labels)) throw typeError(BUFFER, `${what} must be an object of strings`);
  for (const [k, v] of Object.entries(labels)) if (typeof v !== 'string') throw typeError(BUFFER, `${what}.${k} must be a string`);
}

export function checkChanges(changes: readonly NodeChange[]): void {
  if (!Array.isArray(changes)) throw typeError(BUFFER, 'changes must be an array');
  changes.forEach((c: NodeChange, i) => {
    const at = `changes[${i}]`;
    if (!isObject(c)) throw typeError(BUFFER, `${at} must be an object`);
    switch (c.kind) {
      case 'add':
        if (!isObject(c.node)) throw typeError(BUFFER, `${at}.node must be an object`);
        checkNodeId(c.node.id, `${at}.node.id`);
        checkResources(c.node.capacity, `${at}.node.capacity`);
        if (c.node.free !== undefined) checkResources(c.node.free, `${at}.node.free`);
        checkLabels(c.node.labels, `${at}.node.labels`);
        stateIndex(c.node.state);
        return;
      case 'update':
        checkNodeId(c.id, `${at}.id`);
        if (c.capacity !== undefined) checkResources(c.capacity, `${at}.capacity`);
        if (c.free !== undefined) checkResources(c.free, `${at}.free`);
        checkLabels(c.labels, `${at}.labels`);
        stateIndex(c.state);
        return;
      case 'remove':
        checkNodeId(c.id, `${at}.id`);
        return;
      default:
        throw typeError(BUFFER, `${at}.kind must be add, update or remove`);
    }
  });
}

export function checkReleases(items: readonly ReleaseItem[]): void {
  if (!Array.isArray(items)) throw typeError(BUFFER, 'release items must be an array');
  items.forEach((item: ReleaseItem, i) => {
    if (!isObject(item)) throw typeError(BUFFER, `release[${i}] must be an object`);
    checkNodeId(item.node, `release[${i}].node`);
    checkResources(item.resources, `release[${i}].resources`);
  });
}

function checkSelector(s: Selector, at: string): void {
  if (!isObject(s) || typeof s.key !== 'string' || !Array.isArray(s.values)) throw typeError(BUFFER, `${at} must be a selector { key, op, values }`);
  if (!SELECTOR_OPS.includes(s.op)) throw rangeError('MUSTER_ERR_INVALID_SELECTOR', `${at}.op ${JSON.stringify(s.op)} is not one of ${SELECTOR_OPS.join(', ')}`);
  for (const v of s.values) if (typeof v !== 'string') throw typeError(BUFFER, `${at}.values must be strings`);
}

/** Checks a batch; returns the task offset of each job (length jobs + 1). */
export function checkRequests(requests: readonly PlacementRequest[]): Int32Array {
  if (!Array.isArray(requests)) throw typeError(BUFFER, 'a batch must be an array of requests');
  if (requests.length > MAX_BATCH_JOBS) throw rangeError(LIMIT, `a batch has ${requests.length} jobs; the most is ${MAX_BATCH_JOBS}`);
  const taskStart = new Int32Array(requests.length + 1);
  let total = 0;
  requests.forEach((r: PlacementRequest, j) => {
    const at = `batch[${j}]`;
    if (!isObject(r) || !Array.isArray(r.tasks)) throw typeError(BUFFER, `${at} must be a request with a tasks array`);
    if (r.tasks.length < 1 || r.tasks.length > MAX_GROUPS) throw rangeError(LIMIT, `${at} has ${r.tasks.length} task groups; it needs 1 to ${MAX_GROUPS}`);
    let tasks = 0;
    r.tasks.forEach((g, i) => {
      if (!isObject(g)) throw typeError(BUFFER, `${at}.tasks[${i}] must be an object`);
      tasks += whole(g.count, 1, MAX_TASKS_PER_JOB, LIMIT, `${at}.tasks[${i}].count`);
      checkResources(g.resources as Resources, `${at}.tasks[${i}].resources`);
    });
    if (tasks > MAX_TASKS_PER_JOB) throw rangeError(LIMIT, `${at} has ${tasks} tasks; the most is ${MAX_TASKS_PER_JOB}`);
    const selectors = r.selectors ?? [];
    if (!Array.isArray(selectors)) throw typeError(BUFFER, `${at}.selectors must be an array`);
    if (selectors.length > MAX_SELECTORS) throw rangeError(LIMIT, `${at} has ${selectors.length} selectors; the most is ${MAX_SELECTORS}`);
    selectors.forEach((s, i) => checkSelector(s, `${at}.selectors[${i}]`));
    if (r.strategy !== undefined && !STRATEGIES.includes(r.strategy)) throw rangeError('MUSTER_ERR_INVALID_VALUE', `${at}.strategy must be binpack or spread`);
    total += tasks;
    if (total > MAX_BATCH_TASKS) throw rangeError(LIMIT, `the batch has more than ${MAX_BATCH_TASKS} tasks`);
    taskStart[j + 1] = total;
  });
  return taskStart;
}
