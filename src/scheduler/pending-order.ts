/**
 * The order in which a queue serves its jobs: priority (higher first), then submission order. Jobs join
 * when submitted or when a task becomes pending again, and leave when nothing of theirs is pending.
 *
 * One FIFO per priority level: submissions arrive in order, so a join is an append; only a retried job
 * re-joining behind newer ones needs a binary-search insert. Leaving is lazy (a membership set), and the
 * head skips departed entries, so the common path is O(1).
 */
interface Level {
  readonly priority: number;
  readonly ids: string[];
  readonly orders: number[];
  /** The membership token of each entry: an entry is live only while its job's token is this one. */
  readonly tokens: number[];
  head: number;
}

export class PendingOrder {
  readonly #levels: Level[] = [];
  /** Member → its current entry's token (a job that leaves and re-joins gets a new entry and token). */
  readonly #members = new Map<string, number>();
  #nextToken = 0;

  get size(): number {
    return this.#members.size;
  }

  has(job: string): boolean {
    return this.#members.has(job);
  }

  add(job: string, priority: number, order: number): void {
    if (this.#members.has(job)) return;
    const token = this.#nextToken++;
    this.#members.set(job, token);
    let level = this.#levels.find((l) => l.priority === priority);
    if (!level) {
      level = { priority, ids: [], orders: [], tokens: [], head: 0 };
      this.#levels.push(level);
      this.#levels.sort((a, b) => b.priority - a.priority);
    }
    const { ids, orders, tokens } = level;
    if (ids.length === level.head || (orders[orders.length - 1] ?? -1) < order) {
      ids.push(job);
      orders.push(order);
      tokens.push(token);
      return;
    }
    let lo = level.head;
    let hi = ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((orders[mid] ?? 0) < order) lo = mid + 1;
      else hi = mid;
    }
    ids.splice(lo, 0, job);
    orders.splice(lo, 0, order);
    tokens.splice(lo, 0, token);
  }

  #live(level: Level, i: number): boolean {
    return this.#members.get(level.ids[i] as string) === level.tokens[i];
  }

  remove(job: string): void {
    this.#members.delete(job);
  }

  /** The members in service order. Stop early by returning false from `visit`. */
  forEach(visit: (job: string) => boolean): void {
    for (const level of this.#levels) {
      this.#compact(level);
      for (let i = level.head; i < level.ids.length; i++) {
        if (!this.#live(level, i)) continue;
        if (!visit(level.ids[i] as string)) return;
      }
    }
  }

  /** 1-based position of a member in service order, or undefined. O(n): for why-pending, not the hot path. */
  position(job: string): number | undefined {
    if (!this.#members.has(job)) return undefined;
    let position = 0;
    let found: number | undefined;
    this.forEach((id) => {
      position++;
      if (id === job) found = position;
      return found === undefined;
    });
    return found;
  }

  /** Drops departed entries at the head of a level, and reclaims the space once half of it is dead. */
  #compact(level: Level): void {
    while (level.head < level.ids.length && !this.#live(level, level.head)) level.head++;
    if (level.head > 1024 && level.head * 2 > level.ids.length) {
      level.ids.splice(0, level.head);
      level.orders.splice(0, level.head);
      level.tokens.splice(0, level.head);
      level.head = 0;
    }
  }
}
