/**
 * The lives of a host's actors: starting a cell (its state from `initial`), stopping it (children first,
 * then timers, `onStop`, watches and watchers, dead letters for what waited in its mailbox, the
 * `actor-stopped` event) and releasing what a life held before a restart. It adds and removes the entries
 * of the host's table of live cells, the table the host routes by; nothing else writes it.
 */
import { MusterError, toWire } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { ActorCell } from './actor-cell.js';
import type { CellHost } from './actor-cell.js';
import type { ActorDefinition } from './behaviour.js';
import type { DeadLetters } from './dead-letters.js';
import type { ActorEvent } from './events.js';
import { LOCAL_ID_BASE, LOCAL_IDS_PER_INCARNATION, formatRef } from './ref.js';
import type { AnyRef } from './ref.js';
import type { ActorTimers } from './timers.js';
import type { WatchTable } from './watches.js';

export interface ActorStats {
  readonly id: number;
  readonly name: string;
  /** User messages waiting. */
  readonly depth: number;
  readonly processed: number;
  readonly restarts: number;
}

export interface CellsOptions {
  /** The host the cells live on (its id, and the contexts of their behaviours). */
  readonly host: CellHost;
  readonly incarnation: number;
  /** The host's table of live cells, by id. */
  readonly table: Map<number, ActorCell>;
  readonly log: Logger;
  readonly timers: ActorTimers;
  readonly watches: WatchTable;
  readonly deadLetters: DeadLetters;
  readonly emit: (event: ActorEvent) => void;
}

export class ActorCells {
  readonly #host: CellHost;
  readonly #table: Map<number, ActorCell>;
  readonly #log: Logger;
  readonly #timers: ActorTimers;
  readonly #watches: WatchTable;
  readonly #deadLetters: DeadLetters;
  readonly #emit: (event: ActorEvent) => void;
  /** Ids of children start past the system's ids and past every id of earlier incarnations (ref.ts). */
  #nextLocalId: number;
  #processedByStopped = 0;

  constructor(options: CellsOptions) {
    this.#host = options.host;
    this.#table = options.table;
    this.#log = options.log;
    this.#timers = options.timers;
    this.#watches = options.watches;
    this.#deadLetters = options.deadLetters;
    this.#emit = options.emit;
    this.#nextLocalId = LOCAL_ID_BASE + options.incarnation * LOCAL_IDS_PER_INCARNATION;
  }

  /** A top-level actor (supervised by the host). `id` is given by the system, else a local one. */
  spawn(definition: ActorDefinition<unknown, unknown>, id: number = this.#nextLocalId++): AnyRef {
    if (this.#table.has(id)) throw new MusterError('MUSTER_ERR_INTERNAL', `actor id ${formatRef({ host: this.#host.id, id })} is taken`);
    return this.#start(definition, id, undefined);
  }

  /** A child of `parent`, supervised by it. */
  spawnChild(parent: ActorCell, definition: ActorDefinition<unknown, unknown>): AnyRef {
    return this.#start(definition, this.#nextLocalId++, parent);
  }

  #start(definition: ActorDefinition<unknown, unknown>, id: number, parent: ActorCell | undefined): AnyRef {
    const cell = new ActorCell(this.#host, id, definition, parent, this.#log.child({ actor: definition.name, id }));
    this.#table.set(id, cell);
    parent?.children.add(cell);
    try {
      cell.state = definition.initial(cell.ctx);
    } catch (err) {
      this.stop(cell, 'initial state failed');
      throw err;
    }
    return cell.ref;
  }

  /** Before a restart (supervisor.ts): timers, children and the actor's own watches go with the old life. */
  release(cell: ActorCell): void {
    this.#timers.clear(cell);
    for (const child of [...cell.children]) this.stop(child, 'parent restarting');
    this.#watches.unwatchAll(cell);
  }

  /** Stops now: children first, then timers, `onStop`, watch notices; waiting messages become dead letters. */
  stop(cell: ActorCell, reason: string): void {
    if (cell.stopped) return;
    cell.stopped = true;
    for (const child of [...cell.children]) this.stop(child, 'parent stopped');
    this.#timers.clear(cell);
    try {
      cell.definition.onStop?.(cell.state, cell.ctx);
    } catch (err) {
      this.#log.error({ actor: cell.definition.name, id: cell.id, err: toWire(err) }, 'onStop threw');
    }
    this.#table.delete(cell.id);
    this.#processedByStopped += cell.processed;
    cell.parent?.children.delete(cell);
    this.#watches.unwatchAll(cell);
    this.#watches.notifyWatchers(cell);
    for (const message of cell.mailbox.drainUser()) this.#deadLetters.record(cell.ref, message, 'MUSTER_ERR_ACTOR_STOPPED');
    this.#emit({ kind: 'actor-stopped', actor: cell.ref, name: cell.definition.name, reason });
  }

  /** Stops every top-level actor (their children with them). */
  stopAll(reason: string): void {
    for (const cell of [...this.#table.values()]) if (cell.parent === undefined) this.stop(cell, reason);
  }

  /** Each live actor, and the messages handled by this incarnation's actors, stopped ones included. */
  stats(): { readonly processed: number; readonly actors: ActorStats[] } {
    const actors: ActorStats[] = [];
    let processed = this.#processedByStopped;
    for (const cell of this.#table.values()) {
      processed += cell.processed;
      actors.push({ id: cell.id, name: cell.definition.name, depth: cell.mailbox.userDepth, processed: cell.processed, restarts: cell.restarts });
    }
    return { processed, actors };
  }
}
