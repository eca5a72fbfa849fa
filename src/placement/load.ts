/**
 * Backend choice: lazy (decided on first use), overridable (`MUSTER_PLACEMENT=native|wasm|ts` forces one
 * and fails loudly if it cannot load), observable (`activeBackend()`, logged once with the reason) and
 * with fallback: native if the addon is built and loads, else wasm (committed, always present), else the
 * TypeScript reference.
 */
import { MusterError, rangeError } from '../errors/index.js';
import { createLogger } from '../log/index.js';
import { loadAddon, nativeBackend } from './native-backend.js';
import { referenceBackend } from './reference.js';
import { tsKernelBackend } from './ts-kernel.js';
import type { BackendName, PlacementBackend, SolverName } from './types.js';
import { BACKENDS } from './types.js';
import { loadWasmModule, wasmBackend } from './wasm-backend.js';

/** The environment variable that forces a backend. */
export const BACKEND_ENV = 'MUSTER_PLACEMENT';

const loaded = new Map<SolverName, { backend?: PlacementBackend; error?: string }>();
let active: { backend: PlacementBackend; name: BackendName; reason: string } | undefined;

function tryLoad(name: SolverName): { backend?: PlacementBackend; error?: string } {
  let entry = loaded.get(name);
  if (entry) return entry;
  switch (name) {
    case 'native': {
      const { addon, error } = loadAddon();
      entry = addon ? { backend: nativeBackend(addon) } : { error: error ?? 'unknown' };
      break;
    }
    case 'wasm': {
      const { module, error } = loadWasmModule();
      entry = module ? { backend: wasmBackend(module) } : { error: error ?? 'unknown' };
      break;
    }
    case 'ts':
      entry = { backend: referenceBackend };
      break;
    case 'ts-kernel':
      entry = { backend: tsKernelBackend };
      break;
  }
  loaded.set(name, entry);
  return entry;
}

/** One backend by name (or `ts-kernel`, the benchmarks' baseline), or undefined (with no fallback) if it cannot load here. */
export function backend(name: SolverName): PlacementBackend | undefined {
  return tryLoad(name).backend;
}

/** Why a backend cannot load here, or undefined if it can. */
export function unavailableReason(name: SolverName): string | undefined {
  return tryLoad(name).error;
}

/** The backends that load on this machine, fastest first. */
export function availableBackends(): BackendName[] {
  return BACKENDS.filter((name) => tryLoad(name).backend);
}

function choose(): { backend: PlacementBackend; name: BackendName; reason: string } {
  const forced = process.env[BACKEND_ENV];
  if (forced !== undefined && forced !== '') {
    if (!(BACKENDS as readonly string[]).includes(forced)) {
      throw rangeError('MUSTER_ERR_INVALID_VALUE', `${BACKEND_ENV}=${forced}: expected one of ${BACKENDS.join(', ')}`);
    }
    const { backend: b, error } = tryLoad(forced as BackendName);
    if (!b) throw new MusterError('MUSTER_ERR_PLACEMENT_BACKEND_UNAVAILABLE', `${BACKEND_ENV}=${forced}: ${error}`);
    return { backend: b, name: forced as BackendName, reason: `forced by ${BACKEND_ENV}` };
  }
  const skipped: string[] = [];
  for (const name of BACKENDS) {
    const { backend: b, error } = tryLoad(name);
    if (b) return { backend: b, name, reason: skipped.length ? `fallback: ${skipped.join('; ')}` : 'fastest available' };
    skipped.push(`${name}: ${error}`);
  }
  return { backend: referenceBackend, name: 'ts', reason: skipped.join('; ') };
}

function chosen(): { backend: PlacementBackend; name: BackendName; reason: string } {
  if (!active) {
    active = choose();
    createLogger({ name: 'placement' }).info({ backend: active.name, reason: active.reason }, 'placement backend');
  }
  return active;
}

/** The active backend: chosen on first call, then fixed for the process. */
export function load(): PlacementBackend {
  return chosen().backend;
}

/** Name of the active backend (loads it if no one has yet): for logs, metrics and benchmark output. */
export function activeBackend(): BackendName {
  return chosen().name;
}
