/** What this machine offers as a node: all its cores and memory. No GPU detection yet (gpu 0). */
import { availableParallelism, totalmem } from 'node:os';
import type { Resources } from '../../model/index.js';

const MIB = 1024 * 1024;

export function detectCapacity(): Resources {
  return {
    // Millicores, as node specs count cpu; availableParallelism honours the process's CPU affinity.
    cpu: availableParallelism() * 1000,
    // Whole MiB, rounded down: a node never promises more than it has.
    memory: Math.floor(totalmem() / MIB),
    gpu: 0,
    extended: {},
  };
}
