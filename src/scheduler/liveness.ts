/**
 * Node liveness: which nodes are alive, from their heartbeats. Soft state: it lives in memory only and is
 * rebuilt from heartbeats after a restart (never written to the store).
 *
 * A node is `suspect` once it has missed heartbeats (or its connection closed) and `lost` once it has been
 * silent past the grace period; a lost node's attempts end as `lost` and are rescheduled (that is the node
 * actor's part). A heartbeat brings a suspect node back to `ready` at once, and a lost one too (its agent
 * is then told to kill the attempts that were replaced: the agent endpoint's reconciliation).
 *
 * A partition is not a mass death. When most of a site goes silent at once, the site is marked
 * unreachable: its silent nodes stay suspect (their work is not rescheduled) for a hold period, and after
 * it they are declared lost at a bounded rate, oldest silence first. Nodes that come back meanwhile are
 * simply ready again. The site is reachable again once enough of it heartbeats.
 *
 * The server does not blame nodes for its own stalls. When the gap between two ticks is longer than a
 * heartbeat interval (the event loop did not run: a long GC, a blocked turn, the process stopped, the
 * monotonic clock jumping), nobody could have been heard during it, so every node gets a fresh grace
 * period from now instead of being judged on a silence the server itself caused.
 *
 * The agents' fence (`fenceMs`) is part of this timing: an agent that has not heard from the server for
 * `fenceMs` kills its attempts itself, so by the time the server declares it lost (`lostAfterMs` of
 * silence, measured from a heartbeat sent no earlier than the agent's last contact) nothing of its work
 * still runs. `resolveLiveness` refuses timings that break this order.
 *
 * The monitor decides; the caller applies its decisions (`core.setNodeState`) and drives `tick` from a
 * timer. Time comes from the caller (a monotonic clock in the server), so tests and simulations run on a
 * virtual clock.
 */
export interface LivenessOptions {
  /** How often agents heartbeat (told to them at registration). */
  readonly heartbeatMs: number;
  /** Silence after which a node is suspect (a closed connection makes it suspect at once). */
  readonly suspectAfterMs: number;
  /** Silence after which a node is lost: its attempts are rescheduled. */
  readonly lostAfterMs: number;
  /** A site is unreachable when more than this fraction of its nodes is silent at once… */
  readonly siteSilentFraction: number;
  /** …and it has at least this many nodes (a site of two losing one is not a partition). */
  readonly siteMinNodes: number;
  /** How long an unreachable site's silent nodes are held as suspect before any is declared lost. */
  readonly siteHoldMs: number;
  /** After the hold, at most this many of an unreachable site's nodes are declared lost per second. */
  readonly siteLostPerSecond: number;
  /**
   * The agents' fence: an agent with no contact with the server for this long kills what it runs (told
   * to agents at registration). Shorter than `lostAfterMs` by at least `MIN_FENCE_MARGIN_MS`.
   */
  readonly fenceMs: number;
}

/**
 * The least time between an agent's fence and the server declaring its node lost: the fence is enforced by
 * a supervisor beside each task (the agent's shim) that reads the lease every 200 ms and wakes at the
 * deadline itself when that is nearer, so what the margin covers is that supervisor being scheduled late
 * on a loaded machine and the kill taking effect; a quarter of a second covers both with room.
 */
export const MIN_FENCE_MARGIN_MS = 250;
/** The margin a default fence keeps: a second, or a quarter of `lostAfterMs` when that is shorter (never under the minimum). */
export const DEFAULT_FENCE_MARGIN_MS = 1_000;

/**
 * Defaults: a killed agent is detected within `lostAfterMs` (its connection closes at once; a silent one
 * is noticed by its missing heartbeats), which keeps node-loss detection under 5 s, while a node has to
 * miss two heartbeats before anyone suspects it.
 */
export const DEFAULT_LIVENESS: LivenessOptions = {
  heartbeatMs: 1_000,
  suspectAfterMs: 2_500,
  lostAfterMs: 4_000,
  siteSilentFraction: 0.5,
  siteMinNodes: 4,
  siteHoldMs: 60_000,
  siteLostPerSecond: 1,
  fenceMs: 3_000,
};

/**
 * The whole timing from what was given (the rest from `DEFAULT_LIVENESS`; `fenceMs`, when not given, is
 * `lostAfterMs` less `DEFAULT_FENCE_MARGIN_MS`, or less a quarter of it when that is shorter, but never less
 * than `MIN_FENCE_MARGIN_MS`), and every problem with it at once.
 */
