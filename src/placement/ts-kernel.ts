/**
 * The kernel's algorithm in plain TypeScript (`ts-kernel`): native/src/placement.c transcribed over typed
 * arrays — the same struct-of-arrays table (`[D][n]` capacity and free, `[W][n]` label words), the same
 * index tree in heap layout (per entry: max free per dimension, max spread score, max balance, OR of label
 * words), the same first-fit descent with its cursor, the same spread branch and bound, the same gang
 * rollback, why-not scan and tie-breaks. It sits behind the same `KernelPort` as the addon and the wasm
 * instance, so it takes the same encoded buffers and throws the same codes.
 *
 * Why it exists: a baseline. `bench/placement.bench.ts` sets native and wasm against it, so the ratio says
 * what C buys over the same algorithm in JavaScript, not over the exhaustive oracle (reference.ts), which
 * stays the correctness reference. The server never chooses it (it is not in `BACKENDS`); the contract and
 * differential suites (test/placement) hold its decisions to the kernel's, int32 for int32.
 */
import { rangeError, typeError } from '../errors/index.js';
import type { ErrorCode } from '../errors/index.js';
import { KernelTable } from './kernel-table.js';
import type { KernelPort } from './kernel-table.js';
import { FIXED_DIMS, JOB_OUT, LABEL_WORD_BITS, MAX_LABEL_BITS, MAX_BATCH_JOBS, MAX_BATCH_TASKS, MAX_EXTENDED_SLOTS, MAX_GROUPS, MAX_SELECTORS, MAX_TABLE_NODES, MAX_TASKS_PER_JOB, SCORE_SCALE } from './limits.js';
import type { PlacementBackend, TableOptions } from './types.js';

// Mirrors of placement.h that limits.ts does not name (the header is the kernel's, not the TS layer's).
const MAX_DIMS = FIXED_DIMS + MAX_EXTENDED_SLOTS;
const MAX_LABEL_WORDS = MAX_LABEL_BITS / LABEL_WORD_BITS;
const STATE_COUNT = 5;
const OP_ADD = 1;
const OP_REMOVE = 3;
const SET_CAPACITY = 1;
const SET_FREE = 2;
const SET_LABELS = 4;
const SET_STATE = 8;
const SET_ALL = 15;
const JOB_GANG = 1;
const JOB_DISTINCT = 2;
const JOB_SPREAD = 4;
const JOB_FLAGS = 7;
const REASON_CPU = 3;
const REASON_EXTENDED = 6;
/** Balance: min(free cpu, free memory >> 2), one core against 4 GiB (placement.c explains why). */
const BALANCE_SHIFT = 2;

// Statuses and what they throw: placement.c's STATUS table, index −status.
const E_SHAPE = -2;
const E_BUFFER = -3;
const E_QUANTITY = -4;
const E_UNKNOWN_NODE = -5;
const E_DUPLICATE_NODE = -6;
const E_TABLE_FULL = -7;
const E_STATE = -8;
const E_LIMIT = -9;
const E_OVER_RELEASE = -10;
const E_OUTPUT = -11;
const E_INTERNAL = -12;
const STATUS: readonly (readonly [ErrorCode, string, 'range' | 'type'])[] = [
  ['MUSTER_ERR_INTERNAL', 'ok', 'range'],
  ['MUSTER_ERR_PLACEMENT_INVALID_BUFFER', 'the table memory is missing, too small or not initialised', 'type'],
  ['MUSTER_ERR_PLACEMENT_LIMIT', 'the table shape (capacity, dimensions, label words) is out of range', 'range'],
  ['MUSTER_ERR_PLACEMENT_INVALID_BUFFER', 'a buffer is truncated or malformed', 'type'],
  ['MUSTER_ERR_PLACEMENT_INVALID_QUANTITY', 'an amount is negative, too large, or free exceeds capacity', 'range'],
  ['MUSTER_ERR_PLACEMENT_UNKNOWN_NODE', 'no node with this id is in the table', 'range'],
  ['MUSTER_ERR_PLACEMENT_DUPLICATE_NODE', 'the node is already in the table, or named twice in one batch', 'range'],
  ['MUSTER_ERR_PLACEMENT_TABLE_FULL', "the node id is past the table's capacity", 'range'],
  ['MUSTER_ERR_PLACEMENT_INVALID_STATE', 'a node state is not one of ready, draining, suspect, lost, down', 'range'],
  ['MUSTER_ERR_PLACEMENT_LIMIT', 'the batch is past its limits (jobs, groups, tasks, selectors)', 'range'],
  ['MUSTER_ERR_PLACEMENT_OVER_RELEASE', "a release would leave more free than the node's capacity", 'range'],
  ['MUSTER_ERR_PLACEMENT_INVALID_BUFFER', 'the output buffer is too small for the batch', 'type'],
  ['MUSTER_ERR_INTERNAL', 'placement kernel invariant broken (a bug)', 'range'],
];

