/**
 * A typed listener list. Our own rather than Node's EventEmitter because a listener that throws must not
 * break the election's state machine halfway through a change (an EventEmitter would throw back into it),
 * and because no event here is `error`.
 */
export class Listeners<Events extends object> {
  readonly #byEvent = new Map<keyof Events, Set<(value: never) => void>>();
  readonly #onListenerError: (event: keyof Events, err: unknown) => void;

  constructor(onListenerError: (event: keyof Events, err: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  on<E extends keyof Events>(event: E, listener: (value: Events[E]) => void): () => void {
    let set = this.#byEvent.get(event);
    if (set === undefined) this.#byEvent.set(event, (set = new Set()));
    const entry = listener as (value: never) => void;
    set.add(entry);
    return () => void set.delete(entry);
  }

  emit<E extends keyof Events>(event: E, value: Events[E]): void {
    const set = this.#byEvent.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as (value: Events[E]) => void)(value);
      } catch (err) {
        this.#onListenerError(event, err);
      }
    }
  }
}
