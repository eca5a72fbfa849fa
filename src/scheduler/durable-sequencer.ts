/**
 * The dispatcher's durability bookkeeping: it numbers events, hands each turn's events to the sink as one
 * batch, learns when they are durable, and runs what waits for durability (replies to commands, messages
 * towards agents) in order once it is. Nothing leaves the scheduler that a crash could take back.
 *
 * A sink that fails fails the sequencer for good (`failed` says why): every waiting reply is answered at
 * once with its refusal (`MUSTER_ERR_STORE_FAILED`), every waiting message towards an agent is dropped,
 * and nothing is written, acknowledged or dispatched again. The process must restart and recover from what
 * is durable.
 */
import { RingBuffer } from '../actors/index.js';
import type { Logger } from '../log/index.js';
import type { SchedulerEvent } from './events.js';

/**
 * Where the dispatcher's events go, in order, one batch per tick of the dispatcher's actor host (dispatcher.ts). `write` returns a promise
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

/** An action waiting for durability, and what to do instead if the sink fails first (nothing: dropped). */
interface Waiting {
  readonly seq: number;
  readonly action: () => void;
  readonly refuse: ((failure: string) => void) | undefined;
}

export class DurableSequencer {
  readonly #sink: EventSink;
  readonly #notices: SinkNotices;
  readonly #log: Logger;
  /** Sequence number of the last event emitted, and of the last one known durable. */
  #seq: number;
  #durable: number;
  #unwritten: SchedulerEvent[] = [];
  /** A ring buffer: each durable notice takes from its head (an array's `splice` moved the rest each time). */
  readonly #waiting = new RingBuffer<Waiting>();
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

  /**
   * Runs `action` once every event emitted so far is durable (at once when it already is). If the sink has
   * failed, or fails first, `refuse` runs instead, with why (a reply's refusal); without `refuse` the
   * action is dropped (a message towards an agent is never sent for events that may not be durable).
   */
  afterDurable(action: () => void, refuse?: (failure: string) => void): void {
    if (this.#failed !== undefined) refuse?.(this.#failed);
    else if (this.#durable >= this.#seq && this.#unwritten.length === 0) action();
    else this.#waiting.push({ seq: this.#seq, action, refuse });
  }

  /** Hands the events of this turn to the sink (one batch); its answer comes back through the notices. */
  write(): void {
    if (this.#unwritten.length === 0) return;
    if (this.#failed !== undefined) {
      // Nothing can become durable any more: events emitted after the failure are not written.
      this.#unwritten = [];
      return;
    }
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
    const waiting = this.#waiting;
    while (waiting.size !== 0 && waiting.peek()!.seq <= this.#durable) waiting.shift()!.action();
  }

  /**
   * The sink failed: nothing more can be made durable, so nothing more may be acknowledged or dispatched.
   * Every waiting reply is refused now, in order; waiting messages towards agents are dropped. Later
   * batches of the same sink fail too: only the first failure counts (and is logged).
   */
  fail(err: unknown): void {
    if (this.#failed !== undefined) return;
    const failure = String((err as Error)?.message ?? err);
    this.#failed = failure;
    this.#unwritten = [];
    const waiting = this.#waiting.drain();
    let refused = 0;
    for (const w of waiting) {
      if (w.refuse === undefined) continue;
      w.refuse(failure);
      refused++;
    }
    // The process's own fatal line (with the errno and the file) is the owner's to write (src/server).
    this.#log.error(
      { err: failure, durableSeq: this.#durable, lastSeq: this.#seq, refused, dropped: waiting.length - refused },
      'event sink failed: waiting replies refused with MUSTER_ERR_STORE_FAILED, waiting dispatches dropped; nothing more is acknowledged or dispatched',
    );
  }
}
