/*
 * Node-API binding of the placement kernel (plain node_api.h). Arguments are checked here with the same
 * error kinds and MUSTER_ERR_ codes as the TypeScript layer; buffers are Int32Arrays passed by reference
 * (no copies); each table's arena is one calloc'd block owned by a type-tagged external and freed by its
 * finalizer. The kernel itself never allocates.
 */
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>

#include "placement.h"

static const napi_type_tag TABLE_TAG = {0x6d75737465727074ull, 0x61626c6531000001ull};

#define CALL(env, expr)                           \
  do {                                            \
    if ((expr) != napi_ok) {                      \
      throw_code(env, 2, "MUSTER_ERR_INTERNAL", "Node-API call failed: " #expr); \
      return NULL;                                \
    }                                             \
  } while (0)

static void throw_code(napi_env env, int kind, const char *code, const char *message) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  if (kind == 2) napi_throw_type_error(env, code, message);
  else napi_throw_range_error(env, code, message);
}

static napi_value throw_status(napi_env env, void *arena, int32_t status, const char *what) {
  char message[256];
  snprintf(message, sizeof message, "placement %s: %s (record %u)", what, mp_status_message(status),
           arena ? mp_error_index(arena) : 0u);
  throw_code(env, mp_status_kind(status), mp_status_code(status), message);
  return NULL;
}

typedef struct table {
  void *arena;
  uint32_t dims;
  uint32_t words;
} table;

static void finalize_table(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  table *t = data;
  free(t->arena);
  free(t);
}

static napi_value args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    throw_code(env, 2, "MUSTER_ERR_PLACEMENT_INVALID_BUFFER", "placement: missing arguments");
    return NULL;
  }
  return argv[0];
}

/* A whole number in [min, max], or a thrown RangeError/TypeError. */
static int get_uint(napi_env env, napi_value v, double max, const char *code, const char *what, uint32_t *out) {
  napi_valuetype type;
  double d;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_number || napi_get_value_double(env, v, &d) != napi_ok) {
    char message[128];
    snprintf(message, sizeof message, "placement: %s must be a number", what);
    throw_code(env, 2, "MUSTER_ERR_PLACEMENT_INVALID_BUFFER", message);
    return 0;
  }
  if (!(d >= 0 && d <= max && d == (double)(uint32_t)d)) {
    char message[128];
    snprintf(message, sizeof message, "placement: %s must be a whole number from 0 to %.0f", what, max);
    throw_code(env, 1, code, message);
    return 0;
  }
  *out = (uint32_t)d;
  return 1;
}

static int get_table(napi_env env, napi_value v, table **out) {
  bool tagged = false;
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_external ||
      napi_check_object_type_tag(env, v, &TABLE_TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, v, (void **)out) != napi_ok) {
    throw_code(env, 2, "MUSTER_ERR_PLACEMENT_INVALID_BUFFER", "placement: not a table handle");
    return 0;
  }
  return 1;
}

static int get_int32s(napi_env env, napi_value v, int32_t **data, uint32_t *len, const char *what) {
  bool is_typed = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *ptr = NULL;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, v, &type, &length, &ptr, NULL, NULL) != napi_ok || type != napi_int32_array ||
      length > 0x7fffffffu) {
    char message[128];
    snprintf(message, sizeof message, "placement: %s must be an Int32Array", what);
    throw_code(env, 2, "MUSTER_ERR_PLACEMENT_INVALID_BUFFER", message);
    return 0;
  }
  *data = ptr;
  *len = (uint32_t)length;
  return 1;
}

static napi_value number(napi_env env, double v) {
  napi_value out;
  return napi_create_double(env, v, &out) == napi_ok ? out : NULL;
}

/* create(capacity, dims, labelWords) → table handle */
static napi_value create(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!args(env, info, 3, argv)) return NULL;
  uint32_t capacity, dims, words;
  if (!get_uint(env, argv[0], MP_MAX_NODES, "MUSTER_ERR_PLACEMENT_LIMIT", "capacity", &capacity) ||
      !get_uint(env, argv[1], MP_MAX_DIMS, "MUSTER_ERR_PLACEMENT_LIMIT", "dims", &dims) ||
      !get_uint(env, argv[2], MP_MAX_LABEL_WORDS, "MUSTER_ERR_PLACEMENT_LIMIT", "label words", &words))
    return NULL;
  uint32_t bytes = mp_table_bytes(capacity, dims, words);
  if (!bytes) return throw_status(env, NULL, -2, "create");
  table *t = calloc(1, sizeof *t);
  void *arena = t ? calloc(1, bytes) : NULL; /* calloc alignment (16 on 64-bit) covers the kernel's 8 */
  if (!arena) {
    free(t);
    napi_throw_error(env, "MUSTER_ERR_INTERNAL", "placement: out of memory for the table");
    return NULL;
  }
  t->arena = arena;
  t->dims = dims;
  t->words = words;
  int32_t status = mp_table_init(arena, bytes, capacity, dims, words);
  if (status != MP_OK) {
    free(arena);
    free(t);
    return throw_status(env, NULL, status, "create");
  }
  napi_value handle;
  if (napi_create_external(env, t, finalize_table, NULL, &handle) != napi_ok) {
    free(arena);
    free(t);
    throw_code(env, 1, "MUSTER_ERR_INTERNAL", "placement: cannot create the table handle");
    return NULL;
  }
  CALL(env, napi_type_tag_object(env, handle, &TABLE_TAG));
  return handle;
}

