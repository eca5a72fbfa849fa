/**
 * The native backend: the kernel built as a Node-API addon (native/binding.gyp, by scripts/build-native.mjs
 * during `npm install`; optional). Loading fails softly: `loadNative()` returns undefined with the reason.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { KernelTable } from './kernel-table.js';
import type { KernelPort } from './kernel-table.js';
import type { PlacementBackend, TableOptions } from './types.js';

/** The addon's exports (native/src/binding.c). */
export interface NativeAddon {
  create(capacity: number, dims: number, labelWords: number): object;
  apply(table: object, ops: Int32Array): number;
  release(table: object, records: Int32Array): number;
  outputLength(table: object, batch: Int32Array): number;
  place(table: object, batch: Int32Array, out: Int32Array): void;
  readNode(table: object, id: number, out: Int32Array): void;
  nodeCount(table: object): number;
  tableBytes(capacity: number, dims: number, labelWords: number): number;
}

/** Where the addon is built, relative to this file in src/placement or dist/placement. */
export const ADDON_PATH = fileURLToPath(new URL('../../native/build/Release/muster_placement.node', import.meta.url));

let cached: { addon?: NativeAddon; error?: string } | undefined;

export function loadAddon(): { addon?: NativeAddon; error?: string } {
  if (cached) return cached;
  if (!existsSync(ADDON_PATH)) {
    cached = { error: `native addon not built (${ADDON_PATH}); run npm run build:native` };
    return cached;
  }
  try {
    cached = { addon: createRequire(import.meta.url)(ADDON_PATH) as NativeAddon };
  } catch (err) {
    cached = { error: `native addon failed to load: ${(err as Error).message}` };
  }
  return cached;
}

function port(addon: NativeAddon, capacity: number, dims: number, labelWords: number): KernelPort {
  const table = addon.create(capacity, dims, labelWords);
  return {
    apply: (ops) => void addon.apply(table, ops),
    release: (records) => void addon.release(table, records),
    place: (batch, out) => addon.place(table, batch, out),
    readNode: (id, out) => addon.readNode(table, id, out),
    nodeCount: () => addon.nodeCount(table),
    dispose: () => undefined, // the arena is freed by the handle's finalizer
  };
}

export function nativeBackend(addon: NativeAddon): PlacementBackend {
  return {
    name: 'native',
    createTable: (options: TableOptions) => new KernelTable('native', options, (c, d, w) => port(addon, c, d, w)),
  };
}
