/*
 * The placement kernel. See placement.h for the buffer layouts and src/placement/README.md for the design:
 * the node table is struct-of-arrays; beside it sits a complete binary tree over node indices (the index)
 * whose every entry summarises its leaves: the largest free amount per dimension, the largest spread
 * score, and the OR of label bits. A search descends only into subtrees whose summary could hold a fit,
 * so a placement visits O(log n) entries in the common case instead of n nodes.
 *
 * Freestanding: only <stdint.h> and <stddef.h>; no libc calls, no allocation, no global state.
 */
#include "placement.h"

#include <stddef.h>

#define MP_MAGIC 0x4d505431u /* "MPT1" */

/* The arena starts with this header; every array follows at an offset it records. */
typedef struct mp_header {
  uint32_t magic;
  uint32_t bytes;       /* size of the arena the table was built in */
  uint32_t capacity;    /* node slots: ids 0 .. capacity-1 */
  uint32_t dims;        /* D */
  uint32_t words;       /* W: 32-bit label words per node */
  uint32_t leaves;      /* P: leaves of the index, the power of two >= capacity */
  uint32_t stride;      /* int32 per index entry: D maxima, 1 score, W label words */
  uint32_t off_cap;     /* int32 [D][capacity] */
  uint32_t off_free;    /* int32 [D][capacity] */
  uint32_t off_labels;  /* uint32 [W][capacity] */
  uint32_t off_state;   /* uint8 [capacity] */
  uint32_t off_present; /* uint8 [capacity] */
  uint32_t off_hidden;  /* uint8 [capacity]: taken by the current distinctNodes job */
  uint32_t off_mark;    /* uint8 [capacity]: scratch of mp_apply (one id once per batch) */
  uint32_t off_tree;    /* int32 [2P][stride]; entry 1 is the root, leaf of node i is P + i */
  uint32_t count;       /* present nodes */
  uint32_t err_index;   /* record (or job) that caused the last error */
} mp_header;

#define MP_E_INTERNAL (-12)

/*
 * An index entry is [max free per dimension (D), max spread score, max balance, OR of label words (W)]:
 * SUMMARY_MAX(D) int32 combined by max, then W combined by OR.
 *
 * The balance of a node is min(free cpu, free memory / 4): cpu millicores against memory in units of
 * 4 MiB, i.e. one core weighs as much as 4 GiB. A task fits only where free cpu >= its cpu and free
 * memory >= its memory, so only where balance >= min(cpu, memory / 4): an exact necessary test. The per-
 * dimension maxima alone cannot see that a subtree's cpu and its memory sit on different nodes (the
 * fragmented, nearly full nodes a first fit leaves behind); the balance can, which cuts most backtracking.
 */
#define SUMMARY_MAX(dims) ((dims) + 2u)
#define BALANCE_SHIFT 2

static int32_t balance(int32_t cpu, int32_t memory) {
  int32_t m = memory >> BALANCE_SHIFT;
  return cpu < m ? cpu : m;
}

typedef struct query {
  const int32_t *req;   /* [D] */
  const uint32_t *all;  /* [W] bits every candidate must have */
  const uint32_t *none; /* [W] bits no candidate may have */
  const uint32_t *any;  /* [anyc][W] each clause: at least one of these bits */
  uint32_t anyc;
  uint32_t dims;
  uint32_t words;
  /* The hot test, precomputed per task group: only the dimensions the task asks for (cpu always, so an
   * invisible entry, -1 everywhere, fails even an all-zero request), and whether there are label bits. */
  uint32_t nd;
  int32_t balance; /* the least balance a node that fits has */
  int has_all;
  int has_none;
  uint32_t dim[MP_MAX_DIMS];
  int32_t need[MP_MAX_DIMS];
} query;

static void prepare(query *q) {
  q->nd = 0;
  for (uint32_t d = 0; d < q->dims; d++) {
    if (d == MP_DIM_CPU || q->req[d] > 0) {
      q->dim[q->nd] = d;
      q->need[q->nd++] = q->req[d];
    }
  }
  q->balance = balance(q->req[MP_DIM_CPU], q->req[MP_DIM_MEMORY]);
  q->has_all = q->has_none = 0;
  for (uint32_t w = 0; w < q->words; w++) {
    q->has_all |= q->all[w] != 0;
    q->has_none |= q->none[w] != 0;
  }
}

