/*
 * muster placement kernel: one freestanding C11 translation unit (no libc, no allocation), built as a
 * Node-API addon (binding.c) and as wasm32 (scripts/build-wasm.sh). The caller hands the kernel one block
 * of memory per node table (an "arena"); everything the kernel keeps lives inside it.
 *
 * All buffers crossing the boundary are int32 arrays. Layouts (D = dims, W = label words):
 *
 *   apply ops, MP_OP_STRIDE(D, W) int32 per record:
 *     [op, id, mask, state, capacity[D], free[D], labels[W]]
 *     op 1 add (mask ignored: everything is set), 2 update (mask: MP_SET_*), 3 remove (rest ignored)
 *   release, (1 + D) int32 per record: [id, amount[D]]
 *   place batch:
 *     [jobCount, then per job: flags, groupCount, anyCount, mustAll[W], mustNone[W], anyOf[anyCount][W],
 *      then per group: count, request[D]]
 *   place output: jobCount blocks of MP_JOB_OUT int32
 *     [status, failedGroup, reasons[MP_REASONS]], then one node index per task (-1: not placed),
 *     jobs in order, tasks in group order.
 *
 * Every function returns MP_OK (0) or a negative status; mp_status_code() names its MUSTER_ERR_ code and
 * mp_error_index() the record that caused it.
 */
#ifndef MUSTER_PLACEMENT_H
#define MUSTER_PLACEMENT_H

#include <stdint.h>

/* Resource dimensions: cpu millicores, memory MiB, gpus, then the table's extended resources. */
#define MP_DIM_CPU 0
#define MP_DIM_MEMORY 1
#define MP_DIM_GPU 2
#define MP_FIXED_DIMS 3

/*
 * Most extended resource slots in one table: the model allows 16 named extended resources per node
 * (MAX_EXTENDED_RESOURCES); a site rarely has more kinds than one node may carry.
 */
#define MP_MAX_EXTENDED 16
#define MP_MAX_DIMS (MP_FIXED_DIMS + MP_MAX_EXTENDED)

/*
 * Most 32-bit label words per node (1024 interned key=value bits). Each tree node keeps the OR of its
 * leaves' labels, so this multiplies the index's size; 1024 distinct pairs covers zones, racks, gpu
 * models and pools of a large site while keeping a 100k-node index under ~70 MB.
 */
#define MP_MAX_LABEL_WORDS 32

/*
 * Most nodes in one table: 2^20. A site is a failure domain; a million machines in one is far beyond
 * any real site, and 2^20 keeps every offset in the arena, with the tree of 2^21 entries, below 2^31 bytes
 * for the default table shape.
 */
#define MP_MAX_NODES (1u << 20)

/* Largest amount in any dimension: model MAX_QUANTITY, so every amount fits an int32 slot. */
#define MP_MAX_QUANTITY 2147483647

/* Most jobs in one place() call: the dispatcher batches per turn; 65536 keeps one call short (ms). */
#define MP_MAX_BATCH_JOBS 65536
/* Most tasks in one place() call: bounds the output array (4 MiB of node indices). */
#define MP_MAX_BATCH_TASKS (1 << 20)
/* Most task groups in one job: model MAX_TASK_GROUPS. */
#define MP_MAX_GROUPS 16
/* Most tasks in one job: model MAX_TASKS_PER_JOB (a gang is placed in one call). */
#define MP_MAX_TASKS_PER_JOB 4096
/* Most any-of label clauses in one job: one per `in` or `exists` selector, model MAX_SELECTORS. */
#define MP_MAX_ANY_CLAUSES 32

/* Node states, as in the model: only ready nodes take work. */
#define MP_STATE_READY 0
#define MP_STATE_COUNT 5

#define MP_OP_ADD 1
#define MP_OP_UPDATE 2
#define MP_OP_REMOVE 3
#define MP_SET_CAPACITY 1
#define MP_SET_FREE 2
#define MP_SET_LABELS 4
#define MP_SET_STATE 8
#define MP_SET_ALL 15
#define MP_OP_STRIDE(D, W) (4 + 2 * (D) + (W))

#define MP_JOB_GANG 1
#define MP_JOB_DISTINCT 2
#define MP_JOB_SPREAD 4
#define MP_JOB_FLAGS 7

/* Result of one job. */
#define MP_STATUS_PLACED 0
#define MP_STATUS_PARTIAL 1
#define MP_STATUS_UNPLACED 2

/* Why-not reasons, in pipeline order: a node is counted once, under the first check it fails. */
#define MP_REASON_NOT_READY 0
#define MP_REASON_LABELS 1
#define MP_REASON_DISTINCT 2
#define MP_REASON_CPU 3
#define MP_REASON_MEMORY 4
#define MP_REASON_GPU 5
#define MP_REASON_EXTENDED 6
#define MP_REASONS 7
#define MP_JOB_OUT (2 + MP_REASONS)

/* Spread score scale: each of cpu and memory contributes floor(free * 1024 / capacity). */
#define MP_SCORE_SCALE 1024

/* Statuses. */
#define MP_OK 0
#define MP_E_ARENA (-1)          /* arena missing, too small, misaligned or not initialised */
#define MP_E_SHAPE (-2)          /* table shape (capacity, dims, label words) out of range */
#define MP_E_BUFFER (-3)         /* a buffer is truncated or malformed (length, op code, flags) */
#define MP_E_QUANTITY (-4)       /* an amount is negative, above MP_MAX_QUANTITY, or free > capacity */
#define MP_E_UNKNOWN_NODE (-5)   /* a node id is not in the table */
#define MP_E_DUPLICATE_NODE (-6) /* add of a present id, or one id twice in one apply batch */
#define MP_E_TABLE_FULL (-7)     /* a node id at or past the table's capacity */
#define MP_E_STATE (-8)          /* a node state outside 0..4 */
#define MP_E_LIMIT (-9)          /* a batch past its limits (jobs, groups, tasks, clauses) */
#define MP_E_OVER_RELEASE (-10)  /* a release would leave more free than capacity */
#define MP_E_OUTPUT (-11)        /* the output buffer is too small for the batch */
#define MP_STATUS_MIN (-11)

uint32_t mp_table_bytes(uint32_t capacity, uint32_t dims, uint32_t label_words);
int32_t mp_table_init(void *arena, uint32_t bytes, uint32_t capacity, uint32_t dims, uint32_t label_words);
int32_t mp_apply(void *arena, const int32_t *ops, uint32_t len);
int32_t mp_release(void *arena, const int32_t *records, uint32_t len);
int32_t mp_place(void *arena, const int32_t *batch, uint32_t len, int32_t *out, uint32_t out_len);
/* Output length a batch needs (jobs * MP_JOB_OUT + tasks), or a negative status if it is malformed. */
int32_t mp_place_output_len(void *arena, const int32_t *batch, uint32_t len);
/* [present, state, capacity[D], free[D], labels[W]] of node id into out (len >= 2 + 2D + W). */
int32_t mp_read_node(void *arena, uint32_t id, int32_t *out, uint32_t out_len);
uint32_t mp_node_count(void *arena);
uint32_t mp_error_index(void *arena);
const char *mp_status_code(int32_t status);
const char *mp_status_message(int32_t status);
/* 1: the status is a RangeError, 2: a TypeError. */
int32_t mp_status_kind(int32_t status);

#endif
