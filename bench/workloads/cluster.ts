/**
 * The scheduler workload: a multi-site cluster and a stream of jobs of mixed shapes, as a simulation
 * script. Used by the scheduler benchmark (10,000 nodes, 1,000,000 jobs) and, small, by its test.
 *
 * Nodes: 80 % cpu nodes (32 cores, 128 GiB, disk ssd or hdd), 20 % gpu nodes (64 cores, 512 GiB, 8 gpus,
 * a100 or h100), spread round robin over the sites. Jobs arrive in equal batches, one batch per simulated
 * second, and run 20 to 120 whole simulated seconds. Job specs are shared between jobs of one shape (a spec is
 * immutable once validated), so a million jobs cost a million small records, not a million specs.
 */
import type { JobSpec, NodeSpec } from '../../src/model/index.js';
import { validateJob, validateNode } from '../../src/model/index.js';
import type { SimJob, SimScript } from '../../src/scheduler/index.js';
import { seeded } from './random.js';

export interface ClusterWorkload {
  readonly sites: number;
  readonly nodes: number;
  readonly jobs: number;
  /** Jobs per arrival batch (one batch per simulated second). */
  readonly batch: number;
  readonly seed: number;
}

function valid<T>(r: { ok: true; value: T } | { ok: false; problems: readonly unknown[] }): T {
  if (!r.ok) throw new Error(`workload spec is invalid: ${JSON.stringify(r.problems)}`);
  return r.value;
}

/** The job shapes, with their share of the stream (weights sum to 100) and tasks per job. */
function shapes(sites: readonly string[]): { readonly weight: number; readonly spec: JobSpec }[] {
  const job = (fields: Record<string, unknown>, task: Record<string, unknown>): JobSpec =>
    valid(validateJob({ queue: 'batch', tasks: [{ command: 'run', ...task }], ...fields }));
  return [
    { weight: 40, spec: job({}, { resources: { cpu: '1', memory: '2Gi' } }) },
    { weight: 20, spec: job({}, { resources: { cpu: '500m', memory: '1Gi' } }) },
    { weight: 10, spec: job({ array: 8 }, { resources: { cpu: '1', memory: '4Gi' } }) },
    { weight: 10, spec: job({ constraints: { selectors: ['disk=ssd'] } }, { count: 4, resources: { cpu: '2', memory: '8Gi' } }) },
    { weight: 5, spec: job({ gang: true, distinctNodes: true, strategy: 'spread' }, { count: 4, resources: { cpu: '4', memory: '16Gi' } }) },
    { weight: 5, spec: job({ constraints: { selectors: ['gpu-model in (a100,h100)'] } }, { resources: { cpu: '4', memory: '16Gi', gpu: 1 } }) },
    { weight: 10, spec: job({ queue: 'interactive', constraints: { sites: [sites[0]] } }, { count: 2, resources: { cpu: '250m', memory: '512Mi' } }) },
  ];
}

export function clusterScript(w: ClusterWorkload): SimScript {
  const random = seeded(w.seed);
  const sites = Array.from({ length: w.sites }, (_, i) => `s${i}`);
  const nodes: { spec: NodeSpec }[] = [];
  for (let i = 0; i < w.nodes; i++) {
    const site = sites[i % sites.length]!;
    const gpu = i % 5 === 4;
    const spec = gpu
      ? { name: `g${i}`, site, capacity: { cpu: '64', memory: '512Gi', gpu: 8 }, labels: { 'gpu-model': random() < 0.5 ? 'a100' : 'h100', disk: 'ssd' } }
      : { name: `c${i}`, site, capacity: { cpu: '32', memory: '128Gi' }, labels: { disk: random() < 0.6 ? 'ssd' : 'hdd' } };
    nodes.push({ spec: valid(validateNode(spec)) });
  }
  const menu = shapes(sites);
  const cumulative: number[] = [];
  menu.reduce((sum, s) => (cumulative.push(sum + s.weight), sum + s.weight), 0);
  const jobs: SimJob[] = new Array(w.jobs);
  for (let i = 0; i < w.jobs; i++) {
    const roll = random() * 100;
    const shape = menu[cumulative.findIndex((c) => roll < c)] ?? menu[0]!;
    // Whole seconds: tasks end in bursts, as they do when many jobs share a shape and a start.
    jobs[i] = { at: Math.floor(i / w.batch) * 1000, spec: shape.spec, durationMs: 1000 * (20 + Math.floor(random() * 100)) };
  }
  return { sites, nodes, jobs };
}

/** Tasks a workload's jobs hold in all (what a full run must place at least once each). */
export function taskCount(script: SimScript): number {
  return script.jobs.reduce((sum, j) => sum + (j.spec.array ?? 1) * j.spec.tasks.reduce((s, t) => s + t.count, 0), 0);
}
