/**
 * A site actor: lives on a worker host and owns one site's node table and its solver (nobody else writes
 * them). It applies node changes and releases in the order the dispatcher sends them, places each batch in
 * one solver call, and answers with the result (one Int32Array) and a fresh site summary.
 *
 * This module is a producer (see src/actors/producer.ts): the dispatcher spawns `makeSiteActor` on a
 * worker by module URL, and a restarted worker rebuilds it from the same recipe.
 */
import type { ActorDefinition } from '../actors/index.js';
import { performance } from 'node:perf_hooks';
import { assertNever, defineActor, reply, same } from '../actors/index.js';
import type { BackendName, NodeTable, PlacementBackend } from '../placement/index.js';
import { backend, load, placementLimits } from '../placement/index.js';
import type { SiteMsg } from './messages.js';
import { SiteMirror } from './site-mirror.js';

export interface SiteActorArgs {
  readonly site: string;
  /** Most node slots the table may grow to. */
  readonly capacity: number;
  /** Force a backend (default: the active one, native else wasm). */
  readonly backend?: BackendName;
}

interface SiteState {
  table: NodeTable;
  calls: number;
  placedTasks: number;
  placeMs: number;
  readonly mirror: SiteMirror;
  readonly backend: PlacementBackend;
}

/**
 * First size of a table. Tables grow by doubling (rebuilt from the mirror) because the kernel's why-not
 * count walks every slot: a table sized for the largest site would make every failure cost that much.
 */
export const INITIAL_TABLE_SLOTS = 1024;

/** Makes room for node ids up to `maxId` by moving to a table twice as large (or more), up to the cap. */
function ensureSlots(state: SiteState, maxId: number, cap: number): void {
  if (maxId < state.table.capacity) return;
  let slots = state.table.capacity;
  while (slots <= maxId && slots < cap) slots *= 2;
  const table = state.backend.createTable({ capacity: Math.min(slots, cap) });
  table.apply(state.mirror.asAdds());
  state.table.dispose();
  state.table = table;
}

export function makeSiteActor(args: SiteActorArgs): ActorDefinition<SiteState, SiteMsg> {
  return defineActor<SiteState, SiteMsg>({
    name: 'site',
    mailbox: { capacity: 1 << 16, overflow: 'reject' },
    initial: () => {
      const chosen = args.backend ? backend(args.backend) : load();
      if (!chosen) throw new Error(`placement backend ${args.backend ?? '(active)'} is not available on this worker`);
      return { table: chosen.createTable({ capacity: Math.min(INITIAL_TABLE_SLOTS, args.capacity) }), mirror: new SiteMirror(args.site), backend: chosen, calls: 0, placedTasks: 0, placeMs: 0 };
    },
    onStop: (state) => state.table.dispose(),
    behaviour(state, msg) {
      switch (msg.kind) {
        case 'nodes': {
          const maxId = Math.max(-1, ...msg.changes.map((c) => (c.kind === 'add' ? c.node.id : -1)));
          ensureSlots(state, maxId, args.capacity);
          state.table.apply(state.mirror.apply(msg.changes));
          return same();
        }
        case 'release':
          // As new free amounts, not a release: a node that shrank is never given more than its capacity.
          state.table.apply(state.mirror.released(msg.items));
          return same();
        case 'place': {
          const start = performance.now();
          const batch = state.table.compile(msg.requests);
          const result = state.table.place(batch);
          state.placeMs += performance.now() - start;
          state.calls++;
          state.placedTasks += result.placedTasks();
          state.mirror.placed(msg.requests, batch.taskStart, result.data, result.jobCount * placementLimits.JOB_OUT);
          return reply(msg.replyTo, {
            kind: 'placed',
            site: args.site,
            round: msg.round,
            result: result.data,
            taskStart: batch.taskStart,
            summary: state.mirror.summary(),
          });
        }
        case 'summary':
          return reply(msg.replyTo, { kind: 'summary', summary: state.mirror.summary() });
        case 'stats':
          return reply(msg.replyTo, { site: args.site, calls: state.calls, placedTasks: state.placedTasks, placeMs: state.placeMs });
        default:
          return assertNever(msg);
      }
    },
  });
}
