// Bad input: the same coded RangeError/TypeError from every backend, from the TS layer and from the
// kernel itself (the addon and the wasm module called directly with raw buffers); nothing changes.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { ErrorCodes } from '../../src/errors/index.js';
import { placementLimits } from '../../src/placement/index.js';
import type { NodeChange, NodeTable, PlacementRequest } from '../../src/placement/index.js';
import { loadAddon } from '../../src/placement/native-backend.js';
import { backendsUnderTest, requireAll } from './backends.js';
import { makeJob, makeNode, res } from './fixtures.js';

const root = new URL('../../', import.meta.url);
const header = readFileSync(new URL('native/src/placement.h', root), 'utf8');
const kernel = readFileSync(new URL('native/src/placement.c', root), 'utf8');

interface Asserts {
  ok(v: unknown, m: string): void;
  equal(a: unknown, b: unknown, m: string): void;
  fail(m: string): void;
}

function expectCode(t: Asserts, fn: () => unknown, kind: typeof RangeError | typeof TypeError, code: string, what: string): void {
  try {
    fn();
    t.fail(`${what}: did not throw`);
  } catch (err) {
    t.ok(err instanceof kind, `${what}: ${kind.name}`);
    t.equal((err as { code?: string }).code, code, `${what}: ${code}`);
  }
}

t.test('kernel constants match the TypeScript limits', async (t) => {
  const define = (name: string): number => {
    const m = new RegExp(`#define ${name} \\(?([^)\\n/]+)\\)?`).exec(header);
    if (!m) throw new Error(`no ${name} in placement.h`);
    return Number(Function(`return (${m[1]!.replace(/(\d)u\b/g, '$1')})`)());
  };
  t.equal(define('MP_MAX_EXTENDED'), placementLimits.MAX_EXTENDED_SLOTS);
  t.equal(define('MP_MAX_LABEL_WORDS') * 32, placementLimits.MAX_LABEL_BITS);
  t.equal(define('MP_MAX_NODES'), placementLimits.MAX_TABLE_NODES);
  t.equal(define('MP_MAX_QUANTITY'), placementLimits.MAX_QUANTITY);
  t.equal(define('MP_MAX_BATCH_JOBS'), placementLimits.MAX_BATCH_JOBS);
  t.equal(define('MP_MAX_BATCH_TASKS'), placementLimits.MAX_BATCH_TASKS);
  t.equal(define('MP_MAX_GROUPS'), placementLimits.MAX_GROUPS);
  t.equal(define('MP_MAX_TASKS_PER_JOB'), placementLimits.MAX_TASKS_PER_JOB);
  t.equal(define('MP_MAX_ANY_CLAUSES'), placementLimits.MAX_SELECTORS);
  t.equal(define('MP_REASONS') + 2, placementLimits.JOB_OUT);
});

t.test('every code the kernel can return is in the error catalog', async (t) => {
  const codes = [...kernel.matchAll(/"(MUSTER_ERR_[A-Z_]+)"/g)].map((m) => m[1]!).filter((c) => c !== 'MUSTER_ERR_PLACEMENT_OK');
  t.ok(codes.length >= 10);
  for (const code of new Set(codes)) t.ok(Object.hasOwn(ErrorCodes, code), code);
});

const nodes = (): NodeChange[] => [makeNode(0).build(), makeNode(1).build()];
const job = (): PlacementRequest => makeJob().task(1, { cpu: 100 }).build();

interface BadCase {
  name: string;
  kind: typeof RangeError | typeof TypeError;
  code: string;
  run: (table: NodeTable) => unknown;
}