typedef struct best {
  int32_t score;
  int32_t index;
} best;

static uint32_t align8(uint32_t x) { return (x + 7u) & ~7u; }

static uint64_t shape_bytes(uint32_t capacity, uint32_t dims, uint32_t words, mp_header *out) {
  uint64_t leaves = 1;
  while (leaves < capacity) leaves <<= 1;
  uint64_t stride = (uint64_t)SUMMARY_MAX(dims) + words;
  uint64_t at = align8((uint32_t)sizeof(mp_header));
  uint64_t off_cap = at;
  at += (uint64_t)dims * capacity * 4u;
  uint64_t off_free = at;
  at += (uint64_t)dims * capacity * 4u;
  uint64_t off_labels = at;
  at += (uint64_t)words * capacity * 4u;
  uint64_t off_state = at;
  at += capacity;
  uint64_t off_present = at;
  at += capacity;
  uint64_t off_hidden = at;
  at += capacity;
  uint64_t off_mark = at;
  at += capacity;
  at = (at + 7u) & ~(uint64_t)7u;
  uint64_t off_tree = at;
  at += 2u * leaves * stride * 4u;
  if (out && at <= 0x7fffffffu) {
    out->capacity = capacity;
    out->dims = dims;
    out->words = words;
    out->leaves = (uint32_t)leaves;
    out->stride = (uint32_t)stride;
    out->off_cap = (uint32_t)off_cap;
    out->off_free = (uint32_t)off_free;
    out->off_labels = (uint32_t)off_labels;
    out->off_state = (uint32_t)off_state;
    out->off_present = (uint32_t)off_present;
    out->off_hidden = (uint32_t)off_hidden;
    out->off_mark = (uint32_t)off_mark;
    out->off_tree = (uint32_t)off_tree;
    out->bytes = (uint32_t)at;
  }
  return at;
}

static int shape_ok(uint32_t capacity, uint32_t dims, uint32_t words) {
  return capacity >= 1 && capacity <= MP_MAX_NODES && dims >= MP_FIXED_DIMS && dims <= MP_MAX_DIMS && words >= 1 &&
         words <= MP_MAX_LABEL_WORDS;
}

uint32_t mp_table_bytes(uint32_t capacity, uint32_t dims, uint32_t words) {
  if (!shape_ok(capacity, dims, words)) return 0;
  uint64_t bytes = shape_bytes(capacity, dims, words, NULL);
  return bytes > 0x7fffffffu ? 0 : (uint32_t)bytes;
}

#define AT(h, type, off) ((type *)((unsigned char *)(h) + (h)->off))

static mp_header *header(void *arena) {
  if (!arena || ((uintptr_t)arena & 7u) != 0) return NULL;
  mp_header *h = (mp_header *)arena;
  return h->magic == MP_MAGIC ? h : NULL;
}

static void fill_bytes(unsigned char *p, unsigned char v, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) p[i] = v;
}

/* The summary of an empty or unavailable leaf: no dimension can fit (every request is >= 0). */
static void invisible(int32_t *rec, uint32_t dims, uint32_t words) {
  for (uint32_t d = 0; d < SUMMARY_MAX(dims); d++) rec[d] = -1;
  for (uint32_t w = 0; w < words; w++) rec[SUMMARY_MAX(dims) + w] = 0;
}

int32_t mp_table_init(void *arena, uint32_t bytes, uint32_t capacity, uint32_t dims, uint32_t words) {
  if (!shape_ok(capacity, dims, words)) return MP_E_SHAPE;
  if (!arena || ((uintptr_t)arena & 7u) != 0) return MP_E_ARENA;
  mp_header shape;
  uint64_t need = shape_bytes(capacity, dims, words, &shape);
  if (need > 0x7fffffffu) return MP_E_SHAPE;
  if (bytes < need) return MP_E_ARENA;
  fill_bytes((unsigned char *)arena, 0, (uint32_t)need);
  mp_header *h = (mp_header *)arena;
  *h = shape;
  h->magic = MP_MAGIC;
  int32_t *tree = AT(h, int32_t, off_tree);
  uint32_t entries = 2u * h->leaves;
  for (uint32_t t = 0; t < entries; t++) invisible(tree + (size_t)t * h->stride, dims, words);
  return MP_OK;
}

