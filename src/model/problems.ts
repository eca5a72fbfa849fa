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

/**
 * The most characters of a caller's text an error echoes (a field name, a value): enough to recognise a
 * typo, not so many that a megabyte of garbage comes back as a megabyte of error (or two).
 */
export const MAX_ECHO_CHARS = 64;
/** The longest message or path a problem carries, whatever it was built from. */
export const MAX_PROBLEM_CHARS = 1_024;

/** `text` as a JSON string for an error message, cut to `MAX_ECHO_CHARS` (marked with `…`). */
export function quote(text: string): string {
  return JSON.stringify(text.length > MAX_ECHO_CHARS ? `${text.slice(0, MAX_ECHO_CHARS)}…` : text);
}

/** Cuts a message or path to `MAX_PROBLEM_CHARS` (a last guard: echoes are cut where they are made). */
export function clip(text: string): string {
  return text.length > MAX_PROBLEM_CHARS ? `${text.slice(0, MAX_PROBLEM_CHARS)}…` : text;
}

/**
 * The path of field `key` under `path`: `a.b`, or `a["x/y"]` when the key is not a plain identifier (or is
 * longer than an echo may be: then it is quoted, and cut).
 */
export function fieldPath(path: string, key: string): string {
  if (key.length <= MAX_ECHO_CHARS && isIdentifier(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${quote(key)}]`;
}

export function indexPath(path: string, index: number): string {
  return `${path}[${index}]`;
}
