/**
 * Every bound on a spec, named, with the reason for its number. Validation enforces each one; the tests
 * check each at its boundary (the limit passes, one past it fails).
 */

/** Longest name of a job, queue, node, site or tenant: a DNS label with room for a prefix (RFC 1123 is 63). */
export const MAX_NAME_LENGTH = 63;

/** Longest label key; room for a `domain/` prefix plus a 63-character name, as Kubernetes allows. */
export const MAX_LABEL_KEY_LENGTH = 253;

/** Longest label value: values are matched and interned to bits in the kernel; 63 keeps them short. */
export const MAX_LABEL_VALUE_LENGTH = 63;

/** Most labels on a node: the kernel interns each key=value to one bit; 64 per node keeps tables small. */
export const MAX_LABELS = 64;

/** Most label selectors on a job: each is a check per candidate node; more is a sign of a modelling error. */
export const MAX_SELECTORS = 32;

/** Most values in one `in` / `notin` selector. */
export const MAX_SELECTOR_VALUES = 64;

/** Most sites a job may name; sites are failure domains, a job naming more than this is naming all. */
export const MAX_SITES_PER_JOB = 64;

/** Most task groups in one job. */
export const MAX_TASK_GROUPS = 16;

/**
 * Most tasks in one job (the sum of every group's count). A gang is placed in one solver call, so this bounds
 * the work of one placement; 4096 covers the largest MPI jobs on a single site.
 */
export const MAX_TASKS_PER_JOB = 4096;

/**
 * Longest command, in UTF-8 bytes, over the command and all its arguments. Linux refuses a single argument
 * over 128 KiB (MAX_ARG_STRLEN); 64 KiB keeps every spec far below that and cheap on the wire.
 */
export const MAX_COMMAND_BYTES = 65_536;

/** Most arguments to a command. */
export const MAX_COMMAND_ARGS = 1024;

/** Most environment variables on a task. */
export const MAX_ENV_VARS = 256;

/** Longest environment variable name. */
export const MAX_ENV_KEY_LENGTH = 256;

/** Longest environment variable value, in UTF-8 bytes (same reasoning as MAX_COMMAND_BYTES). */
export const MAX_ENV_VALUE_BYTES = 32_768;

/** Longest working directory path (Linux PATH_MAX is 4096 including the terminator). */
export const MAX_PATH_LENGTH = 4095;

/**
 * Biggest job array. Slurm's default MaxArraySize is 1001; muster's queues hold an array as one job with a
 * count, so a much larger bound costs nothing until its tasks are placed.
 */
export const MAX_ARRAY_SIZE = 1_000_000;

/** Most dependencies of one job. */
export const MAX_DEPENDENCIES = 64;

/** Most retries of one task; beyond this a retry policy is hiding a bug. */
export const MAX_RETRIES = 100;

/** Longest idempotency key: long enough for a UUID or a hash with a prefix. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 128;

/** Largest priority magnitude; priorities are integers in [-MAX_PRIORITY, MAX_PRIORITY]. */
export const MAX_PRIORITY = 1_000_000;

/** Largest queue weight; weights are relative, so anything past this is a typo. */
export const MAX_QUEUE_WEIGHT = 1_000_000;

/**
 * Longest grace period of a preempted task (SIGTERM to SIGKILL). The preempting job waits that long for the
 * room it was promised; 10 minutes is time enough to checkpoint a large process's memory to a local disk,
 * and the waiting job's fair share would suffer past it. Kubernetes sets no bound; Slurm's GraceTime is
 * per partition, set by the operator: here the job chooses, within this.
 */
export const MAX_GRACE_PERIOD_MS = 10 * 60 * 1000;

/** Largest disruption budget a queue may name (preempted tasks per minute): beyond it, say none. */
export const MAX_DISRUPTION_BUDGET = 1_000_000;

/** Longest time limit and longest retry backoff: one year, in milliseconds. */
export const MAX_DURATION_MS = 365 * 24 * 3600 * 1000;

/**
 * Largest amount in any resource dimension. Quantities are integers (millicores, MiB, counts); 2^31 − 1
 * keeps every sum of two exact in a double and every amount in an int32/uint32 slot of the kernel.
 */
export const MAX_QUANTITY = 2_147_483_647;

/** Most named extended resources on one node or task. */
export const MAX_EXTENDED_RESOURCES = 16;
