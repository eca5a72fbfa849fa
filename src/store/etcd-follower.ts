/**
 * The log follower: how a hot standby keeps its copy of the state current from the etcd store. It reads
 * what is there (the newest snapshot only when the log no longer holds the seq after `after`, then the log),
 * then follows an etcd watch on the log's keys from the revision after its read, and hands the consumer
 * whole groups of events in seq order, each event exactly once, never skipping one.
 *
 * Every batch, read or watched, goes through one gate (`#offer`): a batch wholly delivered is ignored; one
 * that holds the next seq starts a group; one that follows the group being gathered joins it; a group is
 * delivered when its end key arrives. Anything else is a gap: the follower reads the log again from the next
 * seq (and the snapshot, if compaction took that seq away), which is also what it does when the watch is
 * compacted, ends, errs, or stays silent past a progress request's deadline (a paused member). `caughtUp()`
 * is such a read, started after the call: it resolves once everything committed when it was called has been
 * delivered. Reads retry with a growing pause (up to `ETCD_RETRY_MAX_MS`) while etcd is unavailable.
 */
import type { Etcd3, IDuplexStream, IWatchRequest, IWatchResponse } from 'etcd3';
import { createLogger, type Logger } from '../log/index.js';
import { MusterError, codeOf, rangeError } from '../errors/index.js';
import type { Snapshot, StoredEvent } from './store.js';
import type { LogBatch } from './etcd-batch.js';
import { etcdFailure } from './etcd-calls.js';
import { EtcdKeys } from './etcd-keys.js';
import { decodeLogKey, eventsAfter, readStore } from './etcd-log-reader.js';
import { ETCD_CALL_DEADLINE_MS, ETCD_RETRY_MAX_MS, ETCD_WATCH_IDLE_MS } from './limits.js';

export interface LogFollowerOptions {
  readonly client: Etcd3;
  readonly prefix: string;
  /** The last seq the consumer already holds (0 for none). */
  readonly after: number;
  /** The consumer replaces its state with this one (events after it follow). */
  onSnapshot(snapshot: Snapshot): void;
  /** The next events, in order; the first one's seq is the one after the last delivered. */
  onEvents(events: readonly StoredEvent[]): void;
  /**
   * A failure. `MUSTER_ERR_STORE_FAILED` (etcd unavailable) is retried; `MUSTER_ERR_STORE_CORRUPT`,
   * `MUSTER_ERR_INVALID_VALUE` (`after` beyond the store) or a throwing callback stop the follower.
   */
  onError?(err: MusterError): void;
  readonly logger?: Logger;
}

export interface LogFollower {
  /** The last seq delivered (or `after`, before anything was). */
  readonly lastSeq: number;
  /** Resolves with `lastSeq` once everything committed at the call has been delivered; rejects if that read fails. */
  caughtUp(): Promise<number>;
  /** Stops the watch and every retry; nothing is delivered afterwards. */
  close(): Promise<void>;
}

export function followEtcdLog(options: LogFollowerOptions): LogFollower {
  if (!(Number.isSafeInteger(options.after) && options.after >= 0)) throw rangeError('MUSTER_ERR_INVALID_VALUE', `after must be a seq (an integer, 0 or more), not ${String(options.after)}`);
  return new EtcdLogFollower(options, new EtcdKeys(options.prefix));
}

interface Watch {
  stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined;
  /** When the stream last said anything; when the follower asked it for progress, if it did. */
  heardAt: number;
  askedAt: number | undefined;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

class EtcdLogFollower implements LogFollower {
  readonly #o: LogFollowerOptions;
  readonly #keys: EtcdKeys;
  readonly #log: Logger;
  #nextSeq: number;
  /** The batches of the group being gathered (its end key not seen yet). */
  #pending: LogBatch[] = [];
  #watch: Watch | undefined;
  /** Callers of the next read; a read running now serves none of them (it may have started before them). */
  #waiting: Waiter[] = [];
  #reading: Promise<void> | undefined;
  #retryMs = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #idleTimer: NodeJS.Timeout;
  /** Set by close() or a fatal error; nothing is delivered afterwards. */
  #stopped: MusterError | undefined;

