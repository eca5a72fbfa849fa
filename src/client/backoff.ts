/**
 * Reconnect delays: exponential with "equal jitter" (half the step fixed, half random), so a fleet of
 * clients that lost the same server does not come back in lockstep, yet no client retries at once.
 */

/** First delay after a round of endpoints failed: short, a restarted server is usually back within it. */
export const BACKOFF_BASE_MS = 100;

/** Longest delay: a client never waits longer than this between rounds once the server is back. */
export const BACKOFF_MAX_MS = 5_000;

export interface BackoffOptions {
  readonly baseMs?: number;
  readonly maxMs?: number;
  /** A number in [0, 1); `Math.random` unless a test fixes it. */
  readonly random?: () => number;
}

/** The delay before round `attempt` (0-based: 0 is the first retry). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? BACKOFF_BASE_MS;
  const max = options.maxMs ?? BACKOFF_MAX_MS;
  const random = options.random ?? Math.random;
  // 2 ** 30 overflows nothing and is far past any max: clamp the exponent so the step never becomes Infinity.
  const step = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + random() * (step / 2));
}

/**
 * The wait before another round of endpoints. While replicas answer but none leads (`standbys`: an election
 * is on, a leader is seconds away), the refusal's `retryAfterMs` plus up to half of it again (jitter), and no
 * growth: growing the wait there found a leader serving at 2.1 s only at the next round, up to 1.2 s later
 * (bench failover). When nothing answers, the exponential backoff. Never shorter than what a refusal asked
 * for: jittering below it let two replicas naming each other be asked faster than they said to.
 */
export function roundDelay(attempt: number, standbys: boolean, retryAfterMs: number, options: BackoffOptions = {}): number {
  if (!standbys || retryAfterMs <= 0) return Math.max(backoffDelay(attempt, options), retryAfterMs);
  const random = options.random ?? Math.random;
  return Math.round(retryAfterMs + random() * (retryAfterMs / 2));
}
