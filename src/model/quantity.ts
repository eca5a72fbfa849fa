/**
 * Units people write, parsed to muster's integer units and formatted back:
 *
 * | dimension | unit      | accepted                                                  |
 * |-----------|-----------|-----------------------------------------------------------|
 * | cpu       | millicore | `500m`, `2`, `1.5` (cores, at most 3 decimals), numbers    |
 * | memory    | MiB       | `512Mi`, `4Gi`, `1G`, `100M`, `2048Ki`, `1Ti`; a bare number is MiB |
 * | gpu, extended | count | non-negative integers                                     |
 * | duration  | ms        | `500ms`, `30s`, `5m`, `1h30m`, `2d`; a bare number is seconds |
 *
 * Memory that is not a whole number of MiB is rounded up for requests (never under-ask) and down for
 * capacities (never over-promise); the caller says which.
 */
import { MAX_DURATION_MS, MAX_QUANTITY } from './limits.js';
import { quote } from './problems.js';

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (message: string): Parsed<never> => ({ ok: false, message });

function show(input: unknown): string {
  return typeof input === 'string' ? quote(input) : String(input);
}

function inRange(value: number, input: unknown, what: string): Parsed<number> {
  if (value > MAX_QUANTITY) return fail(`${show(input)} is more ${what} than the largest allowed (${MAX_QUANTITY})`);
  return ok(value);
}

/**
 * Quantities written as strings repeat endlessly (`500m`, `1Gi`, `30s` in every job of a batch), and the
 * parsers are pure: each keeps the results of the strings it saw last. Bounded in entries (a full cache
 * starts over) and in key length (a real quantity is a few characters; longer ones are parsed each time).
 */
export const PARSE_CACHE_LIMIT = 4096;
export const PARSE_CACHE_KEY_LENGTH = 32;

function cached<T>(parse: (text: string) => Parsed<T>): (text: string) => Parsed<T> {
  const cache = new Map<string, Parsed<T>>();
  return (text) => {
    if (text.length > PARSE_CACHE_KEY_LENGTH) return parse(text);
    let result = cache.get(text);
    if (result === undefined) {
      if (cache.size >= PARSE_CACHE_LIMIT) cache.clear();
      result = parse(text);
      cache.set(text, result);
    }
    return result;
  };
}

const CPU = /^(\d+)(?:\.(\d{1,3}))?$/;
const MILLI = /^(\d+)m$/;

/** CPU in millicores. */
export function parseCpu(input: unknown): Parsed<number> {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) return fail(`${show(input)} is not a cpu quantity`);
    const milli = input * 1000;
    if (Math.abs(milli - Math.round(milli)) > 1e-6) return fail(`${show(input)} is finer than 1m (a millicore)`);
    return inRange(Math.round(milli), input, 'cpu');
  }
  if (typeof input !== 'string') return fail(`${show(input)} is not a cpu quantity`);
  return parseCpuText(input);
}

const parseCpuText = cached((input: string): Parsed<number> => {
  const text = input.trim();
  const milli = MILLI.exec(text);
  if (milli) return inRange(Number(milli[1]), input, 'cpu');
  const cores = CPU.exec(text);
  if (!cores) return fail(`${show(input)} is not a cpu quantity (write 500m, 2 or 1.5)`);
  const fraction = (cores[2] ?? '').padEnd(3, '0');
  return inRange(Number(cores[1]) * 1000 + Number(fraction), input, 'cpu');
});

const MEMORY = /^(\d+)(?:\.(\d+))?(Ki|Mi|Gi|Ti|Pi|k|K|M|G|T|P)?$/;
const MEMORY_FACTOR: Readonly<Record<string, bigint>> = {
  Ki: 1024n,
  Mi: 1024n ** 2n,
  Gi: 1024n ** 3n,
  Ti: 1024n ** 4n,
  Pi: 1024n ** 5n,
  k: 1000n,
  K: 1000n,
  M: 1000n ** 2n,
  G: 1000n ** 3n,
  T: 1000n ** 4n,
  P: 1000n ** 5n,
};
const MIB = 1024n ** 2n;

export type Rounding = 'up' | 'down';