/** A coded error, as the addon and the wasm port throw it for a kernel status. */
class KernelStatus {
  constructor(
    readonly status: number,
    readonly index: number,
  ) {}

  error(what: string): Error {
    const [code, message, kind] = STATUS[-this.status] ?? STATUS[-E_INTERNAL]!;
    const text = `placement ${what}: ${message} (record ${this.index})`;
    return kind === 'type' ? typeError(code, text) : rangeError(code, text);
  }
}

const fail = (status: number, index: number): never => {
  throw new KernelStatus(status, index);
};

/** Runs one entry point; a kernel status it failed with leaves as the coded error the other ports throw. */
function coded(what: string, run: () => void): void {
  try {
    run();
  } catch (err) {
    throw err instanceof KernelStatus ? err.error(what) : err;
  }
}

const balance = (cpu: number, memory: number): number => {
  const m = memory >> BALANCE_SHIFT;
  return cpu < m ? cpu : m;
};

/** placement.c's `query`: one task group's request and label clauses, as offsets into the batch. */
class Query {
  batch: Int32Array = new Int32Array(0);
  req = 0;
  all = 0;
  none = 0;
  any = 0;
  anyc = 0;
  /** The hot test: only the dimensions the task asks for (cpu always, so an invisible entry fails). */
  nd = 0;
  balance = 0;
  hasAll = false;
  hasNone = false;
  readonly dim = new Int32Array(MAX_DIMS);
  readonly need = new Int32Array(MAX_DIMS);
}

export class TsKernelPort implements KernelPort {
  readonly #n: number;
  readonly #dims: number;
  readonly #words: number;
  /** P: leaves of the index, the power of two ≥ capacity; the leaf of node i is entry P + i. */
  readonly #leaves: number;
  /** int32 per index entry: D maxima, 1 score, 1 balance, W label words. */
  readonly #stride: number;
  readonly #cap: Int32Array;
  readonly #free: Int32Array;
  readonly #labels: Int32Array;
  readonly #state: Uint8Array;
  readonly #present: Uint8Array;
  readonly #hidden: Uint8Array;
  readonly #mark: Uint8Array;
  readonly #tree: Int32Array;
  readonly #q = new Query();
  readonly #best = { score: -1, index: -1 };
  #count = 0;

  constructor(capacity: number, dims: number, words: number) {
    const ok = capacity >= 1 && capacity <= MAX_TABLE_NODES && dims >= FIXED_DIMS && dims <= MAX_DIMS && words >= 1 && words <= MAX_LABEL_WORDS;
    let leaves = 1;
    while (leaves < capacity) leaves *= 2;
    // The arena the C kernel would need (placement.c shape_bytes: a 68-byte header, the arrays, the tree,
    // 8-byte aligned): the shapes it refuses are refused here too.
    const arrays = Math.ceil((72 + capacity * (8 * dims + 4 * words + 4)) / 8) * 8;
    const bytes = arrays + 2 * leaves * (dims + 2 + words) * 4;
    if (!ok || bytes > 0x7fffffff) throw new KernelStatus(E_SHAPE, 0).error('create');
    this.#n = capacity;
    this.#dims = dims;
    this.#words = words;
    this.#leaves = leaves;
    this.#stride = dims + 2 + words;
    this.#cap = new Int32Array(dims * capacity);
    this.#free = new Int32Array(dims * capacity);
    this.#labels = new Int32Array(words * capacity);
    this.#state = new Uint8Array(capacity);
    this.#present = new Uint8Array(capacity);
    this.#hidden = new Uint8Array(capacity);
    this.#mark = new Uint8Array(capacity);
    this.#tree = new Int32Array(2 * leaves * this.#stride);
    for (let t = 0; t < 2 * leaves; t++) this.#invisible(t * this.#stride);
  }

