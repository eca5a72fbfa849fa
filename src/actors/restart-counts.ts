/**
 * How many times each actor name has been restarted since the system started, on every host, kept on the
 * main thread (`ActorSystem.restartCounts()`). An actor restart is counted from its `supervision` event
 * with directive `restart` (every host publishes one per restart; worker hosts forward theirs to the main
 * thread); a worker host's restart is counted by the system when it decides it, under `HOST_RESTARTS_NAME`.
 */
import type { ActorEvent } from './events.js';

/** The name worker host restarts are counted under (as if the host were an actor named `host`). */
export const HOST_RESTARTS_NAME = 'host';

export class RestartCounts {
  readonly #byName = new Map<string, number>();

  /** Counts `event` if it is an actor's restart. */
  observe(event: ActorEvent): void {
    if (event.kind === 'supervision' && event.directive === 'restart') this.add(event.name);
  }

  add(name: string): void {
    this.#byName.set(name, (this.#byName.get(name) ?? 0) + 1);
  }

  /** The counts by name (a live view: it changes as restarts are counted; copy it to keep a snapshot). */
  get byName(): ReadonlyMap<string, number> {
    return this.#byName;
  }
}
