/**
 * Clusters and batches for the placement contract tests and the benchmark (bench/placement.bench.ts):
 * seeded, so a failing case is reproduced from its seed alone.
 */
import type { Labels, NodeState, Resources, Selector, Strategy } from '../../src/model/index.js';
import type { NodeChange, NodeInput, PlacementRequest } from '../../src/placement/index.js';

import { seeded as prng } from '../../bench/workloads/random.js';

/** mulberry32: a small, fast, seeded PRNG (shared with the scheduler workload); floats in [0, 1). */
export { prng };

export type Rand = () => number;
export const int = (rand: Rand, lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
export const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
const chance = (rand: Rand, p: number): boolean => rand() < p;

const res = (cpu: number, memory: number, gpu = 0, extended: Record<string, number> = {}): Resources => ({ cpu, memory, gpu, extended });

export const ZONES = ['a', 'b', 'c', 'd'];
export const DISKS = ['ssd', 'hdd', 'nvme'];
export const GPU_MODELS = ['a100', 'h100', 't4'];
const STATES: readonly NodeState[] = ['draining', 'suspect', 'lost', 'down'];

/** A random node: mixed sizes, some gpus and extended resources, labels, mostly ready, sometimes part used. */
export function randomNode(rand: Rand, id: number): NodeInput {
  const cpu = pick(rand, [1000, 2000, 4000, 8000, 16000, 32000, 64000]) + (chance(rand, 0.2) ? int(rand, 0, 999) : 0);
  const memory = pick(rand, [2048, 4096, 16384, 65536, 262144]) + (chance(rand, 0.2) ? int(rand, 0, 511) : 0);
  const gpu = chance(rand, 0.25) ? int(rand, 1, 8) : 0;
  const extended: Record<string, number> = {};
  if (chance(rand, 0.1)) extended['fpga'] = int(rand, 1, 4);
  if (chance(rand, 0.05)) extended['licence'] = int(rand, 1, 20);
  const capacity = res(cpu, memory, gpu, extended);
  const labels: Record<string, string> = {};
  if (chance(rand, 0.9)) labels['zone'] = pick(rand, ZONES);
  if (chance(rand, 0.5)) labels['disk'] = pick(rand, DISKS);
  if (gpu > 0 && chance(rand, 0.8)) labels['gpu-model'] = pick(rand, GPU_MODELS);
  if (chance(rand, 0.1)) labels['spot'] = 'true';
  const state: NodeState = chance(rand, 0.85) ? 'ready' : pick(rand, STATES);
  const used = chance(rand, 0.3);
  const part = (v: number): number => (used ? int(rand, 0, v) : v);
  const free = res(part(cpu), part(memory), part(gpu), Object.fromEntries(Object.entries(extended).map(([k, v]) => [k, part(v)])));
  return { id, capacity, free, labels, state };
}

export function randomSelector(rand: Rand): Selector {
  const key = pick(rand, ['zone', 'zone', 'disk', 'gpu-model', 'spot', 'rack']);
  const values = key === 'zone' ? [...ZONES, 'z'] : key === 'disk' ? DISKS : key === 'gpu-model' ? GPU_MODELS : ['true', 'r1'];
  const op = pick(rand, ['=', '!=', 'in', 'notin', 'exists'] as const);
  if (op === 'exists') return { key, op, values: [] };
  if (op === 'in' || op === 'notin') return { key, op, values: [...new Set([pick(rand, values), pick(rand, values)])] };
  return { key, op, values: [pick(rand, values)] };
}

export function randomRequest(rand: Rand, big = false): PlacementRequest {
  const groups = chance(rand, 0.7) ? 1 : int(rand, 2, 3);
  const tasks = Array.from({ length: groups }, () => {
    const gpu = chance(rand, 0.15) ? int(rand, 1, 4) : 0;
    const extended: Record<string, number> = {};
    if (chance(rand, 0.05)) extended['fpga'] = int(rand, 1, 2);
    if (chance(rand, 0.02)) extended['licence'] = int(rand, 1, 3);
    const count = chance(rand, big ? 0.2 : 0.05) ? int(rand, 8, 64) : int(rand, 1, 6);
    return { count, resources: res(int(rand, 0, 8) * 250 + int(rand, 0, 1) * 17, int(rand, 1, 64) * 128, gpu, extended) };
  });
  const selectors = chance(rand, 0.4) ? Array.from({ length: int(rand, 1, 3) }, () => randomSelector(rand)) : [];
  const strategy: Strategy = chance(rand, 0.5) ? 'binpack' : 'spread';
  return { tasks, selectors, strategy, distinctNodes: chance(rand, 0.2), gang: chance(rand, 0.3) };
}

/** The add changes of a random cluster of n nodes at ids 0..n-1. */
export function randomCluster(rand: Rand, n: number): NodeChange[] {
  return Array.from({ length: n }, (_, id) => ({ kind: 'add' as const, node: randomNode(rand, id) }));
}

/** Random updates of existing nodes (state, labels, capacity and free), removals and re-adds. */
export function randomChanges(rand: Rand, present: Set<number>, capacity: number, count: number): NodeChange[] {
  const changes: NodeChange[] = [];
  const touched = new Set<number>();
  for (let i = 0; i < count; i++) {
    const id = int(rand, 0, capacity - 1);
    if (touched.has(id)) continue;
    touched.add(id);
    if (!present.has(id)) {
      changes.push({ kind: 'add', node: randomNode(rand, id) });
    } else if (chance(rand, 0.15)) {
      changes.push({ kind: 'remove', id });
    } else if (chance(rand, 0.5)) {
      changes.push({ kind: 'update', id, state: chance(rand, 0.6) ? 'ready' : pick(rand, STATES) });
    } else if (chance(rand, 0.5)) {
      const labels: Labels = chance(rand, 0.5) ? { zone: pick(rand, ZONES), rack: `r${int(rand, 0, 3)}` } : {};
      changes.push({ kind: 'update', id, labels });
    } else {
      const n = randomNode(rand, id);
      changes.push({ kind: 'update', id, capacity: n.capacity, free: n.free ?? n.capacity });
    }
  }
  return changes;
}

// ---- benchmark workloads ----

export type Workload = 'uniform' | 'mixed' | 'gang';
export const WORKLOADS: readonly Workload[] = ['uniform', 'mixed', 'gang'];

/** A site of n nodes for a workload: uniform machines for `uniform`/`gang`, a mixed fleet for `mixed`. */
export function benchCluster(workload: Workload, n: number, seed = 1): NodeChange[] {
  const rand = prng(seed);
  return Array.from({ length: n }, (_, id) => {
    if (workload !== 'mixed') {
      return { kind: 'add' as const, node: { id, capacity: res(64000, 262144), labels: { zone: ZONES[id % 4] as string } } };
    }
    const gpu = id % 8 === 0 ? 8 : 0;
    const node: NodeInput = {
      id,
      capacity: res(pick(rand, [32000, 64000, 96000]), pick(rand, [131072, 262144, 524288]), gpu, id % 16 === 1 ? { fpga: 2 } : {}),
      labels: { zone: pick(rand, ZONES), disk: pick(rand, DISKS), ...(gpu ? { 'gpu-model': pick(rand, GPU_MODELS) } : {}) },
      state: id % 50 === 7 ? 'draining' : 'ready',
    };
    return { kind: 'add' as const, node };
  });
}

/** A batch for a workload, about `tasks` tasks in all. */
export function benchBatch(workload: Workload, tasks: number, seed = 2): PlacementRequest[] {
  const rand = prng(seed);
  const jobs: PlacementRequest[] = [];
  let total = 0;
  while (total < tasks) {
    let job: PlacementRequest;
    if (workload === 'uniform') {
      job = { tasks: [{ count: 4, resources: res(500, 1024) }] };
    } else if (workload === 'gang') {
      job = { tasks: [{ count: 16, resources: res(2000, 8192) }], gang: true, distinctNodes: rand() < 0.5, strategy: rand() < 0.5 ? 'spread' : 'binpack' };
    } else {
      const gpu = rand() < 0.1;
      const selectors: Selector[] = [];
      if (rand() < 0.5) selectors.push({ key: 'zone', op: 'in', values: [pick(rand, ZONES), pick(rand, ZONES)] });
      if (rand() < 0.3) selectors.push({ key: 'disk', op: '!=', values: ['hdd'] });
      if (gpu) selectors.push({ key: 'gpu-model', op: 'exists', values: [] });
      job = {
        tasks: [{ count: int(rand, 1, 8), resources: res(int(rand, 1, 16) * 250, int(rand, 1, 32) * 256, gpu ? 1 : 0, rand() < 0.03 ? { fpga: 1 } : {}) }],
        selectors,
        strategy: rand() < 0.5 ? 'spread' : 'binpack',
      };
    }
    jobs.push(job);
    total += job.tasks.reduce((s, g) => s + g.count, 0);
  }
  return jobs;
}