export function resolveLiveness(given: Partial<LivenessOptions>): { readonly options: LivenessOptions; readonly problems: readonly string[] } {
  const merged = { ...DEFAULT_LIVENESS, ...given };
  const margin = Math.max(MIN_FENCE_MARGIN_MS, Math.min(DEFAULT_FENCE_MARGIN_MS, Math.floor(merged.lostAfterMs / 4)));
  const fenceMs = given.fenceMs ?? merged.lostAfterMs - margin;
  const options: LivenessOptions = { ...merged, fenceMs };
  const problems: string[] = [];
  const { heartbeatMs, suspectAfterMs, lostAfterMs } = options;
  if (!(heartbeatMs < suspectAfterMs)) problems.push(`heartbeatMs (${heartbeatMs}) must be shorter than suspectAfterMs (${suspectAfterMs})`);
  if (!(suspectAfterMs < lostAfterMs)) problems.push(`suspectAfterMs (${suspectAfterMs}) must be shorter than lostAfterMs (${lostAfterMs})`);
  if (!(fenceMs + MIN_FENCE_MARGIN_MS <= lostAfterMs)) {
    problems.push(`fenceMs (${fenceMs}) must be at least ${MIN_FENCE_MARGIN_MS} ms shorter than lostAfterMs (${lostAfterMs}): agents must have killed their work before the server gives it to others`);
  }
  if (!(fenceMs >= 2 * heartbeatMs)) problems.push(`fenceMs (${fenceMs}) must be at least twice heartbeatMs (${heartbeatMs}): one lost ping must not fence an agent`);
  return { options, problems };
}

export type Liveness = 'ready' | 'suspect' | 'lost';

/** A decision for the caller to apply. */
export interface LivenessChange {
  readonly node: string;
  readonly site: string;
  readonly state: Liveness;
  readonly reason: string;
}

interface Tracked {
  readonly site: string;
  last: number;
  state: Liveness;
  /** The connection closed: silent from then on whatever the clock says. */
  disconnected: boolean;
}

interface SiteWatch {
  readonly nodes: Set<string>;
  /** Set while the site is unreachable: when it became so. */
  unreachableSince: number | undefined;
  /** Lost declarations spent since the hold ended (the rate limit's budget). */
  released: number;
}

export class NodeLiveness {
  readonly options: LivenessOptions;
  readonly #nodes = new Map<string, Tracked>();
  readonly #sites = new Map<string, SiteWatch>();

  /** The last tick, to notice the server's own stalls (undefined before the first). */
  #lastTick: number | undefined;
  /** Stalls noticed so far (for metrics). */
  stalls = 0;

  constructor(options: Partial<LivenessOptions> = {}) {
    const { options: resolved, problems } = resolveLiveness(options);
    if (problems.length > 0) throw new RangeError(`liveness: ${problems.join('; ')}`);
    this.options = resolved;
  }

  /** A node registered (or re-registered): alive now. */
  register(node: string, site: string, now: number): LivenessChange | undefined {
    const known = this.#nodes.get(node);
    if (known && known.site !== site) this.forget(node);
    const tracked = this.#nodes.get(node);
    if (!tracked) {
      this.#nodes.set(node, { site, last: now, state: 'ready', disconnected: false });
      this.#site(site).nodes.add(node);
      return undefined;
    }
    return this.#alive(node, tracked, now);
  }

  /**
   * A heartbeat. Returns a change when the node was suspect or lost (it is ready again). Unknown nodes are
   * ignored: a node heartbeats only after registering.
   */
  heartbeat(node: string, now: number): LivenessChange | undefined {
    const tracked = this.#nodes.get(node);
    if (!tracked) return undefined;
    if (tracked.state === 'ready' && !tracked.disconnected) {
      tracked.last = now;
      return undefined;
    }
    return this.#alive(node, tracked, now);
  }

