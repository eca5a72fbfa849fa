/**
 * One dispatch cycle, as one object with a generation id and a deadline. In run order:
 *
 *   1. releases and summaries — each site gets what was freed since the last cycle, then summarizes itself;
 *   2. offers                 — each queue offers candidates (no more than the free capacity could take);
 *   3. rounds                 — plan (cycle-plan.ts), one `place` batch per site, retry what a site could not
 *                               place on another site, up to `MAX_ROUNDS`;
 *   4. done                   — the placements and why the rest did not fit go back to the dispatcher.
 *
 * Every request carries the cycle's generation and every reply names it: a reply of another generation is
 * not this cycle's and is ignored (the dispatcher decides what a late one means). A part that does not
 * answer by the deadline is closed without: a silent queue offers nothing this cycle, a silent site places
 * nothing (its candidates stay pending and their why-pending says the site did not answer), and the cycle
 * ends so the next can start. Nothing waits forever.
 */
import type { ActorRef } from '../actors/index.js';
import type { Resources } from '../model/index.js';
import type { PlacementResult, ReleaseItem } from '../placement/index.js';
import type { Candidate } from './candidates.js';
import type { QueueOffer } from './cycle-plan.js';
import { planRound } from './cycle-plan.js';
import type { Placement } from './events.js';
import type { QueueAccount } from './queue-tree.js';
import type { ReservationBook } from './reservations.js';
import { capBlocking, chargePath, QueueTree } from './queue-tree.js';
import { servedBefore } from './fair-share.js';
import type { QueueEntry } from './event-router.js';
import type { DispatcherMsg, QueueMsg, SiteMsg, UnplacedInfo } from './messages.js';
import { SiteView } from './site-choice.js';
import type { SiteSummary } from './site-choice.js';
import type { SiteEntry, SiteRegistry } from './site-registry.js';

/**
 * Most candidates one cycle considers: with up to 256 tasks each, a cycle can place hundreds of thousands
 * of tasks, yet one cycle's planning stays in the low milliseconds so submissions and reports interleave.
 */
export const MAX_CYCLE_CANDIDATES = 4096;

/** Rounds per cycle: a candidate a site returns is tried on up to this many sites in all before it waits. */
export const MAX_ROUNDS = 3;

/**
 * How long a cycle waits for its sites and queues before it closes without the silent ones. A site places
 * a full batch (4,096 candidates on 65,536 nodes) in well under a second even on a loaded 2-core machine,
 * so five seconds of silence means an actor or its thread is gone, not slow; short enough that scheduling
 * resumes within seconds of a fault.
 */
export const CYCLE_DEADLINE_MS = 5_000;

/** What the cycle needs from the dispatcher: the sites and queues, and how to send. */
export interface CycleHost {
  readonly registry: SiteRegistry;
  readonly queues: ReadonlyMap<string, QueueEntry>;
  readonly self: ActorRef<DispatcherMsg>;
  tell<T>(to: ActorRef<T>, message: T): void;
  /** A site that missed an earlier deadline and has not answered since: asked, not waited for, not planned on. */
  silent(site: string): boolean;
  /** Reservations: blocked queue heads' (backfill) and room freed by preemption. */
  readonly reservations: ReservationBook;
  /** How far below its guarantee the queue was at the last cycle's end (undefined: not below, or none). */
  claim(queue: string): Resources | undefined;
}

