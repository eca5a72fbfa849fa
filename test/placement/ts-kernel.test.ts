// ts-kernel (the kernel's algorithm in TypeScript, the benchmarks' baseline) against the kernel itself:
// identical result arrays, error codes and node tables on the benchmark's workloads and on random
// clusters drawn by fast-check (which shrinks a disagreement to a small case). The contract and the
// seeded differential suites also run it (backends.ts); this file is the kernel-to-kernel check.
import t from 'tap';
import fc from 'fast-check';
import type { Resources, Selector } from '../../src/model/index.js';
import { backend } from '../../src/placement/index.js';
import type { NodeChange, NodeInput, NodeTable, PlacementBackend, PlacementRequest, PlacementResult, ReleaseItem, TableOptions } from '../../src/placement/index.js';
import { backendsUnderTest, requireAll } from './backends.js';
import { lockstep, normal } from './differential.js';
import { benchBatch, benchCluster, WORKLOADS } from './workloads.js';

const tsKernel = backend('ts-kernel') as PlacementBackend;
const kernels = backendsUnderTest().filter((u) => u.name === 'native' || u.name === 'wasm');
const loadedKernels = kernels.flatMap((u) => (u.backend ? [u.backend] : []));

t.test('the kernel backends to compare with', async (t) => {
  for (const u of kernels) if (u.skip) (requireAll() ? t.fail : t.comment).call(t, u.skip);
  t.ok(loadedKernels.length >= 1, `comparing ts-kernel with ${loadedKernels.map((b) => b.name).join(', ')}`);
});

/** What a batch placed, to give back: every placed task, or every `every`-th one. */
function placedItems(batch: readonly PlacementRequest[], result: PlacementResult, every = 1): ReleaseItem[] {
  const items: ReleaseItem[] = [];
  let n = 0;
  batch.forEach((job, j) => {
    const nodes = result.nodes(j);
    let k = 0;
    for (const g of job.tasks) for (let c = 0; c < g.count; c++, k++) if ((nodes[k] ?? -1) >= 0 && n++ % every === 0) items.push({ node: nodes[k]!, resources: g.resources });
  });
  return items;
}

/** Places `batch` on every table; fails unless every result array equals the first (ts-kernel's). */
function placeAlike(tables: readonly NodeTable[], batch: readonly PlacementRequest[], what: string): PlacementResult {
  const results = tables.map((table) => table.place(batch));
  const want = results[0]!;
  results.forEach((r, i) => {
    if (!r.equals(want)) throw new Error(`${what}: ${tables[i]!.backend} differs from ${tables[0]!.backend} at int32 ${r.firstDifference(want)}`);
  });
  return want;
}

function sameNodes(tables: readonly NodeTable[], capacity: number, what: string): void {
  for (let id = 0; id < capacity; id++) {
    const views = tables.map((table) => normal(table.node(id)));
    if (new Set(views).size !== 1) throw new Error(`${what}: node ${id}: ${tables.map((tb, i) => `${tb.backend} ${views[i]}`).join(' | ')}`);
  }
}

t.test('the benchmark workloads: identical placements, round after round', async (t) => {
  for (const nodes of [1_000, 10_000]) {
    for (const workload of WORKLOADS) {
      const options: TableOptions = { capacity: nodes, labelBits: 32, extendedSlots: workload === 'mixed' ? 1 : 0 };
      const tables = [tsKernel, ...loadedKernels].map((b) => b.createTable(options));
      tables.forEach((table) => table.apply(benchCluster(workload, nodes)));
      let placed = 0;
      let unplaced = 0;
      // Three batches in a row without giving everything back: later batches meet a fragmented table.
      for (let round = 0; round < 3; round++) {
        const batch = benchBatch(workload, Math.min(20_000, nodes * 4), 2 + round);
        const result = placeAlike(tables, batch, `${nodes}-${workload} round ${round}`);
        placed += result.placedTasks();
        for (let j = 0; j < result.jobCount; j++) if (result.status(j) !== 'placed') unplaced++;
        const back = placedItems(batch, result, 2);
        tables.forEach((table) => table.release(back));
      }
      sameNodes(tables, nodes, `${nodes}-${workload}`);
      t.ok(placed > nodes, `${nodes}-${workload}: ${placed} tasks placed alike (${unplaced} jobs not fully placed, reasons compared)`);
      tables.forEach((table) => table.dispose());
    }
  }
});

// ---- random clusters (fast-check) ----

