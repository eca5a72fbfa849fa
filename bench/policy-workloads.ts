/**
 * The scheduling-policy benchmark's workloads (bench/policy.bench.ts), as simulation scripts: seeded, so
 * every run and every machine gets the same jobs.
 *
 * The cluster: `nodes` identical nodes (32 cores, 128 GiB: 4 GiB per core, so a task asking 4 GiB per
 * core is as big in memory as in cpu) spread round robin over three sites. Every job has a time limit
 * (what backfill plans with) of its duration rounded up to a whole minute plus one: the actual duration is
 * always within it. Specs are shared between jobs of one shape and limit (a spec is immutable once
 * validated).
 *
 * - `mixedWorkload`: four queues of three tenants with weights 2:1:1:1, each offered a little more than its
 *   weighted share (1.2× the cluster in all) for `arrivalMs`, starting with what that rate would hold
 *   running, so the cluster is full and every queue keeps pending work from the start: single-task jobs,
 *   arrays and gangs, of job priorities 0-3, running 1-10 minutes. Queue priorities are all equal: a
 *   queue priority is served before any share, which no weighted entitlement describes.
 * - `floodWorkload`: queue `flood` submits small short jobs (4 cores, 30-120 s) at 1.3× what the cluster
 *   runs, every 10 s for `arrivalMs`; queue `gangs` submits a gang of 64-256 tasks of 4 cores (5 minutes)
 *   every minute from two minutes in (the flood fills the cluster within its first minute). Without a
 *   reservation a gang waits until room for all its tasks is free at once in one site, room the flood's
 *   jobs keep taking as it frees.
 * - `reclaimWorkload`: queue `borrower` (weight 3, no guarantee) fills the idle cluster with jobs of 20-40
 *   minutes and a backlog of a tenth of it; at `submitAtMs` queue `owner` (weight 1, guaranteedShare
 *   `guarantee`, above the quarter its weight gives it) submits 1.25× its guarantee in 4-core tasks of an
 *   hour, longer than any of the borrower's, so what it holds only grows until the run drains.
 */
import type { JobSpec, NodeSpec, QueueSpec } from '../src/model/index.js';
import { validateJob, validateNode, validateQueue } from '../src/model/index.js';
import type { SimJob, SimScript } from '../src/scheduler/index.js';
import { seeded } from './workloads/random.js';

/** Cores and GiB per node. */
export const NODE_CORES = 32;
export const NODE_GIB = 128;
export const SITES = ['s0', 's1', 's2'] as const;

function valid<T>(r: { ok: true; value: T } | { ok: false; problems: readonly unknown[] }): T {
  if (!r.ok) throw new Error(`policy workload spec is invalid: ${JSON.stringify(r.problems)}`);
  return r.value;
}

function cluster(nodes: number): { spec: NodeSpec }[] {
  return Array.from({ length: nodes }, (_, i) => ({
    spec: valid(validateNode({ name: `n${i}`, site: SITES[i % SITES.length]!, capacity: { cpu: String(NODE_CORES), memory: `${NODE_GIB}Gi` } })),
  }));
}

function queue(tenant: string, name: string, fields: Record<string, unknown> = {}): QueueSpec {
  return valid(validateQueue({ tenant, name, ...fields }));
}

/** Time limit of a task that runs `durationMs`: rounded up to a whole minute, plus one. */
export function timeLimitS(durationMs: number): number {
  return (Math.ceil(durationMs / 60_000) + 1) * 60;
}

/** Validated specs by shape and limit, made once each. */
class Specs {
  readonly #made = new Map<string, JobSpec>();

  get(key: string, limitS: number, make: (timeLimit: number) => Record<string, unknown>): JobSpec {
    const id = `${key}@${limitS}`;
    let spec = this.#made.get(id);
    if (!spec) {
      spec = valid(validateJob(make(limitS)));
      this.#made.set(id, spec);
    }
    return spec;
  }
}

/** A job of `count` tasks of `cores` (4 GiB each), in `queue`, with the fields given. */
function shape(queue: string, cores: number, count: number, fields: Record<string, unknown> = {}): (timeLimit: number) => Record<string, unknown> {
  return (timeLimit) => ({ queue, tasks: [{ count, command: 'run', timeLimit, resources: { cpu: String(cores), memory: `${cores * 4}Gi` } }], ...fields });
}

export interface PolicyWorkload {
  readonly script: SimScript;
  /** Jobs arrive within [0, arrivalMs). */
  readonly arrivalMs: number;
}

/** A workload of jobs arriving for `arrivalMs` on `nodes` nodes, drawn from `seed`. */
export interface StreamOptions {
  readonly nodes: number;
  readonly arrivalMs: number;
  readonly seed: number;
}

/** The mixed queues: tenant, name, weight, and the share of the offered load each gets. */
export const MIXED_QUEUES = [
  { tenant: 'acme', name: 'analytics', weight: 2, load: 0.45 },
  { tenant: 'acme', name: 'ml', weight: 1, load: 0.25 },
  { tenant: 'globex', name: 'research', weight: 1, load: 0.25 },
  { tenant: 'initech', name: 'etl', weight: 1, load: 0.25 },
] as const;

/** Mean duration of a mixed job (1 to 10 minutes, uniform). */
const MIXED_MEAN_MS = 330_000;

/** Jobs arrive in batches this often (simulated), as clients' frames would. */
export const BATCH_EVERY_MS = 10_000;

