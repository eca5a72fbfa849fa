/**
 * Policy changes for a what-if run, and their written forms (the `muster replay` flags):
 *
 *   --queue-weight QUEUE=WEIGHT   the queue's weight (a number above 0); repeatable
 *   --queue-set QUEUE:FIELD=VALUE one field of the queue's spec: weight, priority, guaranteedShare, borrow,
 *                                 disruptionBudget, protectFor, gracePeriod, or one resource of guarantee,
 *                                 limit or borrowLimit (`guarantee.cpu=8`)
 *   --strategy binpack|spread     every job's placement strategy
 *   --nodes site=SITE:+N          N more nodes in SITE, copies of the site's first node to join (at time 0)
 *   --nodes site=SITE:-N          N fewer: the site's last N nodes to join never join
 *   --nodes NODE=drain            NODE drains from its first join on (its recorded state changes dropped)
 *   --nodes NODE=remove           NODE never joins
 *
 * Parsing checks the form only; whether the queue, site or node exists is checked against the history
 * (what-if.ts).
 */
import type { QueueSpec, Strategy } from '../model/index.js';
import { limits, validateQueue } from '../model/index.js';
import { DEFAULT_MAX_NODES_PER_SITE } from '../scheduler/index.js';

export type QueueWeightChange = { readonly kind: 'queueWeight'; readonly queue: string; readonly weight: number; readonly source: string };

/** The queue spec fields a what-if may change; the resource ones one resource at a time. */
export const QUEUE_KNOBS = ['weight', 'priority', 'guaranteedShare', 'borrow', 'guarantee', 'limit', 'borrowLimit', 'disruptionBudget', 'protectFor', 'gracePeriod'] as const;
export type QueueKnob = (typeof QUEUE_KNOBS)[number];

/** The spec field each knob sets (durations are kept in ms). */
export const KNOB_FIELDS = {
  weight: 'weight',
  priority: 'priority',
  guaranteedShare: 'guaranteedShare',
  borrow: 'borrow',
  guarantee: 'guarantee',
  limit: 'limit',
  borrowLimit: 'borrowLimit',
  disruptionBudget: 'disruptionBudget',
  protectFor: 'protectForMs',
  gracePeriod: 'gracePeriodMs',
} as const satisfies Record<QueueKnob, keyof QueueSpec>;
const RESOURCE_KNOBS: readonly QueueKnob[] = ['guarantee', 'limit', 'borrowLimit'];

/** One field of a queue's spec, as checked by the queue spec's own reader (`value`: that field, parsed). */
export type QueueFieldChange = {
  readonly kind: 'queueField';
  readonly queue: string;
  readonly field: QueueKnob;
  readonly value: QueueSpec[(typeof KNOB_FIELDS)[QueueKnob]];
  readonly source: string;
};

export type NodeChange =
  | { readonly kind: 'addNodes'; readonly site: string; readonly count: number; readonly source: string }
  | { readonly kind: 'removeNodes'; readonly site: string; readonly count: number; readonly source: string }
  | { readonly kind: 'drainNode'; readonly node: string; readonly source: string }
  | { readonly kind: 'removeNode'; readonly node: string; readonly source: string };

export interface PolicyChanges {
  readonly queueWeights: readonly QueueWeightChange[];
  readonly queueFields: readonly QueueFieldChange[];
  readonly strategy: Strategy | undefined;
  readonly nodes: readonly NodeChange[];
}

export const NO_CHANGES: PolicyChanges = { queueWeights: [], queueFields: [], strategy: undefined, nodes: [] };

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/** Most nodes one `--nodes site=S:±N` may add or remove: a site's node table holds this many. */
export const MAX_NODE_CHANGE = DEFAULT_MAX_NODES_PER_SITE;

const QUEUE_WEIGHT = /^([^=\s]+)=(\d+(?:\.\d+)?)$/;
const SITE_CHANGE = /^site=([^:=\s]+):([+-])(\d+)$/;
const NODE_CHANGE = /^([^=\s]+)=(drain|remove)$/;
const QUEUE_FIELD = /^([^:=\s]+):([A-Za-z]+)(?:\.([^=\s]+))?=(.+)$/;

export function hasChanges(changes: PolicyChanges): boolean {
  return changes.queueWeights.length > 0 || changes.queueFields.length > 0 || changes.strategy !== undefined || changes.nodes.length > 0;
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

/**
 * `QUEUE:FIELD=VALUE` or `QUEUE:FIELD.RESOURCE=VALUE`: the value is read as the queue spec reads that field
 * (so `guarantee.memory=16Gi`, `borrow=false`), and its problems are the spec's, named by the flag.
 */
export function parseQueueField(text: string): Parsed<QueueFieldChange> {
  const source = `--queue-set ${text}`;
  const match = QUEUE_FIELD.exec(text);
  if (!match) return { ok: false, message: `${source}: write QUEUE:FIELD=VALUE, such as batch:guaranteedShare=0.3 or batch:guarantee.cpu=64` };
  const [, queue, name, resource, raw] = match as unknown as [string, string, string, string | undefined, string];
  const field = QUEUE_KNOBS.find((k) => k === name);
  if (field === undefined) return { ok: false, message: `${source}: ${name} is not one of ${QUEUE_KNOBS.join(', ')}` };
  const isResource = RESOURCE_KNOBS.includes(field);
  if (isResource !== (resource !== undefined)) {
    return { ok: false, message: isResource ? `${source}: name one resource, as in ${name}.cpu=8` : `${source}: ${name} has no parts` };
  }
  let value: unknown = raw;
  if (isResource) value = ['cpu', 'memory', 'gpu'].includes(resource!) ? { [resource!]: raw } : { extended: { [resource!]: raw } };
  else if (field === 'borrow') value = raw === 'true' ? true : raw === 'false' ? false : raw;
  else if (field === 'protectFor' || field === 'gracePeriod') value = raw;
  else value = raw.trim() === '' ? raw : Number(raw);
  const checked = validateQueue({ tenant: 'what-if', name: 'what-if', [field]: value });
  if (!checked.ok) return { ok: false, message: `${source}: ${checked.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}` };
  return { ok: true, value: { kind: 'queueField', queue, field, value: checked.value[KNOB_FIELDS[field]], source } };
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
  return [...changes.queueWeights.map((c) => c.source), ...changes.queueFields.map((c) => c.source), ...(changes.strategy ? [`--strategy ${changes.strategy}`] : []), ...changes.nodes.map((c) => c.source)];
}
