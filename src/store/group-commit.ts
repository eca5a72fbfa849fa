/**
 * Group commit: appends that arrive close together share one write and one fsync.
 *
 * An append is encoded at once (so bad input throws before anything is queued, and seqs follow call
 * order) into the OPEN group. The open group is sealed and handed to the writer when
 *   - it fills (`maxBytes` or `maxEvents`), or
 *   - the writer is idle and the first append of the group has waited `windowMs`, or
 *   - the writer finishes the previous group (appends gathered during that fsync go out at once).
 * The writer takes sealed groups one at a time: one `sink.writeGroup` (one write + one fsync), then it
 * resolves the group's appends in order. Nothing is ever written out of order, and a group is never split.
 *
 * A failed write or fsync fails the committer for good: that group, every later one and every later append
 * reject with `MUSTER_ERR_STORE_FAILED`. After an fsync error the page cache may hold data the disk does
 * not; only a reopen (which reads the files) knows what is durable. A sink that knows better names the
 * failure with a code of its own (the etcd sink: `MUSTER_ERR_FENCED` when the writer was deposed): a
 * `MusterError` from the sink keeps its code.
 *
 * The sink may be the embedded store's segment writer (the group's bytes are its records as they go on
 * disk) or the etcd store's log sink (which reads the events' msgpack out of the records).
 */
import { MusterError } from '../errors/index.js';
import type { AppendResult } from './store.js';
import { encodePayload, recordBytes, writeRecord } from './record-codec.js';

/** Writes one sealed group: `bytes` are whole records, seqs `firstSeq..lastSeq`; one write, one fsync. */
export interface GroupSink {
  writeGroup(bytes: Buffer, firstSeq: number, lastSeq: number): Promise<void>;
}

export interface GroupCommitLimits {
  readonly windowMs: number;
  readonly maxBytes: number;
  readonly maxEvents: number;
  /** The largest event's msgpack the sink can take (default: the record limit); bigger is MUSTER_ERR_LIMIT_EXCEEDED. */
  readonly maxEventBytes?: number;
}

interface Waiter {
  readonly result: AppendResult;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (err: unknown) => void;
}

interface Group {
  buffer: Buffer;
  bytes: number;
  events: number;
  readonly firstSeq: number;
  readonly waiters: Waiter[];
}

/** First size of a group's buffer; it doubles as needed. 64 KiB: a few hundred typical events. */
const INITIAL_GROUP_BUFFER = 64 * 1024;

export class GroupCommitter {
  readonly #sink: GroupSink;
  readonly #limits: GroupCommitLimits;
  #nextSeq: number;
  #durableSeq: number;
  #open: Group | undefined;
  readonly #sealed: Group[] = [];
  #writing = false;
  #timer: NodeJS.Timeout | undefined;
  #failure: MusterError | undefined;
  /** A written group's buffer, reused by the next group (the writer holds at most one group at a time). */
  #spare: Buffer | undefined;

  constructor(sink: GroupSink, lastSeq: number, limits: GroupCommitLimits) {
    this.#sink = sink;
    this.#limits = limits;
    this.#nextSeq = lastSeq + 1;
    this.#durableSeq = lastSeq;
  }

  /** The last seq handed out (durable or not). */
  get lastAssignedSeq(): number {
    return this.#nextSeq - 1;
  }

  /** The last seq whose group is written and fsynced. */
  get durableSeq(): number {
    return this.#durableSeq;
  }

  get failure(): MusterError | undefined {
    return this.#failure;
  }

