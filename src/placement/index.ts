// The placement solver: node tables and the kernel that places batches of jobs on them.
// The only public door of src/placement; see README.md for the pipeline, the index and the scores.
export type {
  BackendName,
  CompiledBatch,
  JobStatus,
  NodeChange,
  NodeInput,
  NodeTable,
  NodeView,
  PlacementBackend,
  PlacementRequest,
  ReasonCounts,
  ReleaseItem,
  SolverName,
  TableOptions,
  TaskRequest,
} from './types.js';
export { BACKENDS, REASONS } from './types.js';
export { PlacementResult } from './result.js';
export type { JobOutcome } from './result.js';
export { load, activeBackend, backend, availableBackends, unavailableReason, BACKEND_ENV } from './load.js';
export { requestOf } from './request.js';
export { spreadScore } from './reference.js';
export * as placementLimits from './limits.js';
