/**
 * The ends a link keeps until the server acknowledges them (`acked`, or the `registered` of a register that
 * carried them), per node and attempt. They survive reconnections: a register carries them, and those
 * that arise while it waits for its reply are sent as `ended` frames after it.
 */
import type { AttemptId, EndReport } from './link-contract.js';

/** PROTOCOL.md: at most this many attempts in one `register`; the rest follow its reply as `ended` frames. */
const MAX_ENDED_PER_REGISTER = 65_536;

export class UnackedEnds {
  readonly #byNode = new Map<string, Map<string, EndReport>>();

  /** How many ends wait for the server's acknowledgement, over every node. */
  get size(): number {
    let n = 0;
    for (const ends of this.#byNode.values()) n += ends.size;
    return n;
  }

  add(node: string, report: EndReport): void {
    let ends = this.#byNode.get(node);
    if (!ends) this.#byNode.set(node, (ends = new Map()));
    ends.set(keyOf(report), report);
  }

  /** Every end of `node` still waiting, oldest first. */
  of(node: string): Iterable<EndReport> {
    return this.#byNode.get(node)?.values() ?? [];
  }

  /** The ends of `node` one `register` carries. */
  forRegister(node: string): EndReport[] {
    return [...this.of(node)].slice(0, MAX_ENDED_PER_REGISTER);
  }

  has(node: string, attempt: AttemptId): boolean {
    return this.#byNode.get(node)?.has(keyOf(attempt)) ?? false;
  }

  /** Forgets the ends of `node` among `attempts`; returns the attempts it held (as plain ids). */
  acknowledge(node: string, attempts: readonly AttemptId[]): AttemptId[] {
    const ends = this.#byNode.get(node);
    if (!ends || attempts.length === 0) return [];
    const known = attempts.filter((a) => ends.delete(keyOf(a)));
    if (ends.size === 0) this.#byNode.delete(node);
    return known.map(({ job, task, attempt }) => ({ job, task, attempt }));
  }
}

function keyOf(a: AttemptId): string {
  return `${a.job}/${a.task}/${a.attempt}`;
}
