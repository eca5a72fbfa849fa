/**
 * A queue: where a tenant's jobs wait. Queues nest by name (`acme/ml/train` is a child of `acme/ml`), and
 * the dispatcher shares capacity top-down through the tree by weight (hierarchical dominant-resource
 * fairness, src/scheduler/queue-tree.ts). A queue's guarantee is what it is always entitled to (absolute per
 * resource, or a share of its parent's guarantee; at the top, of the cluster); its limit caps what its whole
 * subtree may hold; beyond its guarantee it may borrow idle capacity (`borrow`), at most `borrowLimit` more.
 * How a set of queues must agree with each other (parents, guarantees) is queue-set.ts.
 */
import { Checker } from './check.js';
import { MAX_DISRUPTION_BUDGET, MAX_DURATION_MS, MAX_GRACE_PERIOD_MS, MAX_NAME_LENGTH, MAX_PRIORITY, MAX_QUEUE_WEIGHT } from './limits.js';
import { formatDuration, parseDuration } from './quantity.js';
import type { Validated } from './problems.js';
import { fieldPath, quote } from './problems.js';
import { readResourceLimit } from './resource-spec.js';
import type { ResourceLimit } from './resources.js';

export interface QueueSpec {
  readonly tenant: string;
  /** `team` or `org/team`. */
  readonly name: string;
  readonly weight: number;
  readonly priority: number;
  /** The guarantee as a fraction, in [0, 1], of the parent's guarantee in every resource (top level: of the cluster). */
  readonly guaranteedShare: number;
  /** The guarantee as absolute amounts (absent resources: none); not with `guaranteedShare`. */
  readonly guarantee?: ResourceLimit;
  /** The most the queue and its children may hold at once; absent resources are unlimited. */
  readonly limit?: ResourceLimit;
  /** Whether the queue may hold more than its guarantee when capacity is idle. */
  readonly borrow: boolean;
  /** With `borrow`, the most it may hold beyond its guarantee; absent resources are unlimited. */
  readonly borrowLimit?: ResourceLimit;
  /** SIGTERM → SIGKILL grace for its preempted tasks whose job names none (ms); absent: the agent's default. */
  readonly gracePeriodMs?: number;
  /** Most of its tasks preempted in any minute (a disruption budget); absent: no cap. */
  readonly disruptionBudget?: number;
  /** How long a task of it, once preempted, may not be preempted again (ms); absent: DEFAULT_PROTECT_FOR_MS. */
  readonly protectForMs?: number;
}

/** A preempted task's protection when its queue names none: long enough to get real work done again. */
export const DEFAULT_PROTECT_FOR_MS = 5 * 60_000;

/** Deepest nesting of queue names (`a/b/c/d`): deeper trees are rarely what an operator means. */
export const MAX_QUEUE_DEPTH = 4;

export const QUEUE_FIELDS = [
  'kind', 'tenant', 'name', 'weight', 'priority', 'guaranteedShare', 'guarantee', 'limit', 'borrow', 'borrowLimit', 'gracePeriod', 'disruptionBudget', 'protectFor',
] as const;

/**
 * Queue names found valid lately: every job names its queue, and a cluster has few of them. Only valid
 * names are kept (an invalid one is checked again, to report its problems where it appears); bounded like
 * the parse caches.
 */
const validQueueNames = new Set<string>();
const QUEUE_NAME_CACHE_LIMIT = 4096;

/** A queue name: one to MAX_QUEUE_DEPTH names joined by `/`. */
export function readQueueName(check: Checker, value: unknown, path: string): string | undefined {
  if (typeof value === 'string' && validQueueNames.has(value)) return value;
  const text = check.string(value, path, MAX_QUEUE_DEPTH * (MAX_NAME_LENGTH + 1));
  if (text === undefined) return undefined;
  const parts = text.split('/');
  if (parts.length > MAX_QUEUE_DEPTH) {
    return check.report(path, 'MUSTER_ERR_LIMIT_EXCEEDED', `${quote(text)} nests ${parts.length} deep; the most is ${MAX_QUEUE_DEPTH}`);
  }
  const before = check.problems.length;
  for (const part of parts) check.name(part, path, MAX_NAME_LENGTH);
  if (check.problems.length !== before) return undefined;
  if (validQueueNames.size >= QUEUE_NAME_CACHE_LIMIT) validQueueNames.clear();
  validQueueNames.add(text);
  return text;
}

/** Whether `text` is a valid queue name (what `readQueueName` accepts), without a report. */
export function isQueueName(text: string): boolean {
  return validQueueNames.has(text) || readQueueName(new Checker(), text, '') !== undefined;
}

function readWeight(check: Checker, value: unknown, path: string): number | undefined {
  const weight = check.number(value, path, 0, MAX_QUEUE_WEIGHT);
  if (weight === 0) return check.report(path, 'MUSTER_ERR_INVALID_VALUE', 'a weight must be greater than 0');
  return weight;
}

