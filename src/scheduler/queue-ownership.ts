/**
 * Queues belong to tenants. A queue is its tenant's from the moment it exists: defined in the server's
 * configuration or by an admin (its spec names the tenant), or made implicitly by the first job submitted
 * into it, for that job's tenant. Only that tenant submits into it; an implicit queue is made only for the
 * submitting tenant, and not past `MAX_QUEUES_PER_TENANT` (so naming queues cannot grow the scheduler
 * without bound).
 */
import type { QueueEntry } from './event-router.js';
import type { SubmitResult } from './messages.js';

/**
 * Most queues a tenant may have before submitting into a new name is refused: far more than teams organise
 * their work into, and few enough that a tenant naming a fresh queue per job stops at once (each queue is an
 * actor with its own slice and a place in every cycle's offers).
 */
export const MAX_QUEUES_PER_TENANT = 64;

export type QueueRefusal = Extract<SubmitResult, { ok: false }>;

/** Why `tenant` may not submit into `queue` now, or undefined when it may. */
export function queueRefusal(queues: ReadonlyMap<string, QueueEntry>, tenant: string, queue: string): QueueRefusal | undefined {
  const owner = queues.get(queue)?.spec.tenant;
  if (owner !== undefined) {
    return owner === tenant ? undefined : { ok: false, code: 'MUSTER_ERR_FORBIDDEN', message: `queue ${queue} belongs to tenant ${owner}; tenant ${tenant} may submit only into its own queues` };
  }
  let owned = 0;
  for (const q of queues.values()) if (q.spec.tenant === tenant) owned++;
  if (owned >= MAX_QUEUES_PER_TENANT) {
    return { ok: false, code: 'MUSTER_ERR_LIMIT_EXCEEDED', message: `tenant ${tenant} has ${owned} queues, the most it may have; submit into one of them (queue ${queue} would be new)` };
  }
  return undefined;
}