const ZONES = ['a', 'b', 'c'];
const amount = (values: readonly number[]): fc.Arbitrary<number> => fc.constantFrom(...values);
const resources = (cpu: readonly number[], memory: readonly number[], gpu: number, fpga: number): fc.Arbitrary<Resources> =>
  fc.record({ cpu: amount(cpu), memory: amount(memory), gpu: fc.integer({ min: 0, max: gpu }), fpga: fc.integer({ min: 0, max: fpga }) }).map((r) => ({ cpu: r.cpu, memory: r.memory, gpu: r.gpu, extended: r.fpga ? { fpga: r.fpga } : {} }));

const nodeArb = fc.record({
  capacity: resources([0, 1000, 2000, 4000, 8000], [0, 1024, 4096, 8192], 4, 2),
  used: fc.integer({ min: 0, max: 3 }),
  zone: fc.option(fc.constantFrom(...ZONES), { nil: undefined }),
  ssd: fc.boolean(),
  state: fc.constantFrom('ready', 'ready', 'ready', 'draining', 'down'),
});

const selectorArb: fc.Arbitrary<Selector> = fc.oneof(
  fc.record({ key: fc.constant('zone'), op: fc.constantFrom('=', '!=' as const), values: fc.constantFrom(...ZONES, 'z').map((v) => [v]) }),
  fc.record({ key: fc.constant('zone'), op: fc.constantFrom('in', 'notin' as const), values: fc.uniqueArray(fc.constantFrom(...ZONES, 'z'), { minLength: 1, maxLength: 2 }) }),
  fc.record({ key: fc.constantFrom('zone', 'ssd', 'rack'), op: fc.constant('exists' as const), values: fc.constant([]) }),
) as fc.Arbitrary<Selector>;

const requestArb: fc.Arbitrary<PlacementRequest> = fc.record({
  tasks: fc.array(fc.record({ count: fc.integer({ min: 1, max: 6 }), resources: resources([0, 250, 500, 1000, 3000], [0, 512, 1024, 4096], 1, 1) }), { minLength: 1, maxLength: 3 }),
  selectors: fc.array(selectorArb, { maxLength: 2 }),
  strategy: fc.constantFrom('binpack', 'spread' as const),
  distinctNodes: fc.boolean(),
  gang: fc.boolean(),
});

const caseArb = fc.record({
  nodes: fc.array(nodeArb, { minLength: 1, maxLength: 40 }),
  spare: fc.integer({ min: 0, max: 5 }),
  rounds: fc.array(
    fc.record({ batch: fc.array(requestArb, { minLength: 1, maxLength: 10 }), giveBack: fc.integer({ min: 1, max: 3 }), drain: fc.option(fc.nat(), { nil: undefined }) }),
    { minLength: 1, maxLength: 4 },
  ),
});

t.test('random clusters (fast-check): identical placements, releases and tables', async (t) => {
  let placed = 0;
  let unplaced = 0;
  fc.assert(
    fc.property(caseArb, (c) => {
      const capacity = c.nodes.length + c.spare;
      const tables = [tsKernel, ...loadedKernels].map((b) => b.createTable({ capacity, labelBits: 32, extendedSlots: 2 }));
      try {
        const cluster: NodeChange[] = c.nodes.map((n, id) => {
          const part = (v: number): number => Math.floor((v * (4 - n.used)) / 4);
          const node: NodeInput = {
            id,
            capacity: n.capacity,
            free: { cpu: part(n.capacity.cpu), memory: part(n.capacity.memory), gpu: part(n.capacity.gpu), extended: Object.fromEntries(Object.entries(n.capacity.extended).map(([k, v]) => [k, part(v)])) },
            labels: { ...(n.zone ? { zone: n.zone } : {}), ...(n.ssd ? { ssd: 'true' } : {}) },
            state: n.state,
          };
          return { kind: 'add', node };
        });
        lockstep(tables, 'add cluster', (table) => table.apply(cluster));
        c.rounds.forEach((round, r) => {
          const result = placeAlike(tables, round.batch, `round ${r}`);
          placed += result.placedTasks();
          for (let j = 0; j < result.jobCount; j++) if (result.status(j) !== 'placed') unplaced++;
          lockstep(tables, `round ${r} release`, (table) => table.release(placedItems(round.batch, result, round.giveBack)));
          // A node drained, or back to ready: the index must hide it, then show it again.
          if (round.drain !== undefined) {
            const id = round.drain % c.nodes.length;
            lockstep(tables, `round ${r} state`, (table) => table.apply([{ kind: 'update', id, state: r % 2 ? 'ready' : 'draining' }]));
          }
        });
        sameNodes(tables, capacity, 'after the rounds');
      } finally {
        tables.forEach((table) => table.dispose());
      }
    }),
    { numRuns: 400, seed: 16 },
  );
  t.ok(placed > 1000, `${placed} tasks placed alike`);
  t.ok(unplaced > 0, `${unplaced} jobs not fully placed, with their reasons compared`);
});
