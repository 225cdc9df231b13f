/*
 * Internal failures are reported as PTO2_E_INTERNAL, never as a user error
 * code, and the runtime runs a good program afterwards.  In every build the
 * reporting path is exercised directly; in PTO2_DEBUG_CHECKS builds a real
 * invariant check fires: one reference too many dropped on a task (S2,
 * docs/concurrency.md).  block_dim 1: no worker threads, so the task does
 * not run while the test corrupts its counts.
 */
#include <string.h>

#include "runtime.h"
#include "sched/slot_inl.h"
#include "test.h"
#include "util/check.h"

static int noop(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

static void report_directly(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2__internal_error(rt, "S2", "a test", __FILE__, __LINE__);
}

static void drop_too_many(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_task_id id = pto2_submit_aiv(rt, 0, &a);
  pto2__slot *s = pto2__ring_slot(&rt->rings[pto2_task_id_ring(id)], pto2_task_id_local(id));
  pto2__slot_release(rt, s); /* the scope's reference, early */
  pto2__slot_release(rt, s); /* one more than the task ever had */
}

static void good(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_submit_aiv(rt, 0, &a);
}

int main(void) {
  ASSERT_TRUE(strcmp(pto2_err_name(PTO2_E_INTERNAL), "PTO2_E_INTERNAL") == 0);
  pto2_config c = {0};
  c.block_dim = 1; /* no worker threads */
  c.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 0, PTO2_CORE_AIV, "noop", noop, 0), 0);

  ASSERT_EQ_INT(pto2_run(rt, report_directly, 0, 0), PTO2_E_INTERNAL);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "invariant S2");
  ASSERT_EQ_INT(pto2_run(rt, good, 0, 0), 0);

  if (pto2__debug_checks_enabled) {
    ASSERT_EQ_INT(pto2_run(rt, drop_too_many, 0, 0), PTO2_E_INTERNAL);
    ASSERT_STR_CONTAINS(pto2_error_message(rt), "invariant S2");
    ASSERT_EQ_INT(pto2_run(rt, good, 0, 0), 0);
    printf("test_internal_checks: invariant checks are on (S2 fired)\n");
  }
  pto2_runtime_destroy(rt);
  TEST_PASS("test_internal_checks");
}
