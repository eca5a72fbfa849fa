// The gateway: uWebSockets.js serving the client and agent WebSocket protocols and the HTTP JSON API, with
// auth, limits and metrics. See README.md for the design and PROTOCOL.md (repository root) for the wire.
export { Gateway, DEFAULT_PORT, DEFAULT_HOST } from './gateway.js';
export type { GatewayOptions, ObserveStart } from './gateway.js';
export type { GatewayPhase } from './context.js';
export { TokenTable, ROLES, allows, seesTenant, newToken, mayRegister } from './auth.js';
export { isNodeGlob } from './node-globs.js';
export type { Role, Principal, TokenEntry, Action } from './auth.js';
export { DEFAULT_LIMITS, KILL_GRACE_MS, LIMIT_NAMES } from './limits.js';
export type { GatewayLimits } from './limits.js';
export type { DurableListener } from './observed-sink.js';
export { loadUws, isNativeUws } from './uws.js';
export type { JobEvent, JobEventType } from './job-events.js';
export type { ApiError } from './api-error.js';
export type { JobResult, CancelResult, PreparedSubmit } from './submissions.js';
// The submission hot path, for the decode-validate benchmark: decode, read, authorise, rate-limit, validate.
export { decodeFrame, encodeFrame } from './codec.js';
export { readClientRequest } from './frames.js';
export { prepareSubmit, isPrepared, isTenantName } from './submissions.js';
export { RateLimiter } from './rate-limit.js';
export { DEFAULT_OUTPUT_KEEP_BYTES, MAX_OUTPUT_CHUNK_BYTES } from './output-keeper.js';
export type { OutputKeeper, OutputChunk, OutputRef, OutputStream, KeptOutput, WriteResult } from './output-keeper.js';
