/**
 * The watch hub: job events as they become durable, to every watch whose filter they match, plus a
 * bounded window of recent events so a client that reconnects can resume where it stopped (`from`).
 *
 * Events arrive through `publish`, called by the scheduler's event sink (see `observedSink`) once each
 * batch is durable, in log order. A watcher therefore never sees an event a crash could take back.
 *
 * Filtering by tenant and queue needs each job's owner, which only `JobSubmitted` names: the hub keeps
 * job → (tenant, queue) for every job that has not ended (seeded from the recovered state on start), and
 * for the most recent `recentlyEnded` ended jobs, so the events that trail a job's end (its last attempts
 * being killed) are still attributed. An event of a job the hub cannot attribute is not streamed (counted
 * in `dropped`): nobody can be shown it safely. The owner of a job is a small integer into a table of
 * (tenant, queue) pairs, so the map costs one entry per live job, not an object.
 */
import type { SchedulerEvent } from '../scheduler/index.js';
import type { Principal } from './auth.js';
import { seesTenant } from './auth.js';
import type { WatchFilter } from './frames.js';
import type { JobEvent, Owner } from './job-events.js';
import { appendJobEvents } from './job-events.js';

export interface WatchHubOptions {
  /** Events kept for resuming. */
  readonly window: number;
  /** Ended jobs whose owner is kept for trailing events. */
  readonly recentlyEnded: number;
  /** The log's last seq when the hub starts: it can resume any watch from there on. */
  readonly lastSeq: number;
}

/** One watch: what it matches and where its events go. */
export interface Watch {
  readonly principal: Principal;
  readonly filter: WatchFilter;
  readonly jobs: ReadonlySet<string> | undefined;
  readonly deliver: (events: JobEvent[]) => void;
}

export type Subscribed = { readonly ok: true; readonly watch: Watch; readonly seq: number; readonly replay: JobEvent[] } | { readonly ok: false; readonly oldest: number };

export class WatchHub {
  readonly #o: WatchHubOptions;
  /** Tenant → queue → index into `#owners`. */
  readonly #ownerIndex = new Map<string, Map<string, number>>();
  readonly #owners: Owner[] = [];
  #lastOwner = 0;
  readonly #ownerOf = new Map<string, number>();
  readonly #ended: string[] = [];
  #endedHead = 0;
  readonly #watches = new Set<Watch>();
  /** The window: `#buf[#start..]`, in seq order. */
  #buf: JobEvent[] = [];
  #start = 0;
  /** Every job event with a seq above this is in the window. */
  #floor: number;
  #newest: number;
  #dropped = 0;

  constructor(options: WatchHubOptions) {
    this.#o = options;
    this.#floor = options.lastSeq;
    this.#newest = options.lastSeq;
  }

  /** The newest seq published. */
  get newest(): number {
    return this.#newest;
  }

  /** The smallest `from` a watch may resume after. */
  get floor(): number {
    return this.#floor;
  }

  get watches(): number {
    return this.#watches.size;
  }

  /** Events of jobs the hub could not attribute, since it started. */
  get dropped(): number {
    return this.#dropped;
  }

  get windowSize(): number {
    return this.#buf.length - this.#start;
  }

  /** Registers the owner of jobs that exist at start (from the recovered state). */
  seed(jobs: Iterable<{ readonly id: string; readonly tenant: string; readonly queue: string }>): void {
    for (const job of jobs) this.#own(job.id, job.tenant, job.queue);
  }