export function readQueue(check: Checker, input: unknown, path = ''): QueueSpec | undefined {
  const f = check.object(input, path, QUEUE_FIELDS);
  if (!f) return undefined;
  const at = (key: string): string => fieldPath(path, key);
  const tenant = check.name(check.required(f, 'tenant', path), at('tenant'), MAX_NAME_LENGTH);
  const name = readQueueName(check, check.required(f, 'name', path), at('name'));
  const weight = f['weight'] === undefined ? 1 : readWeight(check, f['weight'], at('weight'));
  const priority = f['priority'] === undefined ? 0 : check.integer(f['priority'], at('priority'), -MAX_PRIORITY, MAX_PRIORITY);
  const guaranteedShare = f['guaranteedShare'] === undefined ? 0 : check.number(f['guaranteedShare'], at('guaranteedShare'), 0, 1);
  const guarantee = f['guarantee'] === undefined ? undefined : readResourceLimit(check, f['guarantee'], at('guarantee'));
  const limit = f['limit'] === undefined ? undefined : readResourceLimit(check, f['limit'], at('limit'));
  const borrow = f['borrow'] === undefined ? true : check.boolean(f['borrow'], at('borrow'));
  const borrowLimit = f['borrowLimit'] === undefined ? undefined : readResourceLimit(check, f['borrowLimit'], at('borrowLimit'));
  if (guarantee && guaranteedShare) {
    check.report(at('guarantee'), 'MUSTER_ERR_INVALID_VALUE', 'give the guarantee as amounts (guarantee) or as a share of the parent (guaranteedShare), not both');
  }
  if (borrowLimit && borrow === false) check.report(at('borrowLimit'), 'MUSTER_ERR_INVALID_VALUE', 'a borrowing limit needs borrow: true');
  if (guarantee && limit) {
    const over = overLimit(guarantee, limit);
    if (over) check.report(at('guarantee'), 'MUSTER_ERR_INVALID_VALUE', `the guarantee of ${over} is more than the queue's limit`);
  }
  if (tenant === undefined || name === undefined || weight === undefined || priority === undefined) return undefined;
  if (guaranteedShare === undefined || borrow === undefined) return undefined;
  if ((f['limit'] !== undefined && limit === undefined) || (f['guarantee'] !== undefined && guarantee === undefined)) return undefined;
  if (f['borrowLimit'] !== undefined && borrowLimit === undefined) return undefined;
  const preemption = readQueuePreemption(check, f, at);
  if (preemption === undefined) return undefined;
  return {
    tenant, name, weight, priority, guaranteedShare, borrow, ...preemption,
    ...(guarantee ? { guarantee } : {}),
    ...(limit ? { limit } : {}),
    ...(borrowLimit ? { borrowLimit } : {}),
  };
}

/** `gracePeriod`, `disruptionBudget` and `protectFor`: how the queue's tasks are preempted. */
function readQueuePreemption(check: Checker, f: Readonly<Record<string, unknown>>, at: (key: string) => string): Pick<QueueSpec, 'gracePeriodMs' | 'disruptionBudget' | 'protectForMs'> | undefined {
  const before = check.problems.length;
  const duration = (key: string, most: number): number | undefined => {
    const ms = check.parsed(parseDuration(f[key]), at(key), 'MUSTER_ERR_INVALID_DURATION');
    if (ms !== undefined && ms > most) return check.report(at(key), 'MUSTER_ERR_LIMIT_EXCEEDED', `at most ${formatDuration(most)}`);
    return ms;
  };
  const grace = f['gracePeriod'] === undefined ? undefined : duration('gracePeriod', MAX_GRACE_PERIOD_MS);
  const protect = f['protectFor'] === undefined ? undefined : duration('protectFor', MAX_DURATION_MS);
  const budget = f['disruptionBudget'] === undefined ? undefined : check.integer(f['disruptionBudget'], at('disruptionBudget'), 0, MAX_DISRUPTION_BUDGET);
  if (check.problems.length !== before) return undefined;
  return { ...(protect !== undefined ? { protectForMs: protect } : {}), ...(grace !== undefined ? { gracePeriodMs: grace } : {}), ...(budget !== undefined ? { disruptionBudget: budget } : {}) };
}

/** The first resource in which amounts `a` are more than limit `b` caps it (both as limits: absent is none / unlimited). */
export function overLimit(a: ResourceLimit, b: ResourceLimit): string | undefined {
  for (const dim of ['cpu', 'memory', 'gpu'] as const) {
    const x = a[dim];
    const cap = b[dim];
    if (x !== undefined && cap !== undefined && x > cap) return dim;
  }
  for (const [name, x] of Object.entries(a.extended)) {
    const cap = b.extended[name];
    if (cap !== undefined && x > cap) return name;
  }
  return undefined;
}

export function validateQueue(input: unknown): Validated<QueueSpec> {
  const check = new Checker();
  const value = readQueue(check, input);
  return value && check.ok ? { ok: true, value } : { ok: false, problems: check.problems };
}