export interface CycleOutcome {
  readonly generation: number;
  readonly now: number;
  readonly placements: readonly Placement[];
  readonly unplaced: ReadonlyMap<Candidate, UnplacedInfo>;
  /** Earliest time a queue's backoff ends (a cycle should run then), or Infinity. */
  readonly wakeAt: number;
  /** Sites and queues that did not answer by the deadline. */
  readonly silent: readonly string[];
  /**
   * Each queue's first candidate (its head), and whether it was blocked for want of capacity: offered, not
   * a task of it placed, not held back by a cap.
   */
  readonly heads: ReadonlyMap<string, { readonly head: Candidate; readonly blocked: boolean; readonly reserve: boolean }>;
  /** The queue tree as the cycle left it (usage with this cycle's placements), once planned. */
  readonly tree: QueueTree | undefined;
  /**
   * Per queue, its candidates that got nothing placed, in service order: offered ones, then the head if it
   * was not offered, then claims (for reclaim.ts; made on demand: a busy cycle places a great many tasks).
   */
  waiting(): ReadonlyMap<string, readonly Candidate[]>;
  /** Every queue's claims (candidates named beyond the budget), as offered. */
  readonly claims: readonly Candidate[];
}

type Offered = Extract<DispatcherMsg, { kind: 'offered' }>;

interface Round {
  readonly round: number;
  readonly waiting: Set<string>;
  readonly sent: Map<string, Candidate[]>;
}

export class CycleCoordinator {
  readonly generation: number;
  readonly now: number;
  readonly #host: CycleHost;
  readonly #done: (outcome: CycleOutcome) => void;
  #phase: 'summaries' | 'offers' | 'rounds' | 'done' = 'summaries';
  readonly #waitingSites = new Set<string>();
  readonly #waitingQueues = new Set<string>();
  readonly #offers = new Map<string, { candidates: readonly Candidate[]; head: Candidate | undefined; claims: readonly Candidate[]; usage: Resources }>();
  #tree: QueueTree | undefined;
  /** Queue → the account its own candidates are charged to (the cycle's queue tree). */
  readonly #accounts = new Map<string, QueueAccount>();
  readonly #tried = new Map<Candidate, Set<string>>();
  readonly #placements: Placement[] = [];
  readonly #unplaced = new Map<Candidate, UnplacedInfo>();
  readonly #silent = new Set<string>();
  /** Sites silent since an earlier cycle: not waited for and not planned on in this one. */
  readonly #skipped = new Set<string>();
  #retry: Candidate[] = [];
  #views: SiteView[] = [];
  #wakeAt = Infinity;
  #round: Round | undefined;

  constructor(host: CycleHost, generation: number, now: number, done: (outcome: CycleOutcome) => void) {
    this.#host = host;
    this.generation = generation;
    this.now = now;
    this.#done = done;
  }

  get finished(): boolean {
    return this.#phase === 'done';
  }

