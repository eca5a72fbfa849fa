/**
 * The requests of both WebSocket endpoints, read from decoded frames: every field checked for presence,
 * type and range, unknown fields refused (`MUSTER_ERR_UNKNOWN_FIELD`), the first problem reported with the
 * path of its field. Job specs inside a submit are not checked here: they are validated one by one by the
 * model (`validateJob`), so one bad job does not refuse its batch.
 *
 * Inside this module a refusal is thrown as a `Refusal` and caught at the two entry points, which turn it
 * into a value: the readers stay short, and nothing thrown here leaves the module.
 */
import type { ErrorCode } from '../errors/index.js';
import type { ApiError } from './api-error.js';
import { apiError } from './api-error.js';
import { MAX_ECHO_CHARS, quote } from '../model/index.js';
import type { GatewayLimits } from './limits.js';
import { MAX_ID_BYTES, MAX_WATCH_JOBS } from './limits.js';
import type { OutputChunk } from './output-keeper.js';
import { MAX_OUTPUT_CHUNK_BYTES } from './output-keeper.js';

export type RequestId = number | string;

export interface WatchFilter {
  readonly jobs?: readonly string[];
  readonly queue?: string;
  readonly tenant?: string;
}

export type ClientRequest =
  | { readonly kind: 'submit'; readonly id: RequestId; readonly jobs: readonly unknown[]; readonly tenant?: string; readonly holdUnsatisfiable?: boolean }
  | { readonly kind: 'cancel'; readonly id: RequestId; readonly jobs: readonly string[] }
  | { readonly kind: 'watch'; readonly id: RequestId; readonly filter: WatchFilter; readonly from?: number }
  | { readonly kind: 'unwatch'; readonly id: RequestId; readonly watch: RequestId };

export interface AttemptFields {
  readonly job: string;
  readonly task: number;
  readonly attempt: number;
}

/** How an agent says an attempt ended (PROTOCOL.md): `lost` when it cannot know, or gave it up at its fence. */
export const AGENT_OUTCOMES = ['succeeded', 'failed', 'timeout', 'killed', 'lost'] as const;
export type AgentOutcome = (typeof AGENT_OUTCOMES)[number];

/** An attempt's end as an agent reports it (an `ended` frame, or an item of `register.ended`). */
export interface AgentEnd extends AttemptFields {
  readonly outcome: AgentOutcome;
  readonly exitCode?: number;
  readonly signal?: string;
  readonly reason?: string;
}

export type AgentRequest =
  | {
      readonly kind: 'register';
      readonly id: RequestId;
      readonly node: unknown;
      readonly running: readonly (AttemptFields & { readonly epoch: number })[];
      readonly ended: readonly AgentEnd[];
    }
  | { readonly kind: 'heartbeat'; readonly id?: RequestId; readonly nodes: readonly string[] }
  | ({ readonly kind: 'started'; readonly id?: RequestId; readonly node: string } & AttemptFields)
  | ({ readonly kind: 'ended'; readonly id?: RequestId; readonly node: string } & AgentEnd)
  /** A chunk of output answering the server's `logs` request `id`. */
  | { readonly kind: 'log'; readonly id: RequestId; readonly data: Uint8Array; readonly eof: boolean }
  /** A piece of an ended attempt's output, for the control plane's copy (answered `output-stored`). */
  | ({ readonly kind: 'output'; readonly id: RequestId; readonly node: string } & OutputChunk)
  /** The agent refused a command (a stale epoch): logged, nothing else. */
  | { readonly kind: 'error'; readonly id?: RequestId; readonly code: string; readonly message: string; readonly node?: string };

export type Read<T> = { readonly ok: true; readonly request: T } | { readonly ok: false; readonly error: ApiError; readonly id?: RequestId };

type Fields = Readonly<Record<string, unknown>>;

class Refusal {
  constructor(readonly error: ApiError) {}
}

function refuse(code: ErrorCode, field: string, message: string): never {
  throw new Refusal(apiError(code, `${field}: ${message}`, { field }));
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'binary';
  return typeof value === 'object' ? 'a map' : typeof value;
}

