/**
 * The server's configuration: command-line flags over a config file (YAML or JSON) over defaults. The file
 * holds the same options as the flags plus what only a file can say (limits, sites, queues, inline tokens):
 *
 * ```yaml
 * data: /var/lib/muster        # --data
 * host: 0.0.0.0                # --host
 * port: 7070                   # --port (0: any free port)
 * tokens: /etc/muster/tokens.yaml   # --tokens: a file, or a list of { token, tenant, role } inline
 * tlsCert: /etc/muster/cert.pem     # --tls-cert
 * tlsKey: /etc/muster/key.pem       # --tls-key
 * workers: 1                   # actor worker threads (site solvers)
 * sites: [a, b, c]             # default [local]
 * queues: [{ tenant: acme, name: batch, weight: 2 }]
 * limits: { maxJobsPerSubmit: 10000, ratePerSecond: 1000, ... }   # PROTOCOL.md, "Limits"
 * snapshot: { everyEvents: 100000, everySeconds: 300 }
 * retention: { maxAge: 1h, maxEndedPerTenant: 50000, keyWindow: 24h }   # finished jobs, idempotency keys
 * output: { keepBytes: 1048576 }   # the tail of each stream of each ended attempt kept in DATA/output (0: none)
 * ```
 *
 * Every problem is reported with its key, all at once, as `MUSTER_ERR_INVALID_SPEC`.
 */
import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { GatewayLimits, TokenEntry } from '../api/index.js';
import { DEFAULT_HOST, DEFAULT_OUTPUT_KEEP_BYTES, DEFAULT_PORT, LIMIT_NAMES, ROLES, isNodeGlob, isTenantName } from '../api/index.js';
import { MusterError } from '../errors/index.js';
import type { QueueSpec } from '../model/index.js';
import type { LivenessOptions, RetentionPolicy } from '../scheduler/index.js';
import { DEFAULT_LIVENESS, DEFAULT_RETENTION, resolveLiveness } from '../scheduler/index.js';
import { formatProblem, parseDuration, queueSetProblems, validateQueue } from '../model/index.js';
import type { EtcdTls } from '../store/index.js';

/**
 * Snapshot cadence: after this many durable events, or this many seconds with any event. 100,000 events
 * replay in about a second, which keeps recovery within its 5 s budget; 5 minutes bounds the replay of a
 * quiet server without snapshotting an idle one.
 */
export const SNAPSHOT_EVERY_EVENTS = 100_000;
export const SNAPSHOT_EVERY_SECONDS = 300;
export const SNAPSHOT_KEYS = ['everyEvents', 'everySeconds'] as const;

export const DEFAULT_DATA_DIR = '.muster';
export const DEFAULT_SITES: readonly string[] = ['local'];

/**
 * Most output kept per stream of an attempt: past a gigabyte a copy belongs in a file system made for it
 * (the task can write there itself), not in the control plane's data folder.
 */
export const MAX_OUTPUT_KEEP_BYTES = 1 << 30;
/** The fields of `output:` in a config file. */
export const OUTPUT_KEYS = ['keepBytes'] as const;

/** Shortest token accepted from a token file: 16 characters is the least that resists guessing. */
export const MIN_TOKEN_LENGTH = 16;

export interface ServerConfig {
  readonly data: string;
  readonly host: string;
  readonly port: number;
  /** A token file, or the tokens themselves; neither: the admin token in the data folder. */
  readonly tokens: string | readonly TokenEntry[] | undefined;
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** Actor worker threads; undefined: one per core beyond the first. */
  readonly workers: number | undefined;
  readonly sites: readonly string[];
  readonly queues: readonly QueueSpec[];
  readonly limits: Partial<GatewayLimits>;
  readonly snapshot: { readonly everyEvents: number; readonly everySeconds: number };
  /** Heartbeat interval and node-loss timing, in ms (`DEFAULT_LIVENESS` for what is not given). */
  readonly liveness: Partial<LivenessOptions>;
  /** When finished jobs leave the live state and idempotency keys expire (`DEFAULT_RETENTION` for what is not given). */
  readonly retention: RetentionPolicy;
  /** High availability: replicas elect a leader and share the log in etcd (undefined: the embedded store). */
  readonly etcd: EtcdConfig | undefined;
  /** The control plane's copy of ended attempts' output: the most bytes kept per stream (the tail; 0: none). */
  readonly output: { readonly keepBytes: number };
}

