/*
 * Shared by the MANUAL / GRAPH scope tests: kernels that compute checkable
 * data (fp32 element-wise ops over 1-D or 2-D views, an order-sensitive
 * int64 step, flag handoffs through raw pointers), a gate that holds a
 * producer "running" until the orchestrator opens it, and run helpers that
 * check a failing run's code and message and that the runtime works again.
 */
#ifndef PTO2_MANUAL_COMMON_H
#define PTO2_MANUAL_COMMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "pto2/pto2.h"
#include "test.h"

enum {
  K_NOOP = 0,
  K_FILL = 1,      /* t0 = f32(s0) */
  K_ADDC = 2,      /* t0 += f32(s0) */
  K_COPY = 3,      /* t1 = t0 */
  K_ADD = 4,       /* t2 = t0 + t1 */
  K_ACC = 5,       /* t1 += t0 */
  K_GATE_FILL = 6, /* wait for *(atomic_int *)s1 (5 s max), sleep s2 ms, t0 = f32(s0),
                      then *(atomic_int *)s3 = 1 if s3 != 0 */
  K_STEP = 7,      /* int64 t0[0] = t0[0] * 3 + s0 */
  K_SUM_ROWS = 8,  /* t1[j] = sum_i t0[i][j] (t0 2-D, t1 1-D) */
  K_FLAG_WRITE = 9, /* sleep s2 ms; *(int64 *)s0 = s1 */
  K_FLAG_READ = 10, /* *(int64 *)s1 = *(int64 *)s0 */
  K_OBSERVE_COPY = 11, /* *(int *)s1 = atomic *(atomic_int *)s0; t1 = t0 */
  K_COUNT
};

/* ------------------------------------------------------------------------ */
/* Kernels                                                                   */
/* ------------------------------------------------------------------------ */

static inline void sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, 0);
}

/* Element (i, j) of a 1-D (i == 0) or 2-D fp32 view. */
static inline float *f32_at(const pto2_tensor *t, uint32_t i, uint32_t j) {
  float *d = (float *)t->data;
  return t->ndims == 1 ? d + j : d + (uint64_t)i * t->raw_shapes[1] + j;
}
static inline uint32_t rows_of(const pto2_tensor *t) { return t->ndims == 1 ? 1 : t->shapes[0]; }
static inline uint32_t cols_of(const pto2_tensor *t) {
  return t->ndims == 1 ? t->shapes[0] : t->shapes[1];
}

#define FOR_EACH_ELEM(t, i, j)                   \
  for (uint32_t i = 0; i < rows_of(t); i++)      \
    for (uint32_t j = 0; j < cols_of(t); j++)

