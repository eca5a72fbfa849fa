// `muster server` assembled: configuration, tokens, the store, the scheduling core and the gateway, and
// their start and stop in order. See README.md.
export { startServer, RunningServer } from './server.js';
export type { ServeEnd, ServerEvents } from './server.js';
export { resolveConfig, readTokenEntries, SNAPSHOT_EVERY_EVENTS, SNAPSHOT_EVERY_SECONDS, DEFAULT_DATA_DIR, DEFAULT_SITES, MIN_TOKEN_LENGTH } from './config.js';
export type { EtcdConfig, ServerConfig, ServerFlags } from './config.js';
export { DEFAULT_ETCD_PREFIX, DEFAULT_LEASE_TTL_SECONDS, HA_LOST_AFTER_MS } from './config.js';
export { CONFIG_KEYS, TOKEN_ENTRY_KEYS, SNAPSHOT_KEYS, ETCD_KEYS, ETCD_TLS_KEYS, RETENTION_KEYS, LIVENESS_KEYS, OUTPUT_KEYS, MAX_OUTPUT_KEEP_BYTES } from './config.js';
export { loadTokens, ADMIN_TOKEN_FILE, ADMIN_TENANT } from './tokens.js';
export { Snapshotter } from './snapshots.js';
export { STORE_FAILED_EXIT_CODE, STORE_FAILED_EXIT_DELAY_MS, STORE_FAILED_CLOSE_MS } from './store-failure.js';
export type { StoreFailure } from './store-failure.js';
