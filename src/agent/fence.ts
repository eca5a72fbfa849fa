/**
 * The fence: an agent that has had no contact with the control plane for `fenceMs` gives up its attempts,
 * because by then the server may have declared its node lost and given them to other nodes (PROTOCOL.md,
 * "Fence"). The server sends `fenceMs` in `registered`, shorter than its own lost timeout by a margin.
 *
 * Contact is a pong to the link's ping, or any frame from the server; it counts from when the last ping
 * was sent (the server answered at or after that moment, never before: the conservative reading). The lease
 * is `last contact + fenceMs` on CLOCK_MONOTONIC; each change is handed to `lease` (the agent writes it to
 * the file every shim reads, so the fence holds even while the agent itself is stopped), and when it runs
 * out `expired` is called once, until a new contact renews it. No `fenceMs` (an older server): no fence.
 */
import type { Lease } from './shim/index.js';

export interface FenceOptions {
  /** The lease ran out: no contact for `fenceMs`. Called once per lapse. */
  readonly expired: (info: { readonly fenceMs: number; readonly silentMs: number }) => void;
  /** The lease changed (undefined: no fence). */
  readonly lease?: (lease: Lease | undefined) => void;
  /** The lease a previous run of the agent left, kept until the server says otherwise. */
  readonly initial?: Lease;
}

/** Nanoseconds of CLOCK_MONOTONIC. */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

export class Fence {
  readonly #o: FenceOptions;
  #fenceMs: number | undefined;
  #contactNs: bigint | undefined;
  #deadlineNs: bigint | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lapsed = false;

  constructor(options: FenceOptions) {
    this.#o = options;
    if (options.initial && options.initial.fenceMs > 0) {
      this.#fenceMs = options.initial.fenceMs;
      this.#deadlineNs = options.initial.deadlineNs;
      this.#contactNs = options.initial.deadlineNs - BigInt(options.initial.fenceMs) * 1_000_000n;
      this.#arm();
    }
  }

  get fenceMs(): number | undefined {
    return this.#fenceMs;
  }

  /** The current lease, if there is a fence. */
  get lease(): Lease | undefined {
    return this.#fenceMs !== undefined && this.#deadlineNs !== undefined ? { deadlineNs: this.#deadlineNs, fenceMs: this.#fenceMs } : undefined;
  }

  /** Whether the lease has run out (and no contact came since). */
  get lapsed(): boolean {
    return this.#lapsed;
  }

  /** The server's fence (from `registered`); undefined: no fence. */
  setFenceMs(fenceMs: number | undefined): void {
    if (fenceMs === this.#fenceMs) return;
    this.#fenceMs = fenceMs;
    this.#update();
  }

  /** The server was heard from at `atNs` or later. */
  contact(atNs: bigint): void {
    if (this.#contactNs !== undefined && atNs <= this.#contactNs) return;
    this.#contactNs = atNs;
    this.#update();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #update(): void {
    const deadline = this.#fenceMs !== undefined && this.#contactNs !== undefined ? this.#contactNs + BigInt(this.#fenceMs) * 1_000_000n : undefined;
    if (deadline === this.#deadlineNs) return;
    this.#deadlineNs = deadline;
    if (deadline === undefined || deadline > monotonicNs()) this.#lapsed = false;
    this.#o.lease?.(this.lease);
    this.#arm();
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const deadline = this.#deadlineNs;
    if (deadline === undefined || this.#lapsed) return;
    const leftMs = Number((deadline - monotonicNs()) / 1_000_000n);
    this.#timer = setTimeout(() => this.#check(), Math.max(0, leftMs + 1));
    this.#timer.unref();
  }

  #check(): void {
    const deadline = this.#deadlineNs;
    if (deadline === undefined || this.#lapsed) return;
    const now = monotonicNs();
    if (now < deadline) return this.#arm();
    this.#lapsed = true;
    const silentMs = this.#contactNs === undefined ? this.#fenceMs! : Number((now - this.#contactNs) / 1_000_000n);
    this.#o.expired({ fenceMs: this.#fenceMs!, silentMs });
  }
}