/** Memory in MiB. Exact arithmetic (bigint), so `1.1Gi` is 1127 MiB rounded up, 1126 rounded down. */
export function parseMemory(input: unknown, rounding: Rounding = 'up'): Parsed<number> {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) return fail(`${show(input)} is not a memory quantity`);
    const text = String(input);
    if (/e/i.test(text)) return fail(`${show(input)} is not a memory quantity`);
    return memoryOf(text, input, rounding);
  }
  if (typeof input !== 'string') return fail(`${show(input)} is not a memory quantity`);
  return rounding === 'up' ? parseMemoryUp(input) : parseMemoryDown(input);
}

const parseMemoryUp = cached((input: string) => memoryOf(input.trim(), input, 'up'));
const parseMemoryDown = cached((input: string) => memoryOf(input.trim(), input, 'down'));

function memoryOf(text: string, input: unknown, rounding: Rounding): Parsed<number> {
  const m = MEMORY.exec(text);
  if (!m) return fail(`${show(input)} is not a memory quantity (write 512Mi, 4Gi or 1G)`);
  const whole = m[1] ?? '0';
  const decimals = m[2] ?? '';
  // A bare number is MiB, muster's unit.
  const factor = m[3] === undefined ? MIB : (MEMORY_FACTOR[m[3]] ?? MIB);
  const numerator = BigInt(whole + decimals) * factor;
  const denominator = 10n ** BigInt(decimals.length) * MIB;
  let mib = numerator / denominator;
  if (rounding === 'up' && mib * denominator !== numerator) mib += 1n;
  if (mib > BigInt(MAX_QUANTITY)) return fail(`${show(input)} is more memory than the largest allowed (${MAX_QUANTITY}Mi)`);
  return ok(Number(mib));
}

/** A count (gpus, extended resources): a non-negative integer, as a number or a string of digits. */
export function parseCount(input: unknown): Parsed<number> {
  let value: number;
  if (typeof input === 'number') value = input;
  else if (typeof input === 'string' && /^\d+$/.test(input.trim())) value = Number(input.trim());
  else return fail(`${show(input)} is not a count (a whole number ≥ 0)`);
  if (!Number.isInteger(value) || value < 0) return fail(`${show(input)} is not a count (a whole number ≥ 0)`);
  return inRange(value, input, 'of this resource');
}

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
const DURATION_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration in milliseconds. */
export function parseDuration(input: unknown): Parsed<number> {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) return fail(`${show(input)} is not a duration`);
    return durationOf(input * 1000, input);
  }
  if (typeof input === 'string' && input.trim() !== '') return parseDurationText(input);
  return fail(`${show(input)} is not a duration (write 30s, 5m, 1h30m or 500ms)`);
}

const parseDurationText = cached((input: string): Parsed<number> => {
  const text = input.trim();
  if (/^\d+(?:\.\d+)?$/.test(text)) return durationOf(Number(text) * 1000, input);
  let ms = 0;
  DURATION_PART.lastIndex = 0;
  let end = 0;
  for (let m = DURATION_PART.exec(text); m; m = DURATION_PART.exec(text)) {
    ms += Number(m[1]) * (DURATION_MS[m[2] ?? 's'] ?? 1000);
    end = DURATION_PART.lastIndex;
  }
  if (end !== text.length) return fail(`${show(input)} is not a duration (write 30s, 5m, 1h30m or 500ms)`);
  return durationOf(ms, input);
});

function durationOf(raw: number, input: unknown): Parsed<number> {
  const ms = Math.round(raw);
  if (ms > MAX_DURATION_MS) return fail(`${show(input)} is longer than the longest allowed duration (365d)`);
  return ok(ms);
}

export function formatCpu(millicores: number): string {
  return millicores % 1000 === 0 ? String(millicores / 1000) : `${millicores}m`;
}

export function formatMemory(mib: number): string {
  if (mib !== 0 && mib % (1024 * 1024) === 0) return `${mib / (1024 * 1024)}Ti`;
  if (mib !== 0 && mib % 1024 === 0) return `${mib / 1024}Gi`;
  return `${mib}Mi`;
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
