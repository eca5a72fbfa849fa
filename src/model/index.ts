// The domain model: resources and their units, specs and their validation. Pure: no I/O, no clocks.
export * as limits from './limits.js';
export type { Problem, Validated } from './problems.js';
export { formatProblem, quote, clip, MAX_ECHO_CHARS } from './problems.js';
export type { Parsed, Rounding } from './quantity.js';
export { parseCpu, parseMemory, parseCount, parseDuration, formatCpu, formatMemory, formatDuration } from './quantity.js';
export type { Resources, ResourceLimit } from './resources.js';
export {
  ZERO,
  resources,
  add,
  scale,
  subtract,
  trySubtract,
  fits,
  shortfall,
  dominantShare,
  withinLimit,
  isZero,
  equals,
  format as formatResources,
} from './resources.js';
export type { Labels } from './labels.js';
export type { Selector, SelectorOp } from './selector.js';
export { SELECTOR_OPS, SELECTOR_FIELDS, parseSelector, formatSelector, matchesSelector, matchesAll } from './selector.js';
export type { SiteSpec } from './site.js';
export { SITE_FIELDS, validateSite } from './site.js';
export type { NodeSpec, NodeState } from './node.js';
export { NODE_STATES, NODE_FIELDS, validateNode } from './node.js';
export type { QueueSpec } from './queue.js';
export { MAX_QUEUE_DEPTH, QUEUE_FIELDS, DEFAULT_PROTECT_FOR_MS, validateQueue, isQueueName, overLimit } from './queue.js';
export { parentQueue, hasGuarantee, queueSetProblems } from './queue-set.js';
export { isName } from './check.js';
export type { JobSpec, TaskGroup, Constraints, Dependency, DependencyType, RetryPolicy, Strategy } from './job.js';
export { STRATEGIES, DEPENDENCY_TYPES, DEFAULT_BACKOFF_MS, validateJob, jobTaskCount, isEnvKey, isPreemptible } from './job.js';
// The fields each spec reader accepts: what the spec reference (scripts/spec-reference.ts) is rendered from.
export { JOB_FIELDS, TASK_FIELDS, CONSTRAINT_FIELDS, DEPENDENCY_FIELDS, RETRY_FIELDS } from './job.js';
export { RESOURCE_FIELDS } from './resource-spec.js';
export type { Mutable } from './mutable.js';
export { SpecInterner, specInterner, internJob, isSharedPart, INTERN_TABLE_LIMIT, NO_DEPENDENCIES } from './intern.js';
export { sharedRequest, recurringWord, NO_ENV } from './shared-request.js';
export type { SpecDocument, DocumentKind } from './document.js';
export { DOCUMENT_KINDS, validateDocument } from './document.js';