/** The path of `key` under `prefix`; a key longer than an error may echo is quoted and cut (model's `quote`). */
function path(prefix: string, key: string): string {
  const shown = key.length > MAX_ECHO_CHARS ? quote(key) : key;
  return prefix === '' ? shown : `${prefix}.${shown}`;
}

function only(fields: Fields, allowed: readonly string[], prefix: string): void {
  for (const key in fields) {
    if (!allowed.includes(key)) refuse('MUSTER_ERR_UNKNOWN_FIELD', path(prefix, key), `unknown field (expected one of: ${allowed.join(', ')})`);
  }
}

function map(value: unknown, field: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) refuse('MUSTER_ERR_INVALID_TYPE', field, `expected a map, got ${describe(value)}`);
  return value as Fields;
}

function present(fields: Fields, key: string, prefix: string): unknown {
  const value = fields[key];
  if (value === undefined || value === null) refuse('MUSTER_ERR_REQUIRED', path(prefix, key), 'is required');
  return value;
}

function string(value: unknown, field: string, maxBytes: number): string {
  if (typeof value !== 'string') refuse('MUSTER_ERR_INVALID_TYPE', field, `expected a string, got ${describe(value)}`);
  if (value === '') refuse('MUSTER_ERR_INVALID_VALUE', field, 'must not be empty');
  if (Buffer.byteLength(value) > maxBytes) refuse('MUSTER_ERR_INVALID_VALUE', field, `is longer than ${maxBytes} bytes`);
  return value;
}

function uint(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) refuse('MUSTER_ERR_INVALID_TYPE', field, `expected an unsigned integer, got ${describe(value)}`);
  if (value < 0) refuse('MUSTER_ERR_INVALID_VALUE', field, 'must not be negative');
  return value;
}

function list(value: unknown, field: string, max: number, tooMany: ErrorCode = 'MUSTER_ERR_INVALID_VALUE'): readonly unknown[] {
  if (!Array.isArray(value)) refuse('MUSTER_ERR_INVALID_TYPE', field, `expected an array, got ${describe(value)}`);
  if (value.length === 0) refuse('MUSTER_ERR_INVALID_VALUE', field, 'must not be empty');
  if (value.length > max) refuse(tooMany, field, `has ${value.length} items; the most is ${max}`);
  return value;
}

function requestId(value: unknown, field = 'id'): RequestId {
  if (typeof value === 'number') return uint(value, field);
  if (typeof value === 'string') return string(value, field, MAX_ID_BYTES);
  return refuse('MUSTER_ERR_INVALID_TYPE', field, `expected an unsigned integer or a string, got ${describe(value)}`);
}

function optional<T>(fields: Fields, key: string, read: (value: unknown) => T): T | undefined {
  const value = fields[key];
  return value === undefined || value === null ? undefined : read(value);
}

function jobIds(value: unknown, field: string, max: number): string[] {
  return list(value, field, max).map((id, i) => string(id, `${field}[${i}]`, MAX_ID_BYTES));
}

/** Runs a reader; a refusal comes back with the request's id when the frame had a readable one. */
function read<T>(frame: Fields, body: (id: RequestId | undefined) => T, idRequired: boolean): Read<T> {
  let id: RequestId | undefined;
  try {
    id = idRequired ? requestId(present(frame, 'id', '')) : optional(frame, 'id', requestId);
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, error: err.error };
    throw err;
  }
  try {
    return { ok: true, request: body(id) };
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, error: err.error, ...(id !== undefined ? { id } : {}) };
    throw err;
  }
}

function unknownKind(kind: unknown, known: readonly string[]): never {
  const shown = typeof kind === 'string' ? quote(kind) : typeof kind;
  throw new Refusal(apiError('MUSTER_ERR_UNKNOWN_KIND', `unknown kind ${shown} (this endpoint knows: ${known.join(', ')})`, { field: 'kind' }));
}

const CLIENT_KINDS = ['submit', 'cancel', 'watch', 'unwatch'] as const;

