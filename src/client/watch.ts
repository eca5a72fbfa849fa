/**
 * A watch: the job events of one filter, as an async iterable. The session feeds it; the caller pulls.
 *
 * It survives reconnects: the session subscribes again with `from` = the last event received, so the
 * stream resumes right after it, events in order, never repeated (events at or before the last one are
 * dropped if a server sends them again). When the server no longer keeps events that old it answers
 * MUSTER_ERR_WATCH_GAP: the iterator delivers what it had buffered, then throws a `ServerError` with that
 * code and `oldest`; the caller re-reads state over HTTP and watches again without `from`.
 */
import { MusterError } from '../errors/index.js';
import type { JobEvent, WatchFilter } from './wire.js';

/**
 * Events buffered for a caller that does not keep up. Past it the watch ends with
 * MUSTER_ERR_LIMIT_EXCEEDED (after delivering what it holds) rather than growing without bound; the caller
 * resumes with `from: watch.lastSeq`. 100k events are a few tens of MiB.
 */
export const MAX_WATCH_BUFFER = 100_000;

export interface WatchOptions {
  /** The `seq` of the last event already seen: the stream starts right after it. */
  readonly from?: number;
  readonly maxBuffered?: number;
}

/** What a watch needs from the session that feeds it. */
export interface WatchHost {
  unwatch(watch: Watch): void;
}

export class Watch implements AsyncIterableIterator<JobEvent> {
  readonly filter: WatchFilter;
  readonly #host: WatchHost;
  readonly #maxBuffered: number;
  /** Events not yet pulled; `#head` is the next one (an index, so pulling is not `Array.shift`). */
  #buffer: JobEvent[] = [];
  #head = 0;
  /** The seq of the newest event received: where a new subscription resumes. */
  #received: number | undefined;
  #delivered: number | undefined;
  #waiter: { resolve: (r: IteratorResult<JobEvent>) => void; reject: (err: Error) => void } | undefined;
  #error: Error | undefined;
  #ended = false;
  #readyResolve!: (seq: number) => void;
  #readyReject!: (err: Error) => void;
  /** Resolves with the server's newest `seq` once the first subscription is confirmed (`watching`). */
  readonly ready: Promise<number>;

  constructor(host: WatchHost, filter: WatchFilter, options: WatchOptions = {}) {
    this.#host = host;
    this.filter = filter;
    this.#maxBuffered = options.maxBuffered ?? MAX_WATCH_BUFFER;
    this.#received = options.from;
    this.#delivered = options.from;
    this.ready = new Promise<number>((resolve, reject) => {
      this.#readyResolve = resolve;
      this.#readyReject = reject;
    });
    // A caller that only iterates must not see an unhandled rejection from `ready`.
    this.ready.catch(() => undefined);
  }

  /** The seq of the last event the caller pulled (or `from`): what to pass as `from` to resume later. */
  get lastSeq(): number | undefined {
    return this.#delivered;
  }

  /** Where a (re)subscription resumes: the newest event received. */
  get resumeFrom(): number | undefined {
    return this.#received;
  }

  /** Whether the watch still wants events (not closed by the caller, not failed). */
  get active(): boolean {
    return !this.#ended && this.#error === undefined;
  }

  // Called by the session.

  /** A subscription was confirmed; `seq` is the server's newest event at its start. */
  started(seq: number): void {
    // Without `from`, the stream begins after the newest event: resuming from there loses nothing.
    if (this.#received === undefined) this.#received = seq;
    this.#readyResolve(seq);
  }

  push(events: readonly JobEvent[]): void {
    if (!this.active) return;
    // Several events share a seq (one placement cycle's `placed` events) and always come in one frame: a
    // repeat is an event at or before the newest seq of an earlier frame, not one equal to its neighbour's.
    const floor = this.#received;
    for (const event of events) {
      if (floor !== undefined && event.seq <= floor) continue;
      this.#received = event.seq;
      if (this.#waiter) {
        const waiter = this.#waiter;
        this.#waiter = undefined;
        this.#delivered = event.seq;
        waiter.resolve({ value: event, done: false });
      } else {
        this.#buffer.push(event);
      }
    }
    if (this.#buffer.length - this.#head > this.#maxBuffered) {
      this.fail(new MusterError('MUSTER_ERR_LIMIT_EXCEEDED', `the watch holds more than ${this.#maxBuffered} events its reader has not taken; resume with from: ${this.#received ?? 0} after reading faster`));
      this.#host.unwatch(this);
    }
  }

  /** Ends the watch with `err`, after the events already buffered. */
  fail(err: Error): void {
    if (!this.active) return;
    this.#error = err;
    this.#readyReject(err);
    if (this.#waiter && this.#head >= this.#buffer.length) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter.reject(err);
    }
  }

  /** Ends the watch without an error (closed by the caller or with the client); what is buffered is dropped. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = undefined;
    this.#buffer = [];
    this.#head = 0;
    this.#readyReject(new MusterError('MUSTER_ERR_CLIENT_CLOSED', 'the watch was closed before the server confirmed it'));
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter.resolve({ value: undefined, done: true });
    }
  }

  // The iterator.

  next(): Promise<IteratorResult<JobEvent>> {
    if (this.#head < this.#buffer.length) {
      const event = this.#buffer[this.#head++] as JobEvent;
      if (this.#head === this.#buffer.length) {
        this.#buffer = [];
        this.#head = 0;
      } else if (this.#head > 4096 && this.#head * 2 > this.#buffer.length) {
        this.#buffer = this.#buffer.slice(this.#head);
        this.#head = 0;
      }
      this.#delivered = event.seq;
      return Promise.resolve({ value: event, done: false });
    }
    if (this.#error !== undefined) {
      // Thrown once; the iterator is done afterwards.
      const err = this.#error;
      this.#ended = true;
      this.#error = undefined;
      return Promise.reject(err);
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Stops the watch (what `break` in a `for await` calls). */
  return(): Promise<IteratorResult<JobEvent>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  close(): void {
    const wasActive = this.active;
    this.end();
    if (wasActive) this.#host.unwatch(this);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<JobEvent> {
    return this;
  }
}
