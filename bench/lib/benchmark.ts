/**
 * The benchmark contract. A benchmark is a file `bench/NAME.bench.ts` whose default export is
 * `defineBenchmark({ name, measures, run })`. `run` measures and calls `ctx.record` once per case; the runner adds
 * the environment, computes value (median), spread and ratios to baselines, prints a table and writes
 * `bench/results/NAME.json`. A benchmark checks that what it measured is correct before it records it.
 */
import { performance } from 'node:perf_hooks';

export interface CaseInput {
  /** Stable id, e.g. `native-10k-uniform`. */
  readonly id: string;
  readonly unit: string;
  /** One number per repetition; the case's value is their median. */
  readonly samples: readonly number[];
  /** Id of the case (recorded earlier in the same run) this one is compared against. */
  readonly baseline?: string;
}

export interface BenchContext {
  /** `--quick`: fewer and smaller repetitions, for a smoke run. */
  readonly quick: boolean;
  /** Adds facts to the environment (e.g. `{ backend: 'native' }`). */
  env(facts: Record<string, unknown>): void;
  /** Adds to the configuration (sizes, counts) stored with the result. */
  config(values: Record<string, unknown>): void;
  record(c: CaseInput): void;
  log(message: string): void;
}

export interface Benchmark {
  readonly name: string;
  /**
   * The paths (git pathspecs, from the repository's root: `src/api`, `bench/gateway*`) whose changes can
   * change this benchmark's results. Stored with every result; the README's table marks a result stale when
   * a commit after it touched one of them. Generous rather than short: a path left out hides a stale number.
   */
  readonly measures: readonly string[];
  run(ctx: BenchContext): Promise<void>;
}

export function defineBenchmark(benchmark: Benchmark): Benchmark {
  return benchmark;
}

/**
 * Runs `body` `warmup` times unmeasured, then `samples` times, and returns the rate of each measured run
 * as `ops / seconds` (`body` returns how many operations it did).
 */
export async function sampleRate(options: { warmup: number; samples: number }, body: () => number | Promise<number>): Promise<number[]> {
  for (let i = 0; i < options.warmup; i++) await body();
  const rates: number[] = [];
  for (let i = 0; i < options.samples; i++) {
    const start = performance.now();
    const ops = await body();
    const seconds = (performance.now() - start) / 1000;
    rates.push(ops / seconds);
  }
  return rates;
}