  /** The summary of an empty or unavailable leaf: no dimension can fit (every request is ≥ 0). */
  #invisible(at: number): void {
    this.#tree.fill(-1, at, at + this.#dims + 2);
    this.#tree.fill(0, at + this.#dims + 2, at + this.#stride);
  }

  #spreadScore(i: number): number {
    const n = this.#n;
    let score = 0;
    const cpu = this.#cap[i]!;
    if (cpu > 0) score += Math.floor((this.#free[i]! * SCORE_SCALE) / cpu);
    const memory = this.#cap[n + i]!;
    if (memory > 0) score += Math.floor((this.#free[n + i]! * SCORE_SCALE) / memory);
    return score;
  }

  /** Recompute the leaf of node i from the table, then its ancestors until one does not change. */
  #refresh(i: number): void {
    const dims = this.#dims, words = this.#words, stride = this.#stride, n = this.#n, tree = this.#tree;
    let t = this.#leaves + i;
    const leaf = t * stride;
    if (this.#present[i] && this.#state[i] === 0 && !this.#hidden[i]) {
      const fr = this.#free;
      for (let d = 0; d < dims; d++) tree[leaf + d] = fr[d * n + i]!;
      tree[leaf + dims] = this.#spreadScore(i);
      tree[leaf + dims + 1] = balance(fr[i]!, fr[n + i]!);
      for (let w = 0; w < words; w++) tree[leaf + dims + 2 + w] = this.#labels[w * n + i]!;
    } else {
      this.#invisible(leaf);
    }
    const maxima = dims + 2;
    for (t >>= 1; t >= 1; t >>= 1) {
      const rec = t * stride;
      const l = 2 * t * stride;
      const r = l + stride;
      let changed = false;
      for (let d = 0; d < maxima; d++) {
        const a = tree[l + d]!, b = tree[r + d]!;
        const v = a > b ? a : b;
        if (v !== tree[rec + d]) (changed = true), (tree[rec + d] = v);
      }
      for (let w = maxima; w < stride; w++) {
        const v = tree[l + w]! | tree[r + w]!;
        if (v !== tree[rec + w]) (changed = true), (tree[rec + w] = v);
      }
      if (!changed) break;
    }
  }

  #prepare(q: Query): void {
    const b = q.batch;
    q.nd = 0;
    for (let d = 0; d < this.#dims; d++) {
      if (d === 0 || b[q.req + d]! > 0) {
        q.dim[q.nd] = d;
        q.need[q.nd++] = b[q.req + d]!;
      }
    }
    q.balance = balance(b[q.req]!, b[q.req + 1]!);
    q.hasAll = q.hasNone = false;
    for (let w = 0; w < this.#words; w++) {
      if (b[q.all + w] !== 0) q.hasAll = true;
      if (b[q.none + w] !== 0) q.hasNone = true;
    }
  }

  /** Could some leaf under the entry at `rec` fit? (Exact at a leaf, except for the forbidden bits.) */
  #summaryFits(rec: number, q: Query): boolean {
    const tree = this.#tree, b = q.batch, dims = this.#dims, words = this.#words;
    if (tree[rec + dims + 1]! < q.balance) return false;
    for (let i = 0; i < q.nd; i++) if (tree[rec + q.dim[i]!]! < q.need[i]!) return false;
    const lab = rec + dims + 2;
    if (q.hasAll) {
      for (let w = 0; w < words; w++) {
        const all = b[q.all + w]!;
        if ((tree[lab + w]! & all) !== all) return false;
      }
    }
    for (let c = 0; c < q.anyc; c++) {
      const m = q.any + c * words;
      let hit = 0;
      for (let w = 0; w < words; w++) hit |= tree[lab + w]! & b[m + w]!;
      if (!hit) return false;
    }
    return true;
  }

  #leafAllowed(rec: number, q: Query): boolean {
    if (!q.hasNone) return true;
    const lab = rec + this.#dims + 2;
    for (let w = 0; w < this.#words; w++) if (this.#tree[lab + w]! & q.batch[q.none + w]!) return false;
    return true;
  }

  /** binpack: the lowest-indexed node that fits, by a left-first descent with backtracking from leaf `from`. */
  #findFirst(q: Query, from: number): number {
    const leaves = this.#leaves, stride = this.#stride;
    let t = from ? leaves + from : 1;
    for (;;) {
      const rec = t * stride;
      if (this.#summaryFits(rec, q)) {
        if (t < leaves) {
          t <<= 1;
          continue;
        }
        if (this.#leafAllowed(rec, q)) return t - leaves;
      }
      while (t & 1) t >>= 1; // climb while a right child
      if (t === 0) return -1;
      t += 1; // the right sibling
    }
  }

  /** spread: the highest score that fits, lowest index on ties; branch and bound on the score. */
  #findSpread(q: Query, t: number, lo: number, span: number): void {
    const tree = this.#tree, stride = this.#stride, dims = this.#dims, b = this.#best;
    const rec = t * stride;
    const score = tree[rec + dims]!;
    if (score < 0 || score < b.score) return;
    if (score === b.score && b.index >= 0 && lo > b.index) return;
    if (!this.#summaryFits(rec, q)) return;
    if (span === 1) {
      if (this.#leafAllowed(rec, q) && (score > b.score || lo < b.index)) {
        b.score = score;
        b.index = lo;
      }
      return;
    }
    const half = span >> 1;
    const left = tree[2 * t * stride + dims]!;
    const right = tree[(2 * t + 1) * stride + dims]!;
    if (right > left) {
      this.#findSpread(q, 2 * t + 1, lo + half, half);
      this.#findSpread(q, 2 * t, lo, half);
    } else {
      this.#findSpread(q, 2 * t, lo, half);
      this.#findSpread(q, 2 * t + 1, lo + half, half);
    }
  }

  #labelsMatch(i: number, q: Query): boolean {
    const lab = this.#labels, b = q.batch, n = this.#n, words = this.#words;
    for (let w = 0; w < words; w++) {
      const v = lab[w * n + i]!;
      const all = b[q.all + w]!;
      if ((v & all) !== all || v & b[q.none + w]!) return false;
    }
    for (let c = 0; c < q.anyc; c++) {
      let hit = 0;
      for (let w = 0; w < words; w++) hit |= lab[w * n + i]! & b[q.any + c * words + w]!;
      if (!hit) return false;
    }
    return true;
  }

  /** Why not: every present node counted once, under the first check of the pipeline it fails. */
  #countReasons(q: Query, out: Int32Array, at: number): boolean {
    const n = this.#n, fr = this.#free, b = q.batch;
    for (let i = 0; i < n; i++) {
      if (!this.#present[i]) continue;
      let reason: number;
      if (this.#state[i] !== 0) reason = 0;
      else if (!this.#labelsMatch(i, q)) reason = 1;
      else if (this.#hidden[i]) reason = 2;
      else {
        reason = -1;
        for (let d = 0; d < this.#dims; d++) {
          if (fr[d * n + i]! < b[q.req + d]!) {
            reason = d < FIXED_DIMS ? REASON_CPU + d : REASON_EXTENDED;
            break;
          }
        }
        if (reason < 0) return false; // the search missed a node that fits: a bug
      }
      out[at + reason]!++;
    }
    return true;
  }

  #take(i: number, req: Int32Array, at: number, sign: number): void {
    const fr = this.#free, n = this.#n;
    for (let d = 0; d < this.#dims; d++) fr[d * n + i] = fr[d * n + i]! - sign * req[at + d]!;
  }

  apply(ops: Int32Array): void {
    coded('apply', () => this.#apply(ops));
  }

  #apply(ops: Int32Array): void {
    const dims = this.#dims, words = this.#words, n = this.#n;
    const stride = 4 + 2 * dims + words;
    if (ops.length % stride !== 0) fail(E_BUFFER, 0);
    const count = ops.length / stride;
    const present = this.#present, state = this.#state, mark = this.#mark, cap = this.#cap, fr = this.#free, lab = this.#labels;
    let status = 0;
    let k = 0;
    // Pass 1: validate everything, so a bad batch changes nothing.
    for (; k < count; k++) {
      const r = k * stride;
      const op = ops[r]!;
      const id = ops[r + 1]! >>> 0;
      const mask = op === OP_ADD ? SET_ALL : ops[r + 2]! >>> 0;
      if (op < OP_ADD || op > OP_REMOVE || (mask & ~SET_ALL) !== 0) { status = E_BUFFER; break; }
      if (id >= n) { status = op === OP_ADD ? E_TABLE_FULL : E_UNKNOWN_NODE; break; }
      if (mark[id]) { status = E_DUPLICATE_NODE; break; }
      if (op === OP_ADD && present[id]) { status = E_DUPLICATE_NODE; break; }
      if (op !== OP_ADD && !present[id]) { status = E_UNKNOWN_NODE; break; }
      mark[id] = 1;
      if (op === OP_REMOVE) continue;
      if (mask & SET_STATE && (ops[r + 3]! < 0 || ops[r + 3]! >= STATE_COUNT)) { status = E_STATE; break; }
      for (let d = 0; d < dims && status === 0; d++) {
        const c = mask & SET_CAPACITY ? ops[r + 4 + d]! : cap[d * n + id]!;
        const f = mask & SET_FREE ? ops[r + 4 + dims + d]! : fr[d * n + id]!;
        if (c < 0 || f < 0 || f > c) status = E_QUANTITY;
      }
      if (status !== 0) break;
    }
    // Clear the marks (the failing record may have set one too; ids past capacity never did).
    const last = status === 0 ? count : k + 1;
    for (let j = 0; j < last; j++) {
      const id = ops[j * stride + 1]! >>> 0;
      if (id < n) mark[id] = 0;
    }
    if (status !== 0) fail(status, k);
    // Pass 2: apply.
    for (k = 0; k < count; k++) {
      const r = k * stride;
      const op = ops[r]!;
      const id = ops[r + 1]! >>> 0;
      const mask = op === OP_ADD ? SET_ALL : ops[r + 2]!;
      if (op === OP_REMOVE) {
        present[id] = 0;
        state[id] = 0;
        for (let d = 0; d < dims; d++) cap[d * n + id] = fr[d * n + id] = 0;
        for (let w = 0; w < words; w++) lab[w * n + id] = 0;
        this.#count--;
      } else {
        if (op === OP_ADD) {
          present[id] = 1;
          this.#count++;
        }
        if (mask & SET_STATE) state[id] = ops[r + 3]!;
        for (let d = 0; d < dims; d++) {
          if (mask & SET_CAPACITY) cap[d * n + id] = ops[r + 4 + d]!;
          if (mask & SET_FREE) fr[d * n + id] = ops[r + 4 + dims + d]!;
        }
        if (mask & SET_LABELS) for (let w = 0; w < words; w++) lab[w * n + id] = ops[r + 4 + 2 * dims + w]!;
      }
      this.#refresh(id);
    }
  }

  release(records: Int32Array): void {
    coded('release', () => this.#release(records));
  }

  #release(records: Int32Array): void {
    const dims = this.#dims, n = this.#n, stride = 1 + dims;
    if (records.length % stride !== 0) fail(E_BUFFER, 0);
    const count = records.length / stride;
    for (let k = 0; k < count; k++) {
      const r = k * stride;
      const id = records[r]! >>> 0;
      if (id >= n || !this.#present[id]) fail(E_UNKNOWN_NODE, k);
      for (let d = 0; d < dims; d++) if (records[r + 1 + d]! < 0) fail(E_QUANTITY, k);
    }
    // Give back in order; a record that would pass capacity undoes all before it (ids may repeat).
    const fr = this.#free, cap = this.#cap;
    for (let k = 0; k < count; k++) {
      const r = k * stride;
      const id = records[r]! >>> 0;
      let over = false;
      for (let d = 0; d < dims; d++) if (fr[d * n + id]! + records[r + 1 + d]! > cap[d * n + id]!) over = true;
      if (over) {
        for (let j = k; j-- > 0; ) this.#take(records[j * stride]! >>> 0, records, j * stride + 1, 1);
        fail(E_OVER_RELEASE, k);
      }
      this.#take(id, records, r + 1, -1);
    }
    for (let k = 0; k < count; k++) this.#refresh(records[k * stride]! >>> 0);
  }

  /** Walks the batch, checking every length and limit; returns [jobs, tasks]. */
  #scan(batch: Int32Array): [number, number] {
    const dims = this.#dims, words = this.#words, len = batch.length;
    if (len < 1) fail(E_BUFFER, 0);
    if (batch[0]! < 0 || batch[0]! > MAX_BATCH_JOBS) fail(E_LIMIT, 0);
    const jobs = batch[0]!;
    let at = 1;
    let tasks = 0;
    for (let j = 0; j < jobs; j++) {
      if (len - at < 3) fail(E_BUFFER, j);
      const flags = batch[at]!, groups = batch[at + 1]!, anyc = batch[at + 2]!;
      if (flags & ~JOB_FLAGS) fail(E_BUFFER, j);
      if (groups < 1 || groups > MAX_GROUPS || anyc < 0 || anyc > MAX_SELECTORS) fail(E_LIMIT, j);
      at += 3;
      const head = (2 + anyc) * words;
      if (len - at < head) fail(E_BUFFER, j);
      at += head;
      let jobTasks = 0;
      for (let g = 0; g < groups; g++) {
        if (len - at < 1 + dims) fail(E_BUFFER, j);
        const count = batch[at]!;
        if (count < 1 || count > MAX_TASKS_PER_JOB) fail(E_LIMIT, j);
        for (let d = 0; d < dims; d++) if (batch[at + 1 + d]! < 0) fail(E_QUANTITY, j);
        jobTasks += count;
        at += 1 + dims;
      }
      if (jobTasks > MAX_TASKS_PER_JOB) fail(E_LIMIT, j);
      tasks += jobTasks;
      if (tasks > MAX_BATCH_TASKS) fail(E_LIMIT, j);
    }
    if (at !== len) fail(E_BUFFER, jobs);
    return [jobs, tasks];
  }

  place(batch: Int32Array, out: Int32Array): void {
    coded('place', () => this.#place(batch, out));
  }

  #place(batch: Int32Array, out: Int32Array): void {
    const [jobs, tasks] = this.#scan(batch);
    if (out.length < jobs * JOB_OUT + tasks) fail(E_OUTPUT, 0);
    const dims = this.#dims, words = this.#words, hidden = this.#hidden, q = this.#q;
    q.batch = batch;
    let nodeOut = jobs * JOB_OUT;
    let at = 1;
    // First-fit cursor (placement.c explains it): offsets into the batch of the last binpack request and
    // its label clauses, −1 for none.
    let cursorReq = -1;
    let cursorLabels = 0;
    let cursorLabelLen = 0;
    let cursor = 0;
    for (let j = 0; j < jobs; j++) {
      const flags = batch[at]!, groups = batch[at + 1]!;
      q.anyc = batch[at + 2]!;
      q.all = at + 3;
      q.none = q.all + words;
      q.any = q.none + words;
      const group0 = at + 3 + (2 + q.anyc) * words;
      const gang = (flags & JOB_GANG) !== 0, distinct = (flags & JOB_DISTINCT) !== 0, spread = (flags & JOB_SPREAD) !== 0;
      const jobOut = j * JOB_OUT;
      out.fill(0, jobOut, jobOut + JOB_OUT);
      out[jobOut + 1] = -1;
      let failed = false;
      let placed = 0;
      let k = 0;
      let gAt = group0;
      for (let g = 0; g < groups; g++, gAt += 1 + dims) {
        const count = batch[gAt]!;
        q.req = gAt + 1;
        this.#prepare(q);
        const labelLen = 1 + (2 + q.anyc) * words; // anyCount, all, none, any
        const labels = at + 2;
        let same = false;
        if (!spread && cursorReq >= 0) {
          same = cursorLabelLen === labelLen;
          for (let d = 0; same && d < dims; d++) same = batch[cursorReq + d] === batch[q.req + d];
          for (let w = 0; same && w < labelLen; w++) same = batch[cursorLabels + w] === batch[labels + w];
        }
        if (!same) cursor = 0;
        let groupFailed = false;
        for (let c = 0; c < count; c++, k++) {
          // A task like one that just failed fails too: the table only lost capacity since.
          if (groupFailed || (gang && failed)) {
            out[nodeOut + k] = -1;
            continue;
          }
          let node: number;
          if (spread) {
            this.#best.score = -1;
            this.#best.index = -1;
            this.#findSpread(q, 1, 0, this.#leaves);
            node = this.#best.index;
          } else {
            node = this.#findFirst(q, cursor);
            cursorReq = node < 0 ? -1 : q.req;
            cursorLabels = labels;
            cursorLabelLen = labelLen;
            cursor = node < 0 ? 0 : node;
          }
          if (node < 0) {
            if (!failed) {
              out[jobOut + 1] = g;
              if (!this.#countReasons(q, out, jobOut + 2)) fail(E_INTERNAL, j);
            }
            failed = groupFailed = true;
            out[nodeOut + k] = -1;
            continue;
          }
          this.#take(node, batch, q.req, 1);
          if (distinct) hidden[node] = 1;
          this.#refresh(node);
          out[nodeOut + k] = node;
          placed++;
        }
      }
      const rollback = gang && failed && placed > 0;
      if (rollback || (distinct && placed > 0)) {
        k = 0;
        gAt = group0;
        for (let g = 0; g < groups; g++, gAt += 1 + dims) {
          for (let c = 0; c < batch[gAt]!; c++, k++) {
            const node = out[nodeOut + k]!;
            if (node < 0) continue;
            hidden[node] = 0;
            if (rollback) {
              this.#take(node, batch, gAt + 1, -1);
              out[nodeOut + k] = -1;
            }
            this.#refresh(node);
          }
        }
        if (rollback) placed = 0;
        cursorReq = -1; // capacity came back or nodes became visible: the cursor no longer holds
        cursor = 0;
      }
      out[jobOut] = !failed ? 0 : placed ? 1 : 2;
      nodeOut += k;
      at = gAt;
    }
  }

  readNode(id: number, out: Int32Array): void {
    const dims = this.#dims, words = this.#words, n = this.#n;
    if (out.length < 2 + 2 * dims + words) throw new KernelStatus(E_OUTPUT, 0).error('read');
    if (id >>> 0 >= n) throw new KernelStatus(E_UNKNOWN_NODE, 0).error('read');
    out[0] = this.#present[id]!;
    out[1] = this.#state[id]!;
    for (let d = 0; d < dims; d++) {
      out[2 + d] = this.#cap[d * n + id]!;
      out[2 + dims + d] = this.#free[d * n + id]!;
    }
    for (let w = 0; w < words; w++) out[2 + 2 * dims + w] = this.#labels[w * n + id]!;
  }

  nodeCount(): number {
    return this.#count;
  }

  dispose(): void {
    // Plain typed arrays: they go with the last reference to this port.
  }
}

export const tsKernelBackend: PlacementBackend = {
  name: 'ts-kernel',
  createTable: (options: TableOptions) => new KernelTable('ts-kernel', options, (c, d, w) => new TsKernelPort(c, d, w)),
};
