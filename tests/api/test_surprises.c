/*
 * Behaviours decided and documented instead of left silent:
 *  - a kernel id is registered once per runtime: registering it again is
 *    PTO2_E_INVALID_ARGS and the first registration stays in place;
 *  - a kernel name is required (NULL is PTO2_E_INVALID_ARGS);
 *  - pto2_get_tensor_data with bits == NULL fails the run;
 *  - worker_threads is capped at block_dim - 1 (every executor needs a
 *    cluster of its own), and pto2_runtime_get_config() reports the cap;
 *  - a created tensor's nbytes is its elements' size, not the 64-byte
 *    aligned allocation.
 */
#include <stdatomic.h>

#include "pto2/pto2.h"
#include "test.h"

enum { K_FIRST = 0, K_OTHER = 1 };

static atomic_int first_runs, other_runs;

static int first_kernel(const pto2_kernel_ctx *k) {
  (void)k;
  atomic_fetch_add(&first_runs, 1);
  return 0;
}

static int other_kernel(const pto2_kernel_ctx *k) {
  (void)k;
  atomic_fetch_add(&other_runs, 1);
  return 0;
}

static void one_task(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_arg a;
  pto2_arg_init(&a);
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_FIRST, &a)));
}

static void get_without_bits(pto2_runtime *rt, void *arg) {
  (void)arg;
  static int32_t data[4] = {1, 2, 3, 4};
  uint32_t shape[1] = {4}, idx[1] = {2};
  pto2_tensor t = pto2_tensor_external(data, shape, 1, PTO2_INT32);
  ASSERT_EQ_INT(pto2_get_tensor_data(rt, &t, idx, NULL), PTO2_E_INVALID_ARGS);
}

static uint64_t created_nbytes;

static void create_36_bytes(pto2_runtime *rt, void *arg) {
  (void)arg;
  uint32_t shape[2] = {3, 3};
  pto2_create_info ci = pto2_create_info_make(shape, 2, PTO2_FLOAT32); /* 36 bytes */
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_output(&a, &ci);
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_FIRST, &a)));
  created_nbytes = pto2_arg_output(&a, 0)->nbytes;
}

int main(void) {
  pto2_config c = {0};
  c.block_dim = 2;
  c.worker_threads = 8; /* more than block_dim - 1 */
  c.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  int checks = 0;

  /* worker_threads capped at block_dim - 1. */
  pto2_config eff;
  pto2_runtime_get_config(rt, &eff);
  ASSERT_EQ_U64(eff.block_dim, 2);
  ASSERT_EQ_U64(eff.worker_threads, 1);
  checks++;

  /* Registration: once per id, a name required. */
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_FIRST, PTO2_CORE_AIV, "first", first_kernel, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_FIRST, PTO2_CORE_AIV, "again", other_kernel, 0),
                PTO2_E_INVALID_ARGS);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "already registered (as 'first')");
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_FIRST, PTO2_CORE_AIC, "first", first_kernel, 0),
                PTO2_E_INVALID_ARGS);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_OTHER, PTO2_CORE_AIV, NULL, other_kernel, 0),
                PTO2_E_INVALID_ARGS);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "name is NULL");
  ASSERT_EQ_INT(pto2_run(rt, one_task, 0, 0), 0);
  ASSERT_EQ_INT(atomic_load(&first_runs), 1); /* the first registration runs */
  ASSERT_EQ_INT(atomic_load(&other_runs), 0);
  checks += 3;

  /* get_tensor_data needs somewhere to put the value. */
  ASSERT_EQ_INT(pto2_run(rt, get_without_bits, 0, 0), PTO2_E_INVALID_ARGS);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "bits is NULL");
  checks++;

  /* A created tensor reports its own size. */
  ASSERT_EQ_INT(pto2_run(rt, create_36_bytes, 0, 0), 0);
  ASSERT_EQ_U64(created_nbytes, 36);
  checks++;

  pto2_runtime_destroy(rt);
  printf("test_surprises: %d passed, 0 failed\n", checks);
  return 0;
}
