/**
 * One-for-one supervision: when an actor's handler throws, its supervisor (the parent that spawned it, or
 * its host for top-level actors) decides for that actor alone:
 *
 * - `resume`: drop the failing message, keep the state;
 * - `restart`: rebuild the state with `initial` (children are stopped; the mailbox is kept), if the restart
 *   budget allows (`maxRestarts` within `withinMs`), else stop;
 * - `stop`: stop the actor;
 * - `escalate`: fail the supervisor itself with the same error (a top-level actor's supervisor, its host,
 *   stops it).
 *
 * Every decision is published as a `supervision` event (events.ts).
 */
export type Directive = 'resume' | 'restart' | 'stop' | 'escalate';

export interface SupervisionOptions {
  readonly decide: (error: unknown) => Directive;
  readonly maxRestarts: number;
  readonly withinMs: number;
}

/**
 * Three restarts in ten seconds: a transient fault (a bad message, a lost connection) recovers; a fault
 * that recurs faster than that is structural, and restarting again would only hide it.
 */
export const DEFAULT_MAX_RESTARTS = 3;
export const DEFAULT_RESTART_WINDOW_MS = 10_000;

export const DEFAULT_SUPERVISION: SupervisionOptions = {
  decide: () => 'restart',
  maxRestarts: DEFAULT_MAX_RESTARTS,
  withinMs: DEFAULT_RESTART_WINDOW_MS,
};

/** Counts restarts in a sliding time window. The clock is injected so tests need no sleeps. */
export class RestartBudget {
  readonly #max: number;
  readonly #withinMs: number;
  #times: number[] = [];

  constructor(max: number, withinMs: number) {
    this.#max = max;
    this.#withinMs = withinMs;
  }

  /** Restarts inside the window ending at `now`. */
  used(now: number): number {
    this.#times = this.#times.filter((t) => now - t < this.#withinMs);
    return this.#times.length;
  }

  /** Takes one restart if the budget allows it. */
  tryRestart(now: number): boolean {
    if (this.used(now) >= this.#max) return false;
    this.#times.push(now);
    return true;
  }
}
