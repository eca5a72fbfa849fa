/**
 * Every bound of the placement layer, named, with why. The numbers mirror native/src/placement.h (a
 * contract test reads the header and checks that they agree), so every backend rejects the same inputs.
 */
import { limits } from '../model/index.js';

/** Resource dimensions every table has: cpu millicores, memory MiB, gpus. Extended resources follow. */
export const FIXED_DIMS = 3;

/**
 * Most extended resource slots in one table: the model allows 16 named extended resources per node
 * (MAX_EXTENDED_RESOURCES); a site rarely has more kinds than one node may carry.
 */
export const MAX_EXTENDED_SLOTS = limits.MAX_EXTENDED_RESOURCES;

/** Default extended slots: fpga, licences and the like; each slot costs 8 bytes per node and per index entry. */
export const DEFAULT_EXTENDED_SLOTS = 4;

/**
 * Most distinct label key=value pairs one table can intern (bits per node, 32 per word). Each index
 * entry carries the OR of its leaves' label words, so this multiplies the index's size; 1024 covers
 * zones, racks, gpu models and pools of a large site while a 100k-node table stays under ~70 MB.
 */
export const MAX_LABEL_BITS = 1024;

/** Default label bits: 128 pairs is plenty for zone/rack/pool/gpu-model style labels and keeps entries small. */
export const DEFAULT_LABEL_BITS = 128;

/** Bits per label word in the kernel (uint32). */
export const LABEL_WORD_BITS = 32;

/**
 * Most nodes in one table: 2^20. A site is a failure domain; a million machines in one is far beyond any
 * real site, and 2^20 keeps every offset in the kernel's arena below 2^31 bytes.
 */
export const MAX_TABLE_NODES = 1 << 20;

/** Largest amount in any dimension (model MAX_QUANTITY): every amount fits an int32 slot of the kernel. */
export const MAX_QUANTITY = limits.MAX_QUANTITY;

/** Most jobs in one place() call: the dispatcher batches per turn; 65536 keeps one call short (milliseconds). */
export const MAX_BATCH_JOBS = 65_536;

/** Most tasks in one place() call: bounds the output array (4 MiB of node indices). */
export const MAX_BATCH_TASKS = 1 << 20;

/** Most task groups in one job (model MAX_TASK_GROUPS). */
export const MAX_GROUPS = limits.MAX_TASK_GROUPS;

/** Most tasks in one job (model MAX_TASKS_PER_JOB): a gang is placed in one call. */
export const MAX_TASKS_PER_JOB = limits.MAX_TASKS_PER_JOB;

/** Most selectors on one job (model MAX_SELECTORS); each `in`/`exists` becomes one any-of clause in the kernel. */
export const MAX_SELECTORS = limits.MAX_SELECTORS;

/** Spread score scale: cpu and memory each contribute floor(free × 1024 / capacity), so a score is 0..2048. */
export const SCORE_SCALE = 1024;

/** int32 per job block in a result: status, failed group, then one count per reason. */
export const JOB_OUT = 9;