  /** Sends each site its releases and a summary request (FIFO: the summary reflects the releases). */
  start(releases: ReadonlyMap<SiteEntry, ReleaseItem[]>): void {
    const sites = [...this.#host.registry.sites()];
    if (this.#host.queues.size === 0 || sites.length === 0) return this.#finish();
    for (const site of sites) {
      const items = releases.get(site);
      if (items) this.#host.tell<SiteMsg>(site.ref, { kind: 'release', items });
      if (this.#host.silent(site.name)) this.#skipped.add(site.name);
      else this.#waitingSites.add(site.name);
      // A silent site is asked too: its answer (to the dispatcher) says it is back.
      this.#host.tell<SiteMsg>(site.ref, { kind: 'summary', generation: this.generation, replyTo: this.#host.self });
    }
    if (this.#waitingSites.size === 0) this.#askOffers();
  }

  /** A site's summary for this cycle (the dispatcher has already stored it in the registry). */
  summary(summary: SiteSummary): void {
    if (this.#phase !== 'summaries' || !this.#waitingSites.delete(summary.site)) return;
    if (this.#waitingSites.size === 0) this.#askOffers();
  }

  offered(msg: Offered): void {
    if (this.#phase !== 'offers' || !this.#waitingQueues.delete(msg.queue)) return;
    this.#offers.set(msg.queue, { candidates: msg.candidates, head: msg.head, claims: msg.claims ?? [], usage: msg.usage });
    this.#wakeAt = Math.min(this.#wakeAt, msg.wakeAt);
    if (this.#waitingQueues.size === 0) this.#plan();
  }

  /**
   * A site's answer to this cycle's `place` of round `round`. A site that has no table (`synced: false`: it
   * restarted and waits for the dispatcher's truth) placed nothing: its candidates try the other sites.
   */
  placed(site: SiteEntry, round: number, result: PlacementResult, synced: boolean): void {
    const current = this.#round;
    if (this.#phase !== 'rounds' || !current || current.round !== round || !current.waiting.delete(site.name)) return;
    const sent = current.sent.get(site.name) ?? [];
    if (synced) this.#collect(site, sent, result);
    else for (const c of sent) this.#unsent(c, site.name, `site ${site.name} is rebuilding its table after a restart`);
    if (current.waiting.size === 0) this.#endRound(current);
  }

  /** The deadline passed: close the cycle without whatever has not answered. */
  expire(): void {
    if (this.#phase === 'summaries') {
      for (const site of this.#waitingSites) this.#silent.add(site);
      this.#waitingSites.clear();
      return this.#askOffers();
    }
    if (this.#phase === 'offers') {
      for (const queue of this.#waitingQueues) this.#silent.add(`queue ${queue}`);
      this.#waitingQueues.clear();
      return this.#plan();
    }
    const current = this.#round;
    if (this.#phase === 'rounds' && current) {
      for (const name of current.waiting) {
        this.#silent.add(name);
        for (const c of current.sent.get(name) ?? []) this.#notPlaced(c, name, `site ${name} did not answer within ${CYCLE_DEADLINE_MS} ms; tried again next cycle`);
      }
      this.#finish();
    }
  }

  #askOffers(): void {
    this.#phase = 'offers';
    const budget = { cpu: 0, memory: 0, gpu: 0 };
    for (const s of this.#host.registry.sites()) {
      if (this.#silent.has(s.name) || this.#skipped.has(s.name)) continue;
      budget.cpu += s.summary.free.cpu;
      budget.memory += s.summary.free.memory;
      budget.gpu += s.summary.free.gpu;
    }
    for (const [name, q] of this.#host.queues) {
      this.#waitingQueues.add(name);
      const claim = this.#host.claim(name);
      const reserved = this.#host.reservations.jobsOf(name);
      this.#host.tell<QueueMsg>(q.ref, {
        kind: 'offer',
        generation: this.generation,
        now: this.now,
        max: MAX_CYCLE_CANDIDATES,
        budget,
        ...(claim ? { claim } : {}),
        ...(reserved.length > 0 ? { reserved } : {}),
        replyTo: this.#host.self,
      });
    }
    if (this.#waitingQueues.size === 0) this.#plan();
  }

  #plan(): void {
    this.#phase = 'rounds';
    const usage = new Map<string, Resources>();
    for (const [name, offer] of this.#offers) usage.set(name, offer.usage);
    const tree = new QueueTree([...this.#host.queues.values()].map((q) => q.spec), usage, this.#total());
    this.#tree = tree;
    for (const name of this.#offers.keys()) {
      const leaf = tree.leaf(name);
      if (leaf) this.#accounts.set(name, leaf);
    }
    this.#refreshViews();
    const offers: QueueOffer[] = [];
    for (const [name, offer] of this.#offers) {
      const account = this.#accounts.get(name);
      if (account) offers.push({ account, candidates: offer.candidates.map((c) => this.#toReservedSite(c)) });
    }
    this.#sendRound(offers, 1);
  }

  /**
   * A candidate room is held for goes to the site that holds it (elsewhere it would be bound by others'
   * holds), while that site answers; a silent one's holds help no one.
   */
  #toReservedSite(c: Candidate): Candidate {
    const site = this.#host.reservations.siteOf(c.job);
    if (site === undefined || (c.sites.length === 1 && c.sites[0] === site)) return c;
    return this.#views.some((v) => v.summary.site === site) ? { ...c, sites: [site] } : c;
  }

  /** The sites that answered this cycle, as views the plan charges picks against. */
  #refreshViews(): void {
    this.#views = [...this.#host.registry.sites()]
      .filter((s) => !this.#silent.has(s.name) && !this.#skipped.has(s.name))
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((s) => new SiteView(s.summary));
  }

  #total(): Resources {
    const total = { cpu: 0, memory: 0, gpu: 0, extended: {} as Record<string, number> };
    for (const s of this.#host.registry.sites()) {
      total.cpu += s.summary.capacity.cpu;
      total.memory += s.summary.capacity.memory;
      total.gpu += s.summary.capacity.gpu;
      for (const name in s.summary.capacity.extended) total.extended[name] = (total.extended[name] ?? 0) + (s.summary.capacity.extended[name] ?? 0);
    }
    return total;
  }

  #sendRound(offers: readonly QueueOffer[], round: number): void {
    const plan = planRound(offers, this.#views, this.#total(), this.#tried);
    for (const { candidate: c, why } of plan.limited) this.#unplaced.set(c, { job: c.job, at: this.now, sites: {}, limit: why });
    for (const { candidate, reasons } of plan.excluded) {
      const info = this.#unplaced.get(candidate);
      const sites: Record<string, UnplacedInfo['sites'][string]> = { ...(info?.sites ?? {}) };
      for (const [site, why] of reasons) sites[site] ??= why;
      this.#unplaced.set(candidate, { job: candidate.job, at: this.now, sites });
    }
    if (plan.batches.size === 0) return this.#finish();
    const current: Round = { round, waiting: new Set(plan.batches.keys()), sent: plan.batches };
    this.#round = current;
    for (const [site, candidates] of plan.batches) {
      const entry = this.#host.registry.site(site)!;
      const held = this.#host.reservations.forBatch(site, candidates, this.now);
      this.#host.tell<SiteMsg>(entry.ref, { kind: 'place', generation: this.generation, round, requests: candidates.map((c) => c.request), ...held, replyTo: this.#host.self });
    }
  }

  /** Turns a site's result into placements; what it could not place is refunded, noted, and queued for retry. */
  #collect(site: SiteEntry, candidates: readonly Candidate[], result: PlacementResult): void {
    candidates.forEach((c, j) => {
      const nodes = result.nodes(j);
      let placedTasks = 0;
      for (let k = 0; k < c.tasks.length; k++) {
        const id = nodes[k] ?? -1;
        const node = id >= 0 ? site.names[id] : undefined;
        if (node === undefined) continue;
        this.#placements.push({ job: c.job, task: c.tasks[k]!, attempt: c.attempts[k]!, node });
        placedTasks++;
      }
      if (result.status(j) === 'placed') {
        this.#unplaced.delete(c);
        return;
      }
      const account = this.#accounts.get(c.queue);
      if (account) chargePath(account, scaleDemand(c, c.tasks.length - placedTasks), -1);
      this.#notPlaced(c, site.name, { ...result.reasons(j)!, group: result.failedGroup(j) });
      this.#triedOn(c, site.name);
      // Only a candidate with nothing placed retries whole; a partly placed one waits for the next cycle.
      if (placedTasks === 0) this.#retry.push(c);
    });
  }

  /** A candidate a site did not place at all, for `why`: refunded, noted, and tried on another site. */
  #unsent(c: Candidate, site: string, why: string): void {
    const account = this.#accounts.get(c.queue);
    if (account) chargePath(account, c.demand, -1);
    this.#notPlaced(c, site, why);
    this.#triedOn(c, site);
    this.#retry.push(c);
  }

  #triedOn(c: Candidate, site: string): void {
    const tried = this.#tried.get(c) ?? new Set<string>();
    tried.add(site);
    this.#tried.set(c, tried);
  }

  #notPlaced(c: Candidate, site: string, why: UnplacedInfo['sites'][string]): void {
    const info = this.#unplaced.get(c);
    this.#unplaced.set(c, { job: c.job, at: this.now, sites: { ...(info?.sites ?? {}), [site]: why } });
  }

  #endRound(current: Round): void {
    this.#refreshViews();
    if (this.#retry.length === 0 || current.round >= MAX_ROUNDS) return this.#finish();
    const byQueue = new Map<string, Candidate[]>();
    for (const c of this.#retry) {
      const list = byQueue.get(c.queue);
      if (list) list.push(c);
      else byQueue.set(c.queue, [c]);
    }
    this.#retry = [];
    const offers: QueueOffer[] = [];
    for (const [name, list] of byQueue) {
      const account = this.#accounts.get(name);
      if (account) offers.push({ account, candidates: list });
    }
    this.#sendRound(offers, current.round + 1);
  }

  #finish(): void {
    if (this.#phase === 'done') return;
    this.#phase = 'done';
    this.#done({
      generation: this.generation,
      now: this.now,
      placements: this.#placements,
      unplaced: this.#unplaced,
      wakeAt: this.#wakeAt,
      silent: [...this.#silent],
      heads: this.#heads(),
      tree: this.#tree,
      waiting: () => this.#waiting(),
      claims: [...this.#offers.values()].flatMap((o) => o.claims),
    });
  }

  #waiting(): Map<string, Candidate[]> {
    const waiting = new Map<string, Candidate[]>();
    const placed = new Set<string>();
    for (const p of this.#placements) placed.add(`${p.job}#${p.task}`);
    const none = (c: Candidate): boolean => c.tasks.every((t) => !placed.has(`${c.job}#${t}`));
    for (const [queue, offer] of this.#offers) {
      const list = offer.candidates.filter(none);
      if (offer.head && !offer.candidates.some((c) => c.job === offer.head!.job) && none(offer.head)) list.push(offer.head);
      for (const c of offer.claims) if (!list.some((x) => x.job === c.job && x.tasks[0] === c.tasks[0])) list.push(c);
      if (list.length > 0) waiting.set(queue, list);
    }
    return waiting;
  }

  /**
   * Each queue's head, whether it is blocked for capacity, and whether it may hold room (a reservation):
   * only the blocked head of the queue fair share serves first. Holding room for a queue already ahead of
   * its share would take it from the others' entitlement (the policy benchmark's share error went from
   * 1.85 to 7.40 points when every blocked head held room).
   */
  #heads(): Map<string, { head: Candidate; blocked: boolean; reserve: boolean }> {
    const heads = new Map<string, { head: Candidate; blocked: boolean; reserve: boolean }>();
    const placed = new Set<string>();
    for (const p of this.#placements) placed.add(p.job);
    const capped = new Set<string>();
    for (const [c, info] of this.#unplaced) if (info.limit !== undefined) capped.add(c.job);
    for (const [queue, offer] of this.#offers) {
      const head = offer.head;
      if (!head) continue;
      // Blocked for capacity: nothing of it placed, and neither its queue's caps nor an ancestor's hold it back.
      const leaf = this.#accounts.get(queue);
      const blocked = !placed.has(head.job) && !capped.has(head.job) && (!leaf || capBlocking(leaf, head.demand) === undefined);
      heads.set(queue, { head, blocked, reserve: false });
    }
    const total = this.#total();
    let first: { queue: string; account: QueueAccount } | undefined;
    for (const [queue, h] of heads) {
      const account = this.#accounts.get(queue);
      if (!h.blocked || !account) continue;
      if (!first || servedBefore(account, first.account, total)) first = { queue, account };
    }
    if (first) heads.set(first.queue, { ...heads.get(first.queue)!, reserve: true });
    return heads;
  }
}

/** What the unplaced tasks of a candidate would have taken (a refund), extended resources included. */
export function scaleDemand(c: Candidate, unplacedTasks: number): Resources {
  if (unplacedTasks === c.tasks.length) return c.demand;
  const f = unplacedTasks / c.tasks.length;
  const extended: Record<string, number> = {};
  for (const name in c.demand.extended) extended[name] = (c.demand.extended[name] ?? 0) * f;
  return { cpu: c.demand.cpu * f, memory: c.demand.memory * f, gpu: c.demand.gpu * f, extended };
}
