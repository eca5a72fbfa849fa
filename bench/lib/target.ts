/**
 * A case's target, as data: a comparator on the value (in the case's unit) and/or on its ratio to another
 * case of the same run, from which both the text (`≥ 100,000`, `≤ 10 ms`, `≥ 0.6× native-10k-mixed`) and the
 * verdict (✔/✘) are computed, so the two cannot disagree.
 */
import type { CaseResult } from './report.js';

export interface Bound {
  readonly atLeast?: number;
  readonly atMost?: number;
  readonly equals?: number;
}

export interface Target extends Bound {
  /** The unit the bounds are in, shown in the text; a case recorded in another unit is not judged. */
  readonly unit?: string;
  /** Bounds on value ÷ the value of case `of` of the same run (default: the case's baseline). */
  readonly ratio?: Bound & { readonly of?: string };
  /** Words after the comparison (`median; not every snapshot`). */
  readonly note?: string;
}

export interface Verdict {
  readonly text: string;
  /** Undefined when it cannot be judged (the other case or the baseline is missing, or the units differ). */
  readonly met?: boolean;
}

function number(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 6 });
}

function boundTexts(bound: Bound, suffix: string): string[] {
  const out: string[] = [];
  if (bound.atLeast !== undefined) out.push(`≥ ${number(bound.atLeast)}${suffix}`);
  if (bound.atMost !== undefined) out.push(`≤ ${number(bound.atMost)}${suffix}`);
  if (bound.equals !== undefined) out.push(`= ${number(bound.equals)}${suffix}`);
  return out;
}

function within(bound: Bound, value: number): boolean {
  return (
    (bound.atLeast === undefined || value >= bound.atLeast) &&
    (bound.atMost === undefined || value <= bound.atMost) &&
    (bound.equals === undefined || value === bound.equals)
  );
}

/** The target's text, without a verdict. */
export function targetText(target: Target, baseline?: string): string {
  const parts = boundTexts(target, target.unit ? ` ${target.unit}` : '');
  if (target.ratio) parts.push(...boundTexts(target.ratio, `× ${target.ratio.of ?? baseline ?? 'baseline'}`));
  return parts.join(' and ') + (target.note ? ` (${target.note})` : '');
}

/** Judges case `c` of `run` (every case of the same result) against `target`. */
export function judge(target: Target, c: CaseResult, run: readonly CaseResult[]): Verdict {
  const text = targetText(target, c.baseline);
  if (target.unit !== undefined && target.unit !== c.unit) return { text };
  let met = within(target, c.value);
  if (target.ratio) {
    let ratio: number | undefined;
    if (target.ratio.of !== undefined) {
      const other = run.find((o) => o.id === target.ratio!.of);
      ratio = other && other.value !== 0 ? c.value / other.value : undefined;
    } else {
      ratio = c.ratio;
    }
    if (ratio === undefined) return { text };
    met = met && within(target.ratio, ratio);
  }
  return { text, met };
}
