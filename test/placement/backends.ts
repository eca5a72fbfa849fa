/**
 * The backends the contract suite runs against. The ts reference always runs, and so does ts-kernel (the
 * kernel's algorithm in TypeScript, the benchmarks' baseline), held to the same decisions. A kernel backend that
 * cannot load is reported, not silently dropped: its tests are skipped with the reason, and with
 * MUSTER_REQUIRE_NATIVE=1 (set by scripts/ci-placement.sh) a missing native addon fails the suite.
 */
import { backend, unavailableReason } from '../../src/placement/index.js';
import type { PlacementBackend, SolverName } from '../../src/placement/index.js';

export const ALL: readonly SolverName[] = ['native', 'wasm', 'ts-kernel', 'ts'];

export function requireAll(): boolean {
  return process.env['MUSTER_REQUIRE_NATIVE'] === '1';
}

export interface Under {
  readonly name: SolverName;
  readonly backend?: PlacementBackend;
  readonly skip?: string;
}

export function backendsUnderTest(): Under[] {
  return ALL.map((name) => {
    const b = backend(name);
    return b ? { name, backend: b } : { name, skip: `${name} backend unavailable: ${unavailableReason(name)}` };
  });
}

/** The loaded backends only. */
export function loadedBackends(): PlacementBackend[] {
  return backendsUnderTest().flatMap((u) => (u.backend ? [u.backend] : []));
}

/**
 * The loaded backends the longer random suites (random-medium, random-large) hold to each other: all but
 * ts-kernel, the benchmarks' TypeScript baseline, which doubles their time. Its agreement with the kernel is
 * proven by the contract, errors and random-small suites (4,950 clusters) and by ts-kernel.test.ts.
 */
export function servingBackends(): PlacementBackend[] {
  return loadedBackends().filter((b) => b.name !== 'ts-kernel');
}