static inline int k_noop(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

static inline int k_fill(const pto2_kernel_ctx *k) {
  float v = pto2_f32_from_u64(k->scalars[0]);
  FOR_EACH_ELEM(&k->tensors[0], i, j) *f32_at(&k->tensors[0], i, j) = v;
  return 0;
}

static inline int k_addc(const pto2_kernel_ctx *k) {
  float v = pto2_f32_from_u64(k->scalars[0]);
  FOR_EACH_ELEM(&k->tensors[0], i, j) *f32_at(&k->tensors[0], i, j) += v;
  return 0;
}

static inline int k_copy(const pto2_kernel_ctx *k) {
  FOR_EACH_ELEM(&k->tensors[1], i, j)
  *f32_at(&k->tensors[1], i, j) = *f32_at(&k->tensors[0], i, j);
  return 0;
}

static inline int k_add(const pto2_kernel_ctx *k) {
  FOR_EACH_ELEM(&k->tensors[2], i, j)
  *f32_at(&k->tensors[2], i, j) = *f32_at(&k->tensors[0], i, j) + *f32_at(&k->tensors[1], i, j);
  return 0;
}

static inline int k_acc(const pto2_kernel_ctx *k) {
  FOR_EACH_ELEM(&k->tensors[1], i, j)
  *f32_at(&k->tensors[1], i, j) += *f32_at(&k->tensors[0], i, j);
  return 0;
}

/* Returns 1 (a kernel failure) if the gate stays shut for 5 s, so a test
 * whose gate is never opened fails instead of hanging. */
static inline int k_gate_fill(const pto2_kernel_ctx *k) {
  atomic_int *gate = (atomic_int *)(uintptr_t)k->scalars[1];
  int waited = 0;
  while (gate && !atomic_load(gate)) {
    if (waited++ > 5000) return 1;
    sleep_ms(1);
  }
  sleep_ms((unsigned)k->scalars[2]);
  if (k->tensor_count) k_fill(k);
  atomic_int *done = (atomic_int *)(uintptr_t)k->scalars[3];
  if (done) atomic_store(done, 1);
  return 0;
}

/* x = 3x + s, wrapping (unsigned arithmetic: no overflow UB). */
static inline int k_step(const pto2_kernel_ctx *k) {
  uint64_t *x = (uint64_t *)k->tensors[0].data;
  *x = *x * 3u + k->scalars[0];
  return 0;
}

static inline int k_sum_rows(const pto2_kernel_ctx *k) {
  const pto2_tensor *in = &k->tensors[0], *out = &k->tensors[1];
  for (uint32_t j = 0; j < cols_of(out); j++) {
    float s = 0;
    for (uint32_t i = 0; i < rows_of(in); i++) s += *f32_at(in, i, j);
    *f32_at(out, 0, j) = s;
  }
  return 0;
}

static inline int k_flag_write(const pto2_kernel_ctx *k) {
  sleep_ms((unsigned)k->scalars[2]);
  *(int64_t *)(uintptr_t)k->scalars[0] = (int64_t)k->scalars[1];
  return 0;
}

static inline int k_flag_read(const pto2_kernel_ctx *k) {
  *(int64_t *)(uintptr_t)k->scalars[1] = *(const int64_t *)(uintptr_t)k->scalars[0];
  return 0;
}

static inline int k_observe_copy(const pto2_kernel_ctx *k) {
  *(int *)(uintptr_t)k->scalars[1] = atomic_load((atomic_int *)(uintptr_t)k->scalars[0]);
  return k_copy(k);
}

/* ------------------------------------------------------------------------ */
/* Runtime and argument helpers                                              */
/* ------------------------------------------------------------------------ */

static inline pto2_runtime *make_runtime(const pto2_config *cfg_in) {
  pto2_config cfg = {0};
  if (cfg_in) cfg = *cfg_in;
  if (!cfg.block_dim) cfg.block_dim = 4;
  if (!cfg.worker_threads) cfg.worker_threads = 2;
  pto2_runtime *rt = 0;
  ASSERT_EQ_INT(pto2_runtime_create(&cfg, &rt), 0);
  static const struct {
    int id;
    const char *name;
    pto2_kernel_fn fn;
  } ks[] = {{K_NOOP, "noop", k_noop},
            {K_FILL, "fill", k_fill},
            {K_ADDC, "addc", k_addc},
            {K_COPY, "copy", k_copy},
            {K_ADD, "add", k_add},
            {K_ACC, "acc", k_acc},
            {K_GATE_FILL, "gate_fill", k_gate_fill},
            {K_STEP, "step", k_step},
            {K_SUM_ROWS, "sum_rows", k_sum_rows},
            {K_FLAG_WRITE, "flag_write", k_flag_write},
            {K_FLAG_READ, "flag_read", k_flag_read},
            {K_OBSERVE_COPY, "observe_copy", k_observe_copy}};
  for (unsigned i = 0; i < sizeof ks / sizeof ks[0]; i++)
    ASSERT_EQ_INT(pto2_kernel_register(rt, ks[i].id, PTO2_CORE_AIV, ks[i].name, ks[i].fn, 0), 0);
  return rt;
}

static inline pto2_tensor ext1(float *buf, uint32_t n) {
  uint32_t shape[1] = {n};
  return pto2_tensor_external(buf, shape, 1, PTO2_FLOAT32);
}

static inline pto2_tensor ext_i64(int64_t *buf, uint32_t n) {
  uint32_t shape[1] = {n};
  return pto2_tensor_external(buf, shape, 1, PTO2_INT64);
}

static inline pto2_create_info ci1(uint32_t n) {
  uint32_t shape[1] = {n};
  return pto2_create_info_make(shape, 1, PTO2_FLOAT32);
}

/* Submits x = 3x + s (K_STEP) as a plain or manual task; asserts success. */
static inline pto2_task_id submit_step(pto2_runtime *rt, const pto2_tensor *x, int64_t s,
                                       bool manual) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_inout(&a, x);
  pto2_arg_add_scalar(&a, (uint64_t)s);
  pto2_task_id id =
      manual ? pto2_submit_aiv_manual(rt, K_STEP, &a) : pto2_submit_aiv(rt, K_STEP, &a);
  ASSERT_TRUE(pto2_task_id_is_valid(id));
  return id;
}

static inline uint64_t ptr_scalar(const void *p) { return (uint64_t)(uintptr_t)p; }

static inline void fill_host(float *buf, uint32_t n, float v) {
  for (uint32_t i = 0; i < n; i++) buf[i] = v;
}

