/**
 * The idempotency-key window: a key names its job for `keyWindowMs` after the job's submission, then
 * expires (a resubmission with it makes a new job). What outlives a job's retirement is kept here:
 *
 * - the keys of retired jobs still inside the window (tenant → key → job number), so a resubmission of a
 *   retired job still gets its id;
 * - when jobs were submitted, coarsely: one checkpoint (first job number, time) per `KEY_TIME_GRAIN_MS` of
 *   submissions, not a time per job (job numbers grow with submission, so a checkpoint covers a run of them);
 * - `before`: keys of jobs numbered below it have expired (advanced by `KeysExpired` events).
 *
 * Both the dispatcher's directory (live) and a whole state (recovery, replay: kept by the reducer from
 * `JobSubmitted`, `JobsRetired` and `KeysExpired`) hold one, and snapshots carry it, so a recovered server
 * answers keys as the one before it did. Job numbers come from this server's ids (`j-N`): a job whose id
 * is not of that form has no number, and its key is kept only while the job is live.
 */

/**
 * Width of one submission-time checkpoint. A key expires between `keyWindowMs` and `keyWindowMs` + this
 * after its job's submission (never before): one second is far below any useful window, and keeps the
 * checkpoints of a day to 86,400 pairs (1.4 MB) however many jobs arrive.
 */
export const KEY_TIME_GRAIN_MS = 1000;

/** A window as stored in a snapshot. */
export interface EncodedKeyWindow {
  readonly before: number;
  /** [first job number, time] per checkpoint, oldest first. */
  readonly times: readonly (readonly [number, number])[];
  /** [tenant, key, job number] per retired job's key. */
  readonly retired: readonly (readonly [string, string, number])[];
}

/** The number of a job id `j-N` (undefined for any other id). */
export function jobNumber(id: string): number | undefined {
  if (id.charCodeAt(0) !== 106 /* j */ || id.charCodeAt(1) !== 45 /* - */) return undefined;
  const n = Number(id.slice(2));
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

export class KeyWindow {
  #before = 0;
  /** Checkpoints, oldest first from `#head`: jobs `#first[k]` … `#first[k+1] - 1` came in `[#at[k], #at[k] + grain)`. */
  #first: number[] = [];
  #at: number[] = [];
  #head = 0;
  /** The highest job number noted. */
  #last = 0;
  readonly #retired = new Map<string, Map<string, number>>();

  /** Keys of jobs numbered below this have expired. */
  get before(): number {
    return this.#before;
  }

  /** Keys of retired jobs held. */
  get retiredKeys(): number {
    let n = 0;
    for (const keys of this.#retired.values()) n += keys.size;
    return n;
  }

  /** Job `n` was submitted at `at`. */
  submitted(n: number, at: number): void {
    if (n > this.#last) this.#last = n;
    const k = this.#first.length - 1;
    if (k >= this.#head && at < (this.#at[k] as number) + KEY_TIME_GRAIN_MS) return;
    this.#first.push(n);
    this.#at.push(at);
  }

  /** Whether the key of job `n` has expired at `now` (it was submitted at least `windowMs` before). */
  expired(n: number, now: number, windowMs: number): boolean {
    if (n < this.#before) return true;
    const k = this.#bucketOf(n);
    // Before every checkpoint kept: its checkpoint was dropped because it had expired.
    if (k < 0) return true;
    return (this.#at[k] as number) + KEY_TIME_GRAIN_MS + windowMs <= now;
  }

  /** The job number below which every key has expired at `now` (at least `before`). */
  expiredBefore(now: number, windowMs: number): number {
    let before = this.#before;
    for (let k = this.#head; k < this.#first.length; k++) {
      if ((this.#at[k] as number) + KEY_TIME_GRAIN_MS + windowMs > now) break;
      before = k + 1 < this.#first.length ? (this.#first[k + 1] as number) : this.#last + 1;
    }
    return Math.max(before, this.#before);
  }

  /** When the next key held past `before` expires (undefined: none is). */
  nextExpiryAt(windowMs: number): number | undefined {
    for (let k = this.#head; k < this.#first.length; k++) {
      const end = k + 1 < this.#first.length ? (this.#first[k + 1] as number) : this.#last + 1;
      if (end > this.#before) return (this.#at[k] as number) + KEY_TIME_GRAIN_MS + windowMs;
    }
    return undefined;
  }

  /** A retired job's key, while it is inside the window (its job number; undefined: not held). */
  retired(tenant: string, key: string): number | undefined {
    return this.#retired.get(tenant)?.get(key);
  }

  /** Keeps the key of job `n`, which is being retired. */
  retire(tenant: string, key: string, n: number): void {
    if (n < this.#before) return;
    let keys = this.#retired.get(tenant);
    if (!keys) this.#retired.set(tenant, (keys = new Map()));
    // A newer job took the key after it expired for this one, and retired first: the key stays the newer's.
    const held = keys.get(key);
    if (held !== undefined && held > n) return;
    keys.delete(key);
    keys.set(key, n);
  }

  /** A new job took the key: the retired job's hold on it ends. */
  forget(tenant: string, key: string): void {
    const keys = this.#retired.get(tenant);
    if (keys?.delete(key) && keys.size === 0) this.#retired.delete(tenant);
  }

  /**
   * Keys of jobs below `before` expire: retired keys and checkpoints below it are dropped. Retired keys are
   * held in retirement order, close to number order; the drop stops at the first one still inside, so one
   * retired late goes with the keys after it.
   */
  expire(before: number): void {
    if (before <= this.#before) return;
    this.#before = before;
    for (const [tenant, keys] of this.#retired) {
      for (const [key, n] of keys) {
        if (n >= before) break;
        keys.delete(key);
      }
      if (keys.size === 0) this.#retired.delete(tenant);
    }
    while (this.#head + 1 < this.#first.length && (this.#first[this.#head + 1] as number) <= before) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#first.length) {
      this.#first = this.#first.slice(this.#head);
      this.#at = this.#at.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The last checkpoint at or below job `n` (-1: none). */
  #bucketOf(n: number): number {
    let lo = this.#head;
    let hi = this.#first.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#first[mid] as number) <= n) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  encode(): EncodedKeyWindow {
    const times: [number, number][] = [];
    for (let k = this.#head; k < this.#first.length; k++) times.push([this.#first[k] as number, this.#at[k] as number]);
    const retired: [string, string, number][] = [];
    for (const [tenant, keys] of this.#retired) for (const [key, n] of keys) retired.push([tenant, key, n]);
    return { before: this.#before, times, retired };
  }

  /** Adds what `encoded` holds (a snapshot's window; checkpoints in order, after any held). */
  merge(encoded: EncodedKeyWindow | undefined): void {
    if (!encoded) return;
    if (encoded.before > this.#before) this.#before = encoded.before;
    for (const [n, at] of encoded.times) {
      if (n > this.#last) this.#last = n;
      this.#first.push(n);
      this.#at.push(at);
    }
    for (const [tenant, key, n] of encoded.retired) this.retire(tenant, key, n);
  }

  /** A copy (the dispatcher takes one from a recovered state, which stays its caller's). */
  copy(): KeyWindow {
    const window = new KeyWindow();
    window.merge(this.encode());
    return window;
  }
}
