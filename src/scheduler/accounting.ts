/**
 * Resource accounting of a state, shared by the reducer (apply.ts) and the snapshot decoder, which rebuilds
 * the same totals: empty totals, `credit` (add or take back, never silently negative), and the implicit
 * queue a job gets when it names one nobody defined.
 */
import { MusterError } from '../errors/index.js';
import type { Mutable, Resources } from '../model/index.js';
import type { QueueRecord, SchedulerState } from './state.js';

export function emptyResources(): Resources {
  return { cpu: 0, memory: 0, gpu: 0, extended: {} };
}

/** `target += sign × r`, in place. A total that would go negative is a broken event stream: fail loudly. */
export function credit(target: Mutable<Resources>, r: Resources, sign: 1 | -1): void {
  target.cpu += sign * r.cpu;
  target.memory += sign * r.memory;
  target.gpu += sign * r.gpu;
  let extended: Record<string, number> | undefined;
  for (const name in r.extended) {
    extended ??= { ...target.extended };
    extended[name] = (extended[name] ?? 0) + sign * (r.extended[name] ?? 0);
    if (extended[name] === 0) delete extended[name];
  }
  if (extended) target.extended = extended;
  if (target.cpu < 0 || target.memory < 0 || target.gpu < 0 || Object.values(target.extended).some((v) => v < 0)) {
    throw new MusterError('MUSTER_ERR_INTERNAL', 'resource accounting went negative: the event stream is inconsistent');
  }
}

/** The queue `name`; a job may name a queue nobody defined: it gets one with default policy, owned by the job's tenant. */
export function queueOf(state: SchedulerState, name: string, tenant: string): QueueRecord {
  let queue = state.queues.get(name);
  if (!queue) {
    queue = { spec: { tenant, name, weight: 1, priority: 0, guaranteedShare: 0, borrow: true }, usage: emptyResources(), active: 0 };
    state.queues.set(name, queue);
  }
  return queue;
}