/* Spread score of node i: floor(free*1024/capacity) of cpu plus that of memory (0 for a zero capacity). */
static int32_t spread_score(const mp_header *h, uint32_t i) {
  const int32_t *cap = AT(h, const int32_t, off_cap);
  const int32_t *fr = AT(h, const int32_t, off_free);
  uint32_t n = h->capacity;
  uint32_t score = 0;
  for (uint32_t d = MP_DIM_CPU; d <= MP_DIM_MEMORY; d++) {
    int32_t c = cap[d * n + i];
    if (c > 0) score += (uint32_t)(((uint64_t)(uint32_t)fr[d * n + i] * MP_SCORE_SCALE) / (uint32_t)c);
  }
  return (int32_t)score;
}

/* Recompute the leaf of node i from the table, then its ancestors until one does not change. */
static void refresh(mp_header *h, uint32_t i) {
  const uint32_t dims = h->dims, words = h->words, stride = h->stride, n = h->capacity;
  int32_t *tree = AT(h, int32_t, off_tree);
  uint32_t t = h->leaves + i;
  int32_t *leaf = tree + (size_t)t * stride;
  const unsigned char *state = AT(h, const unsigned char, off_state);
  if (AT(h, unsigned char, off_present)[i] && state[i] == MP_STATE_READY && !AT(h, unsigned char, off_hidden)[i]) {
    const int32_t *fr = AT(h, const int32_t, off_free);
    const uint32_t *lab = AT(h, const uint32_t, off_labels);
    for (uint32_t d = 0; d < dims; d++) leaf[d] = fr[d * n + i];
    leaf[dims] = spread_score(h, i);
    leaf[dims + 1] = balance(fr[MP_DIM_CPU * n + i], fr[MP_DIM_MEMORY * n + i]);
    for (uint32_t w = 0; w < words; w++) leaf[SUMMARY_MAX(dims) + w] = (int32_t)lab[w * n + i];
  } else {
    invisible(leaf, dims, words);
  }
  for (t >>= 1; t >= 1; t >>= 1) {
    int32_t *rec = tree + (size_t)t * stride;
    const int32_t *l = tree + (size_t)(2 * t) * stride;
    const int32_t *r = l + stride;
    int changed = 0;
    for (uint32_t d = 0; d < SUMMARY_MAX(dims); d++) {
      int32_t v = l[d] > r[d] ? l[d] : r[d];
      changed |= v != rec[d];
      rec[d] = v;
    }
    for (uint32_t w = SUMMARY_MAX(dims); w < stride; w++) {
      int32_t v = (int32_t)((uint32_t)l[w] | (uint32_t)r[w]);
      changed |= v != rec[w];
      rec[w] = v;
    }
    if (!changed) break;
  }
}

/* Could some leaf under this entry fit? (Exact at a leaf, except for the forbidden bits.) */
static int summary_fits(const int32_t *rec, const query *q) {
  if (rec[q->dims + 1] < q->balance) return 0;
  for (uint32_t i = 0; i < q->nd; i++)
    if (rec[q->dim[i]] < q->need[i]) return 0;
  const int32_t *lab = rec + SUMMARY_MAX(q->dims);
  if (q->has_all)
    for (uint32_t w = 0; w < q->words; w++)
      if (((uint32_t)lab[w] & q->all[w]) != q->all[w]) return 0;
  for (uint32_t c = 0; c < q->anyc; c++) {
    const uint32_t *m = q->any + (size_t)c * q->words;
    uint32_t hit = 0;
    for (uint32_t w = 0; w < q->words; w++) hit |= (uint32_t)lab[w] & m[w];
    if (!hit) return 0;
  }
  return 1;
}

static int leaf_allowed(const int32_t *rec, const query *q) {
  if (!q->has_none) return 1;
  const int32_t *lab = rec + SUMMARY_MAX(q->dims);
  for (uint32_t w = 0; w < q->words; w++)
    if ((uint32_t)lab[w] & q->none[w]) return 0;
  return 1;
}

/*
 * binpack: the lowest-indexed node that fits (first fit), by a left-first descent with backtracking.
 * Starts at leaf `from` (every node below it is known not to fit) or, with from == 0, at the root; the
 * loop visits the subtrees right of the current one in order, so both cover exactly the leaves >= from.
 */
