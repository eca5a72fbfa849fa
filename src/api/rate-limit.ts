/**
 * Requests per tenant, as token buckets: each tenant's bucket holds up to `burst` tokens and refills at
 * `rate` per second; a request takes its cost or is refused with how long until it would fit. One bucket
 * per tenant, shared by every connection and route of that tenant, so opening more connections buys nothing.
 */

interface Bucket {
  tokens: number;
  at: number;
}

export type Take = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

const OK: Take = { ok: true };

export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;

  constructor(ratePerSecond: number, burst: number, now: () => number = () => performance.now()) {
    this.#rate = ratePerSecond / 1000;
    this.#burst = burst;
    this.#now = now;
  }

  /** Takes `cost` tokens from `tenant`'s bucket; a cost above the burst is charged as the whole burst. */
  take(tenant: string, cost: number): Take {
    const now = this.#now();
    let bucket = this.#buckets.get(tenant);
    if (!bucket) {
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(tenant, bucket);
    } else {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#rate);
      bucket.at = now;
    }
    const charge = Math.min(cost, this.#burst);
    if (bucket.tokens >= charge) {
      bucket.tokens -= charge;
      return OK;
    }
    return { ok: false, retryAfterMs: Math.ceil((charge - bucket.tokens) / this.#rate) };
  }
}