typedef int32_t (*buffer_fn)(void *, const int32_t *, uint32_t);

static napi_value with_buffer(napi_env env, napi_callback_info info, buffer_fn fn, const char *what) {
  napi_value argv[2];
  table *t;
  int32_t *data;
  uint32_t len;
  if (!args(env, info, 2, argv) || !get_table(env, argv[0], &t) || !get_int32s(env, argv[1], &data, &len, what))
    return NULL;
  int32_t status = fn(t->arena, data, len);
  if (status < 0) return throw_status(env, t->arena, status, what);
  return number(env, status);
}

/* apply(table, ops) */
static napi_value apply(napi_env env, napi_callback_info info) { return with_buffer(env, info, mp_apply, "apply"); }

/* release(table, records) */
static napi_value release(napi_env env, napi_callback_info info) { return with_buffer(env, info, mp_release, "release"); }

static int32_t output_len(void *arena, const int32_t *batch, uint32_t len) { return mp_place_output_len(arena, batch, len); }

/* outputLength(table, batch) → int32 count the output of place() needs */
static napi_value output_length(napi_env env, napi_callback_info info) {
  return with_buffer(env, info, output_len, "batch");
}

/* place(table, batch, out) */
static napi_value place(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  table *t;
  int32_t *batch, *out;
  uint32_t len, out_len;
  if (!args(env, info, 3, argv) || !get_table(env, argv[0], &t) || !get_int32s(env, argv[1], &batch, &len, "batch") ||
      !get_int32s(env, argv[2], &out, &out_len, "output"))
    return NULL;
  int32_t status = mp_place(t->arena, batch, len, out, out_len);
  if (status < 0) return throw_status(env, t->arena, status, "place");
  return NULL;
}

/* readNode(table, id, out) */
static napi_value read_node(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  table *t;
  int32_t *out;
  uint32_t out_len, id;
  if (!args(env, info, 3, argv) || !get_table(env, argv[0], &t) ||
      !get_uint(env, argv[1], 4294967295.0, "MUSTER_ERR_PLACEMENT_UNKNOWN_NODE", "node id", &id) ||
      !get_int32s(env, argv[2], &out, &out_len, "output"))
    return NULL;
  int32_t status = mp_read_node(t->arena, id, out, out_len);
  if (status < 0) return throw_status(env, t->arena, status, "read");
  return NULL;
}

/* nodeCount(table) */
static napi_value node_count(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  table *t;
  if (!args(env, info, 1, argv) || !get_table(env, argv[0], &t)) return NULL;
  return number(env, mp_node_count(t->arena));
}

/* tableBytes(capacity, dims, labelWords) → bytes of the arena (0: shape out of range) */
static napi_value table_bytes(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint32_t v[3];
  if (!args(env, info, 3, argv)) return NULL;
  for (int i = 0; i < 3; i++)
    if (!get_uint(env, argv[i], 4294967295.0, "MUSTER_ERR_PLACEMENT_LIMIT", "shape", &v[i])) return NULL;
  return number(env, mp_table_bytes(v[0], v[1], v[2]));
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor props[] = {
      {"create", NULL, create, NULL, NULL, NULL, napi_enumerable, NULL},
      {"apply", NULL, apply, NULL, NULL, NULL, napi_enumerable, NULL},
      {"release", NULL, release, NULL, NULL, NULL, napi_enumerable, NULL},
      {"outputLength", NULL, output_length, NULL, NULL, NULL, napi_enumerable, NULL},
      {"place", NULL, place, NULL, NULL, NULL, napi_enumerable, NULL},
      {"readNode", NULL, read_node, NULL, NULL, NULL, napi_enumerable, NULL},
      {"nodeCount", NULL, node_count, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tableBytes", NULL, table_bytes, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
