/**
 * Policy changes for a what-if run, and their written forms (the `muster replay` flags):
 *
 *   --queue-weight QUEUE=WEIGHT   the queue's weight (a number above 0); repeatable
 *   --strategy binpack|spread     every job's placement strategy
 *   --nodes site=SITE:+N          N more nodes in SITE, copies of the site's first node to join (at time 0)
 *   --nodes site=SITE:-N          N fewer: the site's last N nodes to join never join
 *   --nodes NODE=drain            NODE drains from its first join on (its recorded state changes dropped)
 *   --nodes NODE=remove           NODE never joins
 *
 * Parsing checks the form only; whether the queue, site or node exists is checked against the history
 * (what-if.ts).
 */
import type { Strategy } from '../model/index.js';
import { limits } from '../model/index.js';
import { DEFAULT_MAX_NODES_PER_SITE } from '../scheduler/index.js';

export type QueueWeightChange = { readonly kind: 'queueWeight'; readonly queue: string; readonly weight: number; readonly source: string };

export type NodeChange =
  | { readonly kind: 'addNodes'; readonly site: string; readonly count: number; readonly source: string }
  | { readonly kind: 'removeNodes'; readonly site: string; readonly count: number; readonly source: string }
  | { readonly kind: 'drainNode'; readonly node: string; readonly source: string }
  | { readonly kind: 'removeNode'; readonly node: string; readonly source: string };

export interface PolicyChanges {
  readonly queueWeights: readonly QueueWeightChange[];
  readonly strategy: Strategy | undefined;
  readonly nodes: readonly NodeChange[];
}

export const NO_CHANGES: PolicyChanges = { queueWeights: [], strategy: undefined, nodes: [] };

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/** Most nodes one `--nodes site=S:±N` may add or remove: a site's node table holds this many. */
export const MAX_NODE_CHANGE = DEFAULT_MAX_NODES_PER_SITE;

const QUEUE_WEIGHT = /^([^=\s]+)=(\d+(?:\.\d+)?)$/;
const SITE_CHANGE = /^site=([^:=\s]+):([+-])(\d+)$/;
const NODE_CHANGE = /^([^=\s]+)=(drain|remove)$/;

export function hasChanges(changes: PolicyChanges): boolean {
  return changes.queueWeights.length > 0 || changes.strategy !== undefined || changes.nodes.length > 0;
}

export function parseQueueWeight(text: string): Parsed<QueueWeightChange> {
  const source = `--queue-weight ${text}`;
  const match = QUEUE_WEIGHT.exec(text);
  if (!match) return { ok: false, message: `${source}: write QUEUE=WEIGHT with a number for WEIGHT, such as batch=3` };
  const weight = Number(match[2]);
  if (!(weight > 0) || weight > limits.MAX_QUEUE_WEIGHT) {
    return { ok: false, message: `${source}: a weight must be above 0 and at most ${limits.MAX_QUEUE_WEIGHT}` };
  }
  return { ok: true, value: { kind: 'queueWeight', queue: match[1] as string, weight, source } };
}

export function parseNodeChange(text: string): Parsed<NodeChange> {
  const source = `--nodes ${text}`;
  const site = SITE_CHANGE.exec(text);
  if (site) {
    const count = Number(site[3]);
    if (count < 1 || count > MAX_NODE_CHANGE) return { ok: false, message: `${source}: the count must be from 1 to ${MAX_NODE_CHANGE}` };
    return { ok: true, value: { kind: site[2] === '+' ? 'addNodes' : 'removeNodes', site: site[1] as string, count, source } };
  }
  const node = NODE_CHANGE.exec(text);
  if (node) return { ok: true, value: { kind: node[2] === 'drain' ? 'drainNode' : 'removeNode', node: node[1] as string, source } };
  return { ok: false, message: `${source}: write site=SITE:+N, site=SITE:-N, NODE=drain or NODE=remove` };
}

/** The changes as their flags, in a fixed order (for the report's header). */
export function describeChanges(changes: PolicyChanges): string[] {
  return [...changes.queueWeights.map((c) => c.source), ...(changes.strategy ? [`--strategy ${changes.strategy}`] : []), ...changes.nodes.map((c) => c.source)];
}
