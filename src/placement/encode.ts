/**
 * Encoding for the kernel (layouts in native/src/placement.h): node changes to op records, releases to
 * [id, amounts] records, requests to a batch. Inputs are checked (validate.ts) before they get here.
 */
import type { Interner } from './interner.js';
import type { NodeChange, PlacementRequest, ReleaseItem } from './types.js';
import { stateIndex } from './validate.js';

const OP_ADD = 1;
const OP_UPDATE = 2;
const OP_REMOVE = 3;
const SET_CAPACITY = 1;
const SET_FREE = 2;
const SET_LABELS = 4;
const SET_STATE = 8;
const JOB_GANG = 1;
const JOB_DISTINCT = 2;
const JOB_SPREAD = 4;

/** int32 per op record: [op, id, mask, state, capacity[D], free[D], labels[W]]. */
export function opStride(interner: Interner): number {
  return 4 + 2 * interner.dims + interner.labelWords;
}

/** A growable Int32Array reused across calls (scratch memory: no allocation per call once warm). */
export class Scratch {
  #buffer = new Int32Array(256);

  get(length: number): Int32Array {
    if (this.#buffer.length < length) this.#buffer = new Int32Array(Math.max(length, this.#buffer.length * 2));
    return this.#buffer.subarray(0, length);
  }
}

/** Interns every label and extended name the changes mention (may throw *_FULL; changes nothing else). */
export function internChanges(interner: Interner, changes: readonly NodeChange[]): void {
  for (const c of changes) {
    if (c.kind === 'add') {
      interner.internResources(c.node.capacity);
      if (c.node.free) interner.internResources(c.node.free);
      if (c.node.labels) interner.internLabels(c.node.labels);
    } else if (c.kind === 'update') {
      if (c.capacity) interner.internResources(c.capacity);
      if (c.free) interner.internResources(c.free);
      if (c.labels) interner.internLabels(c.labels);
    }
  }
}

export function encodeChanges(interner: Interner, changes: readonly NodeChange[], scratch: Scratch): Int32Array {
  const stride = opStride(interner);
  const D = interner.dims;
  const out = scratch.get(changes.length * stride);
  out.fill(0);
  changes.forEach((c, k) => {
    const at = k * stride;
    switch (c.kind) {
      case 'add':
        out[at] = OP_ADD;
        out[at + 1] = c.node.id;
        out[at + 3] = stateIndex(c.node.state);
        interner.writeResources(c.node.capacity, out, at + 4);
        interner.writeResources(c.node.free ?? c.node.capacity, out, at + 4 + D);
        interner.writeLabels(c.node.labels ?? {}, out, at + 4 + 2 * D);
        break;
      case 'update': {
        let mask = 0;
        if (c.capacity) (mask |= SET_CAPACITY), interner.writeResources(c.capacity, out, at + 4);
        if (c.free) (mask |= SET_FREE), interner.writeResources(c.free, out, at + 4 + D);
        if (c.labels) (mask |= SET_LABELS), interner.writeLabels(c.labels, out, at + 4 + 2 * D);
        if (c.state !== undefined) (mask |= SET_STATE), (out[at + 3] = stateIndex(c.state));
        out[at] = OP_UPDATE;
        out[at + 1] = c.id;
        out[at + 2] = mask;
        break;
      }
      case 'remove':
        out[at] = OP_REMOVE;
        out[at + 1] = c.id;
        break;
    }
  });
  return out;
}

export function encodeReleases(interner: Interner, items: readonly ReleaseItem[], scratch: Scratch): Int32Array {
  for (const item of items) interner.internResources(item.resources);
  const stride = 1 + interner.dims;
  const out = scratch.get(items.length * stride);
  items.forEach((item, k) => {
    out[k * stride] = item.node;
    interner.writeResources(item.resources, out, k * stride + 1);
  });
  return out;
}

/** The batch for mp_place: [jobCount, per job: flags, groups, anyCount, all, none, any…, per group: count, request[D]]. */
export function encodeRequests(interner: Interner, requests: readonly PlacementRequest[]): Int32Array {
  for (const r of requests) for (const g of r.tasks) interner.internResources(g.resources);
  const W = interner.labelWords;
  const D = interner.dims;
  let bound = 1;
  for (const r of requests) bound += 3 + (2 + (r.selectors?.length ?? 0)) * W + r.tasks.length * (1 + D);
  const out = new Int32Array(bound);
  out[0] = requests.length;
  let at = 1;
  for (const r of requests) {
    out[at] = (r.gang ? JOB_GANG : 0) | (r.distinctNodes ? JOB_DISTINCT : 0) | (r.strategy === 'spread' ? JOB_SPREAD : 0);
    out[at + 1] = r.tasks.length;
    at += 2 + interner.writeSelectors(r.selectors ?? [], out, at + 2);
    for (const g of r.tasks) {
      out[at] = g.count;
      interner.writeResources(g.resources, out, at + 1);
      at += 1 + D;
    }
  }
  return out.subarray(0, at);
}
