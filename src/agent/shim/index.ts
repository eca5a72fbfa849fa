// The shim: the small supervisor process every attempt runs under (native/shim/shim.c, or node-shim.ts),
// its files (status, lease) and the agent's side of launching one. See ../README.md#the-shim.
export type { Shim, ShimKind } from './select.js';
export { selectShim, NATIVE_SHIM_PATH } from './select.js';
export type { ShimLaunch, ShimEvents } from './spawn.js';
export { spawnShim } from './spawn.js';
export type { ShimStatus } from './status.js';
export { readStatus, parseStatus, formatStatus, STATUS_FILE } from './status.js';
export type { Lease } from './lease.js';
export { LeaseFile, LEASE_FILE, readLease, parseLease, formatLease } from './lease.js';
export type { ProcessIdentity, ProcessStat } from './process-identity.js';
export { identify, stillRuns, readStat, readStatSync, allProcesses, commandLine, killOrphanedTask } from './process-identity.js';