/** A request of `/v1/submit` from a decoded frame (a map with a string `kind`). */
export function readClientRequest(frame: Fields, limits: Pick<GatewayLimits, 'maxJobsPerSubmit'>): Read<ClientRequest> {
  return read<ClientRequest>(
    frame,
    (maybeId) => {
      const id = maybeId!;
      switch (frame['kind']) {
        case 'submit': {
          only(frame, ['kind', 'id', 'jobs', 'tenant', 'holdUnsatisfiable'], '');
          const jobs = list(present(frame, 'jobs', ''), 'jobs', limits.maxJobsPerSubmit, 'MUSTER_ERR_BATCH_TOO_LARGE');
          const tenant = optional(frame, 'tenant', (v) => string(v, 'tenant', 63));
          const hold = optional(frame, 'holdUnsatisfiable', (v) => {
            if (typeof v !== 'boolean') refuse('MUSTER_ERR_INVALID_TYPE', 'holdUnsatisfiable', `expected a boolean, got ${describe(v)}`);
            return v as boolean;
          });
          return { kind: 'submit', id, jobs, ...(tenant !== undefined ? { tenant } : {}), ...(hold === true ? { holdUnsatisfiable: true } : {}) };
        }
        case 'cancel':
          only(frame, ['kind', 'id', 'jobs'], '');
          return { kind: 'cancel', id, jobs: jobIds(present(frame, 'jobs', ''), 'jobs', limits.maxJobsPerSubmit) };
        case 'watch': {
          only(frame, ['kind', 'id', 'filter', 'from'], '');
          const filter = optional(frame, 'filter', (v) => {
            const f = map(v, 'filter');
            only(f, ['jobs', 'queue', 'tenant'], 'filter');
            const jobs = optional(f, 'jobs', (j) => jobIds(j, 'filter.jobs', MAX_WATCH_JOBS));
            const queue = optional(f, 'queue', (q) => string(q, 'filter.queue', 255));
            const tenant = optional(f, 'tenant', (t) => string(t, 'filter.tenant', 63));
            return { ...(jobs ? { jobs } : {}), ...(queue !== undefined ? { queue } : {}), ...(tenant !== undefined ? { tenant } : {}) };
          });
          const from = optional(frame, 'from', (v) => uint(v, 'from'));
          return { kind: 'watch', id, filter: filter ?? {}, ...(from !== undefined ? { from } : {}) };
        }
        case 'unwatch':
          only(frame, ['kind', 'id', 'watch'], '');
          return { kind: 'unwatch', id, watch: requestId(present(frame, 'watch', ''), 'watch') };
        default:
          return unknownKind(frame['kind'], CLIENT_KINDS);
      }
    },
    true,
  );
}

const AGENT_KINDS = ['register', 'heartbeat', 'started', 'ended', 'log', 'output', 'error', 'batch'] as const;

/** Largest chunk of output in one `log` frame. */
const MAX_LOG_CHUNK = 1 << 20;

function attempt(fields: Fields, prefix: string): AttemptFields {
  return {
    job: string(present(fields, 'job', prefix), path(prefix, 'job'), MAX_ID_BYTES),
    task: uint(present(fields, 'task', prefix), path(prefix, 'task')),
    attempt: uint(present(fields, 'attempt', prefix), path(prefix, 'attempt')),
  };
}

const END_FIELDS = ['job', 'task', 'attempt', 'outcome', 'exitCode', 'signal', 'reason'];