static int32_t find_first(const mp_header *h, const query *q, uint32_t from) {
  const int32_t *tree = AT(h, const int32_t, off_tree);
  const uint32_t leaves = h->leaves, stride = h->stride;
  uint32_t t = from ? leaves + from : 1;
  for (;;) {
    const int32_t *rec = tree + (size_t)t * stride;
    if (summary_fits(rec, q)) {
      if (t < leaves) {
        t <<= 1;
        continue;
      }
      if (leaf_allowed(rec, q)) return (int32_t)(t - leaves);
    }
    while (t & 1u) t >>= 1; /* climb while we are a right child */
    if (t == 0) return -1;
    t += 1; /* the right sibling */
  }
}

/* spread: the node with the highest score that fits, lowest index on ties; branch and bound on the score. */
static void find_spread(const mp_header *h, const query *q, uint32_t t, uint32_t lo, uint32_t span, best *b) {
  const int32_t *tree = AT(h, const int32_t, off_tree);
  const uint32_t stride = h->stride;
  const int32_t *rec = tree + (size_t)t * stride;
  int32_t score = rec[q->dims];
  if (score < 0 || score < b->score) return;
  if (score == b->score && b->index >= 0 && lo > (uint32_t)b->index) return;
  if (!summary_fits(rec, q)) return;
  if (span == 1) {
    if (leaf_allowed(rec, q) && (score > b->score || (int32_t)lo < b->index)) {
      b->score = score;
      b->index = (int32_t)lo;
    }
    return;
  }
  uint32_t half = span >> 1;
  int32_t left = tree[(size_t)(2 * t) * stride + q->dims];
  int32_t right = tree[(size_t)(2 * t + 1) * stride + q->dims];
  if (right > left) {
    find_spread(h, q, 2 * t + 1, lo + half, half, b);
    find_spread(h, q, 2 * t, lo, half, b);
  } else {
    find_spread(h, q, 2 * t, lo, half, b);
    find_spread(h, q, 2 * t + 1, lo + half, half, b);
  }
}

static int labels_match(const mp_header *h, uint32_t i, const query *q) {
  const uint32_t *lab = AT(h, const uint32_t, off_labels);
  const uint32_t n = h->capacity;
  for (uint32_t w = 0; w < q->words; w++) {
    uint32_t v = lab[w * n + i];
    if ((v & q->all[w]) != q->all[w] || (v & q->none[w])) return 0;
  }
  for (uint32_t c = 0; c < q->anyc; c++) {
    uint32_t hit = 0;
    for (uint32_t w = 0; w < q->words; w++) hit |= lab[w * n + i] & q->any[(size_t)c * q->words + w];
    if (!hit) return 0;
  }
  return 1;
}

/* Why not: every present node counted once, under the first check of the pipeline it fails. */
static int32_t count_reasons(const mp_header *h, const query *q, int32_t *reasons) {
  const uint32_t n = h->capacity;
  const unsigned char *present = AT(h, const unsigned char, off_present);
  const unsigned char *state = AT(h, const unsigned char, off_state);
  const unsigned char *hidden = AT(h, const unsigned char, off_hidden);
  const int32_t *fr = AT(h, const int32_t, off_free);
  for (uint32_t i = 0; i < n; i++) {
    if (!present[i]) continue;
    int reason;
    if (state[i] != MP_STATE_READY) {
      reason = MP_REASON_NOT_READY;
    } else if (!labels_match(h, i, q)) {
      reason = MP_REASON_LABELS;
    } else if (hidden[i]) {
      reason = MP_REASON_DISTINCT;
    } else {
      reason = -1;
      for (uint32_t d = 0; d < q->dims; d++) {
        if (fr[d * n + i] < q->req[d]) {
          reason = d < MP_FIXED_DIMS ? MP_REASON_CPU + (int)d : MP_REASON_EXTENDED;
          break;
        }
      }
      if (reason < 0) return MP_E_INTERNAL; /* the search missed a node that fits: a kernel bug */
    }
    reasons[reason]++;
  }
  return MP_OK;
}

static void take(mp_header *h, uint32_t i, const int32_t *req, int32_t sign) {
  int32_t *fr = AT(h, int32_t, off_free);
  const uint32_t n = h->capacity;
  for (uint32_t d = 0; d < h->dims; d++) fr[d * n + i] -= sign * req[d];
}

/* ---- apply ---- */

static int32_t fail(mp_header *h, int32_t status, uint32_t index) {
  h->err_index = index;
  return status;
}