  #own(job: string, tenant: string, queue: string): void {
    this.#ownerOf.set(job, this.#ownerIndexOf(tenant, queue));
  }

  /**
   * The index of (tenant, queue) in the owner table. A batch's jobs nearly always share one owner: the last
   * one answers without a lookup, and a lookup is by tenant, then queue, never by a key string built per job
   * (building and hashing that string was most of this bookkeeping's cost on the accept path).
   */
  #ownerIndexOf(tenant: string, queue: string): number {
    const last = this.#owners[this.#lastOwner];
    if (last !== undefined && last.tenant === tenant && last.queue === queue) return this.#lastOwner;
    let queues = this.#ownerIndex.get(tenant);
    if (queues === undefined) this.#ownerIndex.set(tenant, (queues = new Map()));
    let index = queues.get(queue);
    if (index === undefined) {
      index = this.#owners.length;
      this.#owners.push({ tenant, queue });
      queues.set(queue, index);
    }
    this.#lastOwner = index;
    return index;
  }

  #jobEnded(job: string): void {
    this.#ended.push(job);
    if (this.#ended.length - this.#endedHead > this.#o.recentlyEnded) {
      this.#ownerOf.delete(this.#ended[this.#endedHead]!);
      this.#endedHead++;
      if (this.#endedHead > this.#o.recentlyEnded) {
        this.#ended.splice(0, this.#endedHead);
        this.#endedHead = 0;
      }
    }
  }

  readonly #lookup = (job: string): Owner | undefined => {
    const index = this.#ownerOf.get(job);
    return index === undefined ? undefined : this.#owners[index];
  };

  /** Durable scheduler events `firstSeq, firstSeq + 1, …`, in log order. */
  publish(events: readonly SchedulerEvent[], firstSeq: number): void {
    const out: JobEvent[] = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (e.kind === 'JobSubmitted') this.#own(e.job, e.tenant, e.spec.queue);
      this.#dropped += appendJobEvents(e, firstSeq + i, this.#lookup, out);
      if (e.kind === 'JobEnded') this.#jobEnded(e.job);
    }
    if (events.length > 0) this.#newest = Math.max(this.#newest, firstSeq + events.length - 1);
    if (out.length === 0) return;
    for (const e of out) this.#buf.push(e);
    this.#evict();
    for (const watch of this.#watches) {
      const matched = out.filter((e) => matches(watch, e));
      if (matched.length > 0) watch.deliver(matched);
    }
  }

  /** Drops the oldest events past the window, whole seqs at a time (a resume never splits a seq). */
  #evict(): void {
    let over = this.#buf.length - this.#start - this.#o.window;
    if (over <= 0) return;
    while (over > 0 || (this.#start < this.#buf.length && this.#buf[this.#start]!.seq === this.#floor)) {
      this.#floor = this.#buf[this.#start]!.seq;
      this.#start++;
      over--;
    }
    if (this.#start > this.#o.window) {
      this.#buf = this.#buf.slice(this.#start);
      this.#start = 0;
    }
  }

  /**
   * Starts a watch. With `from`, the events after it that are still in the window come back as `replay`
   * (to send before any live event); `from` older than the window is a gap (`oldest`: the smallest `from`
   * accepted now). A `from` beyond the newest event (a client of another server's log) is a gap too.
   */
  subscribe(principal: Principal, filter: WatchFilter, from: number | undefined, deliver: (events: JobEvent[]) => void): Subscribed {
    if (from !== undefined && (from < this.#floor || from > this.#newest)) return { ok: false, oldest: this.#floor };
    const watch: Watch = { principal, filter, jobs: filter.jobs ? new Set(filter.jobs) : undefined, deliver };
    const replay: JobEvent[] = [];
    if (from !== undefined) {
      for (let i = this.#firstAfter(from); i < this.#buf.length; i++) {
        const e = this.#buf[i]!;
        if (matches(watch, e)) replay.push(e);
      }
    }
    this.#watches.add(watch);
    return { ok: true, watch, seq: this.#newest, replay };
  }

  unsubscribe(watch: Watch): void {
    this.#watches.delete(watch);
  }

  /** Index of the first event in the window with a seq above `seq` (binary search: seqs do not decrease). */
  #firstAfter(seq: number): number {
    let lo = this.#start;
    let hi = this.#buf.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#buf[mid]!.seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function matches(watch: Watch, e: JobEvent): boolean {
  const f = watch.filter;
  if (f.tenant !== undefined && e.tenant !== f.tenant) return false;
  if (f.queue !== undefined && e.queue !== f.queue) return false;
  if (watch.jobs && !watch.jobs.has(e.job)) return false;
  return seesTenant(watch.principal, e.tenant);
}
