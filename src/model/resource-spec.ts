/** Reading `resources:` blocks of specs (`{ cpu: 500m, memory: 1Gi, gpu: 1, extended: { fpga: 2 } }`). */
import type { Checker } from './check.js';
import { MAX_EXTENDED_RESOURCES } from './limits.js';
import { fieldPath, quote } from './problems.js';
import type { Rounding } from './quantity.js';
import { parseCount, parseCpu, parseMemory } from './quantity.js';
import type { ResourceLimit, Resources } from './resources.js';
import { sharedRequest } from './shared-request.js';

export const RESOURCE_FIELDS = ['cpu', 'memory', 'gpu', 'extended'] as const;
const EXTENDED_NAME = /^([a-z0-9]([a-z0-9.-]*[a-z0-9])?\/)?[a-z0-9]([a-z0-9_.-]*[a-z0-9])?$/;
const RESERVED = new Set(['cpu', 'memory', 'gpu']);

interface Amounts {
  cpu?: number;
  memory?: number;
  gpu?: number;
  extended: Record<string, number>;
}

function readAmounts(check: Checker, value: unknown, path: string, rounding: Rounding): Amounts | undefined {
  const fields = check.object(value, path, RESOURCE_FIELDS);
  if (!fields) return undefined;
  const out: Amounts = { extended: {} };
  const at = (key: string): string => fieldPath(path, key);
  if (fields['cpu'] !== undefined) {
    const v = check.parsed(parseCpu(fields['cpu']), at('cpu'), 'MUSTER_ERR_INVALID_QUANTITY');
    if (v !== undefined) out.cpu = v;
  }
  if (fields['memory'] !== undefined) {
    const v = check.parsed(parseMemory(fields['memory'], rounding), at('memory'), 'MUSTER_ERR_INVALID_QUANTITY');
    if (v !== undefined) out.memory = v;
  }
  if (fields['gpu'] !== undefined) {
    const v = check.parsed(parseCount(fields['gpu']), at('gpu'), 'MUSTER_ERR_INVALID_QUANTITY');
    if (v !== undefined) out.gpu = v;
  }
  if (fields['extended'] !== undefined) {
    const map = check.map(fields['extended'], at('extended'), MAX_EXTENDED_RESOURCES, 'extended resources');
    for (const [name, amount] of Object.entries(map ?? {})) {
      const where = fieldPath(at('extended'), name);
      if (!EXTENDED_NAME.test(name) || RESERVED.has(name)) {
        check.report(where, 'MUSTER_ERR_INVALID_NAME', `${quote(name)} is not an extended resource name (lower-case, optional 'domain/' prefix; not cpu, memory or gpu)`);
        continue;
      }
      const v = check.parsed(parseCount(amount), where, 'MUSTER_ERR_INVALID_QUANTITY');
      if (v !== undefined) out.extended[name] = v;
    }
  }
  return out;
}

/** A full resource vector; absent dimensions are zero. Requests round memory up, capacities down. */
export function readResources(check: Checker, value: unknown, path: string, rounding: Rounding): Resources | undefined {
  const a = readAmounts(check, value, path, rounding);
  if (!a) return undefined;
  // A request (rounded up) without extended resources is shared (shared-request.ts); capacities are a node's own.
  if (rounding === 'up' && Object.keys(a.extended).length === 0) return sharedRequest(a.cpu ?? 0, a.memory ?? 0, a.gpu ?? 0);
  return { cpu: a.cpu ?? 0, memory: a.memory ?? 0, gpu: a.gpu ?? 0, extended: a.extended };
}

/** A limit; absent dimensions are unlimited. Memory rounds down (a quota is never exceeded by rounding). */
export function readResourceLimit(check: Checker, value: unknown, path: string): ResourceLimit | undefined {
  return readAmounts(check, value, path, 'down');
}
