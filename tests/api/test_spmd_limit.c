/*
 * SPMD tasks at the block limit: block_num x lanes beyond 16 bits.  A
 * 3-lane mixed task with 11,000 blocks (33,000 lane invocations) and one
 * with the largest block_num, 32767 (98,301 invocations), complete, and
 * every block runs each lane exactly once.  32768 blocks are refused by the
 * argument builder.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "pto2/pto2.h"
#include "test.h"

#define MAXB 32767

static atomic_uchar hits[3][MAXB];

static int count_lane(const pto2_kernel_ctx *k) {
  int lane = (int)(uintptr_t)k->user + k->sub_block_id;
  atomic_fetch_add_explicit(&hits[lane][k->block_idx], 1, memory_order_relaxed);
  return 0;
}

static void spmd_orch(pto2_runtime *rt, void *arg) {
  uint32_t n = *(uint32_t *)arg;
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_set_block_num(&a, n);
  ASSERT_TRUE(pto2_arg_error(&a) == NULL);
  pto2_mixed_kernels mk = {0, 1, 1};
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_task(rt, mk, &a)));
}

int main(void) {
  pto2_config c = {0};
  c.log_level = PTO2_LOG_SILENT;
  c.stall_timeout_ms = 20000;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  /* user: the lane base (AIC 0, AIV 1 + sub_block_id). */
  ASSERT_EQ_INT(pto2_kernel_register(rt, 0, PTO2_CORE_AIC, "aic", count_lane, (void *)0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 1, PTO2_CORE_AIV, "aiv", count_lane, (void *)1), 0);
  uint32_t sizes[] = {11000, MAXB};
  for (unsigned i = 0; i < 2; i++) {
    memset(hits, 0, sizeof hits);
    pto2_run_stats st;
    int rc = pto2_run(rt, spmd_orch, &sizes[i], &st);
    if (rc) TEST_FAIL("block_num %u: rc %d (%s)", sizes[i], rc, pto2_error_message(rt));
    for (int lane = 0; lane < 3; lane++)
      for (uint32_t b = 0; b < MAXB; b++)
        if (atomic_load(&hits[lane][b]) != (b < sizes[i] ? 1 : 0))
          TEST_FAIL("block_num %u: lane %d block %u ran %d times", sizes[i], lane, b,
                    (int)atomic_load(&hits[lane][b]));
  }
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_set_block_num(&a, MAXB + 1);
  ASSERT_TRUE(pto2_arg_error(&a) != NULL);
  ASSERT_STR_CONTAINS(pto2_arg_error(&a), "32767");
  pto2_runtime_destroy(rt);
  TEST_PASS("test_spmd_limit");
}
