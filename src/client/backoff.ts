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
