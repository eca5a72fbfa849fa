/**
 * How the etcd store and its follower talk to etcd: every call with a deadline, every failure as one of the
 * store's codes, every write fenced, every read of many keys paged.
 *
 * - A call's deadline is `ETCD_CALL_DEADLINE_MS`, its attempts included (each with a shorter deadline of its
 *   own; the etcd3 client also retries an unavailable member on another one within an attempt). A failure
 *   is `MUSTER_ERR_STORE_FAILED` naming what was being done, with etcd's error as its cause.
 * - A fenced transaction compares the fence key's create revision with the writer's epoch before anything
 *   else; when that compare fails it is `MUSTER_ERR_FENCED` and etcd applied nothing.
 * - A read of many keys lists them first, then fetches a few values per request (a response must stay
 *   within gRPC's message limit, and etcd cannot bound one by bytes), every page at one revision (a
 *   consistent view however long the read).
 */
import { isRecoverableError, type Etcd3, type ICompare, type IKeyValue, type IRequestOp, type ITxnResponse } from 'etcd3';
import { MusterError, codeOf } from '../errors/index.js';
import { keyAfter } from './etcd-keys.js';
import { ETCD_ATTEMPT_DEADLINE_MS, ETCD_CALL_DEADLINE_MS, ETCD_KEYS_PER_READ, ETCD_RETRY_PAUSE_MS, ETCD_LIST_KEYS, ETCD_READS_IN_FLIGHT } from './limits.js';

/** The leader's election key and its create revision: the epoch every write of this writer is fenced by. */
export interface EtcdFence {
  readonly key: string;
  readonly epoch: number;
}

/**
 * Runs `call` until it succeeds, each attempt with its own deadline (`ETCD_ATTEMPT_DEADLINE_MS`), all of
 * them within `ETCD_CALL_DEADLINE_MS`; only failures worth retrying are retried (a member unavailable or
 * stopped, a deadline, a leader change, the client's circuit breaker open). Its failure is
 * `MUSTER_ERR_STORE_FAILED`; our own coded errors pass as they are. Every call the store makes may be made
 * twice: reads, deletes and snapshot puts are idempotent, and an append whose earlier attempt was applied
 * finds its own bytes in its key (etcd-log-sink.ts).
 */
export async function etcdCall<T>(what: string, call: (options: { deadline: number }) => Promise<T>): Promise<T> {
  const deadline = Date.now() + ETCD_CALL_DEADLINE_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call({ deadline: Math.min(deadline, Date.now() + ETCD_ATTEMPT_DEADLINE_MS) });
    } catch (err) {
      if (!worthRetrying(err) || deadline - Date.now() < 2 * ETCD_RETRY_PAUSE_MS) throw etcdFailure(attempt === 1 ? what : `${what} (${attempt} attempts)`, err);
    }
    await new Promise((resolve) => setTimeout(resolve, ETCD_RETRY_PAUSE_MS));
  }
}

function worthRetrying(err: unknown): boolean {
  return err instanceof Error && (isRecoverableError(err) || (err as { isBrokenCircuitError?: unknown }).isBrokenCircuitError === true);
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
}

/**
 * Reads `[start, end)` with values, in key order, at one revision; `onPage` takes the keys in order, a
 * round at a time. Returns the revision read at. The keys are listed first (keys only), then fetched
 * `ETCD_KEYS_PER_READ` at a time, `ETCD_READS_IN_FLIGHT` reads at once: every response stays within gRPC's
 * message limit whatever the values' sizes.
 */
export async function readPaged(client: Etcd3, what: string, read: PagedRead, onPage: (kvs: readonly IKeyValue[]) => void | Promise<void>): Promise<number> {
  let revision = read.revision;
  let start = read.start;
  for (;;) {
    const listing = await etcdCall(what, (o) => client.kv.range({ key: start, range_end: read.end, revision, limit: ETCD_LIST_KEYS, keys_only: true }, o));
    if (revision === 0) revision = Number(listing.header.revision);
    const keys = listing.kvs.map((kv) => kv.key);
    const round = ETCD_KEYS_PER_READ * ETCD_READS_IN_FLIGHT;
    for (let i = 0; i < keys.length; i += round) {
      const reads: Promise<IKeyValue[]>[] = [];
      for (let k = i; k < Math.min(keys.length, i + round); k += ETCD_KEYS_PER_READ) {
        const first = keys[k] as Buffer;
        const last = keys[Math.min(keys.length, k + ETCD_KEYS_PER_READ) - 1] as Buffer;
        const at = revision;
        reads.push(etcdCall(what, (o) => client.kv.range({ key: first, range_end: keyAfter(last), revision: at, limit: ETCD_KEYS_PER_READ }, o)).then((r) => r.kvs));
      }
      await onPage((await Promise.all(reads)).flat());
    }
    const last = keys.at(-1);
    if (!listing.more || last === undefined) return revision;
    start = keyAfter(last);
  }
}

/** The greatest key in `[start, end)` at `revision` (0: the newest), with its value, or undefined. */
export async function lastKeyIn(client: Etcd3, what: string, start: Buffer, end: Buffer, revision: number): Promise<{ kv: IKeyValue | undefined; revision: number }> {
  const response = await etcdCall(what, (o) => client.kv.range({ key: start, range_end: end, revision, limit: 1, sort_order: 'Descend', sort_target: 'Key' }, o));
  return { kv: response.kvs[0], revision: Number(response.header.revision) };
}