const cases: BadCase[] = [
  { name: 'negative quantity', kind: RangeError, code: 'MUSTER_ERR_PLACEMENT_INVALID_QUANTITY', run: (tb) => tb.apply([makeNode(2).cpu(-1).build()]) },
  { name: 'NaN quantity', kind: RangeError, code: 'MUSTER_ERR_PLACEMENT_INVALID_QUANTITY', run: (tb) => tb.apply([makeNode(2).memory(Number.NaN).build()]) },
  { name: 'overflowing quantity', kind: RangeError, code: 'MUSTER_ERR_PLACEMENT_INVALID_QUANTITY', run: (tb) => tb.place([makeJob().task(1, { cpu: 2 ** 31 }).build()]) },
  { name: 'fractional quantity', kind: RangeError, code: 'MUSTER_ERR_PLACEMENT_INVALID_QUANTITY', run: (tb) => tb.release([{ node: 0, resources: res({ cpu: 0.5 }) }]) },
  { name: 'quantity of the wrong type', kind: TypeError, code: 'MUSTER_ERR_PLACEMENT_INVALID_QUANTITY', run: (tb) => tb.apply([{ kind: 'update', id: 0, free: { cpu: '1', memory: 0, gpu: 0, extended: {} } as never }]) },
  { name: 'free above capacity', kind: RangeError, code: 'MUSTER_ERR_PLACEMENT_INVALID_QUANTITY', run: (tb) => tb.apply([{ kind: 'update', id: 0, free: res({ cpu: 5000 }) }]) },
  { name: 'unknown node (update)', kind: RangeError, code: 'MUSTER_ERR_PLACEMENT_UNKNOWN_NODE', run: (tb) => tb.apply([{ kind: 'update', id: 3, state: 'down' }]) },
  { name: 'unknown node (release)', kind: RangeError, code: 'MUSTER_ERR_PLACEMENT_UNKNOWN_NODE', run: (tb) => tb.release([{ node: 5, resources: res({ cpu: 1 }) }]) },
  { name: 'negative node id', kind: RangeError, code: 'MUSTER_ERR_PLACEMENT_UNKNOWN_NODE', run: (tb) => tb.apply([{ kind: 'remove', id: -1 }]) },
  { name: 'node added twice', kind: RangeError, code: 'MUSTER_ERR_PLACEMENT_DUPLICATE_NODE', run: (tb) => tb.apply([makeNode(1).build()]) },
  { name: 'node named twice in a batch', kind: RangeError, code: 'MUSTER_ERR_PLACEMENT_DUPLICATE_NODE', run: (tb) => tb.apply([makeNode(2).build(), { kind: 'remove', id: 2 }]) },
  { name: 'table past its capacity', kind: RangeError, code: 'MUSTER_ERR_PLACEMENT_TABLE_FULL', run: (tb) => tb.apply([makeNode(4).build()]) },
  { name: 'unknown state', kind: RangeError, code: 'MUSTER_ERR_PLACEMENT_INVALID_STATE', run: (tb) => tb.apply([{ kind: 'update', id: 0, state: 'gone' as never }]) },
  { name: 'release past capacity', kind: RangeError, code: 'MUSTER_ERR_PLACEMENT_OVER_RELEASE', run: (tb) => tb.release([{ node: 0, resources: res({ cpu: 1 }) }]) },
  { name: 'too many tasks in a job', kind: RangeError, code: 'MUSTER_ERR_PLACEMENT_LIMIT', run: (tb) => tb.place([makeJob().task(4000, {}).task(97, {}).build()]) },
  { name: 'too many groups', kind: RangeError, code: 'MUSTER_ERR_PLACEMENT_LIMIT', run: (tb) => tb.place([{ tasks: Array.from({ length: 17 }, () => ({ count: 1, resources: res() })) }]) },
  { name: 'too many jobs in a batch', kind: RangeError, code: 'MUSTER_ERR_PLACEMENT_LIMIT', run: (tb) => tb.place(Array.from({ length: 65_537 }, job)) },
  { name: 'no tasks', kind: RangeError, code: 'MUSTER_ERR_PLACEMENT_LIMIT', run: (tb) => tb.place([{ tasks: [] }]) },
  { name: 'a batch that is not an array', kind: TypeError, code: 'MUSTER_ERR_PLACEMENT_INVALID_BUFFER', run: (tb) => tb.place({} as never) },
  { name: 'label bits exhausted', kind: RangeError, code: 'MUSTER_ERR_PLACEMENT_LABELS_FULL', run: (tb) => tb.apply([{ kind: 'update', id: 0, labels: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) }]) },
  { name: 'extended slots exhausted', kind: RangeError, code: 'MUSTER_ERR_PLACEMENT_DIMENSIONS_FULL', run: (tb) => tb.place([makeJob().task(1, { extended: { a: 1, b: 1, c: 1 } }).build()]) },
];

