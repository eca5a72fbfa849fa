/**
 * Jobs as tenants write them (the spec files' form, units as strings), in the mix a batch submitter sends:
 * mostly small single-task jobs, some arrays, some with environments, constraints, retries or several task
 * groups. Every job has its own name and idempotency key. Shared by the gateway benchmark and its tests.
 */
import { seeded } from './random.js';

const CPUS = ['250m', '500m', '1', '2', '4'];
const MEMORY = ['256Mi', '512Mi', '1Gi', '2Gi', '8Gi'];
const QUEUES = ['default', 'batch', 'research/ml', 'etl'];

/**
 * `count` jobs of the mix, numbered from `first` (names, keys and `--shard=` arguments): a caller that
 * builds a million in slices numbers them on so that no two share an argument.
 */
export function writtenJobs(count: number, seed = 1, first = 0): Record<string, unknown>[] {
  const random = seeded(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  return Array.from({ length: count }, (_, k) => {
    const i = first + k;
    const shape = random();
    const task: Record<string, unknown> = { resources: { cpu: pick(CPUS), memory: pick(MEMORY) }, command: ['/usr/bin/env', 'python3', 'train.py', `--shard=${i}`] };
    const job: Record<string, unknown> = { name: `job-${seed}-${i}`, queue: pick(QUEUES), idempotencyKey: `client-${seed}:${i}`, tasks: [task] };
    if (shape < 0.15) job['array'] = 1 + Math.floor(random() * 100);
    else if (shape < 0.25) task['env'] = { SHARD: String(i), MODE: 'fast', DATA: `/data/part-${i % 64}` };
    else if (shape < 0.3) job['constraints'] = { sites: ['a', 'b'], selectors: ['disk=ssd', 'zone in (z1, z2)'] };
    else if (shape < 0.35) job['retries'] = { max: 3, backoff: '30s' };
    else if (shape < 0.4) job['tasks'] = [task, { name: 'sidecar', resources: { cpu: '100m', memory: '64Mi' }, command: 'sleep 1', shell: true, timeLimit: '1h' }];
    return job;
  });
}
