/**
 * Idempotency keys: per tenant, the job each key named. A resubmission with a known key gets that job's id.
 *
 * Nested maps (tenant → key → job) rather than one map on `tenant + key`: a million keys would otherwise
 * cost a million concatenated strings (about 60 bytes each) on top of the keys themselves.
 */
export class IdempotencyIndex {
  readonly #byTenant = new Map<string, Map<string, string>>();

  get(tenant: string, key: string): string | undefined {
    return this.#byTenant.get(tenant)?.get(key);
  }

  set(tenant: string, key: string, job: string): void {
    let keys = this.#byTenant.get(tenant);
    if (!keys) this.#byTenant.set(tenant, (keys = new Map()));
    keys.set(key, job);
  }

  delete(tenant: string, key: string): void {
    const keys = this.#byTenant.get(tenant);
    if (keys?.delete(key) && keys.size === 0) this.#byTenant.delete(tenant);
  }
}
