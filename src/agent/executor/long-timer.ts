/**
 * setTimeout fires at once for delays past 2^31 - 1 ms (about 24.8 days), and time limits may be up to a
 * year (`MAX_DURATION_MS`). This timer re-arms itself in steps until the whole delay has passed.
 */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export interface LongTimer {
  cancel(): void;
}

export function longTimer(delayMs: number, fire: () => void): LongTimer {
  const due = performance.now() + delayMs; // monotonic: a wall-clock jump must not end an attempt
  let handle: NodeJS.Timeout;
  const arm = (): void => {
    const left = due - performance.now();
    if (left <= 0) return fire();
    handle = setTimeout(arm, Math.min(left, MAX_TIMEOUT_MS));
  };
  handle = setTimeout(arm, Math.min(delayMs, MAX_TIMEOUT_MS));
  return { cancel: () => clearTimeout(handle) };
}
