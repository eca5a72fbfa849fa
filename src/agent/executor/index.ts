// The agent's process executor: runs task attempts as real child processes, reports how they end, serves
// their logs. See ../README.md#execution.
export { Executor, DEFAULT_GRACE_MS, SHELL } from './executor.js';
export { detectCapacity } from './capacity.js';
export { resolveRunAs } from './run-as.js';
export type { RunAs } from './run-as.js';
export { FALLBACK_PATH, FALLBACK_LANG } from './process-env.js';
export { EXIT_NOT_FOUND, EXIT_NOT_EXECUTABLE } from './outcome.js';
export { LOG_CHUNK_BYTES, FOLLOW_POLL_MS } from './read-log.js';
export { JOBS_FOLDER } from './work-folder.js';
export type {
  AttemptOutcome,
  AttemptStarted,
  AttemptEnded,
  ExecutorEvents,
  ExecutorOptions,
  KillOptions,
  KillResult,
  LiveAttempt,
  LogStream,
  ReadLogRequest,
  Refusal,
  StartResult,
} from './types.js';
