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
 * The monitor decides; the caller applies its decisions (`core.setNodeState`) and drives `tick` from a
 * timer. Time comes from the caller, so tests and simulations run on a virtual clock.
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
}

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
};

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

  constructor(options: Partial<LivenessOptions> = {}) {
    this.options = { ...DEFAULT_LIVENESS, ...options };
    if (!(this.options.suspectAfterMs < this.options.lostAfterMs)) throw new RangeError('liveness: suspectAfterMs must be shorter than lostAfterMs');
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

  /** The node's connection closed: suspect now, lost after the grace period unless it comes back. */
  disconnected(node: string, now: number): LivenessChange | undefined {
    const tracked = this.#nodes.get(node);
    if (!tracked || tracked.disconnected) return undefined;
    tracked.disconnected = true;
    if (tracked.state !== 'ready') return undefined;
    tracked.state = 'suspect';
    return { node, site: tracked.site, state: 'suspect', reason: `connection closed at ${now}` };
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

  /** What changed by `now`: nodes newly suspect or lost. Call it often (every few hundred ms). */
  tick(now: number): LivenessChange[] {
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
