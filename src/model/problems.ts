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

/** The path of field `key` under `path`: `a.b`, or `a["x/y"]` when the key is not a plain identifier. */
export function fieldPath(path: string, key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

export function indexPath(path: string, index: number): string {
  return `${path}[${index}]`;
}
