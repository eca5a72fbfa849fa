/**
 * Leader election on etcd, the recipe written out (README.md has the reasoning and the fault table):
 * each candidacy ("term") is a lease and one key bound to it; the lowest create revision under
 * `${prefix}/election/` leads and that revision is its epoch; the leader stops at its own deadline, before
 * etcd could expire its lease and elect another; a term that ends is never revived: the replica joins again
 * with a new lease and key, behind the others.
 */
import { performance } from 'node:perf_hooks';
import { EtcdLeaseInvalidError } from 'etcd3';
import type { Etcd3, IKeyValue, Lease } from 'etcd3';
import { codeOf, rangeError } from '../errors/index.js';
import { createLogger } from '../log/index.js';
import type { Logger } from '../log/index.js';
import { CallDeadlines, candidateKey, electionFolder, leaderOf, revisionOf, sameLeader } from './etcd-calls.js';
import { FRESH_TO_LEAD, KEEPALIVES_PER_WINDOW, REJOIN_BASE_MS, REJOIN_MAX_MS, RESYNC_TICKS, SENDS_PER_TICK } from './limits.js';
import { FolderWatch } from './folder-watch.js';
import { Listeners } from './listeners.js';
import { DEFAULT_MARGIN_MS, DEFAULT_TTL_SECONDS } from './types.js';
import type { DeposedReason, Election, ElectionEvents, ElectionOptions, Fence, LeaderInfo } from './types.js';

/** One candidacy: a lease, the key bound to it, and how long the lease is certainly alive. */
interface Term {
  readonly lease: Lease;
  /** Known once the lease is granted. */
  key: string | undefined;
  /** The key is written: a read that misses it now means it was deleted. */
  ready: boolean;
  /** Until when (monotonic ms) this term may act: last answered keepalive's send time + TTL − margin. */
  deadline: number;
  /** Set while leading: the key's create revision. */
  epoch: number | undefined;
  /** Its key came first but its deadline was near: the next answered keepalive reads the list again. */
  leadWhenFresh: boolean;
  ended: boolean;
  timer: NodeJS.Timeout | undefined;
}

type EndReason = DeposedReason | 'join-failed';

class EtcdElection implements Election {
  readonly #client: Etcd3;
  readonly #folder: string;
  readonly #ttlSeconds: number;
  /** TTL − margin: how long past a keepalive's sending its answer lets this replica act. */
  readonly #windowMs: number;
  /** Bound of every call but keepalives: one TTL (a slower answer is of no use to a term anyway). */
  readonly #callMs: number;
  readonly #self: { readonly id: string; readonly url: string };
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #listeners: Listeners<ElectionEvents>;
  readonly #calls = new CallDeadlines();
  readonly #ticker: NodeJS.Timeout;
  #ticks = 0;
  #term: Term | undefined;
  #leader: LeaderInfo | undefined;
  #leaderChanges = 0;
  #failures = 0;
  #rejoinTimer: NodeJS.Timeout | undefined;
  readonly #watch: FolderWatch;
  #checking = false;
  #checkAgain = false;
  #closing: Promise<void> | undefined;