  /**
   * Encodes `events` into the open group and returns the promise of their durability. Throws (before
   * changing anything) if an event cannot be encoded or is bigger than `maxEventBytes`. An empty append is
   * a barrier: it resolves once everything appended before it is durable, with `firstSeq = lastSeq + 1`.
   */
  append(epoch: number, events: readonly unknown[]): Promise<AppendResult> {
    if (this.#failure !== undefined) throw this.#failure;
    const group = (this.#open ??= this.#newGroup());
    const mark = group.bytes;
    let seq = this.#nextSeq;
    try {
      for (let i = 0; i < events.length; i++) {
        const payload = encodePayload(events[i]);
        const { maxEventBytes } = this.#limits;
        if (maxEventBytes !== undefined && payload.length > maxEventBytes) {
          throw new MusterError('MUSTER_ERR_LIMIT_EXCEEDED', `an event encodes to ${payload.length} bytes, above the ${maxEventBytes}-byte limit of this store`);
        }
        const needed = group.bytes + recordBytes(payload.length);
        if (needed > group.buffer.length) grow(group, needed);
        group.bytes = writeRecord(group.buffer, group.bytes, seq++, epoch, i === events.length - 1, payload);
      }
    } catch (err) {
      group.bytes = mark;
      throw err;
    }
    const result: AppendResult = { firstSeq: this.#nextSeq, lastSeq: seq - 1 };
    this.#nextSeq = seq;
    group.events += events.length;
    const promise = new Promise<AppendResult>((resolve, reject) => group.waiters.push({ result, resolve, reject }));
    if (group.bytes >= this.#limits.maxBytes || group.events >= this.#limits.maxEvents) this.#seal();
    else if (!this.#writing && this.#timer === undefined) {
      if (this.#limits.windowMs <= 0) this.#seal();
      else this.#timer = setTimeout(() => this.#seal(), this.#limits.windowMs);
    }
    return promise;
  }

  /** Resolves once everything appended so far is durable (seals the open group now, without waiting). */
  async flush(): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#open === undefined && this.#sealed.length === 0 && !this.#writing) return;
    const barrier = this.append(0, []);
    this.#seal();
    await barrier;
  }

  #newGroup(): Group {
    const buffer = this.#spare ?? Buffer.allocUnsafe(INITIAL_GROUP_BUFFER);
    this.#spare = undefined;
    return { buffer, bytes: 0, events: 0, firstSeq: this.#nextSeq, waiters: [] };
  }

  #seal(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const group = this.#open;
    if (group === undefined || group.waiters.length === 0) return;
    this.#open = undefined;
    this.#sealed.push(group);
    if (!this.#writing) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    for (;;) {
      // Appends that gathered while the previous group was being written go out now: they have waited
      // at least one fsync, which is what the window is for.
      if (this.#sealed.length === 0 && this.#open !== undefined && this.#open.waiters.length > 0) this.#seal();
      const group = this.#sealed.shift();
      if (group === undefined) break;
      const lastSeq = group.firstSeq + group.events - 1;
      try {
        if (group.bytes > 0) await this.#sink.writeGroup(group.buffer.subarray(0, group.bytes), group.firstSeq, lastSeq);
      } catch (err) {
        this.#fail(err, group);
        break;
      }
      if (group.events > 0) this.#durableSeq = lastSeq;
      if (group.buffer.length <= this.#limits.maxBytes * 2) this.#spare = group.buffer;
      for (const waiter of group.waiters) waiter.resolve(waiter.result);
    }
    this.#writing = false;
  }

  #fail(err: unknown, group: Group): void {
    const why = err instanceof Error ? err.message : String(err);
    const code = err instanceof MusterError ? err.code : 'MUSTER_ERR_STORE_FAILED';
    this.#failure = new MusterError(code, `writing events ${group.firstSeq}.. failed (${why}); the store refuses writes until it is reopened`, { cause: err });
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const failed = [group, ...this.#sealed.splice(0), ...(this.#open === undefined ? [] : [this.#open])];
    this.#open = undefined;
    for (const g of failed) for (const waiter of g.waiters) waiter.reject(this.#failure);
  }
}

function grow(group: Group, needed: number): void {
  let size = group.buffer.length * 2;
  while (size < needed) size *= 2;
  const bigger = Buffer.allocUnsafe(size);
  group.buffer.copy(bigger, 0, 0, group.bytes);
  group.buffer = bigger;
}
