/**
 * Requests share their resource vectors, empty environments and recurring words. A million pending jobs ask for a handful
 * of (cpu, memory, gpu) triples; when their task lists differ in an argument, interning (intern.ts) shares
 * nothing of them, and each job kept its own `{ cpu, memory, gpu, extended: {} }` and `{}` environment:
 * about 200 bytes of the ~1,600 a pending job held on the gateway's workload (a heap profile of
 * `bytes-per-pending-job-distinct`). A vector without extended resources now comes from a small table
 * (bounded: it starts over when full), frozen like the empty environment: shared, so nobody may change it.
 * Words work the same way: a decoded string is a copy of its own, so the queue name and the command's
 * words (`/usr/bin/env`, `python3`, `train.py`) were held once per job, ~150 bytes more.
 */
import type { Resources } from './resources.js';

const EMPTY: Readonly<Record<string, never>> = Object.freeze({});
/** Distinct vectors kept before the table starts over: far more than the shapes a real workload asks for. */
const LIMIT = 4_096;

/** cpu → memory → gpu → the vector. Nested maps: no key string built per request. */
const table = new Map<number, Map<number, Map<number, Resources>>>();
let size = 0;

/** A request's resource vector with no extended resources: one frozen copy per (cpu, memory, gpu). */
export function sharedRequest(cpu: number, memory: number, gpu: number): Resources {
  let byMemory = table.get(cpu);
  if (byMemory === undefined) table.set(cpu, (byMemory = new Map()));
  let byGpu = byMemory.get(memory);
  if (byGpu === undefined) byMemory.set(memory, (byGpu = new Map()));
  let vector = byGpu.get(gpu);
  if (vector === undefined) {
    if (size >= LIMIT) {
      table.clear();
      size = 0;
      return sharedRequest(cpu, memory, gpu);
    }
    vector = Object.freeze({ cpu, memory, gpu, extended: EMPTY });
    byGpu.set(gpu, vector);
    size++;
  }
  return vector;
}

/** The environment of every task group that sets none. */
export const NO_ENV: Readonly<Record<string, string>> = EMPTY;

/** Distinct words kept before the table starts over (arguments that differ per job fill it; the recurring ones come back). */
const WORD_LIMIT = 4_096;
const words = new Map<string, string>();

/** The process's copy of `word`: the first one seen since the table last started over. */
export function recurringWord(word: string): string {
  const known = words.get(word);
  if (known !== undefined) return known;
  if (words.size >= WORD_LIMIT) words.clear();
  words.set(word, word);
  return word;
}
