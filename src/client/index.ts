// The muster client library: submit, cancel and watch over the `/v1/submit` WebSocket (msgpack frames),
// read jobs, queues, nodes and sites over HTTP. What the CLI and the benchmarks use. See README.md.
export { createClient, MusterClient, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS } from './client.js';
export type { ClientOptions, SubmitOptions, JobsQuery, NodesQuery, LogsOptions, LogsPiece } from './client.js';
export { Watch, MAX_WATCH_BUFFER } from './watch.js';
export type { WatchOptions } from './watch.js';
export { ServerError, NOT_LEADER, WATCH_GAP } from './server-error.js';
export { parseEndpoint, parseEndpoints } from './endpoints.js';
export { MAX_LEADER_HINTS_PER_ROUND } from './replicas.js';
export { knownLeader } from './replica-status.js';
export type { ReplicaStatus } from './replica-status.js';
export type { Endpoint } from './endpoints.js';
export { backoffDelay, roundDelay, BACKOFF_BASE_MS, BACKOFF_MAX_MS } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { DEFAULT_BATCH_WINDOW_MS, DEFAULT_MAX_JOBS_PER_FRAME } from './submit-batcher.js';
export { DEFAULT_MAX_FRAME_BYTES, DEFAULT_PING_INTERVAL_MS } from './submit-session.js';
export type {
  JobSpecInput,
  SubmitResult,
  CancelResult,
  WatchFilter,
  JobEvent,
  EventType,
  WireProblem,
  JobView,
  JobDetailView,
  JobPage,
  TaskView,
  AttemptView,
  TaskCounts,
  WhyView,
  WhyReason,
  QueueView,
  NodeView,
  SiteView,
  LeaderView,
  ResourceAmounts,
} from './wire.js';
