/**
 * Choosing a site for a candidate from site summaries, before any solver runs. A summary is coarse (totals
 * and the largest free amount per dimension on any one ready node, and the labels present), so it can only
 * rule sites out, never promise a fit; the site's solver decides exactly and may still return the job.
 *
 * Order among the sites that might fit: `binpack` jobs go to the fullest site (fewest, fullest nodes holds
 * across sites too), `spread` jobs to the emptiest; the site name breaks ties.
 */
import type { Resources, Selector } from '../model/index.js';
import type { Candidate } from './candidates.js';

export interface SiteSummary {
  readonly site: string;
  readonly nodes: number;
  readonly readyNodes: number;
  /** Totals over ready nodes. */
  readonly capacity: Resources;
  readonly free: Resources;
  /** Per dimension, the most free on any one ready node (not necessarily the same node). */
  readonly largest: Resources;
  /** `key=value` pairs present on ready nodes. */
  readonly labels: readonly string[];
}

/** A summary with what this cycle has tentatively sent the site taken off its free totals. */
export class SiteView {
  readonly summary: SiteSummary;
  readonly free: { cpu: number; memory: number; gpu: number };
  readonly #pairs: Set<string>;
  readonly #keys: Set<string>;

  constructor(summary: SiteSummary) {
    this.summary = summary;
    this.free = { cpu: summary.free.cpu, memory: summary.free.memory, gpu: summary.free.gpu };
    this.#pairs = new Set(summary.labels);
    this.#keys = new Set(summary.labels.map((p) => p.slice(0, p.indexOf('='))));
  }

  /** How full the site is now: the larger of its free cpu and memory fractions (1 = empty). */
  freeFraction(): number {
    const c = this.summary.capacity;
    return Math.max(c.cpu ? this.free.cpu / c.cpu : 0, c.memory ? this.free.memory / c.memory : 0);
  }

  take(demand: Resources): void {
    this.free.cpu -= demand.cpu;
    this.free.memory -= demand.memory;
    this.free.gpu -= demand.gpu;
  }

  #selectorMayMatch(s: Selector): boolean {
    switch (s.op) {
      case '=':
        return this.#pairs.has(`${s.key}=${s.values[0] ?? ''}`);
      case 'in':
        return s.values.some((v) => this.#pairs.has(`${s.key}=${v}`));
      case 'exists':
        return this.#keys.has(s.key);
      case '!=':
      case 'notin':
        return true;
    }
  }

  /** Why the candidate cannot fit in this site, or undefined when it might. */
  exclusion(c: Candidate): string | undefined {
    const s = this.summary;
    if (c.sites.length > 0 && !c.sites.includes(s.site)) return `site ${s.site} is not among the job's sites`;
    if (s.readyNodes === 0) return `site ${s.site} has no ready node`;
    for (const selector of c.request.selectors ?? []) {
      if (!this.#selectorMayMatch(selector)) return `no ready node in site ${s.site} has labels matching ${formatSelectorShort(selector)}`;
    }
    for (const g of c.request.tasks) {
      const r = g.resources;
      for (const dim of ['cpu', 'memory', 'gpu'] as const) {
        if (r[dim] > s.largest[dim]) return `needs ${r[dim] - s.largest[dim]} more ${dimensionUnit(dim)} on one node in site ${s.site}`;
      }
      for (const name in r.extended) {
        const have = s.largest.extended[name] ?? 0;
        if ((r.extended[name] ?? 0) > have) return `needs ${(r.extended[name] ?? 0) - have} more ${name} on one node in site ${s.site}`;
      }
    }
    if (c.request.gang && (c.demand.cpu > this.free.cpu || c.demand.memory > this.free.memory || c.demand.gpu > this.free.gpu)) {
      return `site ${s.site} has too little free capacity for the whole gang`;
    }
    // What this cycle already sent the site may have used up its free capacity: even one task won't fit.
    for (const g of c.request.tasks) {
      const r = g.resources;
      if (r.cpu > this.free.cpu || r.memory > this.free.memory || r.gpu > this.free.gpu) return `site ${s.site} is full`;
    }
    return undefined;
  }
}

function dimensionUnit(dim: 'cpu' | 'memory' | 'gpu'): string {
  return dim === 'cpu' ? 'millicores of cpu' : dim === 'memory' ? 'MiB of memory' : 'gpus';
}

function formatSelectorShort(s: Selector): string {
  return s.op === 'exists' ? s.key : s.op === 'in' || s.op === 'notin' ? `${s.key} ${s.op} (${s.values.join(',')})` : `${s.key}${s.op}${s.values[0] ?? ''}`;
}

export type SiteChoice = { readonly site: SiteView } | { readonly excluded: ReadonlyMap<string, string> };

/** The site to send the candidate to, skipping `tried` sites, or why every site is ruled out. */
export function chooseSite(c: Candidate, sites: readonly SiteView[], tried?: ReadonlySet<string>): SiteChoice {
  let best: SiteView | undefined;
  let bestScore = 0;
  let excluded: Map<string, string> | undefined;
  const spread = c.request.strategy === 'spread';
  for (const view of sites) {
    if (tried?.has(view.summary.site)) continue;
    const why = view.exclusion(c);
    if (why !== undefined) {
      (excluded ??= new Map()).set(view.summary.site, why);
      continue;
    }
    const score = view.freeFraction();
    if (!best || (spread ? score > bestScore : score < bestScore)) {
      best = view;
      bestScore = score;
    }
  }
  return best ? { site: best } : { excluded: excluded ?? new Map() };
}
