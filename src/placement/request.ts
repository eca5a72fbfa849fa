/** From a job spec (src/model) to what the solver needs of it. */
import type { JobSpec } from '../model/index.js';
import type { PlacementRequest } from './types.js';

export function requestOf(job: JobSpec): PlacementRequest {
  return {
    tasks: job.tasks.map((t) => ({ count: t.count, resources: t.resources })),
    selectors: job.constraints.selectors,
    strategy: job.strategy,
    distinctNodes: job.distinctNodes,
    gang: job.gang,
  };
}