/** `etcd: { endpoints, prefix, leaseTtlSeconds }` or `--etcd URL[,URL…]`. */
export interface EtcdConfig {
  readonly endpoints: readonly string[];
  /** Every key muster writes is under it (several control planes may share one etcd). */
  readonly prefix: string;
  /** The election lease's time to live: a dead leader is replaced within about this. */
  readonly leaseTtlSeconds: number;
  /** With `https://` endpoints: the CA, and this replica's certificate and key for etcd's client-certificate auth. */
  readonly tls?: EtcdTls;
}

export const DEFAULT_ETCD_PREFIX = '/muster';
export const DEFAULT_LEASE_TTL_SECONDS = 2;

/**
 * Node-loss timing with etcd, unless the config file gives its own: agents must outlast a failover (a lease
 * TTL, the takeover, their reconnection backoff) before their fence kills their work, so a failover alone
 * never makes a task run again; a node is declared lost after 15 s instead of 4 s.
 */
export const HA_LOST_AFTER_MS = 15_000;

/** What the command line gives (each optional; it wins over the file). */
export interface ServerFlags {
  readonly data?: string;
  readonly host?: string;
  readonly port?: number;
  readonly config?: string;
  readonly tokens?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /** `--etcd URL[,URL…]`. */
  readonly etcd?: string;
  readonly etcdPrefix?: string;
  readonly leaseTtlSeconds?: number;
}

/** Every top-level key a config file may hold (the spec reference in PROTOCOL.md is rendered from these lists). */
export const CONFIG_KEYS = ['data', 'host', 'port', 'tokens', 'tlsCert', 'tlsKey', 'workers', 'sites', 'queues', 'limits', 'snapshot', 'liveness', 'retention', 'etcd', 'output'] as const;

class Problems {
  readonly list: string[] = [];
  add(key: string, message: string): undefined {
    this.list.push(`${key}: ${message}`);
    return undefined;
  }
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function count(p: Problems, key: string, value: unknown, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) return p.add(key, `expected a whole number ≥ ${min}`);
  return value;
}

function text(p: Problems, key: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') return p.add(key, 'expected a non-empty string');
  return value;
}

/** Most node patterns one agent token may list. */
const MAX_TOKEN_NODES = 1_024;

/** The fields of one token entry. */
export const TOKEN_ENTRY_KEYS = ['token', 'tenant', 'role', 'nodes'] as const;

/** Reads a list of `{ token, tenant, role, nodes? }` (a token file's content, or `tokens:` inline). */
export function readTokenEntries(value: unknown, where: string): TokenEntry[] {
  const p = new Problems();
  const entries: TokenEntry[] = [];
  if (!Array.isArray(value)) p.add(where, 'expected a list of { token, tenant, role, nodes? }');
  else
    value.forEach((raw, i) => {
      const at = `${where}[${i}]`;
      if (!isMap(raw)) return p.add(at, 'expected { token, tenant, role, nodes? }');
      for (const key of Object.keys(raw)) if (!(TOKEN_ENTRY_KEYS as readonly string[]).includes(key)) p.add(`${at}.${key}`, 'unknown field (expected token, tenant, role, nodes)');
      const { token, tenant, role } = raw;
      if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) p.add(`${at}.token`, `expected a string of at least ${MIN_TOKEN_LENGTH} characters without spaces`);
      if (typeof tenant !== 'string' || !isTenantName(tenant)) p.add(`${at}.tenant`, 'expected a tenant name (lower-case letters, digits and -)');
      if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) p.add(`${at}.role`, `expected one of ${ROLES.join(', ')}`);
      const nodes = readTokenNodes(p, `${at}.nodes`, raw['nodes'], role);
      if (p.list.length === 0) entries.push({ token: token as string, tenant: tenant as string, role: role as TokenEntry['role'], ...(nodes ? { nodes } : {}) });
      return undefined;
    });
  if (p.list.length > 0) throw new MusterError('MUSTER_ERR_INVALID_SPEC', p.list.join('; '));
  return entries;
}

