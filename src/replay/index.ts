// Replay and what-if: rebuild a data folder's history and report what happened; re-run it in simulated time
// under changed policy and compare. See README.md.
export { replayHistory, REPORT_BUCKETS } from './replay.js';
export type { ReplayOptions, ReplayResult, HistorySummary } from './replay.js';
export type { ReplayReport, QueueReport, SiteReport, WaitStats } from './report.js';
export { REPORT_STATUSES } from './report.js';
export { parseQueueWeight, parseQueueField, QUEUE_KNOBS, parseNodeChange, describeChanges, hasChanges, NO_CHANGES, MAX_NODE_CHANGE } from './changes.js';
export type { PolicyChanges, QueueWeightChange, QueueFieldChange, QueueKnob, NodeChange, Parsed } from './changes.js';
export { DEFAULT_ATTEMPT_MS } from './attempt-behaviour.js';
export { formatTables, formatJson } from './format.js';
