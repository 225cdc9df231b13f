/*
 * Bad values get a clear error instead of being accepted:
 *  - a reshape whose shape product wraps 2^64 (and equals the element count
 *    modulo 2^64) is invalid, and submitting it fails;
 *  - a zero-initialised pto2_arg (block_num 0, never passed through
 *    pto2_arg_init) fails the submit with PTO2_E_INVALID_ARGS at once;
 *  - PTO2_LOG_LEVEL overrides the config's log_level like the other
 *    environment overrides, and an invalid value fails the create even when
 *    the config sets log_level.
 */
#include <stdlib.h>
#include <string.h>

#include "pto2/pto2.h"
#include "test.h"

static int noop(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

static void test_reshape_overflow(void) {
  static float buf[4]; /* 16 bytes */
  uint32_t shape[1] = {4};
  pto2_tensor t = pto2_tensor_external(buf, shape, 1, PTO2_FLOAT32);
  ASSERT_TRUE(pto2_tensor_is_valid(&t));
  /* 2^64 + 4 = 4 * (2^62 + 1) and 2^62 + 1 = 5 * 5581 * 8681 * 49477 * 384773:
   * three 32-bit extents whose product wraps to exactly the 4 elements. */
  uint32_t exact[3] = {5u * 8681u * 49477u, 5581u * 384773u, 4u};
  ASSERT_EQ_U64((uint64_t)exact[0] * exact[1] * exact[2], 4); /* the wrap the fix refuses */
  pto2_tensor w = pto2_tensor_reshape(&t, exact, 3);
  ASSERT_TRUE(!pto2_tensor_is_valid(&w));
  ASSERT_EQ_INT(w.ndims, 0);
  /* A correct reshape of the same tensor still works. */
  uint32_t two[2] = {2, 2};
  pto2_tensor r = pto2_tensor_reshape(&t, two, 2);
  ASSERT_TRUE(pto2_tensor_is_valid(&r));
}

typedef struct reshape_ctx {
  float buf[4];
  pto2_task_id id;
} reshape_ctx;

static void reshape_orch(pto2_runtime *rt, void *arg) {
  reshape_ctx *c = arg;
  uint32_t shape[1] = {4};
  pto2_tensor t = pto2_tensor_external(c->buf, shape, 1, PTO2_FLOAT32);
  uint32_t exact[3] = {5u * 8681u * 49477u, 5581u * 384773u, 4u};
  pto2_tensor w = pto2_tensor_reshape(&t, exact, 3);
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_input(&a, &w);
  c->id = pto2_submit_aiv(rt, 0, &a);
}

typedef struct zero_ctx {
  pto2_task_id first, second;
} zero_ctx;

static void zero_arg_orch(pto2_runtime *rt, void *arg) {
  zero_ctx *z = arg;
  pto2_arg a;
  memset(&a, 0, sizeof a); /* never passed through pto2_arg_init */
  z->first = pto2_submit_aiv(rt, 0, &a);
  pto2_arg_init(&a);
  z->second = pto2_submit_aiv(rt, 0, &a); /* after the error: refused */
}

static void ok_orch(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_set_block_num(&a, 3);
  if (!pto2_task_id_is_valid(pto2_submit_aiv(rt, 0, &a))) TEST_FAIL("valid submit refused");
}

static void test_runs(void) {
  pto2_config c = {0};
  c.log_level = PTO2_LOG_SILENT;
  c.stall_timeout_ms = 5000;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 0, PTO2_CORE_AIV, "noop", noop, 0), 0);

  reshape_ctx rc;
  memset(&rc, 0, sizeof rc);
  ASSERT_EQ_INT(pto2_run(rt, reshape_orch, &rc, 0), PTO2_E_INVALID_ARGS);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "not a valid tensor");
  ASSERT_TRUE(!pto2_task_id_is_valid(rc.id));

  zero_ctx z;
  ASSERT_EQ_INT(pto2_run(rt, zero_arg_orch, &z, 0), PTO2_E_INVALID_ARGS);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "block_num is 0");
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "pto2_arg_init");
  ASSERT_TRUE(!pto2_task_id_is_valid(z.first));
  ASSERT_TRUE(!pto2_task_id_is_valid(z.second));

  ASSERT_EQ_INT(pto2_run(rt, ok_orch, 0, 0), 0); /* reusable afterwards */
  pto2_runtime_destroy(rt);
}

static void test_log_level_env(void) {
  pto2_config c = {0};
  c.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt;
  ASSERT_EQ_INT(setenv("PTO2_LOG_LEVEL", "debug", 1), 0);
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  pto2_config got;
  pto2_runtime_get_config(rt, &got);
  ASSERT_EQ_INT(got.log_level, PTO2_LOG_DEBUG); /* the environment wins */
  pto2_runtime_destroy(rt);
  ASSERT_EQ_INT(setenv("PTO2_LOG_LEVEL", "loud", 1), 0);
  rt = (pto2_runtime *)&c; /* must be reset to NULL on failure */
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), PTO2_E_INVALID_CONFIG);
  ASSERT_TRUE(rt == NULL);
  c.log_level = PTO2_LOG_DEFAULT;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), PTO2_E_INVALID_CONFIG);
  ASSERT_EQ_INT(unsetenv("PTO2_LOG_LEVEL"), 0);
  c.log_level = PTO2_LOG_ERROR;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  pto2_runtime_get_config(rt, &got);
  ASSERT_EQ_INT(got.log_level, PTO2_LOG_ERROR); /* no override: the config's level */
  pto2_runtime_destroy(rt);
}

/* PTO2_WORKERS overrides worker_threads: a count, or none (the caller runs
 * every task); anything else fails the create. */
static void test_workers_env(void) {
  pto2_config c = {0};
  c.log_level = PTO2_LOG_SILENT;
  c.block_dim = 4;
  c.worker_threads = 3;
  pto2_runtime *rt;
  pto2_config got;
  ASSERT_EQ_INT(setenv("PTO2_WORKERS", "none", 1), 0);
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  pto2_runtime_get_config(rt, &got);
  ASSERT_EQ_INT(got.worker_threads, 0); /* none: the configuration in effect says 0 */
  pto2_runtime_destroy(rt);
  ASSERT_EQ_INT(setenv("PTO2_WORKERS", "2", 1), 0);
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  pto2_runtime_get_config(rt, &got);
  ASSERT_EQ_INT(got.worker_threads, 2);
  pto2_runtime_destroy(rt);
  const char *bad[] = {"0", "-1", "257", "two", "2x"};
  for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
    ASSERT_EQ_INT(setenv("PTO2_WORKERS", bad[i], 1), 0);
    ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), PTO2_E_INVALID_CONFIG);
    ASSERT_TRUE(rt == NULL);
  }
  ASSERT_EQ_INT(unsetenv("PTO2_WORKERS"), 0);
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  pto2_runtime_get_config(rt, &got);
  ASSERT_EQ_INT(got.worker_threads, 3); /* no override: the config's count */
  pto2_runtime_destroy(rt);
}

int main(void) {
  unsetenv("PTO2_LOG_LEVEL");
  unsetenv("PTO2_WORKERS");
  test_workers_env();
  test_reshape_overflow();
  test_runs();
  test_log_level_env();
  TEST_PASS("test_bad_values");
}
