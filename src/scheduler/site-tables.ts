/**
 * The dispatcher owns the truth about every site's table (which nodes, their capacity, what the live
 * attempts hold); a site actor only keeps a copy it can place against. This part keeps the copies honest:
 *
 * - every site starts from the truth (`resetAll`, when the dispatcher starts, recovered state included);
 * - a site actor that restarts (it threw, or its worker thread died and was rebuilt) starts with no table
 *   and says so in every reply (`synced: false`); it places nothing until it is given the truth again;
 * - a site that did not answer a cycle in time, or answered one that had closed, may hold placements the
 *   dispatcher never recorded: its copy is stale.
 *
 * Either way the site is rebuilt whole at the start of the next cycle (`resetDue`), never while a `place`
 * is in flight to it: a rebuild computed then could miss that placement's allocations. Messages to a site
 * are FIFO, so whatever it was doing before the rebuild is overwritten by it.
 */
import type { ActorRef } from '../actors/index.js';
import type { Logger } from '../log/index.js';
import type { NodeChange } from '../placement/index.js';
import type { EventRouter } from './event-router.js';
import type { SiteMsg } from './messages.js';
import type { SiteEntry } from './site-registry.js';
import { groupOf } from './tasks.js';

export class SiteTables {
  readonly #router: EventRouter;
  readonly #tell: <T>(to: ActorRef<T>, message: T) => void;
  readonly #log: Logger;
  /** Sites to rebuild at the next cycle's start, with why. */
  readonly #due = new Map<SiteEntry, string>();
  /** Sites that missed a cycle's deadline and have not answered since: cycles ask them but do not wait. */
  readonly #silent = new Set<string>();
  /** Rebuilds sent so far (the first one per site at start included). */
  rebuilds = 0;

  constructor(router: EventRouter, tell: <T>(to: ActorRef<T>, message: T) => void, log: Logger) {
    this.#router = router;
    this.#tell = tell;
    this.#log = log;
  }

  /** Every site from the truth, now (at start, before any cycle). */
  resetAll(): void {
    for (const site of this.#router.registry.sites()) this.#reset(site);
  }

  /** A site answered (it is not silent any more); `synced: false` means it restarted without its table. */
  observe(site: SiteEntry, synced: boolean): void {
    this.#silent.delete(site.name);
    if (!synced && !this.#due.has(site)) this.stale(site, 'it restarted and has no table');
  }

  /** The site missed a cycle's deadline: rebuild it before it places again, and stop waiting for it until it answers. */
  silent(site: SiteEntry, generation: number): void {
    this.#silent.add(site.name);
    this.stale(site, `it did not answer cycle ${generation} in time`);
  }

  isSilent(site: string): boolean {
    return this.#silent.has(site);
  }

  /** The site's copy cannot be trusted: rebuild it at the next cycle's start. */
  stale(site: SiteEntry, why: string): void {
    if (this.#due.has(site)) return;
    this.#due.set(site, why);
    this.#log.warn({ site: site.name, why }, 'a site table will be rebuilt from the dispatcher before the site places again');
  }

  anyDue(): boolean {
    return this.#due.size > 0;
  }

  /** At a cycle's start: rebuilds every site due; returns them (the releases waiting for them are part of it). */
  resetDue(): SiteEntry[] {
    const sites = [...this.#due.keys()];
    this.#due.clear();
    for (const site of sites) this.#reset(site);
    return sites;
  }

  /** The site's whole table: each node as registered, with what its live attempts hold taken off (floored by the site). */
  #reset(site: SiteEntry): void {
    const { registry, live, directory } = this.#router;
    const held = new Map<string, { cpu: number; memory: number; gpu: number; extended: Record<string, number> }>();
    for (const attempt of live.values()) {
      if (registry.node(attempt.node)?.site !== site.name) continue;
      const entry = directory.get(attempt.job);
      if (!entry) continue;
      const r = groupOf(entry.spec, entry.perElement, attempt.task).resources;
      const sum = held.get(attempt.node) ?? { cpu: 0, memory: 0, gpu: 0, extended: {} };
      sum.cpu += r.cpu;
      sum.memory += r.memory;
      sum.gpu += r.gpu;
      for (const name in r.extended) sum.extended[name] = (sum.extended[name] ?? 0) + (r.extended[name] ?? 0);
      held.set(attempt.node, sum);
    }
    const changes: NodeChange[] = [];
    site.names.forEach((name, id) => {
      const node = name === undefined ? undefined : registry.node(name);
      if (!node) return;
      const cap = node.spec.capacity;
      const used = held.get(node.spec.name);
      const extended: Record<string, number> = {};
      for (const r in cap.extended) extended[r] = (cap.extended[r] ?? 0) - (used?.extended[r] ?? 0);
      const free = { cpu: cap.cpu - (used?.cpu ?? 0), memory: cap.memory - (used?.memory ?? 0), gpu: cap.gpu - (used?.gpu ?? 0), extended };
      changes.push({ kind: 'add', node: { id, capacity: cap, free, labels: node.spec.labels, state: node.spec.state } });
    });
    this.rebuilds++;
    this.#tell<SiteMsg>(site.ref, { kind: 'reset', changes });
  }
}