/** An end's fields (of an `ended` frame at `prefix` '', or of an item of `register.ended`). */
function end(fields: Fields, prefix: string): AgentEnd {
  const outcome = present(fields, 'outcome', prefix);
  if (typeof outcome !== 'string' || !(AGENT_OUTCOMES as readonly string[]).includes(outcome)) {
    refuse('MUSTER_ERR_INVALID_VALUE', path(prefix, 'outcome'), `must be one of: ${AGENT_OUTCOMES.join(', ')}`);
  }
  const exitCode = optional(fields, 'exitCode', (v) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) refuse('MUSTER_ERR_INVALID_TYPE', path(prefix, 'exitCode'), `expected an integer, got ${describe(v)}`);
    return v;
  });
  const signal = optional(fields, 'signal', (v) => string(v, path(prefix, 'signal'), 32));
  const reason = optional(fields, 'reason', (v) => string(v, path(prefix, 'reason'), 1024));
  return {
    ...attempt(fields, prefix),
    outcome: outcome as AgentOutcome,
    ...(exitCode !== undefined ? { exitCode } : {}),
    ...(signal !== undefined ? { signal } : {}),
    ...(reason !== undefined ? { reason } : {}),
  };
}

/** An optional array field (absent: empty) of at most `max` items. */
function optionalList(fields: Fields, key: string, max: number): readonly unknown[] {
  const raw = fields[key] ?? [];
  if (!Array.isArray(raw)) refuse('MUSTER_ERR_INVALID_TYPE', key, `expected an array, got ${describe(raw)}`);
  if (raw.length > max) refuse('MUSTER_ERR_INVALID_VALUE', key, `has ${raw.length} items; the most is ${max}`);
  return raw;
}

/** An `output` frame's chunk: its numbers must describe a piece of the kept tail of one stream. */
function outputChunk(frame: Fields): OutputChunk {
  const stream = present(frame, 'stream', '');
  if (stream !== 'stdout' && stream !== 'stderr') refuse('MUSTER_ERR_INVALID_VALUE', 'stream', 'must be stdout or stderr');
  const size = uint(present(frame, 'size', ''), 'size');
  const from = uint(present(frame, 'from', ''), 'from');
  const offset = uint(present(frame, 'offset', ''), 'offset');
  const data = present(frame, 'data', '');
  if (!(data instanceof Uint8Array)) refuse('MUSTER_ERR_INVALID_TYPE', 'data', `expected bytes, got ${describe(data)}`);
  if (data.length > MAX_OUTPUT_CHUNK_BYTES) refuse('MUSTER_ERR_INVALID_VALUE', 'data', `has ${data.length} bytes; the most is ${MAX_OUTPUT_CHUNK_BYTES}`);
  const last = present(frame, 'last', '');
  if (typeof last !== 'boolean') refuse('MUSTER_ERR_INVALID_TYPE', 'last', `expected a boolean, got ${describe(last)}`);
  if (from > size) refuse('MUSTER_ERR_INVALID_VALUE', 'from', `${from} is past size ${size}`);
  if (offset < from || offset + data.length > size) refuse('MUSTER_ERR_INVALID_VALUE', 'offset', `the chunk [${offset}, ${offset + data.length}) is outside the kept part [${from}, ${size})`);
  if (last !== (offset + data.length === size)) refuse('MUSTER_ERR_INVALID_VALUE', 'last', last ? `the chunk ends at ${offset + data.length}, not at size ${size}` : `the chunk ends at size ${size}: it is the last`);
  return { ...attempt(frame, ''), stream, size, from, offset, data, last };
}

/** Most attempts one `register` may report running (and most ends it may carry): a node runs at most this many tasks at once. */
export const MAX_RUNNING_PER_REGISTER = 65_536;

/** Most nodes one `heartbeat` may name (a simulated fleet beats for all its nodes in one frame). */
export const MAX_NODES_PER_HEARTBEAT = 100_000;