/**
 * The nodes an agent token may register: required for `agent` tokens (default deny: an agent token that
 * names no node can register none, which is never what its writer meant), refused on other roles.
 */
function readTokenNodes(p: Problems, at: string, value: unknown, role: unknown): string[] | undefined {
  if (role !== 'agent') {
    if (value !== undefined) p.add(at, 'only agent tokens name nodes (an admin may register any node)');
    return undefined;
  }
  if (value === undefined) return void p.add(at, 'an agent token must name the nodes it may register: a list of names or globs ("gpu-*", or "*" for any)');
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_TOKEN_NODES) return void p.add(at, `expected a list of 1 to ${MAX_TOKEN_NODES} node names or globs`);
  const bad = value.findIndex((v) => typeof v !== 'string' || !isNodeGlob(v));
  if (bad >= 0) return void p.add(`${at}[${bad}]`, `${JSON.stringify(value[bad]).slice(0, 80)} is not a node name or glob (lower-case letters, digits, '-' and '*')`);
  return value as string[];
}

function parseFile(file: string, source: string): unknown {
  try {
    return extname(file).toLowerCase() === '.json' ? JSON.parse(source) : parseYaml(source, { uniqueKeys: true });
  } catch (err) {
    throw new MusterError('MUSTER_ERR_INVALID_SPEC', `${file}: not valid ${extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
}

export async function readDataFile(file: string): Promise<unknown> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (err) {
    throw new MusterError('MUSTER_ERR_INVALID_SPEC', `${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseFile(file, source);
}

/** The configuration from flags over the config file (if any) over defaults. */
export async function resolveConfig(flags: ServerFlags): Promise<ServerConfig> {
  const raw = flags.config === undefined ? {} : await readDataFile(flags.config);
  const where = flags.config ?? 'config';
  const p = new Problems();
  if (!isMap(raw)) throw new MusterError('MUSTER_ERR_INVALID_SPEC', `${where}: expected a map of options`);
  for (const key of Object.keys(raw)) if (!(CONFIG_KEYS as readonly string[]).includes(key)) p.add(key, `unknown option (expected one of: ${CONFIG_KEYS.join(', ')})`);
  // Paths in the file are relative to the file.
  const base = flags.config === undefined ? process.cwd() : dirname(resolve(flags.config));
  const path = (value: string | undefined): string | undefined => (value === undefined ? undefined : resolve(base, value));

  const port = flags.port ?? count(p, 'port', raw['port'], 0);
  if (port !== undefined && port > 65_535) p.add('port', 'expected a port number (0 to 65535)');
  let tokens: ServerConfig['tokens'];
  if (flags.tokens !== undefined) tokens = flags.tokens;
  else if (typeof raw['tokens'] === 'string') tokens = path(raw['tokens']);
  else if (raw['tokens'] !== undefined) tokens = readTokenEntries(raw['tokens'], 'tokens');
  const tlsCert = flags.tlsCert ?? path(text(p, 'tlsCert', raw['tlsCert']));
  const tlsKey = flags.tlsKey ?? path(text(p, 'tlsKey', raw['tlsKey']));
  if ((tlsCert === undefined) !== (tlsKey === undefined)) p.add('tlsCert', 'give both a certificate and a key (--tls-cert and --tls-key), or neither');

  const sites: string[] = [];
  if (raw['sites'] !== undefined) {
    if (!Array.isArray(raw['sites']) || raw['sites'].length === 0) p.add('sites', 'expected a non-empty list of site names');
    else
      raw['sites'].forEach((s: unknown, i: number) => {
        const name = isMap(s) ? s['name'] : s;
        if (typeof name !== 'string' || !isTenantName(name)) return p.add(`sites[${i}]`, 'expected a site name (lower-case letters, digits and -)');
        if (sites.includes(name)) return p.add(`sites[${i}]`, `site ${name} is named twice`);
        sites.push(name);
        return undefined;
      });
  }
  const queues: QueueSpec[] = [];
  if (raw['queues'] !== undefined) {
    if (!Array.isArray(raw['queues'])) p.add('queues', 'expected a list of queue specs');
    else
      raw['queues'].forEach((q: unknown, i: number) => {
        const checked = validateQueue(q);
        if (checked.ok) queues.push(checked.value);
        else for (const problem of checked.problems) p.add(`queues[${i}]`, formatProblem(problem));
      });
    // The configured queues as one tree (parents named too, guarantees that fit): model/queue-set.ts.
    const where = new Map(queues.map((q) => [q.name, `queues[${(raw['queues'] as unknown[]).findIndex((r) => isMap(r) && r['name'] === q.name)}]`]));
    for (const problem of queueSetProblems(new Map(queues.map((q) => [q.name, q])), where)) p.add(problem.path, `${problem.code}: ${problem.message}`);
  }
  const limits: Record<string, number> = {};
  if (raw['limits'] !== undefined) {
    if (!isMap(raw['limits'])) p.add('limits', 'expected a map of limits');
    else
      for (const [key, value] of Object.entries(raw['limits'])) {
        if (!(LIMIT_NAMES as readonly string[]).includes(key)) p.add(`limits.${key}`, `unknown limit (expected one of: ${LIMIT_NAMES.join(', ')})`);
        else {
          const n = count(p, `limits.${key}`, value, 1);
          if (n !== undefined) limits[key] = n;
        }
      }
  }
  const snapshotRaw = raw['snapshot'] ?? {};
  if (!isMap(snapshotRaw)) p.add('snapshot', 'expected { everyEvents, everySeconds }');
  const snap = isMap(snapshotRaw) ? snapshotRaw : {};
  for (const key of Object.keys(snap)) if (!(SNAPSHOT_KEYS as readonly string[]).includes(key)) p.add(`snapshot.${key}`, 'unknown field (expected everyEvents, everySeconds)');
  const everyEvents = count(p, 'snapshot.everyEvents', snap['everyEvents'], 1) ?? SNAPSHOT_EVERY_EVENTS;
  const everySeconds = count(p, 'snapshot.everySeconds', snap['everySeconds'], 1) ?? SNAPSHOT_EVERY_SECONDS;
  const liveness: Record<string, number> = {};
  const livenessRaw = raw['liveness'] ?? {};
  if (!isMap(livenessRaw)) p.add('liveness', `expected a map of ${LIVENESS_KEYS.join(', ')}`);
  else
    for (const [key, value] of Object.entries(livenessRaw)) {
      if (!(LIVENESS_KEYS as readonly string[]).includes(key)) p.add(`liveness.${key}`, `unknown field (expected one of: ${LIVENESS_KEYS.join(', ')})`);
      else if (typeof value !== 'number' || !(value > 0)) p.add(`liveness.${key}`, 'expected a positive number');
      else liveness[key] = value;
    }
  const etcd = readEtcd(p, raw['etcd'], flags, path);
  if (etcd !== undefined && liveness['lostAfterMs'] === undefined) liveness['lostAfterMs'] = HA_LOST_AFTER_MS;
  if (etcd !== undefined && tokens === undefined) p.add('tokens', 'replicas on etcd must share their tokens: give a token file (--tokens FILE or tokens: in the config file), the same on every replica');
  for (const problem of resolveLiveness(liveness).problems) p.add('liveness', problem);
  const retention = readRetention(p, raw['retention']);
  const outputRaw = raw['output'] ?? {};
  if (!isMap(outputRaw)) p.add('output', `expected a map of ${OUTPUT_KEYS.join(', ')}`);
  const outputMap = isMap(outputRaw) ? outputRaw : {};
  for (const key of Object.keys(outputMap)) if (!(OUTPUT_KEYS as readonly string[]).includes(key)) p.add(`output.${key}`, `unknown field (expected one of: ${OUTPUT_KEYS.join(', ')})`);
  const keepBytes = count(p, 'output.keepBytes', outputMap['keepBytes'], 0) ?? DEFAULT_OUTPUT_KEEP_BYTES;
  if (keepBytes > MAX_OUTPUT_KEEP_BYTES) p.add('output.keepBytes', `at most ${MAX_OUTPUT_KEEP_BYTES} (1 GiB per stream)`);
  const workers = count(p, 'workers', raw['workers'], 0);
  const data = flags.data ?? path(text(p, 'data', raw['data'])) ?? DEFAULT_DATA_DIR;
  const host = flags.host ?? text(p, 'host', raw['host']) ?? DEFAULT_HOST;

  if (p.list.length > 0) throw new MusterError('MUSTER_ERR_INVALID_SPEC', `${where}: ${p.list.join('; ')}`);
  return {
    data,
    host,
    port: port ?? DEFAULT_PORT,
    tokens,
    tls: tlsCert !== undefined && tlsKey !== undefined ? { certFile: tlsCert, keyFile: tlsKey } : undefined,
    workers,
    sites: sites.length > 0 ? sites : DEFAULT_SITES,
    queues,
    limits: limits as Partial<GatewayLimits>,
    snapshot: { everyEvents, everySeconds },
    liveness: liveness as Partial<LivenessOptions>,
    retention,
    etcd,
    output: { keepBytes },
  };
}

export const ETCD_KEYS = ['endpoints', 'prefix', 'leaseTtlSeconds', 'tls'] as const;

/** The etcd section (flags win): endpoints as URLs, a prefix starting with `/`, a lease TTL in whole seconds ≥ 1. */
function readEtcd(p: Problems, value: unknown, flags: ServerFlags, path: (v: string | undefined) => string | undefined): EtcdConfig | undefined {
  if (value !== undefined && !isMap(value)) return p.add('etcd', `expected a map of ${ETCD_KEYS.join(', ')}`);
  const raw = value ?? {};
  for (const key of Object.keys(raw)) if (!(ETCD_KEYS as readonly string[]).includes(key)) p.add(`etcd.${key}`, `unknown field (expected one of: ${ETCD_KEYS.join(', ')})`);
  let endpoints: string[] | undefined;
  if (flags.etcd !== undefined) endpoints = flags.etcd.split(',').map((e) => e.trim()).filter((e) => e !== '');
  else if (raw['endpoints'] !== undefined) {
    if (!Array.isArray(raw['endpoints']) || raw['endpoints'].some((e) => typeof e !== 'string')) return p.add('etcd.endpoints', 'expected a list of URLs (http://host:2379)');
    endpoints = raw['endpoints'] as string[];
  }
  if (endpoints === undefined) {
    if (flags.etcdPrefix !== undefined || flags.leaseTtlSeconds !== undefined || Object.keys(raw).length > 0) p.add('etcd.endpoints', 'give the etcd endpoints (--etcd URL[,URL…]) to use the other etcd options');
    return undefined;
  }
  if (endpoints.length === 0) return p.add('etcd.endpoints', 'expected at least one URL');
  endpoints.forEach((e, i) => {
    if (!/^https?:\/\/[^/\s]+$/.test(e)) p.add(`etcd.endpoints[${i}]`, `${JSON.stringify(e).slice(0, 80)} is not an etcd URL (http://host:port or https://host:port)`);
  });
  const prefix = flags.etcdPrefix ?? text(p, 'etcd.prefix', raw['prefix']) ?? DEFAULT_ETCD_PREFIX;
  if (!/^\/[A-Za-z0-9._\/-]*[^/]$/.test(prefix)) p.add('etcd.prefix', `${JSON.stringify(prefix).slice(0, 80)}: expected a key prefix like /muster (starts with /, does not end with /)`);
  const ttl = flags.leaseTtlSeconds ?? count(p, 'etcd.leaseTtlSeconds', raw['leaseTtlSeconds'], 1) ?? DEFAULT_LEASE_TTL_SECONDS;
  const tls = readEtcdTls(p, raw['tls'], path);
  const secure = endpoints.filter((e) => e.startsWith('https://')).length;
  if (secure > 0 && secure < endpoints.length) p.add('etcd.endpoints', 'use https:// for every endpoint or for none');
  if (secure > 0 && tls === undefined) p.add('etcd.tls', 'https:// endpoints need tls: { caFile } (and certFile and keyFile for client-certificate auth)');
  if (secure === 0 && tls !== undefined) p.add('etcd.tls', 'tls is for https:// endpoints; these are http://');
  return { endpoints, prefix, leaseTtlSeconds: ttl, ...(tls ? { tls } : {}) };
}

export const ETCD_TLS_KEYS = ['caFile', 'certFile', 'keyFile'] as const;

/** `tls: { caFile, certFile?, keyFile? }`, paths relative to the config file; cert and key together or neither. */
function readEtcdTls(p: Problems, value: unknown, path: (v: string | undefined) => string | undefined): EtcdTls | undefined {
  if (value === undefined) return undefined;
  if (!isMap(value)) return p.add('etcd.tls', 'expected { caFile, certFile?, keyFile? }');
  for (const key of Object.keys(value)) if (!(ETCD_TLS_KEYS as readonly string[]).includes(key)) p.add(`etcd.tls.${key}`, 'unknown field (expected caFile, certFile, keyFile)');
  const caFile = path(text(p, 'etcd.tls.caFile', value['caFile']));
  const certFile = path(text(p, 'etcd.tls.certFile', value['certFile']));
  const keyFile = path(text(p, 'etcd.tls.keyFile', value['keyFile']));
  if (caFile === undefined) return p.add('etcd.tls.caFile', 'required: the CA that signed etcd\'s certificate (PEM)');
  if ((certFile === undefined) !== (keyFile === undefined)) return p.add('etcd.tls.certFile', 'give both certFile and keyFile (client-certificate auth), or neither');
  return { caFile, ...(certFile !== undefined ? { certFile } : {}), ...(keyFile !== undefined ? { keyFile } : {}) };
}

export const RETENTION_KEYS = ['maxAge', 'maxEndedPerTenant', 'keyWindow'] as const;

/** `retention: { maxAge, maxEndedPerTenant, keyWindow }`: durations (`1h`, `30m`, seconds as a number) and a count. */
function readRetention(p: Problems, value: unknown): RetentionPolicy {
  if (value === undefined) return DEFAULT_RETENTION;
  if (!isMap(value)) {
    p.add('retention', `expected a map of ${RETENTION_KEYS.join(', ')}`);
    return DEFAULT_RETENTION;
  }
  for (const key of Object.keys(value)) if (!(RETENTION_KEYS as readonly string[]).includes(key)) p.add(`retention.${key}`, `unknown field (expected one of: ${RETENTION_KEYS.join(', ')})`);
  const duration = (key: string, fallback: number): number => {
    if (value[key] === undefined) return fallback;
    const parsed = parseDuration(value[key]);
    if (!parsed.ok) return p.add(`retention.${key}`, parsed.message) ?? fallback;
    if (parsed.value <= 0) return p.add(`retention.${key}`, 'expected a duration above zero') ?? fallback;
    return parsed.value;
  };
  return {
    maxAgeMs: duration('maxAge', DEFAULT_RETENTION.maxAgeMs),
    maxEndedPerTenant: count(p, 'retention.maxEndedPerTenant', value['maxEndedPerTenant'], 0) ?? DEFAULT_RETENTION.maxEndedPerTenant,
    keyWindowMs: duration('keyWindow', DEFAULT_RETENTION.keyWindowMs),
  };
}

export const LIVENESS_KEYS = Object.keys(DEFAULT_LIVENESS) as (keyof LivenessOptions)[];