int32_t mp_apply(void *arena, const int32_t *ops, uint32_t len) {
  mp_header *h = header(arena);
  if (!h) return MP_E_ARENA;
  const uint32_t dims = h->dims, words = h->words, n = h->capacity;
  const uint32_t stride = MP_OP_STRIDE(dims, words);
  if (len % stride != 0 || (len && !ops)) return fail(h, MP_E_BUFFER, 0);
  const uint32_t count = len / stride;
  unsigned char *present = AT(h, unsigned char, off_present);
  unsigned char *state = AT(h, unsigned char, off_state);
  unsigned char *mark = AT(h, unsigned char, off_mark);
  int32_t *cap = AT(h, int32_t, off_cap);
  int32_t *fr = AT(h, int32_t, off_free);
  uint32_t *lab = AT(h, uint32_t, off_labels);
  int32_t status = MP_OK;
  uint32_t k = 0;
  /* Pass 1: validate everything, so a bad batch changes nothing. */
  for (; k < count; k++) {
    const int32_t *r = ops + (size_t)k * stride;
    int32_t op = r[0];
    uint32_t id = (uint32_t)r[1];
    uint32_t mask = op == MP_OP_ADD ? MP_SET_ALL : (uint32_t)r[2];
    const int32_t *rcap = r + 4, *rfree = r + 4 + dims;
    if (op < MP_OP_ADD || op > MP_OP_REMOVE || (mask & ~(uint32_t)MP_SET_ALL)) { status = MP_E_BUFFER; break; }
    if (id >= n) { status = op == MP_OP_ADD ? MP_E_TABLE_FULL : MP_E_UNKNOWN_NODE; break; }
    if (mark[id]) { status = MP_E_DUPLICATE_NODE; break; }
    if (op == MP_OP_ADD && present[id]) { status = MP_E_DUPLICATE_NODE; break; }
    if (op != MP_OP_ADD && !present[id]) { status = MP_E_UNKNOWN_NODE; break; }
    mark[id] = 1;
    if (op == MP_OP_REMOVE) continue;
    if ((mask & MP_SET_STATE) && (r[3] < 0 || r[3] >= MP_STATE_COUNT)) { status = MP_E_STATE; break; }
    for (uint32_t d = 0; d < dims && status == MP_OK; d++) {
      int32_t c = (mask & MP_SET_CAPACITY) ? rcap[d] : cap[d * n + id];
      int32_t f = (mask & MP_SET_FREE) ? rfree[d] : fr[d * n + id];
      if (c < 0 || f < 0 || f > c) status = MP_E_QUANTITY;
    }
    if (status != MP_OK) break;
  }
  /* Clear the marks (the failing record may have set one too; ids past capacity never did). */
  uint32_t last = status == MP_OK ? count : k + 1;
  for (uint32_t j = 0; j < last; j++) {
    uint32_t id = (uint32_t)ops[(size_t)j * stride + 1];
    if (id < n) mark[id] = 0;
  }
  if (status != MP_OK) return fail(h, status, k);
  /* Pass 2: apply. */
  for (k = 0; k < count; k++) {
    const int32_t *r = ops + (size_t)k * stride;
    int32_t op = r[0];
    uint32_t id = (uint32_t)r[1];
    uint32_t mask = op == MP_OP_ADD ? MP_SET_ALL : (uint32_t)r[2];
    if (op == MP_OP_REMOVE) {
      present[id] = 0;
      state[id] = 0;
      for (uint32_t d = 0; d < dims; d++) cap[d * n + id] = fr[d * n + id] = 0;
      for (uint32_t w = 0; w < words; w++) lab[w * n + id] = 0;
      h->count--;
    } else {
      if (op == MP_OP_ADD) {
        present[id] = 1;
        h->count++;
      }
      if (mask & MP_SET_STATE) state[id] = (unsigned char)r[3];
      for (uint32_t d = 0; d < dims; d++) {
        if (mask & MP_SET_CAPACITY) cap[d * n + id] = r[4 + d];
        if (mask & MP_SET_FREE) fr[d * n + id] = r[4 + dims + d];
      }
      if (mask & MP_SET_LABELS)
        for (uint32_t w = 0; w < words; w++) lab[w * n + id] = (uint32_t)r[4 + 2 * dims + w];
    }
    refresh(h, id);
  }
  return MP_OK;
}

/* ---- release ---- */

