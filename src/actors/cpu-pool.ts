/**
 * The CPU pool: piscina worker threads for stateless CPU work that must not stall an actor host
 * — the scheduler's snapshots, folded from the store's files (`runExport` of src/scheduler/snapshot-fold.ts);
 * replay and what-if runs and benchmark sweeps later.
 *
 * - One pool per process (`cpuPool()`): pools compete for the same cores, so a second one only adds
 *   contention. Actor hosts are for stateful actors; this pool is for pure functions of their input.
 * - Bounded queue: beyond `maxQueue` waiting tasks, `run` rejects with `MUSTER_ERR_POOL_BUSY` at once
 *   (back-pressure to the caller rather than unbounded memory).
 * - Worker startup failure is fatal for the pool: `createCpuPool` runs a task before resolving and
 *   rejects with `MUSTER_ERR_POOL_FAILED` if the workers cannot load their module; a worker error
 *   outside any task later marks the pool failed and every call rejects with the same code. A pool that
 *   cannot start is a broken deployment, and retrying would only hide it.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { MusterError, fromWire, isErrorCode } from '../errors/index.js';
import type { WireError } from '../errors/index.js';
import { createLogger } from '../log/index.js';
import type { Logger } from '../log/index.js';
import type { CpuTask, CpuTaskResult } from './cpu-tasks.js';
import { siblingModule, workerEntry } from './runtime-files.js';

/** Half the cores, at least one: the other half runs the main thread and the actor hosts. */
export function defaultPoolThreads(): number {
  return Math.max(1, Math.floor(availableParallelism() / 2));
}

/** 256 waiting tasks: snapshot and replay tasks take milliseconds to seconds; a deeper queue is an overload to report, not to hide. */
export const DEFAULT_POOL_QUEUE = 256;

export interface CpuPoolOptions {
  readonly threads?: number;
  readonly maxQueue?: number;
  /** The module whose default export runs a task (default: cpu-tasks); tests point it elsewhere. */
  readonly taskModule?: string;
  readonly log?: Logger;
}

export class CpuPool {
  readonly #piscina: Piscina;
  readonly #log: Logger;
  #failed: MusterError | undefined;
  #closed = false;

  private constructor(piscina: Piscina, log: Logger) {
    this.#piscina = piscina;
    this.#log = log;
    piscina.on('error', (err: Error) => this.#fail(`a pool worker failed outside a task: ${err.message}`));
  }

  static async create(options: CpuPoolOptions = {}): Promise<CpuPool> {
    const threads = options.threads ?? defaultPoolThreads();
    const module = options.taskModule ?? siblingModule(import.meta.url, 'cpu-tasks');
    const piscina = new Piscina({
      filename: workerEntry(module).href,
      minThreads: threads,
      maxThreads: threads,
      maxQueue: options.maxQueue ?? DEFAULT_POOL_QUEUE,
    });
    const pool = new CpuPool(piscina, options.log ?? createLogger({ name: 'cpu-pool' }));
    try {
      const answer = await pool.run({ kind: 'ping' });
      if (answer !== 'pong') throw new Error(`the task module answered ${JSON.stringify(answer)} to ping`);
    } catch (err) {
      pool.#fail(`pool workers cannot start: ${(err as Error).message}`);
      throw pool.#failed;
    }
    return pool;
  }

  get threads(): number {
    return this.#piscina.threads.length;
  }

  /** Tasks waiting for a thread. */
  get queued(): number {
    return this.#piscina.queueSize;
  }

  /**
   * Runs `task` on a pool thread. An abort of `signal` stops it (piscina ends the thread running it and starts
   * another) and rejects with the signal's reason.
   */
  async run<T extends CpuTask>(task: T, options: { readonly signal?: AbortSignal } = {}): Promise<CpuTaskResult<T>> {
    if (this.#failed !== undefined) throw this.#failed;
    if (this.#closed) throw new MusterError('MUSTER_ERR_SYSTEM_CLOSED', 'the CPU pool is closed');
    try {
      return (await this.#piscina.run(task, options.signal ? { signal: options.signal } : {})) as CpuTaskResult<T>;
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (isErrorCode((err as Partial<WireError> | null)?.code)) throw fromWire(err as WireError);
      const message = (err as Error).message ?? String(err);
      if (/queue is at limit/i.test(message)) throw new MusterError('MUSTER_ERR_POOL_BUSY', `CPU pool queue is full (${this.#piscina.options.maxQueue} tasks waiting)`);
      throw new MusterError('MUSTER_ERR_INTERNAL', `CPU task ${task.kind} failed: ${message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#piscina.destroy();
  }

  #fail(reason: string): void {
    if (this.#failed !== undefined) return;
    this.#failed = new MusterError('MUSTER_ERR_POOL_FAILED', reason);
    this.#log.fatal({ reason }, 'CPU pool failed');
    void this.close();
  }
}

export function createCpuPool(options?: CpuPoolOptions): Promise<CpuPool> {
  return CpuPool.create(options);
}

let shared: Promise<CpuPool> | undefined;

/** The process's one pool, created on first use with the defaults. */
export function cpuPool(): Promise<CpuPool> {
  shared ??= CpuPool.create();
  return shared;
}

/** Runs one task on the process's pool. */
export async function runPooled<T extends CpuTask>(task: T): Promise<CpuTaskResult<T>> {
  return (await cpuPool()).run(task);
}

/**
 * Runs the function `name` that module `module` (a URL: `siblingModule(import.meta.url, …)`) exports, with
 * `args`, on `options.pool` (default: the process's pool), and resolves with what it returns; an abort of
 * `options.signal` stops it (`CpuPool.run`). The function must be
 * a pure function of plain, cloneable arguments: it runs in another thread, which imports its module once.
 * `F` is the function's type, so callers and the function agree: `runExport<typeof f>(url, 'f', args)`.
 */
export async function runExport<F extends (args: never) => unknown>(
  module: string,
  name: string,
  args: Parameters<F>[0],
  options: { readonly pool?: CpuPool; readonly signal?: AbortSignal } = {},
): Promise<Awaited<ReturnType<F>>> {
  const pool = options.pool ?? (await cpuPool());
  return (await pool.run({ kind: 'call', module, name, args }, options.signal ? { signal: options.signal } : {})) as Awaited<ReturnType<F>>;
}

/** Encodes a JSON-compatible value as a self-checking snapshot (cpu-tasks.ts), off the calling thread. */
export function encodeSnapshot(value: unknown): Promise<Uint8Array> {
  return runPooled({ kind: 'encode-snapshot', value });
}

/** Decodes and checks a snapshot (`MUSTER_ERR_INVALID_SPEC` if corrupt), off the calling thread. */
export function decodeSnapshot(bytes: Uint8Array): Promise<unknown> {
  return runPooled({ kind: 'decode-snapshot', bytes });
}

/** Closes the process's pool (at shutdown; a later call creates a new one). */
export async function closeCpuPool(): Promise<void> {
  const pool = shared;
  shared = undefined;
  if (pool !== undefined) await (await pool.catch(() => undefined))?.close();
}
