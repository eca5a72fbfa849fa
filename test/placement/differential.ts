/**
 * The differential driver: one random cluster, several rounds of (place a batch, release some of what
 * was placed, change nodes, sometimes send bad input) applied in lockstep to every backend. The ts
 * reference is the oracle: every other backend must produce the same result array, the same error
 * codes and the same node table.
 */
import { codeOf } from '../../src/errors/index.js';
import type { Resources } from '../../src/model/index.js';
import type { NodeChange, NodeTable, NodeView, PlacementBackend, PlacementRequest, ReleaseItem } from '../../src/placement/index.js';
import { int, prng, randomChanges, randomCluster, randomRequest } from './workloads.js';
import type { Rand } from './workloads.js';

export interface CaseShape {
  readonly minNodes: number;
  readonly maxNodes: number;
  readonly rounds: number;
  readonly maxJobs: number;
}

export interface CaseStats {
  placed: number;
  failedJobs: number;
  errors: number;
}

/** A node view as one comparable string (extended amounts of 0 left out). */
export function normal(view: NodeView | undefined): string {
  if (!view) return 'absent';
  const r = (x: Resources): string => `${x.cpu}/${x.memory}/${x.gpu}/${Object.entries(x.extended).filter(([, v]) => v !== 0).sort().map(([k, v]) => `${k}=${v}`).join(',')}`;
  const labels = Object.entries(view.labels).sort().map(([k, v]) => `${k}=${v}`).join(',');
  return `${view.state} cap ${r(view.capacity)} free ${r(view.free)} labels ${labels}`;
}

/** Runs `action` on every table; throws if they disagree on whether and with which code it failed. */
export function lockstep(tables: readonly NodeTable[], what: string, action: (t: NodeTable) => void): boolean {
  const codes = tables.map((table) => {
    try {
      action(table);
      return 'ok';
    } catch (err) {
      return codeOf(err) ?? `uncoded: ${(err as Error).message}`;
    }
  });
  if (new Set(codes).size !== 1) throw new Error(`${what}: backends disagree: ${tables.map((t, i) => `${t.backend}=${codes[i]}`).join(' ')}`);
  if (codes[0]?.startsWith('uncoded')) throw new Error(`${what}: ${codes[0]}`);
  return codes[0] === 'ok';
}

/** A change batch that some check must reject. */
function badChanges(rand: Rand, present: Set<number>, capacity: number): NodeChange[] {
  const some = [...present][int(rand, 0, Math.max(0, present.size - 1))];
  const cap = { cpu: 1000, memory: 1000, gpu: 0, extended: {} };
  switch (int(rand, 0, 5)) {
    case 0:
      return some === undefined ? [] : [{ kind: 'add', node: { id: some, capacity: cap } }];
    case 1:
      return [{ kind: 'update', id: capacity + int(rand, 0, 3), state: 'ready' }];
    case 2:
      return some === undefined ? [] : [{ kind: 'update', id: some, free: { ...cap, cpu: 2_000_000_000 } }];
    case 3:
      return [{ kind: 'add', node: { id: capacity, capacity: cap } }];
    case 4:
      return some === undefined ? [] : [{ kind: 'update', id: some, state: 'ready' }, { kind: 'remove', id: some }];
    default:
      return [{ kind: 'add', node: { id: int(rand, 0, capacity - 1), capacity: { ...cap, memory: Number.NaN } } }];
  }
}