int32_t mp_release(void *arena, const int32_t *records, uint32_t len) {
  mp_header *h = header(arena);
  if (!h) return MP_E_ARENA;
  const uint32_t dims = h->dims, n = h->capacity, stride = 1 + dims;
  if (len % stride != 0 || (len && !records)) return fail(h, MP_E_BUFFER, 0);
  const uint32_t count = len / stride;
  const unsigned char *present = AT(h, const unsigned char, off_present);
  const int32_t *cap = AT(h, const int32_t, off_cap);
  for (uint32_t k = 0; k < count; k++) {
    const int32_t *r = records + (size_t)k * stride;
    if ((uint32_t)r[0] >= n || !present[(uint32_t)r[0]]) return fail(h, MP_E_UNKNOWN_NODE, k);
    for (uint32_t d = 0; d < dims; d++)
      if (r[1 + d] < 0) return fail(h, MP_E_QUANTITY, k);
  }
  /* Give back in order; a record that would pass capacity undoes all before it (ids may repeat). */
  for (uint32_t k = 0; k < count; k++) {
    const int32_t *r = records + (size_t)k * stride;
    uint32_t id = (uint32_t)r[0];
    int32_t *fr = AT(h, int32_t, off_free);
    int over = 0;
    for (uint32_t d = 0; d < dims; d++)
      if ((int64_t)fr[d * n + id] + r[1 + d] > cap[d * n + id]) over = 1;
    if (over) {
      for (uint32_t j = k; j-- > 0;) take(h, (uint32_t)records[(size_t)j * stride], records + (size_t)j * stride + 1, 1);
      return fail(h, MP_E_OVER_RELEASE, k);
    }
    take(h, id, r + 1, -1);
  }
  for (uint32_t k = 0; k < count; k++) refresh(h, (uint32_t)records[(size_t)k * stride]);
  return MP_OK;
}

/* ---- place ---- */

/* Walks the batch, checking every length and limit; counts jobs and tasks. */
static int32_t scan_batch(mp_header *h, const int32_t *batch, uint32_t len, uint32_t *jobs_out, uint32_t *tasks_out) {
  const uint32_t dims = h->dims, words = h->words;
  if (len < 1 || !batch) return fail(h, MP_E_BUFFER, 0);
  if (batch[0] < 0 || batch[0] > MP_MAX_BATCH_JOBS) return fail(h, MP_E_LIMIT, 0);
  uint32_t jobs = (uint32_t)batch[0], at = 1, tasks = 0;
  for (uint32_t j = 0; j < jobs; j++) {
    if (len - at < 3) return fail(h, MP_E_BUFFER, j);
    int32_t flags = batch[at], groups = batch[at + 1], anyc = batch[at + 2];
    if (flags & ~MP_JOB_FLAGS) return fail(h, MP_E_BUFFER, j);
    if (groups < 1 || groups > MP_MAX_GROUPS || anyc < 0 || anyc > MP_MAX_ANY_CLAUSES) return fail(h, MP_E_LIMIT, j);
    at += 3;
    uint32_t head = (2u + (uint32_t)anyc) * words;
    if (len - at < head) return fail(h, MP_E_BUFFER, j);
    at += head;
    uint32_t job_tasks = 0;
    for (int32_t g = 0; g < groups; g++) {
      if (len - at < 1 + dims) return fail(h, MP_E_BUFFER, j);
      int32_t count = batch[at];
      if (count < 1 || count > MP_MAX_TASKS_PER_JOB) return fail(h, MP_E_LIMIT, j);
      for (uint32_t d = 0; d < dims; d++)
        if (batch[at + 1 + d] < 0) return fail(h, MP_E_QUANTITY, j);
      job_tasks += (uint32_t)count;
      at += 1 + dims;
    }
    if (job_tasks > MP_MAX_TASKS_PER_JOB) return fail(h, MP_E_LIMIT, j);
    tasks += job_tasks;
    if (tasks > MP_MAX_BATCH_TASKS) return fail(h, MP_E_LIMIT, j);
  }
  if (at != len) return fail(h, MP_E_BUFFER, jobs);
  *jobs_out = jobs;
  *tasks_out = tasks;
  return MP_OK;
}

int32_t mp_place_output_len(void *arena, const int32_t *batch, uint32_t len) {
  mp_header *h = header(arena);
  if (!h) return MP_E_ARENA;
  uint32_t jobs = 0, tasks = 0;
  int32_t status = scan_batch(h, batch, len, &jobs, &tasks);
  return status != MP_OK ? status : (int32_t)(jobs * MP_JOB_OUT + tasks);
}

