/**
 * The small toolkit every spec validator is written with. A `Checker` collects problems with their paths
 * and never stops at the first one; each reader returns the value when it is good and `undefined` (after
 * recording why) when it is not, so a validator reads top to bottom like the spec it checks.
 */
import type { ErrorCode } from '../errors/index.js';
import type { Problem } from './problems.js';
import { clip, fieldPath, quote } from './problems.js';
import type { Parsed } from './quantity.js';

export type Fields = Readonly<Record<string, unknown>>;

/** What `required` returns for an absent field, after reporting it: every reader passes over it quietly. */
export const MISSING: unique symbol = Symbol('missing');

const NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Whether `text` is a lower-case DNS-label style name (the length is the caller's bound). */
export function isName(text: string): boolean {
  return NAME.test(text);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `string ${quote(value)}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

export class Checker {
  readonly problems: Problem[] = [];

  report(path: string, code: ErrorCode, message: string): undefined {
    this.problems.push({ path: clip(path), code, message: clip(message) });
    return undefined;
  }

  get ok(): boolean {
    return this.problems.length === 0;
  }

  /** An object with only the `allowed` fields; unknown fields are reported (they are usually typos). */
  object(value: unknown, path: string, allowed: readonly string[]): Fields | undefined {
    if (value === MISSING) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return this.report(path, 'MUSTER_ERR_INVALID_TYPE', `expected an object, got ${describe(value)}`);
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        this.report(fieldPath(path, key), 'MUSTER_ERR_UNKNOWN_FIELD', `unknown field (expected one of: ${allowed.join(', ')})`);
      }
    }
    return value as Fields;
  }

  required(fields: Fields, key: string, path: string): unknown {
    const value = fields[key];
    if (value === undefined || value === null) {
      this.report(fieldPath(path, key), 'MUSTER_ERR_REQUIRED', 'is required');
      return MISSING;
    }
    return value;
  }

  string(value: unknown, path: string, maxLength: number): string | undefined {
    if (value === MISSING) return undefined;
    if (typeof value !== 'string') return this.report(path, 'MUSTER_ERR_INVALID_TYPE', `expected a string, got ${describe(value)}`);
    if (value.length > maxLength) {
      return this.report(path, 'MUSTER_ERR_LIMIT_EXCEEDED', `is ${value.length} characters long; the most is ${maxLength}`);
    }
    return value;
  }

  /** A lower-case DNS-label style name (`a-z`, `0-9`, `-`, not starting or ending with `-`). */
  name(value: unknown, path: string, maxLength: number): string | undefined {
    const text = this.string(value, path, maxLength);
    if (text === undefined) return undefined;
    if (!isName(text)) {
      return this.report(path, 'MUSTER_ERR_INVALID_NAME', `${quote(text)} is not a name (lower-case letters, digits and '-', starting and ending with a letter or digit)`);
    }
    return text;
  }

  boolean(value: unknown, path: string): boolean | undefined {
    if (value === MISSING) return undefined;
    if (typeof value !== 'boolean') return this.report(path, 'MUSTER_ERR_INVALID_TYPE', `expected true or false, got ${describe(value)}`);
    return value;
  }

  integer(value: unknown, path: string, min: number, max: number): number | undefined {
    if (value === MISSING) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      return this.report(path, 'MUSTER_ERR_INVALID_TYPE', `expected a whole number, got ${describe(value)}`);
    }
    if (value < min || value > max) return this.report(path, 'MUSTER_ERR_INVALID_VALUE', `${value} is outside [${min}, ${max}]`);
    return value;
  }

  number(value: unknown, path: string, min: number, max: number): number | undefined {
    if (value === MISSING) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return this.report(path, 'MUSTER_ERR_INVALID_TYPE', `expected a number, got ${describe(value)}`);
    }
    if (value < min || value > max) return this.report(path, 'MUSTER_ERR_INVALID_VALUE', `${value} is outside [${min}, ${max}]`);
    return value;
  }

  oneOf<T extends string>(value: unknown, path: string, options: readonly T[]): T | undefined {
    if (value === MISSING) return undefined;
    if (typeof value !== 'string' || !(options as readonly string[]).includes(value)) {
      return this.report(path, 'MUSTER_ERR_INVALID_VALUE', `${describe(value)} is not one of: ${options.join(', ')}`);
    }
    return value as T;
  }

  array(value: unknown, path: string, maxItems: number, what: string): readonly unknown[] | undefined {
    if (value === MISSING) return undefined;
    if (!Array.isArray(value)) return this.report(path, 'MUSTER_ERR_INVALID_TYPE', `expected an array, got ${describe(value)}`);
    if (value.length > maxItems) {
      return this.report(path, 'MUSTER_ERR_LIMIT_EXCEEDED', `has ${value.length} ${what}; the most is ${maxItems}`);
    }
    return value;
  }

  /** A map of string keys (an object whose values the caller reads), bounded in size. */
  map(value: unknown, path: string, maxEntries: number, what: string): Fields | undefined {
    if (value === MISSING) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return this.report(path, 'MUSTER_ERR_INVALID_TYPE', `expected an object of ${what}, got ${describe(value)}`);
    }
    const size = Object.keys(value).length;
    if (size > maxEntries) return this.report(path, 'MUSTER_ERR_LIMIT_EXCEEDED', `has ${size} ${what}; the most is ${maxEntries}`);
    return value as Fields;
  }

  parsed<T>(result: Parsed<T>, path: string, code: ErrorCode): T | undefined {
    if (!result.ok) return this.report(path, code, result.message);
    return result.value;
  }
}
