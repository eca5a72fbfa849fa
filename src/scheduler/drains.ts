/**
 * Drains: which nodes an operator has drained (cordoned), and the timer of each drain's deadline. The
 * router keeps it in step with `NodeDrainRequested` / `NodeUndrained` as they are emitted (and restore.ts
 * from a recovered state), so live and recovered schedulers agree; the reducer keeps the same fact in each
 * `NodeRecord` for snapshots and replay.
 *
 * A deadline that passes calls `expired(node, deadline)`: the dispatcher then ends what still runs there
 * (node-actor.ts, `evict`). A deadline already past when set (a recovered drain) fires at once.
 */
import type { Clock } from './clock.js';

export class Drains {
  readonly #clock: Clock;
  readonly #expired: (node: string, deadline: number) => void;
  readonly #drained = new Map<string, { readonly deadline: number | undefined; readonly cancel: (() => void) | undefined }>();

  constructor(clock: Clock, expired: (node: string, deadline: number) => void) {
    this.#clock = clock;
    this.#expired = expired;
  }

  has(node: string): boolean {
    return this.#drained.has(node);
  }

  /** The node's drain deadline (ms), undefined when it is not drained or its drain is unbounded. */
  deadline(node: string): number | undefined {
    return this.#drained.get(node)?.deadline;
  }

  set(node: string, deadline: number | undefined): void {
    this.clear(node);
    const cancel = deadline === undefined ? undefined : this.#clock.schedule(deadline, () => this.#expired(node, deadline));
    this.#drained.set(node, { deadline, cancel });
  }

  clear(node: string): void {
    this.#drained.get(node)?.cancel?.();
    this.#drained.delete(node);
  }
}
