/**
 * The stores' one-at-a-time chain: `recover`, snapshot writes, `compact` and `close` run one after another
 * (appends flow beside them). An operation's failure is its caller's; the next one runs regardless.
 */
export class OneAtATime {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `operation` after those queued before; `check` (the store still open) runs first, at once. */
  run<T>(check: () => void, operation: () => Promise<T>): Promise<T> {
    let run: Promise<T>;
    try {
      check();
      run = this.#tail.then(operation);
    } catch (err) {
      return Promise.reject(err);
    }
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** Runs `operation` last: after everything queued, whatever happened to it (a close). */
  last(operation: () => Promise<void>): Promise<void> {
    const run = this.#tail.catch(() => undefined).then(operation);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** Settles once everything queued so far has run (a second close waits for the first). */
  idle(): Promise<void> {
    return this.#tail.then(() => undefined);
  }
}
