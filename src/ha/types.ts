/**
 * The election's public shapes: what a replica passes to `campaign`, what it can read and what it hears.
 * Times are milliseconds on the election's monotonic clock (`options.now`, `performance.now` by default),
 * never wall-clock time: a deadline must not move when the system clock is set.
 */
import type { Etcd3 } from 'etcd3';
import type { Logger } from '../log/index.js';

/** TTL of each candidate's lease (DESIGN.md §7: 2 s by default). */
export const DEFAULT_TTL_SECONDS = 2;

/**
 * How long before the lease could have expired on etcd the leader stops: room for this process's timer
 * running late (a busy event loop), for the rate difference between our clock and the etcd leader's, and
 * for a request sent just before the deadline. 500 ms of a 2 s TTL leaves a 1.5 s window per keepalive.
 */
export const DEFAULT_MARGIN_MS = 500;

export interface ElectionOptions {
  readonly client: Etcd3;
  /** Key prefix of this muster installation, e.g. `/muster`; candidates' keys go under `${prefix}/election/`. */
  readonly prefix: string;
  /** Lease TTL, whole seconds ≥ 1 (etcd's unit); default `DEFAULT_TTL_SECONDS`. */
  readonly ttlSeconds?: number;
  /** Default `DEFAULT_MARGIN_MS`; must leave a positive window (`ttlSeconds * 1000 - marginMs > 0`). */
  readonly marginMs?: number;
  /** This replica, as other replicas show it (standbys redirect clients to `url`). */
  readonly self: { readonly id: string; readonly url: string };
  readonly logger?: Logger;
  /** Monotonic milliseconds; default `performance.now`. Tests move it to stand for a paused process. */
  readonly now?: () => number;
}

/** What a leader's writes carry: the store guards each one with `createRevision(key) == epoch`. */
export interface Fence {
  readonly key: string;
  /** The create revision of the leader's key in etcd: the fencing token. */
  readonly epoch: number;
}

/** The leader as a replica knows it: the holder of the lowest key under `${prefix}/election/`. */
export interface LeaderInfo {
  readonly id: string;
  readonly url: string;
  readonly epoch: number;
}

/**
 * Why a leader stopped leading:
 * - `deadline`: no keepalive answered in time; it stopped at its own deadline, before etcd could expire it;
 * - `key-deleted`: its key disappeared from etcd (the lease expired while it was paused, or someone deleted it);
 * - `lease-lost`: etcd answered a keepalive saying the lease no longer exists;
 * - `resigned`: `resign()`; `closed`: `close()`.
 */
export type DeposedReason = 'deadline' | 'key-deleted' | 'lease-lost' | 'resigned' | 'closed';

export interface ElectedLeader {
  readonly key: string;
  readonly epoch: number;
  /** The deadline when elected; keepalives move it on (read `election.deadline` for the current one). */
  readonly deadline: number;
}

export interface DeposedEvent {
  readonly epoch: number;
  readonly reason: DeposedReason;
  /**
   * When leadership ended: the deadline itself for `deadline` (the timer may run late, the `isLeader` and
   * `fence` getters do not), the time of the event otherwise.
   */
  readonly at: number;
}

export interface ElectionEvents {
  elected: ElectedLeader;
  deposed: DeposedEvent;
  /** The known leader changed (`undefined`: none known, e.g. right after this replica was deposed). */
  leader: LeaderInfo | undefined;
}

export interface Election {
  /** True while this replica leads and its deadline has not passed (read on every call, not on a timer). */
  readonly isLeader: boolean;
  /** `{ key, epoch }` while `isLeader`, else `undefined`. */
  readonly fence: Fence | undefined;
  /** The known leader (this replica while it leads), or `undefined`. */
  readonly leader: LeaderInfo | undefined;
  /** The current deadline while leading, else `undefined`. */
  readonly deadline: number | undefined;
  /** Times the known leader changed (first learning of one included). */
  readonly leaderChanges: number;
  /** Subscribes; returns the unsubscribe function. Listeners run synchronously; one that throws is logged. */
  on<E extends keyof ElectionEvents>(event: E, listener: (value: ElectionEvents[E]) => void): () => void;
  /**
   * Steps down (if leading: `deposed` with `resigned` first), deletes this replica's key and revokes its
   * lease, so the next candidate leads at once; then campaigns again with a new lease, behind the others.
   */
  resign(): Promise<void>;
  /** Like `resign` (`deposed` with `closed`), then stops: no timers, no watch, no new campaign. */
  close(): Promise<void>;
}
