/**
 * Placement throughput: placements per second for each solver × site size (1k, 10k, 100k nodes) ×
 * workload (uniform, mixed, gang; test/placement/workloads.ts, shared with the tests). Solvers:
 *
 * - `native-…`, `wasm-…`: the C kernel as an addon and as wasm32;
 * - `ts-kernel-…`: the same algorithm in plain TypeScript (src/placement/ts-kernel.ts: the same table
 *   layout, index tree, searches and tie-breaks), the baseline of the kernel cases: their ratio is what C
 *   buys over JavaScript for one algorithm;
 * - `oracle-…`: the reference backend (`ts`, reference.ts), which scans every node for every task. A
 *   reference row only (no case names it as baseline): it shows what the index buys, on a prefix of the
 *   batch, because it is that slow.
 *
 * Each case starts from the same table state: after every sample the placed tasks are released (not
 * timed), which restores the table exactly. Only `table.place(compiledBatch)` is timed: one boundary
 * crossing per batch, with the result copied out. Before any number is recorded, the same batch is
 * placed on every solver from the same state and the result arrays must be identical: the oracle's prefix
 * on all of them, the full batch on the kernels and ts-kernel.
 */
import { performance } from 'node:perf_hooks';
import { defineBenchmark, RUNNER } from './lib/index.js';
import type { BenchContext } from './lib/index.js';
import { activeBackend, availableBackends, backend } from '../src/placement/index.js';
import type { NodeTable, PlacementRequest, PlacementResult, ReleaseItem, SolverName } from '../src/placement/index.js';
import { benchBatch, benchCluster, WORKLOADS } from '../test/placement/workloads.js';
import type { Workload } from '../test/placement/workloads.js';

const SIZES = [
  { label: '1k', nodes: 1_000 },
  { label: '10k', nodes: 10_000 },
  { label: '100k', nodes: 100_000 },
] as const;

/** Tasks per kernel batch: enough for a stable timing (~10 ms), few enough not to fill a 1k-node site. */
const kernelTasks = (nodes: number, quick: boolean): number => Math.min(quick ? 5_000 : 20_000, nodes * 4);
/** Tasks per oracle batch: the reference costs O(nodes) per task, so keep each sample near a second. */
const oracleTasks = (nodes: number, quick: boolean): number => Math.max(quick ? 50 : 100, Math.floor((quick ? 2e6 : 1e7) / nodes));

/** Warm-up samples of ts-kernel before it is timed: enough for V8 to optimise its hot loops. */
const JS_WARMUP = 8;

function releaseOf(batch: readonly PlacementRequest[], result: PlacementResult): ReleaseItem[] {
  const items: ReleaseItem[] = [];
  batch.forEach((job, j) => {
    const nodes = result.nodes(j);
    let k = 0;
    for (const g of job.tasks) for (let c = 0; c < g.count; c++, k++) if ((nodes[k] ?? -1) >= 0) items.push({ node: nodes[k]!, resources: g.resources });
  });
  return items;
}

/** Places `batch` `samples` times from the same state; returns placements per second of each sample. */
function measure(table: NodeTable, batch: readonly PlacementRequest[], warmup: number, samples: number): number[] {
  const compiled = table.compile(batch);
  const rates: number[] = [];
  for (let i = 0; i < warmup + samples; i++) {
    const start = performance.now();
    const result = table.place(compiled);
    const seconds = (performance.now() - start) / 1000;
    const placed = result.placedTasks();
    if (placed === 0) throw new Error(`${table.backend}: nothing placed; the benchmark would measure nothing`);
    table.release(releaseOf(batch, result));
    if (i >= warmup) rates.push(placed / seconds);
  }
  return rates;
}

function prefix(batch: readonly PlacementRequest[], tasks: number): PlacementRequest[] {
  const out: PlacementRequest[] = [];
  let total = 0;
  for (const job of batch) {
    if (total >= tasks) break;
    out.push(job);
    total += job.tasks.reduce((s, g) => s + g.count, 0);
  }
  return out;
}

async function run(ctx: BenchContext): Promise<void> {
  const names: SolverName[] = [...availableBackends(), 'ts-kernel'];
  ctx.env({ backend: activeBackend(), backends: names.join(',') });
  ctx.config({ sizes: SIZES.map((s) => s.nodes), workloads: WORKLOADS });
  if (!names.includes('native')) ctx.log('native backend unavailable (addon not built): its cases are left out');
  const sizes = ctx.quick ? SIZES.slice(0, 2) : SIZES;
  for (const size of sizes) {
    for (const workload of WORKLOADS as readonly Workload[]) {
      const cluster = benchCluster(workload, size.nodes);
      const batch = benchBatch(workload, kernelTasks(size.nodes, ctx.quick));
      const small = prefix(batch, oracleTasks(size.nodes, ctx.quick));
      const tables = new Map<SolverName, NodeTable>();
      for (const name of names) {
        // Sized for the site, as a site actor would: one extended slot (fpga) for mixed, 32 label bits.
        const table = backend(name)!.createTable({ capacity: size.nodes, labelBits: 32, extendedSlots: workload === 'mixed' ? 1 : 0 });
        table.apply(cluster);
        tables.set(name, table);
      }
      // Identical decisions first: the oracle-sized prefix on every solver, then the full batch on the others.
      const check = (subset: SolverName[], b: readonly PlacementRequest[]): void => {
        const results = subset.map((name) => tables.get(name)!.place(b));
        const first = results[0]!;
        results.forEach((r, i) => {
          if (!r.equals(first)) throw new Error(`${size.label}-${workload}: ${subset[i]} differs from ${subset[0]} at int32 ${r.firstDifference(first)}`);
        });
        if (first.placedTasks() === 0) throw new Error(`${size.label}-${workload}: nothing placed`);
        subset.forEach((name, i) => tables.get(name)!.release(releaseOf(b, results[i]!)));
      };
      check(names, small);
      const kernels = names.filter((n) => n !== 'ts');
      if (kernels.length > 1) check(kernels, batch);
      ctx.log(`${size.label}-${workload}: decisions identical on ${names.join(', ')} (${small.length} jobs; ${kernels.join(", ")} also ${batch.length} jobs)`);

      if (tables.has('ts')) {
        const samples = ctx.quick ? 1 : size.nodes >= 100_000 ? 2 : 3;
        ctx.record({ id: `oracle-${size.label}-${workload}`, unit: 'placements/s', samples: measure(tables.get('ts')!, small, 1, samples) });
      }
      // ts-kernel first, so each kernel case can name it as its baseline, measured in this run.
      const baseline = `ts-kernel-${size.label}-${workload}`;
      for (const name of ['ts-kernel', ...kernels.filter((n) => n !== 'ts-kernel')] as const) {
        // JavaScript is compiled by tiers while it runs: ts-kernel warms up longer, so its baseline is its
        // optimised code, not the interpreter (a sample is milliseconds).
        const warmup = name === 'ts-kernel' ? JS_WARMUP : ctx.quick ? 1 : 3;
        const samples = measure(tables.get(name)!, batch, warmup, ctx.quick ? 3 : 9);
        const id = `${name}-${size.label}-${workload}`;
        ctx.record({ id, unit: 'placements/s', samples, ...(id !== baseline ? { baseline } : {}) });
      }
      for (const t of tables.values()) t.dispose();
    }
  }
}

export default defineBenchmark({ name: 'placement', measures: ['src/placement', 'src/model', 'src/errors', 'src/log', 'native', 'wasm', 'bench/placement*', 'test/placement/workloads.ts', ...RUNNER], run });