  constructor(options: LogFollowerOptions, keys: EtcdKeys) {
    this.#o = options;
    this.#keys = keys;
    this.#log = options.logger ?? createLogger({ name: 'store' });
    this.#nextSeq = options.after + 1;
    this.#idleTimer = setInterval(() => this.#checkWatch(), ETCD_WATCH_IDLE_MS / 2).unref();
    this.#read().catch(() => undefined); // a failure is reported and retried by #readLoop
  }

  get lastSeq(): number {
    return this.#nextSeq - 1;
  }

  async caughtUp(): Promise<number> {
    await this.#read();
    return this.lastSeq;
  }

  async close(): Promise<void> {
    this.#stop(new MusterError('MUSTER_ERR_STORE_CLOSED', `the follower of the etcd log at ${this.#keys.prefix} is closed`));
    await this.#reading;
  }

  /** Resolves after a read that starts after this call has delivered what it found. */
  #read(): Promise<void> {
    if (this.#stopped !== undefined) return Promise.reject(this.#stopped);
    const done = new Promise<void>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    this.#reading ??= this.#readLoop();
    return done;
  }

  async #readLoop(): Promise<void> {
    while (this.#waiting.length > 0 && this.#stopped === undefined) {
      const waiters = this.#waiting.splice(0);
      try {
        await this.#readOnce();
        this.#retryMs = 0;
        for (const w of waiters) w.resolve();
      } catch (err) {
        const failure = etcdFailure('following the log', err);
        for (const w of waiters) w.reject(failure);
        this.#fail(failure);
      }
    }
    for (const w of this.#stopped !== undefined ? this.#waiting.splice(0) : []) w.reject(this.#stopped);
    this.#reading = undefined;
  }

