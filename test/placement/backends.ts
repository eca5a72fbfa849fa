/**
 * The backends the contract suite runs against. The ts reference always runs. A kernel backend that
 * cannot load is reported, not silently dropped: its tests are skipped with the reason, and with
 * MUSTER_REQUIRE_NATIVE=1 (set by scripts/ci-placement.sh) a missing native addon fails the suite.
 */
import { backend, unavailableReason } from '../../src/placement/index.js';
import type { BackendName, PlacementBackend } from '../../src/placement/index.js';

export const ALL: readonly BackendName[] = ['native', 'wasm', 'ts'];

export function requireAll(): boolean {
  return process.env['MUSTER_REQUIRE_NATIVE'] === '1';
}

export interface Under {
  readonly name: BackendName;
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
