/**
 * Step series: named quantities that hold a value until the next change (cpu allocated in a site, a queue's
 * usage, busy nodes), integrated over time. Changes arrive in time order; the window and its buckets are only
 * known at the end (a recorded history's span is known once it is read), so each series keeps its change
 * points (two numbers per change) and is integrated when the window is set.
 */
export interface Integral {
  /** ∫ value dt over the whole window (value·ms). */
  readonly total: number;
  /** ∫ value dt over each of the window's equal buckets. */
  readonly buckets: readonly number[];
}

interface Steps {
  readonly times: number[];
  readonly values: number[];
}

export class StepSeries {
  readonly #series = new Map<string, Steps>();

  /** `key` holds `value` from time `at` on (0 before its first change). */
  set(key: string, value: number, at: number): void {
    let steps = this.#series.get(key);
    if (!steps) this.#series.set(key, (steps = { times: [], values: [] }));
    const last = steps.values.length - 1;
    if (last >= 0 && steps.values[last] === value) return;
    if (last >= 0 && steps.times[last] === at) steps.values[last] = value;
    else {
      steps.times.push(at);
      steps.values.push(value);
    }
  }

  /** The current value of `key` (0 if never set). */
  get(key: string): number {
    return this.#series.get(key)?.values.at(-1) ?? 0;
  }

  keys(): string[] {
    return [...this.#series.keys()].sort();
  }

  /** `key` integrated over [start, end], and over `count` equal buckets of it. */
  integrate(key: string, start: number, end: number, count: number): Integral {
    const buckets = new Array<number>(count).fill(0);
    const steps = this.#series.get(key);
    let total = 0;
    if (!steps || end <= start) return { total, buckets };
    const width = (end - start) / count;
    for (let i = 0; i < steps.times.length; i++) {
      const value = steps.values[i] as number;
      const from = Math.max(steps.times[i] as number, start);
      const to = Math.min(steps.times[i + 1] ?? end, end);
      if (value === 0 || to <= from) continue;
      total += value * (to - from);
      // Spread [from, to) over the buckets it overlaps.
      for (let b = Math.min(count - 1, Math.floor((from - start) / width)); b < count; b++) {
        const bucketStart = start + b * width;
        const bucketEnd = b === count - 1 ? end : bucketStart + width;
        if (bucketStart >= to) break;
        const overlap = Math.min(to, bucketEnd) - Math.max(from, bucketStart);
        if (overlap > 0) buckets[b] = (buckets[b] as number) + value * overlap;
      }
    }
    return { total, buckets };
  }
}
