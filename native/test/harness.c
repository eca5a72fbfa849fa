/*
 * Random-input harness for the placement kernel, built with -fsanitize=address,undefined by
 * scripts/ci-placement.sh. It includes the kernel source to check its internal invariants after every
 * call: free within [0, capacity], the index equal to one rebuilt from scratch, placed tasks on ready,
 * matching nodes, reason counts covering every node, and malformed buffers rejected without a crash.
 * Usage: harness [iterations] [seed]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/placement.c"

static uint64_t rng_state;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}
static uint32_t below(uint32_t n) { return n ? rnd() % n : 0; }

static int failures;
static unsigned long placed_tasks, failed_jobs;
#define CHECK(cond, ...)                                  \
  do {                                                    \
    if (!(cond)) {                                        \
      fprintf(stderr, "harness: %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                       \
      fputc('\n', stderr);                                \
      if (++failures > 20) exit(1);                       \
    }                                                     \
  } while (0)

/* Copies into a heap block of exactly n int32, so the sanitizer sees any read past the end. */
static int32_t *exact(const int32_t *src, uint32_t n) {
  int32_t *p = malloc(n ? n * sizeof(int32_t) : 1);
  if (n) memcpy(p, src, n * sizeof(int32_t));
  return p;
}

static void check_table(mp_header *h) {
  const uint32_t n = h->capacity, dims = h->dims, stride = h->stride;
  const int32_t *cap = AT(h, int32_t, off_cap), *fr = AT(h, int32_t, off_free);
  uint32_t present = 0;
  for (uint32_t i = 0; i < n; i++) {
    present += AT(h, unsigned char, off_present)[i];
    CHECK(AT(h, unsigned char, off_hidden)[i] == 0, "node %u left hidden", i);
    for (uint32_t d = 0; d < dims; d++)
      CHECK(fr[d * n + i] >= 0 && fr[d * n + i] <= cap[d * n + i], "node %u dim %u free %d cap %d", i, d,
            fr[d * n + i], cap[d * n + i]);
  }
  CHECK(present == h->count, "count %u, present %u", h->count, present);
  /* Rebuild the index in a copy and compare. */
  int32_t *tree = AT(h, int32_t, off_tree);
  size_t entries = 2u * (size_t)h->leaves;
  int32_t *copy = malloc(entries * stride * sizeof(int32_t));
  memcpy(copy, tree, entries * stride * sizeof(int32_t));
  for (uint32_t t = 0; t < entries; t++) invisible(tree + (size_t)t * stride, dims, h->words);
  for (uint32_t i = 0; i < n; i++) refresh(h, i);
  /* refresh stops early when a parent does not change, so rebuild internal entries fully. */
  for (uint32_t t = h->leaves - 1; t >= 1; t--) {
    int32_t *rec = tree + (size_t)t * stride, *l = tree + (size_t)(2 * t) * stride, *r = l + stride;
    for (uint32_t d = 0; d < SUMMARY_MAX(dims); d++) rec[d] = l[d] > r[d] ? l[d] : r[d];
    for (uint32_t w = SUMMARY_MAX(dims); w < stride; w++) rec[w] = (int32_t)((uint32_t)l[w] | (uint32_t)r[w]);
  }
  CHECK(memcmp(copy + stride, tree + stride, (entries - 1) * stride * sizeof(int32_t)) == 0, "index differs from a rebuild");
  free(copy);
}

static uint32_t rand_labels(void) {
  /* A few bits in use, so selectors both match and miss. */
  return rnd() & (0x1u << below(6) | 0x1u << below(6) | (below(4) == 0 ? 0x80000000u : 0));
}

static void random_apply(mp_header *h, int valid) {
  const uint32_t dims = h->dims, words = h->words, n = h->capacity;
  const uint32_t stride = MP_OP_STRIDE(dims, words);
  uint32_t count = 1 + below(n < 64 ? n : 64);
  int32_t *ops = calloc((size_t)count * stride, sizeof(int32_t));
  uint32_t used = 0;
  unsigned char *seen = calloc(n, 1);
  for (uint32_t k = 0; k < count; k++) {
    uint32_t id = below(n);
    if (seen[id] && valid) continue;
    seen[id] = 1;
    int32_t *r = ops + (size_t)used++ * stride;
    int present = AT(h, unsigned char, off_present)[id];
    r[0] = present ? (below(5) == 0 ? MP_OP_REMOVE : MP_OP_UPDATE) : MP_OP_ADD;
    r[1] = (int32_t)id;
    r[2] = r[0] == MP_OP_UPDATE ? (int32_t)(below(2) ? MP_SET_ALL : (MP_SET_STATE | MP_SET_LABELS)) : 0;
    r[3] = below(3) ? 0 : (int32_t)below(MP_STATE_COUNT);
    for (uint32_t d = 0; d < dims; d++) {
      int32_t c = d < 2 ? (int32_t)(1000 + below(64000)) : (int32_t)below(8);
      if (below(50) == 0) c = MP_MAX_QUANTITY;
      r[4 + d] = c;
      r[4 + dims + d] = below(4) ? c : (int32_t)below((uint32_t)c + 1);
    }
    for (uint32_t w = 0; w < words; w++) r[4 + 2 * dims + w] = (int32_t)rand_labels();
    if (!valid) {
      switch (below(8)) {
        case 0: r[0] = (int32_t)below(6); break;
        case 1: r[1] = (int32_t)(n + below(3)); break;
        case 2: r[1] = -1 - (int32_t)below(3); break;
        case 3: r[3] = (int32_t)below(10) - 2; break;
        case 4: r[4 + below(dims)] = -1 - (int32_t)below(5); break;
        case 5: r[4 + dims + below(dims)] = MP_MAX_QUANTITY; break;
        case 6: r[2] = (int32_t)rnd(); break;
        default: break;
      }
    }
  }
  uint32_t len = used * stride;
  if (!valid && below(4) == 0 && len) len -= 1 + below(stride - 1); /* truncated */
  int32_t *buf = exact(ops, len);
  int32_t status = mp_apply(h, buf, len);
  if (valid) CHECK(status == MP_OK, "valid apply failed: %s", mp_status_code(status));
  CHECK(status <= 0 && status >= MP_STATUS_MIN, "apply status %d", status);
  free(buf);
  free(ops);
  free(seen);
}

