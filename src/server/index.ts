// `muster server` assembled: configuration, tokens, the store, the scheduling core and the gateway, and
// their start and stop in order. See README.md.
export { startServer, RunningServer } from './server.js';
export type { ServerEvents } from './server.js';
export { resolveConfig, readTokenEntries, SNAPSHOT_EVERY_EVENTS, SNAPSHOT_EVERY_SECONDS, DEFAULT_DATA_DIR, DEFAULT_SITES, MIN_TOKEN_LENGTH } from './config.js';
export type { ServerConfig, ServerFlags } from './config.js';
export { loadTokens, ADMIN_TOKEN_FILE, ADMIN_TENANT } from './tokens.js';
export { Snapshotter } from './snapshots.js';