for (const under of backendsUnderTest()) {
  const skip = !under.backend && !requireAll() ? (under.skip ?? 'unavailable') : false;
  t.test(`bad input is rejected with codes and changes nothing: ${under.name}`, { skip }, async (t) => {
    if (!under.backend) {
      t.fail(under.skip ?? 'backend missing');
      return;
    }
    for (const c of cases) {
      const table = under.backend.createTable({ capacity: 4, labelBits: 32, extendedSlots: 2 });
      table.apply(nodes());
      const before = [0, 1, 2, 3].map((id) => JSON.stringify(table.node(id) ?? null));
      expectCode(t, () => c.run(table), c.kind, c.code, c.name);
      const after = [0, 1, 2, 3].map((id) => JSON.stringify(table.node(id) ?? null));
      t.same(after, before, `${c.name}: the table is unchanged`);
      t.same(table.place([job()]).job(0).nodes, [0], `${c.name}: the table still places`);
      table.dispose();
    }
    expectCode(t, () => under.backend!.createTable({ capacity: 0 }), RangeError, 'MUSTER_ERR_PLACEMENT_LIMIT', 'empty table');
    expectCode(t, () => under.backend!.createTable({ capacity: 2 ** 20 + 1 }), RangeError, 'MUSTER_ERR_PLACEMENT_LIMIT', 'table too big');
    expectCode(t, () => under.backend!.createTable({ capacity: 4, labelBits: 33 }), RangeError, 'MUSTER_ERR_PLACEMENT_LIMIT', 'label bits not whole words');
  });
}

t.test('the native addon checks its own arguments (no TS layer in front)', async (t) => {
  const { addon, error } = loadAddon();
  if (!addon) {
    if (requireAll()) t.fail(`native addon required: ${error}`);
    else t.comment(`skipped: native addon unavailable: ${error}`);
    return;
  }
  const table = addon.create(4, 3, 1);
  const stride = 4 + 2 * 3 + 1;
  const op = (values: number[]): Int32Array => Int32Array.from([...values, ...new Array(stride - values.length).fill(0)]);
  expectCode(t, () => addon.apply(table, new Float64Array(stride) as never), TypeError, 'MUSTER_ERR_PLACEMENT_INVALID_BUFFER', 'Float64Array');
  expectCode(t, () => addon.apply({} as never, op([1, 0])), TypeError, 'MUSTER_ERR_PLACEMENT_INVALID_BUFFER', 'not a table handle');
  expectCode(t, () => addon.apply(table, new Int32Array(stride - 1)), TypeError, 'MUSTER_ERR_PLACEMENT_INVALID_BUFFER', 'truncated ops');
  expectCode(t, () => addon.apply(table, op([1, 0, 0, 0, -5])), RangeError, 'MUSTER_ERR_PLACEMENT_INVALID_QUANTITY', 'negative capacity');
  expectCode(t, () => addon.apply(table, op([1, 9])), RangeError, 'MUSTER_ERR_PLACEMENT_TABLE_FULL', 'id past capacity');
  expectCode(t, () => addon.apply(table, op([2, 1])), RangeError, 'MUSTER_ERR_PLACEMENT_UNKNOWN_NODE', 'update of an absent node');
  expectCode(t, () => addon.apply(table, op([1, 0, 0, 7])), RangeError, 'MUSTER_ERR_PLACEMENT_INVALID_STATE', 'state 7');
  expectCode(t, () => addon.create(0, 3, 1), RangeError, 'MUSTER_ERR_PLACEMENT_LIMIT', 'capacity 0');
  expectCode(t, () => addon.create(Number.NaN, 3, 1), RangeError, 'MUSTER_ERR_PLACEMENT_LIMIT', 'capacity NaN');
  expectCode(t, () => addon.create('4' as never, 3, 1), TypeError, 'MUSTER_ERR_PLACEMENT_INVALID_BUFFER', 'capacity a string');
  expectCode(t, () => addon.place(table, Int32Array.from([1, 0, 1, 0, 0, 0, 1, -1, 0, 0]), new Int32Array(32)), RangeError, 'MUSTER_ERR_PLACEMENT_INVALID_QUANTITY', 'negative request');
  expectCode(t, () => addon.place(table, Int32Array.from([70000]), new Int32Array(32)), RangeError, 'MUSTER_ERR_PLACEMENT_LIMIT', 'too many jobs');
  expectCode(t, () => addon.place(table, Int32Array.from([1, 0, 1, 0, 0, 0, 1, 1, 0, 0]), new Int32Array(4)), TypeError, 'MUSTER_ERR_PLACEMENT_INVALID_BUFFER', 'output too small');
  expectCode(t, () => addon.place(table, Int32Array.from([1, 8, 1, 0, 0, 0, 1, 1, 0, 0]), new Int32Array(32)), TypeError, 'MUSTER_ERR_PLACEMENT_INVALID_BUFFER', 'unknown flags');
});
