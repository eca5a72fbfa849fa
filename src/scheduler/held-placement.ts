/**
 * One site's `place` with reservations' holds (reservations.ts). Each request comes with a bit mask of the
 * reservations that bind it. Requests are placed in groups of one mask, the most bound first (they can use
 * the least), each against a table whose free amounts have its reservations' holds taken off; between
 * groups the table is told the real free amounts again (which include what the group before placed). So a
 * reservation's head takes what is held for it, and work sure to end in time takes what is held for later;
 * once a reservation's owner is placed, its holds no longer bind the groups after it.
 * The groups' answers are merged into one, in the batch's order, as one solver call would give.
 */
import type { NodeTable, PlacementRequest } from '../placement/index.js';
import { placementLimits } from '../placement/index.js';
import type { Hold } from './reservation-plan.js';
import type { SiteMirror } from './site-mirror.js';

export interface PlacedBatch {
  readonly data: Int32Array;
  readonly taskStart: Int32Array;
  readonly placedTasks: number;
}

/** Places a batch in one solver call and records it in the mirror. */
export function placeBatch(table: NodeTable, mirror: SiteMirror, requests: readonly PlacementRequest[]): PlacedBatch {
  if (requests.length === 0) return { data: new Int32Array(0), taskStart: Int32Array.of(0), placedTasks: 0 };
  const batch = table.compile(requests);
  const result = table.place(batch);
  mirror.placed(requests, batch.taskStart, result.data, result.jobCount * placementLimits.JOB_OUT);
  return { data: result.data, taskStart: batch.taskStart, placedTasks: result.placedTasks() };
}

export function placeWithHolds(
  table: NodeTable,
  mirror: SiteMirror,
  requests: readonly PlacementRequest[],
  reserved: readonly (readonly Hold[])[],
  bound: readonly number[],
  owns: readonly number[],
): PlacedBatch {
  const groups = new Map<number, number[]>();
  requests.forEach((_, j) => {
    const mask = bound[j] ?? 0;
    const list = groups.get(mask);
    if (list) list.push(j);
    else groups.set(mask, [j]);
  });
  const ordered = [...groups].sort(([a], [b]) => bits(b) - bits(a) || b - a);
  // A reservation whose owner is placed has been used: its holds no longer bind the groups after.
  let used = 0;
  const parts = ordered.map(([mask, order]) => {
    const holds = reserved.flatMap((h, i) => (mask & ~used & (1 << i) ? h : []));
    if (holds.length > 0) table.apply(mirror.held(holds));
    const part = placeBatch(table, mirror, order.map((j) => requests[j]!));
    if (holds.length > 0) table.apply(mirror.truth(holds.map((h) => h.id)));
    order.forEach((j, k) => {
      const own = owns[j] ?? -1;
      if (own >= 0 && part.data[k * placementLimits.JOB_OUT] === 0) used |= 1 << own;
    });
    return { order, part };
  });
  return merge(requests, parts);
}

function bits(mask: number): number {
  let n = 0;
  for (let m = mask; m !== 0; m &= m - 1) n++;
  return n;
}

/** The parts' answers as one, job j's header and nodes where a single call over `requests` would put them. */
function merge(requests: readonly PlacementRequest[], parts: readonly { readonly order: readonly number[]; readonly part: PlacedBatch }[]): PlacedBatch {
  const JOB_OUT = placementLimits.JOB_OUT;
  const n = requests.length;
  const taskStart = new Int32Array(n + 1);
  requests.forEach((r, j) => (taskStart[j + 1] = taskStart[j]! + r.tasks.reduce((sum, g) => sum + g.count, 0)));
  const data = new Int32Array(n * JOB_OUT + taskStart[n]!);
  let placedTasks = 0;
  for (const { order, part } of parts) {
    placedTasks += part.placedTasks;
    const base = order.length * JOB_OUT;
    order.forEach((j, k) => {
      data.set(part.data.subarray(k * JOB_OUT, (k + 1) * JOB_OUT), j * JOB_OUT);
      data.set(part.data.subarray(base + part.taskStart[k]!, base + part.taskStart[k + 1]!), n * JOB_OUT + taskStart[j]!);
    });
  }
  return { data, taskStart, placedTasks };
}
