// High availability: leader election on etcd (issue 14). The whole public surface of src/ha; see README.md.
export { campaign } from './election.js';
export { DEFAULT_MARGIN_MS, DEFAULT_TTL_SECONDS } from './types.js';
export type { DeposedEvent, DeposedReason, ElectedLeader, Election, ElectionEvents, ElectionOptions, Fence, LeaderInfo } from './types.js';
