/**
 * A site actor: lives on a worker host and owns one site's node table and its solver (nobody else writes
 * them). It applies node changes and releases in the order the dispatcher sends them, places each batch in
 * one solver call, and answers with the result (one Int32Array) and a fresh site summary.
 *
 * This module is a producer (see src/actors/producer.ts): the dispatcher spawns `makeSiteActor` on a
 * worker by module URL, and a restarted worker rebuilds it from the same recipe.
 *
 * The dispatcher owns the truth about the table; this actor keeps a copy to place against. It starts
 * without one (`synced: false`, in every reply) and takes its first from a `reset`; until then, and again
 * after a restart (its handler threw, or its worker died and was rebuilt), it ignores node changes and
 * releases, places nothing and summarizes an empty site, so nothing is ever placed against a table that
 * is not the truth. The dispatcher sees `synced: false` and sends the truth before its next cycle.
 */
import type { ActorDefinition } from '../actors/index.js';
import { performance } from 'node:perf_hooks';
import { assertNever, defineActor, reply, same } from '../actors/index.js';
import type { BackendName, NodeChange, NodeTable, PlacementBackend } from '../placement/index.js';
import { backend, load, PlacementResult } from '../placement/index.js';
import { placeBatch, placeWithHolds } from './held-placement.js';
import { emptySummary } from './site-registry.js';
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
  /** Whether the table is the dispatcher's truth (a `reset` came since this actor started). */
  synced: boolean;
  table: NodeTable;
  calls: number;
  placedTasks: number;
  placeMs: number;
  mirror: SiteMirror;
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

/**
 * Restarts allowed in the window below before the site actor stops for good: a site restarts cleanly (it
 * waits for the dispatcher's truth), so a burst of faults is survivable; one that recurs this often is a
 * bug restarting cannot fix, and the dispatcher's cycles then go on without the site.
 */
export const SITE_MAX_RESTARTS = 20;
export const SITE_RESTART_WINDOW_MS = 60_000;

function emptyTable(args: SiteActorArgs, chosen: PlacementBackend): { table: NodeTable; mirror: SiteMirror } {
  return { table: chosen.createTable({ capacity: Math.min(INITIAL_TABLE_SLOTS, args.capacity) }), mirror: new SiteMirror(args.site) };
}

function addNodes(state: SiteState, changes: readonly NodeChange[], cap: number): void {
  const maxId = Math.max(-1, ...changes.map((c) => (c.kind === 'add' ? c.node.id : -1)));
  ensureSlots(state, maxId, cap);
  state.table.apply(state.mirror.apply(changes));
}

export function makeSiteActor(args: SiteActorArgs): ActorDefinition<SiteState, SiteMsg> {
  return defineActor<SiteState, SiteMsg>({
    name: 'site',
    mailbox: { capacity: 1 << 16, overflow: 'reject' },
    supervision: { decide: () => 'restart', maxRestarts: SITE_MAX_RESTARTS, withinMs: SITE_RESTART_WINDOW_MS },
    initial: () => {
      const chosen = args.backend ? backend(args.backend) : load();
      if (!chosen) throw new Error(`placement backend ${args.backend ?? '(active)'} is not available on this worker`);
      return { synced: false, ...emptyTable(args, chosen), backend: chosen, calls: 0, placedTasks: 0, placeMs: 0 };
    },
    onStop: (state) => state.table.dispose(),
    behaviour(state, msg) {
      switch (msg.kind) {
        case 'reset': {
          state.table.dispose();
          Object.assign(state, emptyTable(args, state.backend));
          addNodes(state, msg.changes, args.capacity);
          state.synced = true;
          return same();
        }
        case 'nodes':
          if (state.synced) addNodes(state, msg.changes, args.capacity);
          return same();
        case 'release':
          // As new free amounts, not a release: a node that shrank is never given more than its capacity.
          if (state.synced) state.table.apply(state.mirror.released(msg.items));
          return same();
        case 'place': {
          if (!state.synced) {
            // No table to place against: nothing placed (every job unplaced, no reason counted).
            const none = PlacementResult.nothingPlaced(msg.requests);
            return reply(msg.replyTo, { kind: 'placed', site: args.site, generation: msg.generation, round: msg.round, synced: false, result: none.data, taskStart: none.taskStart, summary: emptySummary(args.site) });
          }
          const start = performance.now();
          const placed = msg.reserved && msg.bound
            ? placeWithHolds(state.table, state.mirror, msg.requests, msg.reserved, msg.bound, msg.owns ?? [])
            : placeBatch(state.table, state.mirror, msg.requests);
          state.placeMs += performance.now() - start;
          state.calls++;
          state.placedTasks += placed.placedTasks;
          return reply(msg.replyTo, {
            kind: 'placed',
            site: args.site,
            generation: msg.generation,
            round: msg.round,
            synced: true,
            result: placed.data,
            taskStart: placed.taskStart,
            summary: state.mirror.summary(),
          });
        }
        case 'summary':
          return reply(msg.replyTo, { kind: 'summary', ...(msg.generation !== undefined ? { generation: msg.generation } : {}), synced: state.synced, summary: state.synced ? state.mirror.summary() : emptySummary(args.site) });
        case 'stats':
          return reply(msg.replyTo, { site: args.site, calls: state.calls, placedTasks: state.placedTasks, placeMs: state.placeMs });
        default:
          return assertNever(msg);
      }
    },
  });
}