/* Every element of a host buffer equals v. */
#define ASSERT_ALL_F32(buf, n, v)                                           \
  do {                                                                      \
    for (uint32_t i_ = 0; i_ < (uint32_t)(n); i_++)                          \
      if ((buf)[i_] != (float)(v))                                          \
        TEST_FAIL("%s[%u] == %s: %.9g != %.9g", #buf, i_, #v, (double)(buf)[i_], \
                  (double)(float)(v));                                      \
  } while (0)

/* Reads element i of a 1-D fp32 tensor from orchestration code. */
static inline float get_f32(pto2_runtime *rt, const pto2_tensor *t, uint32_t i) {
  uint64_t bits = 0;
  uint32_t idx[1] = {i};
  ASSERT_EQ_INT(pto2_get_tensor_data(rt, t, idx, &bits), 0);
  return pto2_f32_from_u64(bits);
}

/* ------------------------------------------------------------------------ */
/* A good run after a failed one: AUTO, MANUAL and GRAPH scopes, checked     */
/* data.                                                                     */
/* ------------------------------------------------------------------------ */

#define GOOD_N 64
typedef struct good_ctx {
  float x[GOOD_N], y[GOOD_N], z[GOOD_N];
} good_ctx;

/* AUTO fill, a MANUAL pair (boundary writes + one explicit edge), blocking
 * reads that wait for the MANUAL writers through the TensorMap, then a
 * GRAPH task ordered by an explicit edge to an already finished task. */
static inline void good_orch_ordered(pto2_runtime *rt, void *arg) {
  good_ctx *g = arg;
  pto2_tensor x = ext1(g->x, GOOD_N), y = ext1(g->y, GOOD_N), z = ext1(g->z, GOOD_N);
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_output_existing(&a, &x);
  pto2_arg_add_scalar(&a, pto2_u64_from_f32(1.0f));
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_FILL, &a)));
  pto2_task_id t2 = PTO2_TASK_ID_INVALID;
  PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &x);
    pto2_arg_add_input(&a, &x);
    pto2_arg_add_output_existing(&a, &y);
    pto2_task_id t1 = pto2_submit_aiv_manual(rt, K_ADD, &a);
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &y);
    pto2_arg_add_inout(&a, &x);
    t2 = pto2_submit_aiv_manual(rt, K_ACC, &a);
    ASSERT_TRUE(pto2_task_id_is_valid(t1) && pto2_task_id_is_valid(t2));
    ASSERT_EQ_INT(pto2_add_dependency(rt, t1, t2), 0);
  }
  /* x: 1 -> y = 2 -> x = 3.  The read waits for the in-scope writers. */
  ASSERT_EQ_INT((int)get_f32(rt, &x, GOOD_N - 1), 3);
  ASSERT_EQ_INT((int)get_f32(rt, &y, 0), 2);
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &x);
    pto2_arg_add_input(&a, &y);
    pto2_arg_add_output_existing(&a, &z);
    pto2_task_id t3 = pto2_submit_aiv(rt, K_ADD, &a);
    ASSERT_TRUE(pto2_task_id_is_valid(t3));
    ASSERT_EQ_INT(pto2_add_dependency(rt, t2, t3), 0); /* a finished producer */
  }
}

/* The runtime completes a run with all three scope modes and right data. */
static inline void expect_good_run(pto2_runtime *rt) {
  good_ctx g;
  memset(&g, 0, sizeof g);
  pto2_run_stats st;
  int rc = pto2_run(rt, good_orch_ordered, &g, &st);
  if (rc) TEST_FAIL("good run after a failure: rc %d (%s)", rc, pto2_error_message(rt));
  ASSERT_EQ_INT(pto2_error_code(rt), 0);
  ASSERT_EQ_U64(st.tasks, 4);
  ASSERT_EQ_U64(st.edges, 4); /* t1<-fill, t2<-fill,t1 (explicit t1->t2 is a duplicate), t3<-t2 */
  ASSERT_ALL_F32(g.x, GOOD_N, 3.0f);
  ASSERT_ALL_F32(g.y, GOOD_N, 2.0f);
  ASSERT_ALL_F32(g.z, GOOD_N, 5.0f);
}

/* Runs `fn`, expects it to fail with `code` and a message containing
 * `needle`, then expects a good run on the same runtime. */
static inline void expect_failed_run(pto2_runtime *rt, pto2_orchestration_fn fn, void *arg,
                                     int code, const char *needle) {
  int rc = pto2_run(rt, fn, arg, 0);
  if (rc != code)
    TEST_FAIL("run returned %d (%s), expected %d (%s); message: %s", rc, pto2_err_name(rc), code,
              pto2_err_name(code), pto2_error_message(rt));
  ASSERT_EQ_INT(pto2_error_code(rt), code);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), needle);
  expect_good_run(rt);
}

#endif
