/** A node: a machine running `muster agent`, with capacity, labels and a state, in one site. */
import { Checker } from './check.js';
import type { Labels } from './labels.js';
import { readLabels } from './labels.js';
import { MAX_NAME_LENGTH } from './limits.js';
import type { Validated } from './problems.js';
import { fieldPath } from './problems.js';
import { readResources } from './resource-spec.js';
import type { Resources } from './resources.js';

/**
 * ready: takes work. draining: keeps its work, takes no more. suspect: heartbeats missed, not yet lost.
 * lost: silent past the grace period, its allocations are rescheduled. down: taken out by an operator.
 */
export const NODE_STATES = ['ready', 'draining', 'suspect', 'lost', 'down'] as const;
export type NodeState = (typeof NODE_STATES)[number];

export interface NodeSpec {
  readonly name: string;
  readonly site: string;
  readonly capacity: Resources;
  readonly labels: Labels;
  readonly state: NodeState;
}

export const NODE_FIELDS = ['kind', 'name', 'site', 'capacity', 'labels', 'state'] as const;

export function readNode(check: Checker, input: unknown, path = ''): NodeSpec | undefined {
  const f = check.object(input, path, NODE_FIELDS);
  if (!f) return undefined;
  const at = (key: string): string => fieldPath(path, key);
  const name = check.name(check.required(f, 'name', path), at('name'), MAX_NAME_LENGTH);
  const site = check.name(check.required(f, 'site', path), at('site'), MAX_NAME_LENGTH);
  // Capacity rounds memory down: a node never promises more than it has.
  const capacity = readResources(check, check.required(f, 'capacity', path), at('capacity'), 'down');
  const labels = f['labels'] === undefined ? {} : readLabels(check, f['labels'], at('labels'));
  const state = f['state'] === undefined ? 'ready' : check.oneOf(f['state'], at('state'), NODE_STATES);
  if (name === undefined || site === undefined || capacity === undefined || state === undefined) return undefined;
  return { name, site, capacity, labels, state };
}

export function validateNode(input: unknown): Validated<NodeSpec> {
  const check = new Checker();
  const value = readNode(check, input);
  return value && check.ok ? { ok: true, value } : { ok: false, problems: check.problems };
}
