/**
 * How the etcd store and its follower talk to etcd: every call with a deadline, every failure as one of the
 * store's codes, every write fenced, every read of many keys paged.
 *
 * - A call's deadline is `ETCD_CALL_DEADLINE_MS`, retries included (the etcd3 client retries an unavailable
 *   member on another one within it). A failure is `MUSTER_ERR_STORE_FAILED` naming what was being done,
 *   with etcd's error as its cause.
 * - A fenced transaction compares the fence key's create revision with the writer's epoch before anything
 *   else; when that compare fails it is `MUSTER_ERR_FENCED` and etcd applied nothing.
 * - A paged read asks for as many keys as fit `ETCD_PAGE_BYTES` judging by the biggest value seen so far, at
 *   one revision for every page (a consistent view however long the read).
 */
import { GRPCResourceExhastedError, type Etcd3, type ICompare, type IKeyValue, type IRequestOp, type ITxnResponse } from 'etcd3';
import { MusterError, codeOf } from '../errors/index.js';
import { keyAfter } from './etcd-keys.js';
import { ETCD_CALL_DEADLINE_MS, ETCD_PAGE_BYTES, ETCD_PAGE_KEYS_MAX, ETCD_TXN_VALUE_BYTES } from './limits.js';

/** The leader's election key and its create revision: the epoch every write of this writer is fenced by. */
export interface EtcdFence {
  readonly key: string;
  readonly epoch: number;
}

/** gRPC call options with the deadline of one etcd call from now. */
export function callOptions(): { deadline: number } {
  return { deadline: Date.now() + ETCD_CALL_DEADLINE_MS };
}

/** Runs `call` with a deadline; its failure is `MUSTER_ERR_STORE_FAILED` (our own coded errors pass as they are). */
export async function etcdCall<T>(what: string, call: (options: { deadline: number }) => Promise<T>): Promise<T> {
  try {
    return await call(callOptions());
  } catch (err) {
    throw etcdFailure(what, err);
  }
}

/** `err` as a coded error: ours keep their code (a coded RangeError becomes a MusterError), etcd's are STORE_FAILED. */
export function etcdFailure(what: string, err: unknown): MusterError {
  if (err instanceof MusterError) return err;
  const why = err instanceof Error ? err.message : String(err);
  const code = codeOf(err);
  if (code !== undefined) return new MusterError(code, why, { cause: err });
  return new MusterError('MUSTER_ERR_STORE_FAILED', `etcd: ${what} failed: ${why}`, { cause: err });
}

/** Whether `err` (or its cause) is etcd's "required revision has been compacted". */
export function isCompacted(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e.message.includes('required revision has been compacted')) return true;
  }
  return false;
}

function fenceCompare(fence: EtcdFence): ICompare {
  return { key: Buffer.from(fence.key), target: 'Create', result: 'Equal', create_revision: fence.epoch };
}

function fencedError(fence: EtcdFence, kv: IKeyValue | undefined, what: string): MusterError {
  const now = kv === undefined ? 'is gone' : `now has create revision ${kv.create_revision}`;
  return new MusterError('MUSTER_ERR_FENCED', `${what} refused: the fence key ${fence.key} ${now}, not ${fence.epoch} (this writer's epoch); a newer writer may be writing. Nothing was written`);
}

/** Throws `MUSTER_ERR_FENCED` unless the fence key exists with create revision `fence.epoch`. */
export async function checkFence(client: Etcd3, fence: EtcdFence, what: string): Promise<void> {
  const response = await etcdCall(`${what}: reading the fence key`, (o) => client.kv.range({ key: Buffer.from(fence.key) }, o));
  const kv = response.kvs[0];
  if (kv === undefined || Number(kv.create_revision) !== fence.epoch) throw fencedError(fence, kv, what);
}

export interface FencedTxn {
  /** Compared after the fence. */
  readonly compare?: readonly ICompare[];
  readonly success: readonly IRequestOp[];
  /** Run when a compare fails, after a read of the fence key (the response's first entry). */
  readonly failure?: readonly IRequestOp[];
}

