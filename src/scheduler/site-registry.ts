/**
 * The dispatcher's map of sites: each site's actor, its latest summary, and the dense node ids its table
 * uses (a node's index is the solver's tie-breaker, so ids are given in join order and reused after a node
 * leaves, lowest first).
 */
import type { ActorRef } from '../actors/index.js';
import type { NodeSpec } from '../model/index.js';
import type { SiteMsg } from './messages.js';
import type { SiteSummary } from './site-choice.js';

export interface SiteEntry {
  readonly name: string;
  readonly ref: ActorRef<SiteMsg>;
  summary: SiteSummary;
  /** Node name by id. */
  readonly names: (string | undefined)[];
  readonly ids: Map<string, number>;
  readonly freeIds: number[];
}

export interface NodeEntry {
  spec: NodeSpec;
  readonly site: string;
  readonly id: number;
}

export function emptySummary(site: string): SiteSummary {
  const zero = { cpu: 0, memory: 0, gpu: 0, extended: {} };
  return { site, nodes: 0, readyNodes: 0, capacity: zero, free: zero, largest: zero, labels: [] };
}

export class SiteRegistry {
  readonly #sites = new Map<string, SiteEntry>();
  readonly #nodes = new Map<string, NodeEntry>();
  /** Grows whenever a node joins, leaves or changes capacity or labels (feasibility's cache follows it). */
  #version = 0;

  /** Nodes that have joined. */
  get size(): number {
    return this.#nodes.size;
  }

  get version(): number {
    return this.#version;
  }

  /** A node's capacity or labels changed in place. */
  touch(): void {
    this.#version++;
  }

  sites(): IterableIterator<SiteEntry> {
    return this.#sites.values();
  }

  site(name: string): SiteEntry | undefined {
    return this.#sites.get(name);
  }

  addSite(name: string, ref: ActorRef<SiteMsg>): SiteEntry {
    const entry: SiteEntry = { name, ref, summary: emptySummary(name), names: [], ids: new Map(), freeIds: [] };
    this.#sites.set(name, entry);
    return entry;
  }

  node(name: string): NodeEntry | undefined {
    return this.#nodes.get(name);
  }

  /** Every node that has joined, with its site and id. */
  nodeEntries(): IterableIterator<NodeEntry> {
    return this.#nodes.values();
  }

  /** Every node that has joined, in whatever state (its spec carries the state). */
  nodeSpecs(): NodeSpec[] {
    return [...this.#nodes.values()].map((n) => n.spec);
  }

  /** Gives a joining node an id in its site's table. */
  addNode(site: SiteEntry, spec: NodeSpec): NodeEntry {
    site.freeIds.sort((a, b) => b - a);
    const id = site.freeIds.pop() ?? site.names.length;
    site.names[id] = spec.name;
    site.ids.set(spec.name, id);
    const entry: NodeEntry = { spec, site: site.name, id };
    this.#nodes.set(spec.name, entry);
    this.#version++;
    return entry;
  }

  removeNode(name: string): NodeEntry | undefined {
    const entry = this.#nodes.get(name);
    const site = entry && this.#sites.get(entry.site);
    if (!entry || !site) return undefined;
    this.#nodes.delete(name);
    this.#version++;
    site.ids.delete(name);
    site.names[entry.id] = undefined;
    site.freeIds.push(entry.id);
    return entry;
  }
}