/** Runs one seeded case; throws with the seed and a description on the first disagreement. */
export function runCase(backends: readonly PlacementBackend[], seed: number, shape: CaseShape, stats: CaseStats): void {
  const rand = prng(seed);
  const n = int(rand, shape.minNodes, shape.maxNodes);
  const capacity = n + int(rand, 0, 8);
  const options = { capacity, extendedSlots: int(rand, 2, 4), labelBits: rand() < 0.5 ? 32 : 64 };
  const tables = backends.map((b) => b.createTable(options));
  const oracle = tables.findIndex((t) => t.backend === 'ts');
  const fail = (what: string): never => {
    throw new Error(`seed ${seed} (${n} nodes): ${what}`);
  };
  try {
    const present = new Set<number>();
    const cluster = randomCluster(rand, n);
    if (lockstep(tables, 'add cluster', (t) => t.apply(cluster))) for (let i = 0; i < n; i++) present.add(i);
    for (let round = 0; round < shape.rounds; round++) {
      const batch: PlacementRequest[] = Array.from({ length: int(rand, 1, shape.maxJobs) }, () => randomRequest(rand, n > 200));
      const results = tables.map((t) => t.place(batch));
      const want = results[oracle]!;
      results.forEach((r, i) => {
        if (!r.equals(want)) fail(`round ${round}: ${tables[i]!.backend} differs from ts at int32 ${r.firstDifference(want)}: ${JSON.stringify(r.jobs())} vs ${JSON.stringify(want.jobs())}`);
      });
      stats.placed += want.placedTasks();
      for (let j = 0; j < want.jobCount; j++) if (want.status(j) !== 'placed') stats.failedJobs++;
      // Release about half of what was placed.
      const release: ReleaseItem[] = [];
      batch.forEach((job, j) => {
        const nodes = want.nodes(j);
        let k = 0;
        for (const g of job.tasks) for (let c = 0; c < g.count; c++, k++) if ((nodes[k] ?? -1) >= 0 && rand() < 0.5) release.push({ node: nodes[k]!, resources: g.resources });
      });
      if (rand() < 0.1 && release.length) release.push(release[0]!, release[0]!, { node: release[0]!.node, resources: { cpu: 2_000_000_000, memory: 0, gpu: 0, extended: {} } });
      if (!lockstep(tables, `round ${round} release`, (t) => t.release(release))) stats.errors++;
      // Change some nodes, or send a bad batch.
      const changes = rand() < 0.15 ? badChanges(rand, present, capacity) : randomChanges(rand, present, capacity, int(rand, 0, Math.ceil(n / 4)));
      if (lockstep(tables, `round ${round} apply`, (t) => t.apply(changes))) {
        for (const c of changes) {
          if (c.kind === 'add') present.add(c.node.id);
          if (c.kind === 'remove') present.delete(c.id);
        }
      } else {
        stats.errors++;
      }
    }
    for (let id = 0; id < capacity; id++) {
      const views = tables.map((t) => normal(t.node(id)));
      if (new Set(views).size !== 1) fail(`node ${id} differs: ${tables.map((t, i) => `${t.backend}: ${views[i]}`).join(' | ')}`);
      const v = tables[oracle]!.node(id);
      if (v && (v.free.cpu < 0 || v.free.memory < 0 || v.free.gpu < 0)) fail(`node ${id} over-committed`);
    }
    const sizes = tables.map((t) => t.size);
    if (new Set(sizes).size !== 1 || sizes[0] !== present.size) fail(`sizes ${sizes.join(',')} vs ${present.size}`);
  } finally {
    for (const t of tables) t.dispose();
  }
}

/** A differential suite: `cases` seeds from `firstSeed`, each with the shape `shapeOf(seed)`. */
export interface Suite {
  readonly cases: number;
  readonly firstSeed: number;
  shapeOf(seed: number): CaseShape;
  /** Least tasks placed per case on average, so that agreement is not about empty results. */
  readonly minPlacedPerCase: number;
}

export interface SuiteTap {
  ok(value: unknown, message: string): void;
  comment(message: string): void;
  fail(message: string): void;
}

export function runSuite(t: SuiteTap, backends: readonly PlacementBackend[], suite: Suite): void {
  const stats: CaseStats = { placed: 0, failedJobs: 0, errors: 0 };
  t.ok(backends.some((b) => b.name === 'ts') && backends.length >= 2, `comparing ${backends.map((b) => b.name).join(', ')} against ts`);
  for (let seed = suite.firstSeed; seed < suite.firstSeed + suite.cases; seed++) runCase(backends, seed, suite.shapeOf(seed), stats);
  t.comment(`${suite.cases} clusters: ${stats.placed} tasks placed, ${stats.failedJobs} jobs not fully placed, ${stats.errors} rejected batches`);
  t.ok(stats.placed >= suite.cases * suite.minPlacedPerCase, `many tasks placed (${stats.placed})`);
  t.ok(stats.failedJobs > 0, `jobs not fully placed, with reasons compared (${stats.failedJobs})`);
  t.ok(stats.errors > 0, `bad batches rejected alike (${stats.errors})`);
}
