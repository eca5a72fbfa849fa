/**
 * Interning: each label `key=value` seen on a node gets one bit of the table's label words; each extended
 * resource name gets one dimension slot after cpu, memory and gpu. Bits and slots are never reused (a
 * removed node's labels keep their bits), so an encoding stays valid until `version` changes; a new pair
 * changes the meaning of `!=`, `notin` and `exists` selectors compiled before it, so it bumps `version`.
 */
import { rangeError } from '../errors/index.js';
import type { Labels, Resources, Selector } from '../model/index.js';
import { FIXED_DIMS, LABEL_WORD_BITS } from './limits.js';

export class Interner {
  readonly labelWords: number;
  readonly extendedSlots: number;
  /** Bumped whenever a label pair is interned; compiled batches record it. */
  version = 0;
  readonly #pairBits = new Map<string, number>();
  readonly #keyBits = new Map<string, number[]>();
  readonly #pairs: [string, string][] = [];
  readonly #extended = new Map<string, number>();
  readonly #extendedNames: string[] = [];

  constructor(labelWords: number, extendedSlots: number) {
    this.labelWords = labelWords;
    this.extendedSlots = extendedSlots;
  }

  get dims(): number {
    return FIXED_DIMS + this.extendedSlots;
  }

  /** Dimension of an extended resource, interning it; throws when every slot is taken. */
  dim(name: string): number {
    const known = this.#extended.get(name);
    if (known !== undefined) return known;
    if (this.#extendedNames.length >= this.extendedSlots) {
      throw rangeError('MUSTER_ERR_PLACEMENT_DIMENSIONS_FULL', `no extended resource slot left for ${JSON.stringify(name)} (the table has ${this.extendedSlots})`);
    }
    const d = FIXED_DIMS + this.#extendedNames.length;
    this.#extended.set(name, d);
    this.#extendedNames.push(name);
    return d;
  }

  extendedName(dim: number): string | undefined {
    return this.#extendedNames[dim - FIXED_DIMS];
  }

  internResources(r: Resources): void {
    for (const name of Object.keys(r.extended)) this.dim(name);
  }

  #bit(key: string, value: string): number {
    const pair = `${key}\u0000${value}`;
    const known = this.#pairBits.get(pair);
    if (known !== undefined) return known;
    const bit = this.#pairs.length;
    if (bit >= this.labelWords * LABEL_WORD_BITS) {
      throw rangeError('MUSTER_ERR_PLACEMENT_LABELS_FULL', `no label bit left for ${key}=${value} (the table has ${this.labelWords * LABEL_WORD_BITS})`);
    }
    this.#pairBits.set(pair, bit);
    this.#pairs.push([key, value]);
    const bits = this.#keyBits.get(key);
    if (bits) bits.push(bit);
    else this.#keyBits.set(key, [bit]);
    this.version++;
    return bit;
  }

  internLabels(labels: Labels): void {
    for (const [k, v] of Object.entries(labels)) this.#bit(k, v);
  }

  /** The label words of `labels` (already interned) into out[at .. at + labelWords). */
  writeLabels(labels: Labels, out: Int32Array, at: number): void {
    out.fill(0, at, at + this.labelWords);
    for (const [k, v] of Object.entries(labels)) {
      const bit = this.#bit(k, v);
      out[at + (bit >>> 5)]! |= 1 << (bit & 31);
    }
  }

  readLabels(words: Int32Array, at: number): Record<string, string> {
    const labels: Record<string, string> = {};
    this.#pairs.forEach(([k, v], bit) => {
      if ((words[at + (bit >>> 5)]! >>> (bit & 31)) & 1) labels[k] = v;
    });
    return labels;
  }

  /** The amounts of `r` by dimension into out[at .. at + dims). */
  writeResources(r: Resources, out: Int32Array, at: number): void {
    out.fill(0, at, at + this.dims);
    out[at] = r.cpu;
    out[at + 1] = r.memory;
    out[at + 2] = r.gpu;
    for (const [name, amount] of Object.entries(r.extended)) out[at + this.dim(name)] = amount;
  }

  readResources(values: Int32Array, at: number): Resources {
    const extended: Record<string, number> = {};
    this.#extendedNames.forEach((name, i) => {
      const v = values[at + FIXED_DIMS + i] ?? 0;
      if (v !== 0) extended[name] = v;
    });
    return { cpu: values[at] ?? 0, memory: values[at + 1] ?? 0, gpu: values[at + 2] ?? 0, extended };
  }

  #mask(bits: readonly number[] | undefined, out: Int32Array, at: number): void {
    for (const bit of bits ?? []) out[at + (bit >>> 5)]! |= 1 << (bit & 31);
  }

  /**
   * Selectors as the kernel tests them: bits every candidate must have (`=`), bits none may have (`!=`,
   * `notin`), and any-of clauses (`in`, `exists`, and an `=` on a pair no node has, which nothing
   * matches). Writes [anyCount, all[W], none[W], any[anyCount][W]] at `at` and returns the int32 written.
   */
  writeSelectors(selectors: readonly Selector[], out: Int32Array, at: number): number {
    const W = this.labelWords;
    out.fill(0, at, at + 1 + 2 * W);
    const all = at + 1;
    const none = all + W;
    let any = 0;
    const clause = (): number => {
      const start = none + W + any * W;
      out.fill(0, start, start + W);
      any++;
      return start;
    };
    for (const s of selectors) {
      const pairBit = (v: string): number | undefined => this.#pairBits.get(`${s.key}\u0000${v}`);
      switch (s.op) {
        case '=': {
          const bit = pairBit(s.values[0] ?? '');
          if (bit === undefined) clause();
          else this.#mask([bit], out, all);
          break;
        }
        case '!=':
        case 'notin':
          this.#mask(s.values.map(pairBit).filter((b) => b !== undefined), out, none);
          break;
        case 'in':
          this.#mask(s.values.map(pairBit).filter((b) => b !== undefined), out, clause());
          break;
        case 'exists':
          this.#mask(this.#keyBits.get(s.key), out, clause());
          break;
      }
    }
    out[at] = any;
    return 1 + (2 + any) * W;
  }
}
