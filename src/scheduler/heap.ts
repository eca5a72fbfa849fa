/** A binary min-heap under a caller's order (`before(a, b)`: a comes out first). */
export class BinaryHeap<T> {
  readonly #items: T[] = [];
  readonly #before: (a: T, b: T) => boolean;

  constructor(before: (a: T, b: T) => boolean) {
    this.#before = before;
  }

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    const items = this.#items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(items[i] as T, items[parent] as T)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < items.length && this.#before(items[l] as T, items[best] as T)) best = l;
      if (r < items.length && this.#before(items[r] as T, items[best] as T)) best = r;
      if (best === i) return top;
      this.#swap(i, best);
      i = best;
    }
  }

  #swap(i: number, j: number): void {
    const items = this.#items;
    const t = items[i] as T;
    items[i] = items[j] as T;
    items[j] = t;
  }
}