/* Builds a random batch; returns its length in int32. */
static uint32_t random_batch(mp_header *h, int32_t *buf, uint32_t cap_len) {
  const uint32_t dims = h->dims, words = h->words;
  uint32_t jobs = 1 + below(40), at = 1;
  for (uint32_t j = 0; j < jobs; j++) {
    uint32_t groups = 1 + below(3), anyc = below(3);
    uint32_t need = 3 + (2 + anyc) * words + groups * (1 + dims);
    if (at + need > cap_len) {
      jobs = j;
      break;
    }
    buf[at++] = (int32_t)below(8);
    buf[at++] = (int32_t)groups;
    buf[at++] = (int32_t)anyc;
    for (uint32_t w = 0; w < words; w++) buf[at++] = below(3) ? 0 : (int32_t)(0x1u << below(6));
    for (uint32_t w = 0; w < words; w++) buf[at++] = below(3) ? 0 : (int32_t)(0x1u << below(6));
    for (uint32_t c = 0; c < anyc * words; c++) buf[at++] = (int32_t)(rnd() & 0x3fu);
    for (uint32_t g = 0; g < groups; g++) {
      buf[at++] = (int32_t)(1 + below(below(8) == 0 ? 64 : 4));
      for (uint32_t d = 0; d < dims; d++) buf[at++] = d < 2 ? (int32_t)below(9000) : (int32_t)(below(3) ? 0 : below(3));
      if (below(40) == 0) buf[at - 1 - below(dims)] = MP_MAX_QUANTITY;
    }
  }
  buf[0] = (int32_t)jobs;
  return at;
}

static void check_placement(mp_header *h, const int32_t *batch, const int32_t *out) {
  const uint32_t dims = h->dims, words = h->words;
  uint32_t jobs = (uint32_t)batch[0], at = 1;
  const int32_t *nodes = out + (size_t)jobs * MP_JOB_OUT;
  for (uint32_t j = 0; j < jobs; j++) {
    const int32_t *jo = out + (size_t)j * MP_JOB_OUT;
    int32_t flags = batch[at], groups = batch[at + 1];
    query q = {0};
    q.dims = dims;
    q.words = words;
    q.anyc = (uint32_t)batch[at + 2];
    q.all = (const uint32_t *)(batch + at + 3);
    q.none = q.all + words;
    q.any = q.none + words;
    at += 3 + (2 + q.anyc) * words;
    uint32_t placed = 0, total = 0;
    for (int32_t g = 0; g < groups; g++) {
      int32_t count = batch[at];
      for (int32_t c = 0; c < count; c++, total++) {
        int32_t node = *nodes++;
        if (node < 0) continue;
        placed++;
        placed_tasks++;
        CHECK((uint32_t)node < h->capacity && AT(h, unsigned char, off_present)[node], "placed on absent node %d", node);
        CHECK(AT(h, unsigned char, off_state)[node] == MP_STATE_READY, "placed on a node not ready");
        CHECK(labels_match(h, (uint32_t)node, &q), "placed on a node whose labels do not match");
      }
      at += 1 + dims;
    }
    CHECK(jo[0] == (placed == total ? MP_STATUS_PLACED : placed ? MP_STATUS_PARTIAL : MP_STATUS_UNPLACED), "status");
    if ((flags & MP_JOB_GANG) && placed) CHECK(placed == total, "gang partly placed");
    if (placed < total) {
      failed_jobs++;
      int32_t sum = 0;
      for (int r = 0; r < MP_REASONS; r++) sum += jo[2 + r];
      CHECK((uint32_t)sum == h->count, "reasons cover %d of %u nodes", sum, h->count);
      CHECK(jo[1] >= 0 && jo[1] < groups, "failed group %d", jo[1]);
    }
  }
}

