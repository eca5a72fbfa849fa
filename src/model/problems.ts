import type { ErrorCode } from '../errors/index.js';

/** One thing wrong with an input, at a field path such as `tasks[0].resources.memory`. */
export interface Problem {
  readonly path: string;
  readonly code: ErrorCode;
  readonly message: string;
}

/** A validated value, or every problem found in the input (never just the first). */
export type Validated<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly Problem[] };

/** `tasks[0].resources.memory: MUSTER_ERR_INVALID_QUANTITY: "12Qi" is not a memory quantity` */
export function formatProblem(problem: Problem): string {
  return `${problem.path || '(root)'}: ${problem.code}: ${problem.message}`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Whether each key seen is a plain identifier: validators build a path for every field they read (the
 * same few dozen field names), so the answer is kept rather than matched again. Bounded like the parse
 * caches: a full table starts over.
 */
const identifiers = new Map<string, boolean>();
const IDENTIFIER_CACHE_LIMIT = 4096;

function isIdentifier(key: string): boolean {
  let known = identifiers.get(key);
  if (known === undefined) {
    if (identifiers.size >= IDENTIFIER_CACHE_LIMIT) identifiers.clear();
    known = IDENTIFIER.test(key);
    if (key.length <= 64) identifiers.set(key, known);
  }
  return known;
}

/** The path of field `key` under `path`: `a.b`, or `a["x/y"]` when the key is not a plain identifier. */
export function fieldPath(path: string, key: string): string {
  if (isIdentifier(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

export function indexPath(path: string, index: number): string {
  return `${path}[${index}]`;
}
