/**
 * The agent's lease: the file WORK/lease that every shim reads a few times a second. One line,
 * `DEADLINE_NS FENCE_MS`: the moment the agent's fence runs out, in nanoseconds of CLOCK_MONOTONIC (the
 * clock `process.hrtime.bigint()` reads and C's `clock_gettime(CLOCK_MONOTONIC)`, the same for every process
 * of the machine), and the fence it was computed with (so a restarted agent keeps its fence before the
 * server has told it again). `none`: no fence. A shim reads only the first number.
 *
 * Written as `lease.tmp` then renamed, so a shim never reads half a number. Not fsynced: a crash of the
 * machine ends the tasks the lease guards.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Logger } from '../../log/index.js';

export const LEASE_FILE = 'lease';

export interface Lease {
  /** When the fence runs out, on CLOCK_MONOTONIC, in ns. */
  readonly deadlineNs: bigint;
  readonly fenceMs: number;
}

export function formatLease(lease: Lease | undefined): string {
  return lease === undefined ? 'none\n' : `${lease.deadlineNs} ${lease.fenceMs}\n`;
}

/** The lease a text says; undefined for `none` or anything that is not a lease (no fence). */
export function parseLease(text: string): Lease | undefined {
  const match = /^(\d+)(?: (\d+))?\s*$/.exec(text);
  if (!match) return undefined;
  return { deadlineNs: BigInt(match[1]!), fenceMs: match[2] === undefined ? 0 : Number(match[2]) };
}

/** Reads a lease file; undefined when there is none (or it says none). */
export async function readLease(path: string): Promise<Lease | undefined> {
  try {
    return parseLease(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Writes the lease file, one write at a time: a newer lease given while a write is in flight replaces any
 * older one waiting, so a burst of contacts costs at most two writes.
 */
export class LeaseFile {
  readonly path: string;
  readonly #log: Logger;
  #writing: Promise<void> | undefined;
  #next: { readonly lease: Lease | undefined } | undefined;

  constructor(path: string, log: Logger) {
    this.path = path;
    this.#log = log;
  }

  write(lease: Lease | undefined): void {
    this.#next = { lease };
    this.#writing ??= this.#drain();
  }

  /** Resolves once every lease given so far is on disk (or failed to be). */
  async settled(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  async #drain(): Promise<void> {
    while (this.#next) {
      const { lease } = this.#next;
      this.#next = undefined;
      const tmp = `${this.path}.tmp`;
      try {
        await writeFile(tmp, formatLease(lease));
        await rename(tmp, this.path);
      } catch (err) {
        this.#log.error({ err, path: this.path }, 'could not write the lease file: the shims keep the last lease they read');
      }
    }
    this.#writing = undefined;
  }
}
