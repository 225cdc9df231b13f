/*
 * The error message is published with the error code: an orchestrator
 * whose submit was refused because a kernel failed on a worker reads the
 * message at once, while the worker may still be recording it.  Under
 * ThreadSanitizer (.ci/run) a message copied after the code was published
 * is reported as a data race; in every build the message read must be the
 * kernel's, complete.
 */
#include <stdatomic.h>

#include "pto2/pto2.h"
#include "test.h"

enum { K_FAIL = 0, K_NOOP = 1 };

static int fail_kernel(const pto2_kernel_ctx *k) {
  (void)k;
  return 42;
}

static int noop_kernel(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

static void program(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_arg a;
  pto2_arg_init(&a);
  if (!pto2_task_id_is_valid(pto2_submit_aiv(rt, K_FAIL, &a))) return;
  /* Submit until the failure (on the worker, or here while waiting for
   * room) refuses a submit, then read the message at once. */
  for (;;) {
    pto2_task_id id = PTO2_TASK_ID_INVALID;
    PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) { /* lets the tasks retire */
      pto2_arg_init(&a);
      id = pto2_submit_aiv(rt, K_NOOP, &a);
    }
    if (!pto2_task_id_is_valid(id)) break;
  }
  ASSERT_EQ_INT(pto2_error_code(rt), PTO2_E_KERNEL_FAILED);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "kernel 'failing' (id 0) returned 42");
}

int main(void) {
  pto2_config c = {0};
  c.block_dim = 2;
  c.worker_threads = 1;
  c.task_window = 64;
  c.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_FAIL, PTO2_CORE_AIV, "failing", fail_kernel, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_NOOP, PTO2_CORE_AIV, "noop", noop_kernel, 0), 0);
  for (int i = 0; i < 200; i++) {
    ASSERT_EQ_INT(pto2_run(rt, program, 0, 0), PTO2_E_KERNEL_FAILED);
    ASSERT_STR_CONTAINS(pto2_error_message(rt), "returned 42");
  }
  pto2_runtime_destroy(rt);
  TEST_PASS("test_error_message_race");
}