  /**
   * A node the state holds but whose agent has not registered with this server yet (a new leader took over,
   * or the server restarted): watched as if it had just been heard from, so it has the whole grace period
   * to come back (suspect after `suspectAfterMs`, lost after `lostAfterMs`) and a failover alone never
   * makes its work run again elsewhere, while a node that died meanwhile is still found lost.
   */
  expect(node: string, site: string, now: number): void {
    if (this.#nodes.has(node)) return;
    this.#nodes.set(node, { site, last: now, state: 'ready', disconnected: false });
    this.#site(site).nodes.add(node);
  }

  /** The node's connection closed: suspect now, lost after the grace period unless it comes back. */
  disconnected(node: string, now: number): LivenessChange | undefined {
    const tracked = this.#nodes.get(node);
    if (!tracked || tracked.disconnected) return undefined;
    tracked.disconnected = true;
    if (tracked.state !== 'ready') return undefined;
    tracked.state = 'suspect';
    return { node, site: tracked.site, state: 'suspect', reason: 'its connection closed' };
  }

  /** Stops watching a node (it left for good, or an operator took it out). */
  forget(node: string): void {
    const tracked = this.#nodes.get(node);
    if (!tracked) return;
    this.#nodes.delete(node);
    this.#sites.get(tracked.site)?.nodes.delete(node);
  }

  state(node: string): Liveness | undefined {
    return this.#nodes.get(node)?.state;
  }

  /** Sites that are unreachable now, with when they became so. */
  unreachableSites(): { readonly site: string; readonly since: number }[] {
    const out: { site: string; since: number }[] = [];
    for (const [site, watch] of this.#sites) if (watch.unreachableSince !== undefined) out.push({ site, since: watch.unreachableSince });
    return out;
  }

  /**
   * What changed by `now`: nodes newly suspect or lost. Call it often (every few hundred ms). A tick that
   * comes more than a heartbeat interval after the one before finds the server stalled: it gives every node
   * a fresh grace period from `now` (and moves site holds on by the stall) and judges nobody.
   */
  tick(now: number): LivenessChange[] {
    const previous = this.#lastTick;
    this.#lastTick = now;
    if (previous !== undefined && now - previous > this.options.heartbeatMs) {
      this.#forgive(now, now - previous);
      return [];
    }
    const changes: LivenessChange[] = [];
    const { suspectAfterMs, lostAfterMs } = this.options;
    for (const [name, tracked] of this.#nodes) {
      if (tracked.state === 'ready' && now - tracked.last >= suspectAfterMs) {
        tracked.state = 'suspect';
        changes.push({ node: name, site: tracked.site, state: 'suspect', reason: `no heartbeat for ${now - tracked.last} ms` });
      }
    }
    for (const [site, watch] of this.#sites) {
      // Silent: suspect or lost. Lost nodes still count, so a partition stays one while it is released.
      let silent = 0;
      const due: [string, Tracked][] = [];
      for (const name of watch.nodes) {
        const tracked = this.#nodes.get(name)!;
        if (tracked.state === 'ready') continue;
        silent++;
        if (tracked.state === 'suspect' && now - tracked.last >= lostAfterMs) due.push([name, tracked]);
      }
      this.#judgeSite(watch, silent, now);
      if (due.length === 0) continue;
      let allowed = due.length;
      if (watch.unreachableSince !== undefined) {
        // Held, then released at a bounded rate: oldest silence first.
        const heldFor = now - watch.unreachableSince;
        const budget = heldFor < this.options.siteHoldMs ? 0 : Math.floor(((heldFor - this.options.siteHoldMs) / 1000) * this.options.siteLostPerSecond) + 1;
        allowed = Math.max(0, Math.min(due.length, budget - watch.released));
        due.sort(([a, x], [b, y]) => x.last - y.last || (a < b ? -1 : 1));
        watch.released += allowed;
      }
      for (const [name, tracked] of due.slice(0, allowed)) {
        tracked.state = 'lost';
        changes.push({ node: name, site, state: 'lost', reason: `silent for ${now - tracked.last} ms` });
      }
    }
    return changes;
  }

  /** The server stalled for `gapMs`: silence measured from now on, holds moved on by the stall. */
  #forgive(now: number, gapMs: number): void {
    this.stalls++;
    this.lastStallMs = gapMs;
    for (const tracked of this.#nodes.values()) tracked.last = now;
    for (const watch of this.#sites.values()) if (watch.unreachableSince !== undefined) watch.unreachableSince += gapMs;
  }

  /** How long the last stall lasted (0: none yet). */
  lastStallMs = 0;

  #judgeSite(watch: SiteWatch, silent: number, now: number): void {
    const { siteMinNodes, siteSilentFraction } = this.options;
    const partitioned = watch.nodes.size >= siteMinNodes && silent > watch.nodes.size * siteSilentFraction;
    if (partitioned && watch.unreachableSince === undefined) {
      watch.unreachableSince = now;
      watch.released = 0;
    } else if (!partitioned && watch.unreachableSince !== undefined) {
      watch.unreachableSince = undefined;
      watch.released = 0;
    }
  }

  #alive(node: string, tracked: Tracked, now: number): LivenessChange | undefined {
    tracked.last = now;
    tracked.disconnected = false;
    if (tracked.state === 'ready') return undefined;
    const was = tracked.state;
    tracked.state = 'ready';
    return { node, site: tracked.site, state: 'ready', reason: `heartbeat again after being ${was}` };
  }

  #site(site: string): SiteWatch {
    let watch = this.#sites.get(site);
    if (!watch) this.#sites.set(site, (watch = { nodes: new Set(), unreachableSince: undefined, released: 0 }));
    return watch;
  }
}