int32_t mp_place(void *arena, const int32_t *batch, uint32_t len, int32_t *out, uint32_t out_len) {
  mp_header *h = header(arena);
  if (!h) return MP_E_ARENA;
  uint32_t jobs = 0, tasks = 0;
  int32_t status = scan_batch(h, batch, len, &jobs, &tasks);
  if (status != MP_OK) return status;
  if (!out || out_len < jobs * MP_JOB_OUT + tasks) return fail(h, MP_E_OUTPUT, 0);
  const uint32_t dims = h->dims, words = h->words;
  unsigned char *hidden = AT(h, unsigned char, off_hidden);
  int32_t *node_out = out + (size_t)jobs * MP_JOB_OUT;
  uint32_t at = 1;
  /*
   * First-fit cursor: after a binpack search for a request finds node c, every node below c is known not
   * to fit that same request, and stays so while resources only shrink. So the next search for an equal
   * request (same amounts and label clauses) starts at c. Giving resources back (a gang rolled back) or
   * making nodes visible again (a distinctNodes job ends) forgets the cursor.
   */
  const int32_t *cursor_req = NULL, *cursor_labels = NULL;
  uint32_t cursor_label_len = 0, cursor = 0;
  for (uint32_t j = 0; j < jobs; j++) {
    const int32_t flags = batch[at], groups = batch[at + 1];
    query q;
    q.dims = dims;
    q.words = words;
    q.anyc = (uint32_t)batch[at + 2];
    q.all = (const uint32_t *)(batch + at + 3);
    q.none = q.all + words;
    q.any = q.none + words;
    const int32_t *group0 = batch + at + 3 + (2u + q.anyc) * words;
    const int gang = (flags & MP_JOB_GANG) != 0, distinct = (flags & MP_JOB_DISTINCT) != 0;
    const int spread = (flags & MP_JOB_SPREAD) != 0;
    int32_t *job_out = out + (size_t)j * MP_JOB_OUT;
    for (uint32_t r = 0; r < MP_JOB_OUT; r++) job_out[r] = 0;
    job_out[1] = -1;
    int failed = 0;
    uint32_t placed = 0, k = 0;
    const int32_t *g_at = group0;
    for (int32_t g = 0; g < groups; g++, g_at += 1 + dims) {
      const int32_t count = g_at[0];
      q.req = g_at + 1;
      prepare(&q);
      const uint32_t label_len = 1 + (2u + q.anyc) * words; /* anyCount, all, none, any */
      const int32_t *labels = batch + at + 2;
      int same = 0;
      if (!spread && cursor_req) {
        same = cursor_label_len == label_len;
        for (uint32_t d = 0; same && d < dims; d++) same = cursor_req[d] == q.req[d];
        for (uint32_t w = 0; same && w < label_len; w++) same = cursor_labels[w] == labels[w];
      }
      if (!same) cursor = 0;
      int group_failed = 0;
      for (int32_t c = 0; c < count; c++, k++) {
        /* A task like one that just failed fails too: the table only lost capacity since. */
        if (group_failed || (gang && failed)) {
          node_out[k] = -1;
          continue;
        }
        int32_t node;
        if (spread) {
          best b = {-1, -1};
          find_spread(h, &q, 1, 0, h->leaves, &b);
          node = b.index;
        } else {
          node = find_first(h, &q, cursor);
          cursor_req = q.req;
          cursor_labels = labels;
          cursor_label_len = label_len;
          cursor = node < 0 ? 0 : (uint32_t)node;
          if (node < 0) cursor_req = NULL;
        }
        if (node < 0) {
          if (!failed) {
            job_out[1] = g;
            if (count_reasons(h, &q, job_out + 2) != MP_OK) return fail(h, MP_E_INTERNAL, j);
          }
          failed = group_failed = 1;
          node_out[k] = -1;
          continue;
        }
        take(h, (uint32_t)node, q.req, 1);
        if (distinct) hidden[node] = 1;
        refresh(h, (uint32_t)node);
        node_out[k] = node;
        placed++;
      }
    }
    const int rollback = gang && failed && placed;
    if (rollback || (distinct && placed)) {
      k = 0;
      g_at = group0;
      for (int32_t g = 0; g < groups; g++, g_at += 1 + dims) {
        for (int32_t c = 0; c < g_at[0]; c++, k++) {
          int32_t node = node_out[k];
          if (node < 0) continue;
          hidden[node] = 0;
          if (rollback) {
            take(h, (uint32_t)node, g_at + 1, -1);
            node_out[k] = -1;
          }
          refresh(h, (uint32_t)node);
        }
      }
      if (rollback) placed = 0;
      cursor_req = NULL; /* capacity came back or nodes became visible: the cursor no longer holds */
      cursor = 0;
    }
    job_out[0] = !failed ? MP_STATUS_PLACED : placed ? MP_STATUS_PARTIAL : MP_STATUS_UNPLACED;
    node_out += k;
    at = (uint32_t)(g_at - batch);
  }
  return MP_OK;
}