  async #readOnce(): Promise<void> {
    const read = await readStore(this.#o.client, this.#keys, this.lastSeq);
    if (this.#stopped !== undefined) return;
    // The watch may have delivered past the snapshot while the read ran: then the log still holds what follows.
    if (read.snapshot !== undefined && read.snapshot.seq >= this.#nextSeq) {
      this.#log.info({ snapshotSeq: read.snapshot.seq, lastSeq: this.lastSeq }, `the etcd log no longer holds seq ${this.#nextSeq}: loading the snapshot at seq ${read.snapshot.seq}`);
      this.#pending = [];
      this.#nextSeq = read.snapshot.seq + 1;
      this.#deliver(() => this.#o.onSnapshot(read.snapshot as Snapshot));
    }
    for (const batch of read.batches) {
      if (this.#stopped !== undefined) return;
      // A gap here would be the log's own (the reader checks the batches are consecutive): it cannot be.
      if (this.#offer(batch) === 'gap') throw new MusterError('MUSTER_ERR_INTERNAL', `a read of the etcd log left a gap at seq ${this.#nextSeq}`);
    }
    if (this.#watch === undefined) void this.#startWatch(read.revision + 1);
  }

  /** The one gate every batch goes through (see the header). */
  #offer(b: LogBatch): 'old' | 'taken' | 'gap' {
    if (b.lastSeq < this.#nextSeq) return 'old';
    const last = this.#pending.at(-1);
    if (b.firstSeq <= this.#nextSeq) this.#pending = [b];
    else if (last !== undefined && b.firstSeq === last.lastSeq + 1) this.#pending.push(b);
    else if (last !== undefined && b.firstSeq <= last.lastSeq && this.#pending.some((p) => p.revision === b.revision)) return 'old';
    else return 'gap';
    if (b.end) {
      const group = this.#pending;
      this.#pending = [];
      const events = eventsAfter(group, this.#nextSeq - 1);
      this.#nextSeq = b.lastSeq + 1;
      this.#deliver(() => this.#o.onEvents(events));
    }
    return 'taken';
  }

  #deliver(callback: () => void): void {
    try {
      callback();
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      this.#fail(new MusterError('MUSTER_ERR_INTERNAL', `the follower's consumer threw at seq ${this.lastSeq}: ${why}`, { cause: err }));
    }
  }

  async #startWatch(startRevision: number): Promise<void> {
    const watch: Watch = { stream: undefined, heardAt: Date.now(), askedAt: undefined };
    this.#watch = watch;
    let stream: IDuplexStream<IWatchRequest, IWatchResponse>;
    try {
      stream = await this.#o.client.watchClient.watch();
    } catch (err) {
      if (this.#watch === watch) this.#watchFailed(watch, err);
      return;
    }
    if (this.#watch !== watch) return stream.cancel();
    watch.stream = stream;
    stream.on('data', (response) => this.#onWatchResponse(watch, response));
    stream.on('error', (err) => this.#watchFailed(watch, err));
    stream.on('end', () => this.#watchFailed(watch, new Error('the watch stream ended')));
    // Puts only (compaction's deletes are not news); fragments so a response stays within gRPC's limit.
    stream.write({ create_request: { key: this.#keys.logStart, range_end: this.#keys.logEnd, start_revision: startRevision, filters: ['Nodelete'], fragment: true, progress_notify: true } });
  }

  #onWatchResponse(watch: Watch, response: IWatchResponse): void {
    if (this.#watch !== watch || this.#stopped !== undefined) return;
    watch.heardAt = Date.now();
    watch.askedAt = undefined;
    if (response.canceled) {
      const compacted = response.compact_revision !== undefined && response.compact_revision !== '0';
      this.#log.info({ compactRevision: response.compact_revision, reason: response.cancel_reason }, `the watch on the etcd log was cancelled (${compacted ? `etcd's history was compacted to revision ${response.compact_revision}` : response.cancel_reason}); reading the log again`);
      this.#dropWatch(watch);
      this.#read().catch(() => undefined);
      return;
    }
    for (const event of response.events ?? []) {
      if (event.type !== 'Put') continue;
      let batch: LogBatch;
      try {
        batch = decodeLogKey(this.#keys, event.kv.key, event.kv.value, Number(event.kv.mod_revision));
      } catch (err) {
        this.#fail(err as MusterError);
        return;
      }
      if (this.#offer(batch) === 'gap') {
        this.#log.info({ expected: this.#nextSeq, firstSeq: batch.firstSeq }, `the watch on the etcd log skipped from seq ${this.#nextSeq} to ${batch.firstSeq}; reading the log again`);
        this.#read().catch(() => undefined);
        return;
      }
      if (this.#stopped !== undefined) return;
    }
  }

  #watchFailed(watch: Watch, err: unknown): void {
    if (this.#watch !== watch || this.#stopped !== undefined) return;
    this.#log.warn({ err }, `the watch on the etcd log failed (${err instanceof Error ? err.message : String(err)}); reading the log again`);
    this.#dropWatch(watch);
    this.#read().catch(() => undefined);
  }

  /** A silent watch is asked for progress; one that does not answer within a call's deadline is dead. */
  #checkWatch(): void {
    const watch = this.#watch;
    if (watch?.stream === undefined || this.#stopped !== undefined) return;
    const now = Date.now();
    if (watch.askedAt !== undefined) {
      if (now - watch.askedAt > ETCD_CALL_DEADLINE_MS) this.#watchFailed(watch, new Error(`no answer to a progress request within ${ETCD_CALL_DEADLINE_MS} ms`));
    } else if (now - watch.heardAt > ETCD_WATCH_IDLE_MS) {
      watch.askedAt = now;
      watch.stream.write({ progress_request: {} });
    }
  }

  #dropWatch(watch: Watch): void {
    if (this.#watch === watch) this.#watch = undefined;
    try {
      watch.stream?.cancel();
    } catch {
      // already gone
    }
  }

  /** Reports `err`; a failure of etcd is retried after a pause, anything else stops the follower. */
  #fail(err: MusterError): void {
    if (this.#stopped !== undefined) return;
    const retried = codeOf(err) === 'MUSTER_ERR_STORE_FAILED';
    if (retried) this.#log.warn({ err }, `following the etcd log: ${err.message}; retrying`);
    else this.#log.error({ err }, `following the etcd log stopped at seq ${this.lastSeq}: ${err.message}`);
    if (!retried) this.#stop(err);
    try {
      this.#o.onError?.(err);
    } catch {
      // the consumer's own failure to take the news changes nothing here
    }
    if (retried && this.#retryTimer === undefined) {
      this.#retryMs = Math.min(ETCD_RETRY_MAX_MS, Math.max(50, this.#retryMs * 2));
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.#read().catch(() => undefined);
      }, this.#retryMs);
    }
  }

  #stop(reason: MusterError): void {
    if (this.#stopped !== undefined) return;
    this.#stopped = reason;
    clearInterval(this.#idleTimer);
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    if (this.#watch !== undefined) this.#dropWatch(this.#watch);
    for (const w of this.#waiting.splice(0)) w.reject(reason);
  }
}