export function mixedWorkload(o: StreamOptions): PolicyWorkload {
  const random = seeded(o.seed);
  const specs = new Specs();
  const jobs: SimJob[] = [];
  const coreMsPerBatch = NODE_CORES * o.nodes * BATCH_EVERY_MS;
  for (const q of MIXED_QUEUES) {
    for (let at = 0; at < o.arrivalMs; at += BATCH_EVERY_MS) {
      // Each batch offers the queue `load` of what the cluster runs in a batch's time (in core·ms); the first
      // also what it would hold running at that rate, so the cluster is full and queues wait from the start.
      const batch = at === 0 ? coreMsPerBatch + (NODE_CORES * o.nodes * MIXED_MEAN_MS) : coreMsPerBatch;
      for (let offered = 0; offered < q.load * batch; ) {
        const durationMs = 1000 * (60 + Math.floor(random() * 540));
        const priority = Math.floor(random() * 4);
        const roll = random();
        let spec: JobSpec;
        if (roll < 0.6) {
          const cores = 1 + Math.floor(random() * 4);
          spec = specs.get(`${q.name}-single-${cores}-p${priority}`, timeLimitS(durationMs), shape(q.name, cores, 1, { priority }));
        } else if (roll < 0.85) {
          const size = 8 * (1 + Math.floor(random() * 4));
          spec = specs.get(`${q.name}-array-${size}-p${priority}`, timeLimitS(durationMs), shape(q.name, 1, 1, { priority, array: size }));
        } else {
          const count = 8 * (1 + Math.floor(random() * 4));
          spec = specs.get(`${q.name}-gang-${count}-p${priority}`, timeLimitS(durationMs), shape(q.name, 4, count, { priority, gang: true }));
        }
        jobs.push({ at, tenant: q.tenant, spec, durationMs });
        offered += jobCores(spec) * durationMs;
      }
    }
  }
  jobs.sort((a, b) => a.at - b.at);
  const queues = MIXED_QUEUES.map((q) => queue(q.tenant, q.name, { weight: q.weight }));
  return { script: { sites: [...SITES], queues, nodes: cluster(o.nodes), jobs }, arrivalMs: o.arrivalMs };
}

/** Cores a job holds while all its tasks run. */
function jobCores(spec: JobSpec): number {
  return ((spec.array ?? 1) * spec.tasks.reduce((s, t) => s + t.count * t.resources.cpu, 0)) / 1000;
}

/** The flood's offered load: above what the cluster runs, so it is always saturated. */
export const FLOOD_LOAD = 1.3;
/** A gang every this often, from two intervals in. */
export const GANG_EVERY_MS = 60_000;
export const GANG_MS = 300_000;

export function floodWorkload(o: StreamOptions): PolicyWorkload {
  const random = seeded(o.seed);
  const specs = new Specs();
  const jobs: SimJob[] = [];
  const coreMsPerBatch = NODE_CORES * o.nodes * BATCH_EVERY_MS;
  for (let at = 0; at < o.arrivalMs; at += BATCH_EVERY_MS) {
    for (let offered = 0; offered < FLOOD_LOAD * coreMsPerBatch; ) {
      const durationMs = 1000 * (30 + Math.floor(random() * 91));
      const spec = specs.get('flood', timeLimitS(durationMs), shape('flood', 4, 1));
      jobs.push({ at, tenant: 'acme', spec, durationMs });
      offered += 4 * durationMs;
    }
    if (at >= 2 * GANG_EVERY_MS && at % GANG_EVERY_MS === 0) {
      const count = 64 * (1 + Math.floor(random() * 4));
      jobs.push({ at, tenant: 'globex', spec: specs.get(`gang-${count}`, timeLimitS(GANG_MS), shape('gangs', 4, count, { gang: true })), durationMs: GANG_MS });
    }
  }
  const queues = [queue('acme', 'flood'), queue('globex', 'gangs')];
  return { script: { sites: [...SITES], queues, nodes: cluster(o.nodes), jobs }, arrivalMs: o.arrivalMs };
}

export interface ReclaimOptions {
  readonly nodes: number;
  readonly submitAtMs: number;
  readonly guarantee: number;
  readonly seed: number;
}

/** Cores per task of the reclaim workload (both queues). */
export const RECLAIM_TASK_CORES = 4;
/** Tasks per owner job (an array). */
const OWNER_ARRAY = 100;

export function reclaimWorkload(o: ReclaimOptions): PolicyWorkload & { readonly ownerTasks: number } {
  const random = seeded(o.seed);
  const specs = new Specs();
  const jobs: SimJob[] = [];
  const slots = (o.nodes * NODE_CORES) / RECLAIM_TASK_CORES;
  // The borrower: the whole cluster and a tenth again, in 4-core tasks of 20-40 minutes (arrays of 50).
  for (let tasks = 0; tasks < slots * 1.1; tasks += 50) {
    const durationMs = 1000 * (1200 + Math.floor(random() * 1201));
    jobs.push({ at: 0, tenant: 'acme', spec: specs.get('borrower', timeLimitS(durationMs), shape('borrower', RECLAIM_TASK_CORES, 1, { array: 50 })), durationMs });
  }
  const ownerTasks = Math.ceil((slots * o.guarantee * 1.25) / OWNER_ARRAY) * OWNER_ARRAY;
  for (let tasks = 0; tasks < ownerTasks; tasks += OWNER_ARRAY) {
    const durationMs = 3_600_000;
    jobs.push({ at: o.submitAtMs, tenant: 'globex', spec: specs.get('owner', timeLimitS(durationMs), shape('owner', RECLAIM_TASK_CORES, 1, { array: OWNER_ARRAY })), durationMs });
  }
  const queues = [queue('acme', 'borrower', { weight: 3, borrow: true }), queue('globex', 'owner', { guaranteedShare: o.guarantee })];
  return { script: { sites: [...SITES], queues, nodes: cluster(o.nodes), jobs }, arrivalMs: o.submitAtMs + 1, ownerTasks };
}
