/**
 * What each replica says about leadership (`GET /v1/leader`, which every replica answers whatever its
 * role), read one endpoint at a time: what `muster leader` prints. A server from before replication
 * answers `{ leader, epoch, self }` only: its role is read from `self`, and it is its own replica.
 */
import { MusterError } from '../errors/index.js';
import type { Endpoint } from './endpoints.js';
import type { LeaderView } from './wire.js';

export type ReplicaStatus =
  | {
      /** The endpoint asked, as configured. */
      readonly endpoint: string;
      readonly ok: true;
      readonly role: 'leader' | 'standby';
      /** The replica's own URL, as it names itself. */
      readonly replica: string;
      /** The leader it knows of (null: none). */
      readonly leader: string | null;
      readonly epoch: number | null;
    }
  | { readonly endpoint: string; readonly ok: false; readonly code: string; readonly message: string };

export function replicaStatus(endpoint: Endpoint, view: LeaderView): ReplicaStatus {
  const leader = typeof view.leader === 'string' && view.leader !== '' ? view.leader : null;
  const role = view.role ?? (view.self ? 'leader' : 'standby');
  const replica = view.replica ?? (role === 'leader' && leader !== null ? leader : endpoint.http);
  return { endpoint: endpoint.http, ok: true, role, replica, leader, epoch: typeof view.epoch === 'number' ? view.epoch : null };
}

export function replicaFailure(endpoint: Endpoint, err: unknown): ReplicaStatus {
  return { endpoint: endpoint.http, ok: false, code: err instanceof MusterError ? err.code : 'MUSTER_ERR_INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

/**
 * The leader the replicas report: the one named with the newest epoch (replicas may lag one another for a
 * moment during an election; a deposed leader that has not noticed yet names itself with an older one),
 * a replica that says it leads winning a tie. Undefined when none knows a leader.
 */
export function knownLeader(statuses: readonly ReplicaStatus[]): { readonly url: string; readonly epoch: number | null } | undefined {
  let best: { url: string; epoch: number | null; self: boolean } | undefined;
  for (const s of statuses) {
    if (!s.ok || s.leader === null) continue;
    const self = s.role === 'leader';
    const newer = best === undefined || (s.epoch ?? -1) > (best.epoch ?? -1) || ((s.epoch ?? -1) === (best.epoch ?? -1) && self && !best.self);
    if (newer) best = { url: s.leader, epoch: s.epoch, self };
  }
  return best ? { url: best.url, epoch: best.epoch } : undefined;
}
