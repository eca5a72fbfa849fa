/**
 * Resource vectors and their arithmetic. Amounts are non-negative integers: cpu in millicores, memory in
 * MiB, gpus and named extended resources as counts. Nothing here goes negative silently: `subtract` throws
 * a coded RangeError naming the dimension, `trySubtract` returns undefined, `fits` says in advance.
 */
import { rangeError } from '../errors/index.js';
import { formatCpu, formatMemory } from './quantity.js';

export interface Resources {
  readonly cpu: number;
  readonly memory: number;
  readonly gpu: number;
  /** Named extended resources (`fpga`, `example.com/licence`); a missing name means zero. */
  readonly extended: Readonly<Record<string, number>>;
}

export const ZERO: Resources = Object.freeze({ cpu: 0, memory: 0, gpu: 0, extended: Object.freeze({}) });

export function resources(parts: Partial<Resources> = {}): Resources {
  return {
    cpu: parts.cpu ?? 0,
    memory: parts.memory ?? 0,
    gpu: parts.gpu ?? 0,
    extended: parts.extended ?? {},
  };
}

function extendedNames(a: Resources, b: Resources): Set<string> {
  return new Set([...Object.keys(a.extended), ...Object.keys(b.extended)]);
}

function checkedSum(x: number, y: number, dimension: string): number {
  const sum = x + y;
  if (!Number.isSafeInteger(sum)) throw rangeError('MUSTER_ERR_RESOURCE_OVERFLOW', `${dimension}: ${x} + ${y} is not exact`);
  return sum;
}

export function add(a: Resources, b: Resources): Resources {
  const extended: Record<string, number> = {};
  for (const name of extendedNames(a, b)) {
    extended[name] = checkedSum(a.extended[name] ?? 0, b.extended[name] ?? 0, name);
  }
  return {
    cpu: checkedSum(a.cpu, b.cpu, 'cpu'),
    memory: checkedSum(a.memory, b.memory, 'memory'),
    gpu: checkedSum(a.gpu, b.gpu, 'gpu'),
    extended,
  };
}

/** `a × n`, for a task group of n identical tasks. */
export function scale(a: Resources, n: number): Resources {
  const extended: Record<string, number> = {};
  for (const [name, amount] of Object.entries(a.extended)) extended[name] = amount * n;
  const out = { cpu: a.cpu * n, memory: a.memory * n, gpu: a.gpu * n, extended };
  for (const v of [out.cpu, out.memory, out.gpu, ...Object.values(extended)]) {
    if (!Number.isSafeInteger(v)) throw rangeError('MUSTER_ERR_RESOURCE_OVERFLOW', `scaling by ${n} is not exact`);
  }
  return out;
}

/** The first dimension in which `need` exceeds `have`, or undefined when it fits. */
export function shortfall(need: Resources, have: Resources): string | undefined {
  if (need.cpu > have.cpu) return 'cpu';
  if (need.memory > have.memory) return 'memory';
  if (need.gpu > have.gpu) return 'gpu';
  for (const [name, amount] of Object.entries(need.extended)) {
    if (amount > (have.extended[name] ?? 0)) return name;
  }
  return undefined;
}

/** Whether `need` fits in `have` in every dimension. */
export function fits(need: Resources, have: Resources): boolean {
  return shortfall(need, have) === undefined;
}

/** `a − b`, or undefined if any dimension would go negative. */
export function trySubtract(a: Resources, b: Resources): Resources | undefined {
  if (!fits(b, a)) return undefined;
  const extended: Record<string, number> = {};
  for (const name of extendedNames(a, b)) {
    const left = (a.extended[name] ?? 0) - (b.extended[name] ?? 0);
    if (left !== 0 || name in a.extended) extended[name] = left;
  }
  return { cpu: a.cpu - b.cpu, memory: a.memory - b.memory, gpu: a.gpu - b.gpu, extended };
}

/** `a − b`; throws a RangeError (MUSTER_ERR_RESOURCE_UNDERFLOW) naming the dimension that would go negative. */
export function subtract(a: Resources, b: Resources): Resources {
  const result = trySubtract(a, b);
  if (result === undefined) {
    const dimension = shortfall(b, a) ?? 'unknown';
    throw rangeError('MUSTER_ERR_RESOURCE_UNDERFLOW', `${dimension}: cannot take ${format(b)} from ${format(a)}`);
  }
  return result;
}

/**
 * Dominant share of `usage` against `total` (dominant-resource fairness): the largest fraction over all
 * dimensions. A dimension with no total and some usage is an infinite share; with neither, it is ignored.
 */
export function dominantShare(usage: Resources, total: Resources): number {
  let share = 0;
  const consider = (used: number, of: number): void => {
    if (used === 0) return;
    share = Math.max(share, of === 0 ? Infinity : used / of);
  };
  consider(usage.cpu, total.cpu);
  consider(usage.memory, total.memory);
  consider(usage.gpu, total.gpu);
  for (const name of extendedNames(usage, total)) consider(usage.extended[name] ?? 0, total.extended[name] ?? 0);
  return share;
}

export function isZero(a: Resources): boolean {
  return a.cpu === 0 && a.memory === 0 && a.gpu === 0 && Object.values(a.extended).every((v) => v === 0);
}

export function equals(a: Resources, b: Resources): boolean {
  if (a.cpu !== b.cpu || a.memory !== b.memory || a.gpu !== b.gpu) return false;
  for (const name of extendedNames(a, b)) if ((a.extended[name] ?? 0) !== (b.extended[name] ?? 0)) return false;
  return true;
}

/** `cpu=1500m memory=4Gi gpu=1 fpga=2` (zero dimensions left out, except an all-zero vector). */
export function format(a: Resources): string {
  const parts: string[] = [];
  if (a.cpu) parts.push(`cpu=${formatCpu(a.cpu)}`);
  if (a.memory) parts.push(`memory=${formatMemory(a.memory)}`);
  if (a.gpu) parts.push(`gpu=${a.gpu}`);
  for (const [name, amount] of Object.entries(a.extended)) if (amount) parts.push(`${name}=${amount}`);
  return parts.length ? parts.join(' ') : 'cpu=0 memory=0Mi';
}

/** A cap per dimension (a queue's quota); an absent dimension is unlimited. */
export interface ResourceLimit {
  readonly cpu?: number;
  readonly memory?: number;
  readonly gpu?: number;
  readonly extended: Readonly<Record<string, number>>;
}

/** Whether `usage` stays within `limit` in every capped dimension. */
export function withinLimit(usage: Resources, limit: ResourceLimit): boolean {
  if (limit.cpu !== undefined && usage.cpu > limit.cpu) return false;
  if (limit.memory !== undefined && usage.memory > limit.memory) return false;
  if (limit.gpu !== undefined && usage.gpu > limit.gpu) return false;
  for (const [name, cap] of Object.entries(limit.extended)) if ((usage.extended[name] ?? 0) > cap) return false;
  return true;
}