  constructor(options: ElectionOptions, ttlSeconds: number, marginMs: number) {
    this.#client = options.client;
    this.#folder = electionFolder(options.prefix);
    this.#ttlSeconds = ttlSeconds;
    this.#windowMs = ttlSeconds * 1000 - marginMs;
    this.#callMs = ttlSeconds * 1000;
    this.#self = { id: options.self.id, url: options.self.url };
    this.#log = (options.logger ?? createLogger({ name: 'election' })).child({ component: 'election', replica: options.self.id });
    this.#now = options.now ?? (() => performance.now());
    this.#listeners = new Listeners((event, err) => this.#log.error({ err, event }, 'election: a listener threw'));
    this.#ticker = setInterval(() => this.#tick(), this.#windowMs / KEEPALIVES_PER_WINDOW);
    this.#watch = new FolderWatch(this.#client, this.#folder, this.#calls, this.#callMs, this.#log, {
      changed: () => void this.#check(),
      // Our own key deleted: the term ends at once, without waiting for a read to confirm it.
      deleted: (key) => {
        const term = this.#term;
        if (term?.ready === true && key === term.key) void this.#end(term, 'key-deleted');
      },
    });
    void this.#join();
  }

  get isLeader(): boolean {
    return this.#leading() !== undefined;
  }

  get fence(): Fence | undefined {
    const term = this.#leading();
    return term === undefined ? undefined : { key: term.key!, epoch: term.epoch! };
  }

  get leader(): LeaderInfo | undefined {
    return this.#leader;
  }

  get deadline(): number | undefined {
    return this.#leading()?.deadline;
  }

  get leaderChanges(): number {
    return this.#leaderChanges;
  }

  on<E extends keyof ElectionEvents>(event: E, listener: (value: ElectionEvents[E]) => void): () => void {
    return this.#listeners.on(event, listener);
  }

  async resign(): Promise<void> {
    const term = this.#term;
    if (this.#closing !== undefined || term === undefined) return;
    await this.#end(term, 'resigned');
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    clearInterval(this.#ticker);
    clearTimeout(this.#rejoinTimer);
    const term = this.#term;
    // Set before ending the term, so that nothing it sets off (a rejoin, a check) starts anything new.
    this.#closing = Promise.resolve();
    const released = term === undefined ? Promise.resolve() : this.#end(term, 'closed');
    this.#closing = Promise.all([released, this.#watch.close()]).then(() => this.#calls.abandon());
    return this.#closing;
  }

  /** The current term if it leads and its deadline has not passed, read on the clock now. */
  #leading(): Term | undefined {
    const term = this.#term;
    return term !== undefined && term.epoch !== undefined && !term.ended && this.#now() < term.deadline ? term : undefined;
  }

  async #join(): Promise<void> {
    this.#rejoinTimer = undefined;
    if (this.#closing !== undefined) return;
    // The grant's answer means etcd made the lease after we sent the request: the keepalive arithmetic.
    const sentAt = this.#now();
    const lease = this.#client.lease(this.#ttlSeconds, { autoKeepAlive: false, ...CallDeadlines.options(this.#callMs) });
    const term: Term = { lease, key: undefined, ready: false, deadline: sentAt + this.#windowMs, epoch: undefined, leadWhenFresh: false, ended: false, timer: undefined };
    this.#term = term;
    try {
      const leaseId = await this.#calls.within(this.#callMs, 'lease grant', lease.grant());
      if (term.ended) return;
      term.key = candidateKey(this.#folder, leaseId);
      const value = JSON.stringify(this.#self);
      await this.#calls.within(this.#callMs, 'candidate key put', lease.put(term.key).value(value).options(CallDeadlines.options(this.#callMs)).exec());
      if (term.ended) return;
      term.ready = true;
      this.#failures = 0;
      this.#log.info({ key: term.key }, 'election: joined as a candidate');
      this.#armDeadline(term);
      void this.#check();
    } catch (err) {
      if (term.ended) return;
      this.#failures += 1;
      this.#log.warn({ err, failures: this.#failures }, 'election: joining failed; joining again after a backoff');
      void this.#end(term, 'join-failed');
    }
  }

  /**
   * Ends a term for good: the deposition first (nothing may act on it any longer), then the key and lease
   * are let go, then a new term is planned unless closing. Resolves once the key and lease are let go.
   */
  #end(term: Term, reason: EndReason): Promise<void> {
    if (term.ended) return Promise.resolve();
    term.ended = true;
    clearTimeout(term.timer);
    const current = this.#term === term;
    if (current) this.#term = undefined;
    if (term.epoch !== undefined) {
      // Leadership never outlasts the deadline, even when this is noticed late (a paused process).
      const at = Math.min(this.#now(), term.deadline);
      const level = reason === 'resigned' || reason === 'closed' ? 'info' : 'warn';
      this.#log[level]({ key: term.key, epoch: term.epoch, reason }, 'election: deposed');
      // The known leader is cleared before `deposed` (its listeners read `leader`), announced after it.
      const wasKnown = this.#leader?.epoch === term.epoch;
      if (wasKnown) {
        this.#leader = undefined;
        this.#leaderChanges += 1;
      }
      this.#listeners.emit('deposed', { epoch: term.epoch, reason: reason as DeposedReason, at });
      if (wasKnown) this.#listeners.emit('leader', undefined);
    } else if (reason !== 'join-failed' && reason !== 'closed') {
      this.#log.info({ key: term.key, reason }, 'election: candidacy ended; joining again');
    }
    const released = this.#release(term);
    if (current && this.#closing === undefined) this.#scheduleRejoin();
    return released;
  }

  /** Deletes the key and revokes the lease; when etcd does not answer, the lease expires one TTL later. */
  async #release(term: Term): Promise<void> {
    const options = CallDeadlines.options(this.#callMs);
    const calls: Promise<unknown>[] = [this.#calls.within(this.#callMs, 'lease revoke', term.lease.revoke(options))];
    if (term.key !== undefined) calls.push(this.#calls.within(this.#callMs, 'candidate key delete', this.#client.delete().key(term.key).options(options).exec()));
    for (const outcome of await Promise.allSettled(calls)) {
      if (outcome.status === 'rejected') this.#log.debug({ err: outcome.reason as unknown, key: term.key }, 'election: releasing a candidacy failed; its lease expires on its own');
    }
  }

  #scheduleRejoin(): void {
    if (this.#rejoinTimer !== undefined) return;
    const step = Math.min(REJOIN_MAX_MS, REJOIN_BASE_MS * 2 ** Math.min(this.#failures, 16));
    this.#rejoinTimer = setTimeout(() => void this.#join(), step / 2 + (Math.random() * step) / 2);
  }

  /** A timer at the deadline; keepalives move the deadline on, so when it fires early it sets itself again. */
  #armDeadline(term: Term): void {
    term.timer = setTimeout(
      () => {
        term.timer = undefined;
        if (!this.#expireIfDue(term)) this.#armDeadline(term);
      },
      Math.max(1, term.deadline - this.#now()),
    );
  }

  #expireIfDue(term: Term): boolean {
    if (term.ended || this.#now() < term.deadline) return false;
    void this.#end(term, 'deadline');
    return true;
  }

  #tick(): void {
    const term = this.#term;
    // The check here too, not only in the timer: a clock that jumps (a test's `now`) is noticed within a tick.
    if (term !== undefined && !this.#expireIfDue(term) && term.key !== undefined) this.#keepalive(term);
    this.#ticks += 1;
    if (this.#ticks % RESYNC_TICKS === 0) void this.#check();
  }

  /**
   * The deadline arithmetic. The lease's TTL runs on the etcd leader from the last keepalive IT received.
   * The keepalive sent at `sentAt` reached it at or after `sentAt` (nothing arrives before it is sent), so
   * once its answer is back the lease lives at least until `sentAt + TTL`; no other candidate can be
   * elected before our key is gone, so acting until `sentAt + TTL − margin` is safe while the margin covers
   * our timer running late and the rate difference of the two clocks. A keepalive never answered may never
   * have arrived, so it moves nothing; one answered after the deadline revives nothing (the term has ended).
   */
  #keepalive(term: Term, send = 1): void {
    const sentAt = this.#now();
    const call = term.lease.keepaliveOnce(CallDeadlines.options(this.#windowMs));
    this.#calls.within(this.#windowMs, 'lease keepalive', call).then(
      () => {
        if (this.#expireIfDue(term) || term.ended) return;
        term.deadline = Math.max(term.deadline, sentAt + this.#windowMs);
        if (term.leadWhenFresh) {
          term.leadWhenFresh = false;
          void this.#check();
        }
      },
      (err: unknown) => {
        if (term.ended) return;
        if (err instanceof EtcdLeaseInvalidError) return void this.#end(term, 'lease-lost');
        this.#log.debug({ err, send }, 'election: keepalive failed');
        if (codeOf(err) !== 'MUSTER_ERR_ETCD_TIMEOUT' && send < SENDS_PER_TICK && !this.#expireIfDue(term)) this.#keepalive(term, send + 1);
      },
    );
  }

  /** Reads the candidate list again; calls while a read is out ask for one more read after it. */
  async #check(): Promise<void> {
    if (this.#closing !== undefined) return;
    if (this.#checking) {
      this.#checkAgain = true;
      return;
    }
    this.#checking = true;
    try {
      do {
        this.#checkAgain = false;
        await this.#checkOnce();
      } while (this.#checkAgain && this.#closing === undefined);
    } finally {
      this.#checking = false;
    }
  }

  async #checkOnce(): Promise<void> {
    // Only a term whose key was written before the read is judged by it.
    const term = this.#term?.ready === true ? this.#term : undefined;
    let kvs: IKeyValue[];
    try {
      const read = this.#client.getAll().prefix(this.#folder).sort('Create', 'Ascend').options(CallDeadlines.options(this.#callMs)).exec();
      kvs = (await this.#calls.within(this.#callMs, 'candidate list read', read)).kvs;
    } catch (err) {
      this.#log.debug({ err }, 'election: reading the candidates failed; the next tick reads again');
      return;
    }
    if (this.#closing !== undefined) return;
    const first = kvs[0];
    if (term !== undefined && term === this.#term) {
      const own = kvs.find((kv) => kv.key.toString('utf8') === term.key);
      if (own === undefined) void this.#end(term, 'key-deleted');
      else if (own === first && term.epoch === undefined && !this.#expireIfDue(term)) {
        if (term.deadline - this.#now() >= this.#windowMs * FRESH_TO_LEAD) this.#elect(term, revisionOf(own.create_revision));
        else term.leadWhenFresh = true;
      }
    }
    // A key of ours that does not lead (a term just ended, its key not yet gone) is no leader to show.
    const shown = first === undefined ? undefined : leaderOf(first);
    this.#setLeader(shown !== undefined && shown.id === this.#self.id && shown.epoch !== this.#leading()?.epoch ? undefined : shown);
  }

  #elect(term: Term, epoch: number): void {
    term.epoch = epoch;
    this.#log.info({ key: term.key, epoch }, 'election: elected');
    this.#listeners.emit('elected', { key: term.key!, epoch, deadline: term.deadline });
  }

  #setLeader(leader: LeaderInfo | undefined): void {
    // Closed (perhaps by an `elected` listener, within this very read): nothing more is announced.
    if (this.#closing !== undefined || sameLeader(leader, this.#leader)) return;
    this.#leader = leader;
    this.#leaderChanges += 1;
    this.#listeners.emit('leader', leader);
  }
}

/** Joins the election on `options.client` and keeps campaigning until `close()`. */
export function campaign(options: ElectionOptions): Election {
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  const marginMs = options.marginMs ?? DEFAULT_MARGIN_MS;
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) throw rangeError('MUSTER_ERR_INVALID_VALUE', `election ttlSeconds must be a whole number of seconds ≥ 1, got ${ttlSeconds}`);
  if (!Number.isFinite(marginMs) || marginMs <= 0 || marginMs >= ttlSeconds * 1000) {
    throw rangeError('MUSTER_ERR_INVALID_VALUE', `election marginMs must be above 0 and below the TTL (${ttlSeconds * 1000} ms), got ${marginMs}`);
  }
  if (options.prefix.endsWith('/')) throw rangeError('MUSTER_ERR_INVALID_VALUE', `election prefix must not end with "/", got ${JSON.stringify(options.prefix)}`);
  if (options.self.id === '') throw rangeError('MUSTER_ERR_INVALID_VALUE', 'election self.id must not be empty');
  return new EtcdElection(options, ttlSeconds, marginMs);
}