/** A request of `/v1/agent` (not `batch`: the endpoint unwraps batches and reads each frame in it). */
export function readAgentRequest(frame: Fields): Read<AgentRequest> {
  const kind = frame['kind'];
  return read<AgentRequest>(
    frame,
    (id) => {
      const withId = id !== undefined ? { id } : {};
      switch (kind) {
        case 'register': {
          only(frame, ['kind', 'id', 'node', 'running', 'ended'], '');
          map(present(frame, 'node', ''), 'node');
          const running = optionalList(frame, 'running', MAX_RUNNING_PER_REGISTER).map((r, i) => {
            const at = `running[${i}]`;
            const f = map(r, at);
            only(f, ['job', 'task', 'attempt', 'epoch'], at);
            return { ...attempt(f, at), epoch: uint(present(f, 'epoch', at), `${at}.epoch`) };
          });
          const ended = optionalList(frame, 'ended', MAX_RUNNING_PER_REGISTER).map((e, i) => {
            const at = `ended[${i}]`;
            const f = map(e, at);
            only(f, END_FIELDS, at);
            return end(f, at);
          });
          return { kind: 'register', id: id!, node: frame['node'], running, ended };
        }
        case 'heartbeat': {
          only(frame, ['kind', 'id', 'node', 'nodes'], '');
          const one = optional(frame, 'node', (v) => string(v, 'node', 63));
          const many = optional(frame, 'nodes', (v) => list(v, 'nodes', MAX_NODES_PER_HEARTBEAT).map((n, i) => string(n, `nodes[${i}]`, 63)));
          if (one === undefined && many === undefined) refuse('MUSTER_ERR_REQUIRED', 'node', 'is required (or nodes)');
          return { kind: 'heartbeat', ...withId, nodes: [...(one !== undefined ? [one] : []), ...(many ?? [])] };
        }
        case 'started':
          only(frame, ['kind', 'id', 'node', 'job', 'task', 'attempt'], '');
          return { kind: 'started', ...withId, node: string(present(frame, 'node', ''), 'node', 63), ...attempt(frame, '') };
        case 'ended':
          only(frame, ['kind', 'id', 'node', ...END_FIELDS], '');
          return { kind: 'ended', ...withId, node: string(present(frame, 'node', ''), 'node', 63), ...end(frame, '') };
        case 'log': {
          only(frame, ['kind', 'id', 'data', 'eof'], '');
          const data = present(frame, 'data', '');
          if (!(data instanceof Uint8Array)) refuse('MUSTER_ERR_INVALID_TYPE', 'data', `expected bytes, got ${describe(data)}`);
          if (data.length > MAX_LOG_CHUNK) refuse('MUSTER_ERR_INVALID_VALUE', 'data', `has ${data.length} bytes; the most is ${MAX_LOG_CHUNK}`);
          const eof = frame['eof'] === undefined ? false : frame['eof'];
          if (typeof eof !== 'boolean') refuse('MUSTER_ERR_INVALID_TYPE', 'eof', `expected a boolean, got ${describe(eof)}`);
          return { kind: 'log', id: requestId(present(frame, 'id', '')), data, eof };
        }
        case 'output':
          only(frame, ['kind', 'id', 'node', 'job', 'task', 'attempt', 'stream', 'size', 'from', 'offset', 'data', 'last'], '');
          return { kind: 'output', id: requestId(present(frame, 'id', '')), node: string(present(frame, 'node', ''), 'node', 63), ...outputChunk(frame) };
        case 'error': {
          only(frame, ['kind', 'id', 'code', 'message', 'node'], '');
          const node = optional(frame, 'node', (v) => string(v, 'node', 63));
          return { kind: 'error', ...withId, code: string(present(frame, 'code', ''), 'code', 64), message: string(present(frame, 'message', ''), 'message', 4096), ...(node !== undefined ? { node } : {}) };
        }
        default:
          return unknownKind(kind, AGENT_KINDS);
      }
    },
    kind === 'register',
  );
}

/** The frames of an agent's `batch`, or a refusal of the whole batch. */
export function readBatch(frame: Fields, maxFrames: number): Read<readonly Fields[]> {
  return read(
    frame,
    () => {
      only(frame, ['kind', 'id', 'frames'], '');
      return list(present(frame, 'frames', ''), 'frames', maxFrames).map((f, i) => {
        const m = map(f, `frames[${i}]`);
        if (typeof m['kind'] !== 'string') refuse('MUSTER_ERR_REQUIRED', `frames[${i}].kind`, 'is required (a string)');
        if (m['kind'] === 'batch') refuse('MUSTER_ERR_INVALID_VALUE', `frames[${i}].kind`, 'batches do not nest');
        return m;
      });
    },
    false,
  );
}