/* ---- inspection and errors ---- */

int32_t mp_read_node(void *arena, uint32_t id, int32_t *out, uint32_t out_len) {
  mp_header *h = header(arena);
  if (!h) return MP_E_ARENA;
  const uint32_t dims = h->dims, words = h->words, n = h->capacity;
  if (!out || out_len < 2 + 2 * dims + words) return fail(h, MP_E_OUTPUT, 0);
  if (id >= n) return fail(h, MP_E_UNKNOWN_NODE, 0);
  out[0] = AT(h, unsigned char, off_present)[id];
  out[1] = AT(h, unsigned char, off_state)[id];
  for (uint32_t d = 0; d < dims; d++) {
    out[2 + d] = AT(h, int32_t, off_cap)[d * n + id];
    out[2 + dims + d] = AT(h, int32_t, off_free)[d * n + id];
  }
  for (uint32_t w = 0; w < words; w++) out[2 + 2 * dims + w] = (int32_t)AT(h, uint32_t, off_labels)[w * n + id];
  return MP_OK;
}

uint32_t mp_node_count(void *arena) {
  mp_header *h = header(arena);
  return h ? h->count : 0;
}

uint32_t mp_error_index(void *arena) {
  mp_header *h = header(arena);
  return h ? h->err_index : 0;
}

typedef struct status_info {
  const char *code;
  const char *message;
  int32_t kind; /* 1 RangeError, 2 TypeError */
} status_info;

/* Index: -status. Codes are listed in src/errors/catalog.ts; a test checks that they agree. */
static const status_info STATUS[] = {
    {"MUSTER_ERR_PLACEMENT_OK", "ok", 0},
    {"MUSTER_ERR_PLACEMENT_INVALID_BUFFER", "the table memory is missing, too small or not initialised", 2},
    {"MUSTER_ERR_PLACEMENT_LIMIT", "the table shape (capacity, dimensions, label words) is out of range", 1},
    {"MUSTER_ERR_PLACEMENT_INVALID_BUFFER", "a buffer is truncated or malformed", 2},
    {"MUSTER_ERR_PLACEMENT_INVALID_QUANTITY", "an amount is negative, too large, or free exceeds capacity", 1},
    {"MUSTER_ERR_PLACEMENT_UNKNOWN_NODE", "no node with this id is in the table", 1},
    {"MUSTER_ERR_PLACEMENT_DUPLICATE_NODE", "the node is already in the table, or named twice in one batch", 1},
    {"MUSTER_ERR_PLACEMENT_TABLE_FULL", "the node id is past the table's capacity", 1},
    {"MUSTER_ERR_PLACEMENT_INVALID_STATE", "a node state is not one of ready, draining, suspect, lost, down", 1},
    {"MUSTER_ERR_PLACEMENT_LIMIT", "the batch is past its limits (jobs, groups, tasks, selectors)", 1},
    {"MUSTER_ERR_PLACEMENT_OVER_RELEASE", "a release would leave more free than the node's capacity", 1},
    {"MUSTER_ERR_PLACEMENT_INVALID_BUFFER", "the output buffer is too small for the batch", 2},
    {"MUSTER_ERR_INTERNAL", "placement kernel invariant broken (a bug)", 1},
};

static const status_info *info(int32_t status) {
  int32_t i = -status;
  return i >= 0 && i < (int32_t)(sizeof STATUS / sizeof STATUS[0]) ? &STATUS[i] : &STATUS[12];
}

const char *mp_status_code(int32_t status) { return info(status)->code; }
const char *mp_status_message(int32_t status) { return info(status)->message; }
int32_t mp_status_kind(int32_t status) { return info(status)->kind; }
