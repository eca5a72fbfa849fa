/**
 * The host's supervisor: when an actor's handler throws, it asks the actor's declared policy
 * (supervision.ts) for a directive and applies it — resume, restart within the restart budget (else stop),
 * stop, or escalate to the parent — publishing each decision as a `supervision` event and logging it.
 * It counts the restarts of this host incarnation (`HostStats.restarts`).
 */
import { toWire } from '../errors/index.js';
import type { WireError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import type { ActorCell } from './actor-cell.js';
import type { ActorEvent } from './events.js';
import { assertNever } from './outcome.js';
import type { Directive } from './supervision.js';

/** What the supervisor needs from its host. */
export interface SupervisedHost {
  readonly log: Logger;
  emit(event: ActorEvent): void;
  /** Stops the actor now (children, timers, `onStop`, watchers, dead letters). */
  stop(cell: ActorCell, reason: string): void;
  /** Drops what the actor's last life held — timers, children, its own watches — before a restart. */
  release(cell: ActorCell): void;
}

export class Supervisor {
  readonly #host: SupervisedHost;
  #restarts = 0;

  constructor(host: SupervisedHost) {
    this.#host = host;
  }

  /** Actor restarts in this host incarnation. */
  get restarts(): number {
    return this.#restarts;
  }

  /** A handler of `cell` threw `err`: the supervisor's directive, within the restart budget. */
  fail(cell: ActorCell, err: unknown): void {
    let directive: Directive;
    try {
      directive = cell.supervision.decide(err);
    } catch {
      directive = 'stop';
    }
    const error = toWire(err);
    switch (directive) {
      case 'resume':
        this.#publish(cell, 'resume', false, error);
        return;
      case 'restart':
        if (cell.budget.tryRestart(Date.now())) {
          this.#publish(cell, 'restart', false, error);
          this.#restart(cell);
        } else {
          this.#publish(cell, 'stop', true, error);
          this.#host.stop(cell, 'restart budget exhausted');
        }
        return;
      case 'stop':
        this.#publish(cell, 'stop', false, error);
        this.#host.stop(cell, 'failed');
        return;
      case 'escalate': {
        this.#publish(cell, 'escalate', false, error);
        const parent = cell.parent;
        this.#host.stop(cell, 'escalated');
        if (parent !== undefined && !parent.stopped) this.fail(parent, err);
        return;
      }
      default:
        assertNever(directive);
    }
  }

  #publish(cell: ActorCell, applied: Directive, budgetExhausted: boolean, error: WireError): void {
    this.#host.log.warn({ actor: cell.definition.name, id: cell.id, directive: applied, budgetExhausted, err: error }, 'actor failed');
    this.#host.emit({ kind: 'supervision', actor: cell.ref, name: cell.definition.name, directive: applied, budgetExhausted, error });
  }

  /** A fresh life under the same ref: first behaviour, state from `initial`; the mailbox is kept. */
  #restart(cell: ActorCell): void {
    cell.restarts++;
    this.#restarts++;
    this.#host.release(cell);
    cell.behaviour = cell.definition.behaviour;
    try {
      cell.state = cell.definition.initial(cell.ctx);
    } catch (err) {
      this.#host.emit({ kind: 'supervision', actor: cell.ref, name: cell.definition.name, directive: 'stop', budgetExhausted: false, error: toWire(err) });
      this.#host.stop(cell, 'restart failed');
    }
  }
}
