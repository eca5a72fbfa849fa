/**
 * The dispatcher's durability bookkeeping: it numbers events, hands each turn's events to the sink as one
 * batch, learns when they are durable, and runs what waits for durability (replies to commands, messages
 * towards agents) in order once it is. Nothing leaves the scheduler that a crash could take back.
 *
 * A sink that fails fails the sequencer for good: what waits is dropped and `failed` says why; the
 * process must restart and recover from what is durable.
 */
import type { Logger } from '../log/index.js';
import type { SchedulerEvent } from './events.js';

/**
 * Where the dispatcher's events go, in order, one batch per dispatcher turn. `write` returns a promise
 * that resolves once the batch is durable, or undefined when it already is (an in-memory sink).
 */
export interface EventSink {
  write(events: readonly SchedulerEvent[], firstSeq: number): Promise<void> | undefined;
}

/** How the sequencer hears back from the sink: as messages into its actor's mailbox, not in a callback. */
export interface SinkNotices {
  durable(seq: number): void;
  failed(message: string): void;
}

export class DurableSequencer {
  readonly #sink: EventSink;
  readonly #notices: SinkNotices;
  readonly #log: Logger;
  /** Sequence number of the last event emitted, and of the last one known durable. */
  #seq: number;
  #durable: number;
  #unwritten: SchedulerEvent[] = [];
  readonly #waiting: { readonly seq: number; readonly action: () => void }[] = [];
  #failed: string | undefined;

  constructor(sink: EventSink, lastSeq: number, notices: SinkNotices, log: Logger) {
    this.#sink = sink;
    this.#notices = notices;
    this.#log = log;
    this.#seq = lastSeq;
    this.#durable = lastSeq;
  }

  /** The last event emitted. */
  get seq(): number {
    return this.#seq;
  }

  /** Why the sink failed, once it has. */
  get failed(): string | undefined {
    return this.#failed;
  }

  emit(e: SchedulerEvent): void {
    this.#seq++;
    this.#unwritten.push(e);
  }

  /** Runs `action` once every event emitted so far is durable (at once when it already is). */
  afterDurable(action: () => void): void {
    if (this.#durable >= this.#seq && this.#unwritten.length === 0) action();
    else this.#waiting.push({ seq: this.#seq, action });
  }

  /** Hands the events of this turn to the sink (one batch); its answer comes back through the notices. */
  write(): void {
    if (this.#unwritten.length === 0) return;
    const events = this.#unwritten;
    this.#unwritten = [];
    const last = this.#seq;
    let written: Promise<void> | undefined;
    try {
      written = this.#sink.write(events, last - events.length + 1);
    } catch (err) {
      return this.fail(err);
    }
    if (!written) return this.durable(last);
    written.then(
      () => this.#notices.durable(last),
      (err: unknown) => this.#notices.failed(String((err as Error)?.message ?? err)),
    );
  }

  /** Events up to `seq` are durable: run what waited for them, in order. */
  durable(seq: number): void {
    if (seq > this.#durable) this.#durable = seq;
    let i = 0;
    const waiting = this.#waiting;
    while (i < waiting.length && waiting[i]!.seq <= this.#durable) waiting[i++]!.action();
    if (i > 0) waiting.splice(0, i);
  }

  /**
   * The store failed: nothing more can be made durable, so nothing more may be acknowledged or dispatched.
   * What waits is dropped (the callers' asks time out or are failed by the server).
   */
  fail(err: unknown): void {
    this.#failed = String((err as Error)?.message ?? err);
    this.#waiting.length = 0;
    this.#log.fatal({ err: this.#failed }, 'event store write failed: the scheduler stops acknowledging and dispatching');
  }
}
