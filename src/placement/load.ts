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
import type { BackendName, PlacementBackend } from './types.js';
import { BACKENDS } from './types.js';
import { loadWasmModule, wasmBackend } from './wasm-backend.js';

/** The environment variable that forces a backend. */
export const BACKEND_ENV = 'MUSTER_PLACEMENT';

const loaded = new Map<BackendName, { backend?: PlacementBackend; error?: string }>();
let active: { backend: PlacementBackend; reason: string } | undefined;

function tryLoad(name: BackendName): { backend?: PlacementBackend; error?: string } {
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
  }
  loaded.set(name, entry);
  return entry;
}

/** One backend by name, or undefined (with no fallback) if it cannot load here. */
export function backend(name: BackendName): PlacementBackend | undefined {
  return tryLoad(name).backend;
}

/** Why a backend cannot load here, or undefined if it can. */
export function unavailableReason(name: BackendName): string | undefined {
  return tryLoad(name).error;
}

/** The backends that load on this machine, fastest first. */
export function availableBackends(): BackendName[] {
  return BACKENDS.filter((name) => tryLoad(name).backend);
}

function choose(): { backend: PlacementBackend; reason: string } {
  const forced = process.env[BACKEND_ENV];
  if (forced !== undefined && forced !== '') {
    if (!(BACKENDS as readonly string[]).includes(forced)) {
      throw rangeError('MUSTER_ERR_INVALID_VALUE', `${BACKEND_ENV}=${forced}: expected one of ${BACKENDS.join(', ')}`);
    }
    const { backend: b, error } = tryLoad(forced as BackendName);
    if (!b) throw new MusterError('MUSTER_ERR_PLACEMENT_BACKEND_UNAVAILABLE', `${BACKEND_ENV}=${forced}: ${error}`);
    return { backend: b, reason: `forced by ${BACKEND_ENV}` };
  }
  const skipped: string[] = [];
  for (const name of BACKENDS) {
    const { backend: b, error } = tryLoad(name);
    if (b) return { backend: b, reason: skipped.length ? `fallback: ${skipped.join('; ')}` : 'fastest available' };
    skipped.push(`${name}: ${error}`);
  }
  return { backend: referenceBackend, reason: skipped.join('; ') };
}

/** The active backend: chosen on first call, then fixed for the process. */
export function load(): PlacementBackend {
  if (!active) {
    active = choose();
    createLogger({ name: 'placement' }).info({ backend: active.backend.name, reason: active.reason }, 'placement backend');
  }
  return active.backend;
}

/** Name of the active backend (loads it if no one has yet): for logs, metrics and benchmark output. */
export function activeBackend(): BackendName {
  return load().name;
}
