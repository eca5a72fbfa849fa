/**
 * Where each task's live attempt runs, as placed, and whether it has started: the dispatcher's view of the
 * attempts in flight. It routes `TaskStarted` to the attempt's node, gives an ended attempt's resources
 * back to its site exactly once, checks agents' reports (an end for an attempt that is not the live one
 * records nothing; a report about an attempt live on another node is refused), and says what each node
 * holds when a site's table must be rebuilt.
 */
import type { Resources } from '../model/index.js';
import type { AttemptRef } from './agent-port.js';

export interface LiveAttempt {
  readonly job: string;
  readonly task: number;
  readonly node: string;
  readonly attempt: number;
  started: boolean;
  /** What it holds on its node. */
  readonly resources: Resources;
  /** When it was placed (or started, for one recovered running): the younger, the less work preempting it loses. */
  readonly since: number;
  /** When it is sure to have ended (scheduler time: `since` plus its time limit), Infinity without a limit. */
  readonly until: number;
}

/** How a report about an attempt stands: the node's live attempt, no live attempt at all, or another node's. */
export type ReportVerdict = 'live' | 'gone' | 'elsewhere';

export class LiveAttempts {
  readonly #byTask = new Map<string, LiveAttempt>();

  get size(): number {
    return this.#byTask.size;
  }

  placed(job: string, task: number, attempt: number, node: string, resources: Resources, since: number, timeLimitMs: number | undefined, started = false): void {
    this.#byTask.set(`${job}#${task}`, { job, task, node, attempt, started, resources, since, until: since + (timeLimitMs ?? Infinity) });
  }

  /** The task's live attempt, if it has one. */
  get(job: string, task: number): LiveAttempt | undefined {
    return this.#byTask.get(`${job}#${task}`);
  }

  /** How a report from `node` about attempt `ref` stands. */
  verdict(node: string, ref: AttemptRef): ReportVerdict {
    const live = this.#byTask.get(`${ref.job}#${ref.task}`);
    if (!live || live.attempt !== ref.attempt) return 'gone';
    return live.node === node ? 'live' : 'elsewhere';
  }

  /** Ends attempt `attempt` of the task if it is the live one: returns it (undefined: it was not live). */
  end(job: string, task: number, attempt: number): LiveAttempt | undefined {
    const key = `${job}#${task}`;
    const live = this.#byTask.get(key);
    if (!live || live.attempt !== attempt) return undefined;
    this.#byTask.delete(key);
    return live;
  }

  values(): IterableIterator<LiveAttempt> {
    return this.#byTask.values();
  }
}
