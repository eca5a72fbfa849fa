/**
 * The wasm backend: the same kernel built for wasm32 (scripts/build-wasm.sh; the .wasm is committed).
 * The module is compiled once; each table gets its own instance, so its arena starts at the instance's
 * heap base and nothing else shares that memory. Behind the arena sits an I/O region, grown on demand,
 * into which each call copies its input and from which it copies the result.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { rangeError, typeError } from '../errors/index.js';
import type { ErrorCode } from '../errors/index.js';
import { KernelTable } from './kernel-table.js';
import type { KernelPort } from './kernel-table.js';
import type { PlacementBackend, TableOptions } from './types.js';

export const WASM_PATH = fileURLToPath(new URL('../../wasm/placement.wasm', import.meta.url));

const PAGE = 65_536;

// The project compiles against ES2023 + Node types, which do not declare WebAssembly; these are the
// few parts of it this file uses.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmGlobal {
  readonly value: number;
}
type WasmModule = object;
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { readonly exports: object };
}
const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Exports {
  memory: WasmMemory;
  __heap_base: WasmGlobal;
  mp_table_bytes(capacity: number, dims: number, words: number): number;
  mp_table_init(arena: number, bytes: number, capacity: number, dims: number, words: number): number;
  mp_apply(arena: number, ops: number, len: number): number;
  mp_release(arena: number, records: number, len: number): number;
  mp_place(arena: number, batch: number, len: number, out: number, outLen: number): number;
  mp_read_node(arena: number, id: number, out: number, outLen: number): number;
  mp_node_count(arena: number): number;
  mp_error_index(arena: number): number;
  mp_status_code(status: number): number;
  mp_status_message(status: number): number;
  mp_status_kind(status: number): number;
}

const align8 = (n: number): number => (n + 7) & ~7;

class WasmPort implements KernelPort {
  readonly #x: Exports;
  readonly #arena: number;
  readonly #io: number;

  constructor(module: WasmModule, capacity: number, dims: number, words: number) {
    this.#x = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
    const bytes = this.#x.mp_table_bytes(capacity, dims, words) >>> 0;
    if (bytes === 0) this.#check(-2, 'create');
    this.#arena = align8(Number(this.#x.__heap_base.value));
    this.#io = align8(this.#arena + bytes);
    this.#reserve(this.#io);
    this.#check(this.#x.mp_table_init(this.#arena, bytes, capacity, dims, words), 'create');
  }

  #reserve(end: number): void {
    const memory = this.#x.memory;
    const have = memory.buffer.byteLength;
    if (end <= have) return;
    try {
      memory.grow(Math.ceil((end - have) / PAGE));
    } catch {
      throw rangeError('MUSTER_ERR_PLACEMENT_LIMIT', `placement: the wasm memory cannot grow to ${end} bytes`);
    }
  }

  #string(ptr: number): string {
    const bytes = new Uint8Array(this.#x.memory.buffer, ptr);
    const end = bytes.indexOf(0);
    return new TextDecoder().decode(bytes.subarray(0, end < 0 ? 0 : end));
  }

  #check(status: number, what: string): void {
    if (status >= 0) return;
    const code = this.#string(this.#x.mp_status_code(status)) as ErrorCode;
    const message = `placement ${what}: ${this.#string(this.#x.mp_status_message(status))} (record ${this.#x.mp_error_index(this.#arena) >>> 0})`;
    throw this.#x.mp_status_kind(status) === 2 ? typeError(code, message) : rangeError(code, message);
  }

  /** Copies `input` into the I/O region (with `extra` int32 of room after it); returns its address. */
  #stage(input: Int32Array, extra: number): number {
    this.#reserve(this.#io + (input.length + extra) * 4);
    new Int32Array(this.#x.memory.buffer, this.#io, input.length).set(input);
    return this.#io;
  }

  apply(ops: Int32Array): void {
    this.#check(this.#x.mp_apply(this.#arena, this.#stage(ops, 0), ops.length), 'apply');
  }

  release(records: Int32Array): void {
    this.#check(this.#x.mp_release(this.#arena, this.#stage(records, 0), records.length), 'release');
  }

  place(batch: Int32Array, out: Int32Array): void {
    const input = this.#stage(batch, out.length);
    const output = input + batch.length * 4;
    this.#check(this.#x.mp_place(this.#arena, input, batch.length, output, out.length), 'place');
    out.set(new Int32Array(this.#x.memory.buffer, output, out.length));
  }

  readNode(id: number, out: Int32Array): void {
    this.#reserve(this.#io + out.length * 4);
    this.#check(this.#x.mp_read_node(this.#arena, id >>> 0, this.#io, out.length), 'read');
    out.set(new Int32Array(this.#x.memory.buffer, this.#io, out.length));
  }

  nodeCount(): number {
    return this.#x.mp_node_count(this.#arena) >>> 0;
  }

  dispose(): void {
    // The instance and its memory go with the last reference to this port.
  }
}

let cached: { module?: WasmModule; error?: string } | undefined;

export function loadWasmModule(): { module?: WasmModule; error?: string } {
  if (cached) return cached;
  try {
    cached = { module: new WebAssembly.Module(readFileSync(WASM_PATH)) };
  } catch (err) {
    cached = { error: `wasm module failed to load (${WASM_PATH}): ${(err as Error).message}` };
  }
  return cached;
}

export function wasmBackend(module: WasmModule): PlacementBackend {
  return {
    name: 'wasm',
    createTable: (options: TableOptions) => new KernelTable('wasm', options, (c, d, w) => new WasmPort(module, c, d, w)),
  };
}