/**
 * One transaction guarded by the fence. Throws `MUSTER_ERR_FENCED` when the fence compare failed (etcd applied
 * nothing); otherwise returns the response, which is `succeeded: false` when only the caller's compares
 * failed (then `responses[1..]` answer `failure`).
 */
export async function fencedTxn(client: Etcd3, fence: EtcdFence, what: string, txn: FencedTxn): Promise<ITxnResponse> {
  const response = await etcdCall(what, (o) =>
    client.kv.txn(
      {
        compare: [fenceCompare(fence), ...(txn.compare ?? [])],
        success: [...txn.success],
        failure: [{ request_range: { key: Buffer.from(fence.key) } }, ...(txn.failure ?? [])],
      },
      o,
    ),
  );
  if (!response.succeeded) {
    const kv = response.responses[0]?.response_range.kvs[0];
    if (kv === undefined || Number(kv.create_revision) !== fence.epoch) throw fencedError(fence, kv, what);
  }
  return response;
}

export interface PagedRead {
  readonly start: Buffer;
  /** Exclusive. */
  readonly end: Buffer;
  /** The revision to read at; 0 reads the newest and every later page at the revision of the first. */
  readonly revision: number;
  /** The biggest value expected (sets the first page's size); default the most one transaction writes. */
  readonly largestValue?: number;
  readonly keysOnly?: boolean;
  /** Stop after this many keys. */
  readonly limit?: number;
}

/** Keys-only pages are this long: a key is tens of bytes. */
const KEYS_ONLY_PAGE = 1000;

/**
 * Reads `[start, end)` in key order, page by page, at one revision; `onPage` takes each page's keys in
 * order. Returns the revision read at. A page the client refuses as too big (gRPC's receive limit) is asked
 * again one key at a time.
 */
export async function readPaged(client: Etcd3, what: string, read: PagedRead, onPage: (kvs: readonly IKeyValue[]) => void | Promise<void>): Promise<number> {
  let revision = read.revision;
  let largest = read.largestValue ?? ETCD_TXN_VALUE_BYTES;
  let start = read.start;
  let left = read.limit ?? Number.POSITIVE_INFINITY;
  for (;;) {
    const pageKeys = read.keysOnly ? KEYS_ONLY_PAGE : Math.max(1, Math.min(ETCD_PAGE_KEYS_MAX, Math.floor(ETCD_PAGE_BYTES / Math.max(largest, 1))));
    const limit = Math.min(pageKeys, left);
    const request = { key: start, range_end: read.end, revision, limit, keys_only: read.keysOnly === true };
    let response;
    try {
      response = await etcdCall(what, (o) => client.kv.range(request, o));
    } catch (err) {
      if (!(err instanceof MusterError && err.cause instanceof GRPCResourceExhastedError) || limit === 1) throw err;
      largest = 2 * ETCD_PAGE_BYTES; // the values are bigger than seen: one at a time until they are not
      continue;
    }
    if (revision === 0) revision = Number(response.header.revision);
    if (response.kvs.length > 0) {
      await onPage(response.kvs);
      // The next page's size follows this page's biggest value: big values make short pages.
      largest = response.kvs.reduce((max, kv) => Math.max(max, kv.value.length), 0);
      left -= response.kvs.length;
    }
    const last = response.kvs.at(-1);
    if (!response.more || last === undefined || left <= 0) return revision;
    start = keyAfter(last.key);
  }
}

/** The greatest key in `[start, end)` at `revision` (0: the newest), with its value, or undefined. */
export async function lastKeyIn(client: Etcd3, what: string, start: Buffer, end: Buffer, revision: number): Promise<{ kv: IKeyValue | undefined; revision: number }> {
  const response = await etcdCall(what, (o) => client.kv.range({ key: start, range_end: end, revision, limit: 1, sort_order: 'Descend', sort_target: 'Key' }, o));
  return { kv: response.kvs[0], revision: Number(response.header.revision) };
}
