/**
 * Every etcd call the election makes has a deadline of its own: gRPC's (so etcd drops it) and a timer here
 * (so our wait ends even when the client library retries on other members or waits for a connection).
 * Also: the election's key names and what its values say.
 */
import type { IKeyValue } from 'etcd3';
import { MusterError } from '../errors/index.js';
import type { LeaderInfo } from './types.js';

/** Bounded waits on etcd calls; `abandon()` (at close) clears the timers of calls still waiting. */
export class CallDeadlines {
  readonly #pending = new Set<() => void>();

  /** gRPC call options for a call that may take `ms` (a wall-clock `Date`, gRPC's unit). */
  static options(ms: number): { deadline: Date } {
    return { deadline: new Date(Date.now() + ms) };
  }

  /** `promise`, or a `MUSTER_ERR_ETCD_TIMEOUT` rejection after `ms`, whichever is first. */
  within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => settle(() => reject(new MusterError('MUSTER_ERR_ETCD_TIMEOUT', `${what}: no answer from etcd within ${ms} ms`))), ms);
      const settle = (then: () => void): void => {
        if (!this.#pending.delete(abandon)) return;
        clearTimeout(timer);
        then();
      };
      const abandon = (): void => settle(() => reject(new MusterError('MUSTER_ERR_ETCD_TIMEOUT', `${what}: abandoned (election closed)`)));
      this.#pending.add(abandon);
      promise.then(
        (value) => settle(() => resolve(value)),
        (err: unknown) => settle(() => reject(err)),
      );
    });
  }

  abandon(): void {
    for (const abandon of [...this.#pending]) abandon();
  }
}

/** `${prefix}/election/`: the folder every candidate's key lives in. */
export function electionFolder(prefix: string): string {
  return `${prefix}/election/`;
}

/** A candidate's key: the folder and its lease id in hex (unique: etcd never reuses a lease id). */
export function candidateKey(folder: string, leaseId: string): string {
  return `${folder}${BigInt(leaseId).toString(16)}`;
}

/** A revision as a number (etcd sends them as decimal strings; they stay far below 2^53). */
export function revisionOf(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new MusterError('MUSTER_ERR_INTERNAL', `etcd revision ${text} is not a positive safe integer`);
  return n;
}

/**
 * The leader a key names. A value that is not `{ id, url }` (nothing of ours writes one) still holds the
 * lowest place, so it is reported with the key as its id and no URL rather than skipped.
 */
export function leaderOf(kv: IKeyValue): LeaderInfo {
  const epoch = revisionOf(kv.create_revision);
  try {
    const value = JSON.parse(kv.value.toString('utf8')) as { id?: unknown; url?: unknown };
    if (typeof value.id === 'string' && typeof value.url === 'string') return { id: value.id, url: value.url, epoch };
  } catch {
    // falls through to the key's own name
  }
  return { id: kv.key.toString('utf8'), url: '', epoch };
}

export function sameLeader(a: LeaderInfo | undefined, b: LeaderInfo | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.epoch === b.epoch && a.id === b.id && a.url === b.url);
}