static void random_place(mp_header *h) {
  static int32_t tmp[1 << 16];
  uint32_t len = random_batch(h, tmp, 1 << 16);
  int32_t *batch = exact(tmp, len);
  int32_t need = mp_place_output_len(h, batch, len);
  CHECK(need >= 0, "valid batch rejected: %s", mp_status_code(need));
  if (need < 0) return;
  int32_t *out = malloc((size_t)need * sizeof(int32_t) + 1);
  CHECK(mp_place(h, batch, len, out, (uint32_t)need - 1) == MP_E_OUTPUT, "short output accepted");
  int32_t status = mp_place(h, batch, len, out, (uint32_t)need);
  CHECK(status == MP_OK, "place failed: %s", mp_status_code(status));
  if (status == MP_OK) check_placement(h, batch, out);
  /* Release about half of what was placed, through the release batch. */
  uint32_t jobs = (uint32_t)batch[0], at = 1, k = 0;
  const int32_t *nodes = out + (size_t)jobs * MP_JOB_OUT;
  int32_t *rel = malloc(((size_t)need + 1) * (1 + h->dims) * sizeof(int32_t));
  uint32_t rel_len = 0;
  for (uint32_t j = 0; j < jobs; j++) {
    int32_t groups = batch[at + 1];
    at += 3 + (2 + (uint32_t)batch[at + 2]) * h->words;
    for (int32_t g = 0; g < groups; g++) {
      for (int32_t c = 0; c < batch[at]; c++, k++) {
        if (nodes[k] < 0 || below(2)) continue;
        rel[rel_len++] = nodes[k];
        for (uint32_t d = 0; d < h->dims; d++) rel[rel_len++] = batch[at + 1 + d];
      }
      at += 1 + h->dims;
    }
  }
  int32_t *rbuf = exact(rel, rel_len);
  CHECK(mp_release(h, rbuf, rel_len) == MP_OK, "release of placed work failed");
  free(rbuf);
  free(rel);
  free(out);
  free(batch);
}

static void random_garbage(mp_header *h) {
  uint32_t len = below(200);
  int32_t *buf = malloc(len ? len * sizeof(int32_t) : 1);
  for (uint32_t i = 0; i < len; i++) buf[i] = below(3) ? (int32_t)below(6) - 1 : (int32_t)rnd();
  if (len && below(2)) buf[0] = (int32_t)below(4);
  uint32_t out_len = below(400);
  int32_t *out = malloc(out_len ? out_len * sizeof(int32_t) : 1);
  int32_t s1 = mp_place(h, buf, len, out, out_len);
  int32_t s2 = mp_release(h, buf, len);
  int32_t s3 = mp_apply(h, buf, len);
  CHECK(s1 <= 0 && s2 <= 0 && s3 <= 0 && s1 != MP_E_INTERNAL, "garbage statuses %d %d %d", s1, s2, s3);
  /* A successful garbage release or apply is legal; put the table back in shape only by checking it. */
  free(buf);
  free(out);
}

int main(int argc, char **argv) {
  uint32_t iterations = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 300;
  rng_state = argc > 2 ? strtoull(argv[2], NULL, 10) : 0x9e3779b97f4a7c15ull;
  if (!rng_state) rng_state = 1;
  CHECK(mp_table_bytes(0, 4, 1) == 0 && mp_table_bytes(MP_MAX_NODES + 1, 4, 1) == 0, "bad shapes sized");
  CHECK(mp_table_bytes(1, 2, 1) == 0 && mp_table_bytes(1, MP_MAX_DIMS + 1, 1) == 0, "bad dims sized");
  CHECK(mp_table_bytes(1, 3, 0) == 0 && mp_table_bytes(1, 3, MP_MAX_LABEL_WORDS + 1) == 0, "bad words sized");
  CHECK(mp_apply(NULL, NULL, 0) == MP_E_ARENA, "null arena accepted");
  for (uint32_t it = 0; it < iterations; it++) {
    uint32_t capacity = below(10) == 0 ? 1 + below(3000) : 1 + below(200);
    uint32_t dims = MP_FIXED_DIMS + below(4), words = 1 + below(3);
    uint32_t bytes = mp_table_bytes(capacity, dims, words);
    void *arena = aligned_alloc(8, (bytes + 7u) & ~7u);
    CHECK(mp_table_init(arena, bytes - 8, capacity, dims, words) == MP_E_ARENA, "short arena accepted");
    CHECK(mp_table_init(arena, bytes, capacity, dims, words) == MP_OK, "init failed");
    mp_header *h = (mp_header *)arena;
    for (uint32_t round = 0; round < 12; round++) {
      random_apply(h, below(4) != 0);
      check_table(h);
      random_place(h);
      check_table(h);
      if (below(3) == 0) {
        random_garbage(h);
        check_table(h);
      }
    }
    free(arena);
  }
  if (failures) {
    fprintf(stderr, "harness: %d failures\n", failures);
    return 1;
  }
  printf("harness: %u tables, %lu tasks placed, %lu jobs not fully placed, no findings\n", iterations, placed_tasks, failed_jobs);
  return 0;
}
