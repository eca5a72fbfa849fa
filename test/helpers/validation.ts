import type { Test } from 'tap';
import type { Validated } from '../../src/model/index.js';
import { formatProblem } from '../../src/model/index.js';

/** Asserts the result holds exactly these `[path, code]` problems (in any order). */
export function expectProblems(t: Test, result: Validated<unknown>, want: readonly (readonly [string, string])[], name: string): void {
  const got = result.ok ? [] : result.problems.map((p) => `${p.path} ${p.code}`).sort();
  t.same(got, want.map(([path, code]) => `${path} ${code}`).sort(), name);
}

export function expectValid<T>(t: Test, result: Validated<T>, name: string): T | undefined {
  if (!result.ok) {
    t.fail(`${name}: ${result.problems.map(formatProblem).join('; ')}`);
    return undefined;
  }
  t.pass(name);
  return result.value;
}
