/**
 * The wire form of an outbound batch, built for the receiver's sake.
 *
 * Structured clone rebuilds every object property by property through V8's generic deserializer, which
 * measured ~850 ns per small message on the benchmark machine and made the receiving host the bottleneck.
 * Batches are homogeneous (a host sends many messages of few kinds), so the encoder splits each top-level
 * plain-object message into its *shape* (its key list, sent once per batch) and its values (appended to
 * one flat array). The receiver rebuilds each message with a factory generated once per shape (an object
 * literal: one hidden class, no transitions), ~4× cheaper than the generic path. Values themselves still
 * travel by structured clone, so nested data (refs, arrays, maps, typed arrays) is unrestricted.
 *
 * Anything that is not a plain object with a known, small, safe key set travels as is ("raw"): arrays,
 * class instances, primitives, objects with more than `MAX_SHAPE_KEYS` keys or a `__proto__` key.
 *
 * The value of `kind` (the discriminant of every muster message) is part of the shape, not of the values:
 * it is not sent per message, and the receiver's factory writes it as a constant, so `msg.kind` on the
 * receiving side is an internalized string (cheaper to clone, to allocate and to compare in a `switch`).
 *
 * Wire: `{ ids, tags, shapes, kinds, values }` — per message its target id and its tag (a shape index, or
 * `RAW`); `shapes` are key lists and `kinds` their constant `kind` (or null); `values` holds, in order, the
 * values of each shaped message (except its `kind`) or the raw message.
 */

/** Tag of a message that travels as is. */
const RAW = -1;

/** Objects with more keys are dictionaries in disguise: shape them and the caches grow without bound. */
export const MAX_SHAPE_KEYS = 16;

/** Distinct shapes an encoder remembers; beyond, new shapes travel raw (keeps the receivers' factory caches bounded). */
export const MAX_SHAPES = 1024;

export interface WireBatch {
  readonly ids: number[];
  readonly tags: number[];
  readonly shapes: string[][];
  readonly kinds: (string | null)[];
  readonly values: unknown[];
}

interface Shape {
  readonly keys: string[];
  /** The constant value of `kind` and its position in `keys` (-1: not a string, sent as a value). */
  readonly kind: string | null;
  readonly kindIndex: number;
  /** Index in the batch being built (-1: not yet in it). */
  index: number;
  /** The batch generation in which `index` is valid. */
  generation: number;
}

/** Keeps the shapes seen, by the value of `kind` (the usual discriminant), across batches. */
export class BatchEncoder {
  readonly #byKind = new Map<unknown, Shape>();
  #last: Shape | undefined = undefined;
  #generation = 0;
  #batch: WireBatch = emptyBatch();

  get size(): number {
    return this.#batch.ids.length;
  }

  add(id: number, message: unknown): void {
    const batch = this.#batch;
    batch.ids.push(id);
    const shape = typeof message === 'object' && message !== null && Object.getPrototypeOf(message) === Object.prototype ? this.#shapeOf(message as Record<string, unknown>) : undefined;
    if (shape === undefined) {
      batch.tags.push(RAW);
      batch.values.push(message);
      return;
    }
    if (shape.generation !== this.#generation) {
      shape.generation = this.#generation;
      shape.index = batch.shapes.length;
      batch.shapes.push(shape.keys);
      batch.kinds.push(shape.kind);
    }
    batch.tags.push(shape.index);
    const keys = shape.keys;
    const skip = shape.kindIndex;
    const values = batch.values;
    for (let i = 0; i < keys.length; i++) if (i !== skip) values.push((message as Record<string, unknown>)[keys[i] as string]);
  }

  /** The batch built so far; the encoder starts a new one. */
  take(): WireBatch {
    const batch = this.#batch;
    this.#batch = emptyBatch();
    this.#generation++;
    return batch;
  }

  #shapeOf(message: Record<string, unknown>): Shape | undefined {
    const last = this.#last;
    const kind = message['kind'];
    if (last !== undefined && last.kind === kind && matches(last.keys, message)) return last;
    const known = this.#byKind.get(kind);
    if (known !== undefined && matches(known.keys, message)) return (this.#last = known);
    const keys = Object.keys(message);
    if (keys.length > MAX_SHAPE_KEYS || keys.includes('__proto__')) return undefined;
    if (known === undefined && this.#byKind.size >= MAX_SHAPES) return undefined;
    const kindIndex = typeof kind === 'string' ? keys.indexOf('kind') : -1;
    const shape: Shape = { keys, kind: kindIndex >= 0 ? (kind as string) : null, kindIndex, index: -1, generation: -1 };
    this.#byKind.set(kind, shape); // the latest shape of a kind wins: optional fields make a kind flip between shapes
    return (this.#last = shape);
  }
}

function emptyBatch(): WireBatch {
  return { ids: [], tags: [], shapes: [], kinds: [], values: [] };
}

/** Same own enumerable keys, in the same order (for-in walks V8's enum cache: no allocation). */
function matches(keys: readonly string[], message: Record<string, unknown>): boolean {
  let i = 0;
  for (const key in message) if (keys[i++] !== key) return false;
  return i === keys.length;
}

type Factory = ((values: unknown[], at: number) => unknown) & { readonly width: number };

const factories = new Map<string, Factory>();

function factoryFor(keys: readonly string[], kind: string | null): Factory {
  const id = `${kind === null ? '' : kind}\u0001${keys.join('\u0000')}`;
  let factory = factories.get(id);
  if (factory === undefined) {
    // Keys and the kind are quoted with JSON.stringify: any key is a safe property name in the literal.
    let width = 0;
    const fields = keys.map((key) => `${JSON.stringify(key)}: ${key === 'kind' && kind !== null ? JSON.stringify(kind) : `v[at + ${width++}]`}`);
    factory = Object.assign(new Function('v', 'at', `return { ${fields.join(', ')} };`) as (values: unknown[], at: number) => unknown, { width });
    factories.set(id, factory);
  }
  return factory;
}

/** A batch of one message that travels as is (topology signals, which carry ports to transfer). */
export function singleMessageBatch(id: number, message: unknown): WireBatch {
  return { ids: [id], tags: [RAW], shapes: [], kinds: [], values: [message] };
}

/** Calls `deliver(id, message)` for every message of the batch, in order. */
export function decodeBatch(batch: WireBatch, deliver: (id: number, message: unknown) => void): void {
  const { ids, tags, values } = batch;
  const shapes = batch.shapes.map((keys, i) => factoryFor(keys, batch.kinds[i] ?? null));
  let at = 0;
  for (let i = 0; i < ids.length; i++) {
    const tag = tags[i] as number;
    if (tag === RAW) {
      deliver(ids[i] as number, values[at++]);
    } else {
      const factory = shapes[tag] as Factory;
      deliver(ids[i] as number, factory(values, at));
      at += factory.width;
    }
  }
}
