/** The shape of bench/catalog.ts: what each case measures and its target, by benchmark and case id. */
import type { Target } from './target.js';

export interface CaseEntry {
  /** What the case measures, in a few words (shown after its id in the README's table). */
  readonly description: string;
  readonly target?: Target;
}

/** Benchmark name → case id → entry. The order of benchmarks is the order of the README's table. */
export type Catalog = Readonly<Record<string, Readonly<Record<string, CaseEntry>>>>;
