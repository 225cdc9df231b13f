/*
 * A ring pinned only indirectly ends with a stall report that names what
 * to change.  D is held back in GRAPH scope G (depth 1); X, in an AUTO
 * scope nested in G, waits for D (explicit producer) and cannot retire
 * before G ends, although its own scope has ended.  Filling X's ring from
 * a later AUTO scope inside G stalls; the PTO2_E_TIMEOUT message names D,
 * the GRAPH scope holding it back and what to do.
 */
#include <stdio.h>

#include "pto2/pto2.h"
#include "test.h"

static int noop(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

static pto2_task_id held;

static void program(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_arg a;
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) { /* G: depth 1 */
    pto2_arg_init(&a);
    held = pto2_submit_aiv(rt, 0, &a); /* D */
    PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {  /* depth 2, ring 2 */
      pto2_arg_init(&a);
      pto2_arg_add_dep(&a, held);
      pto2_submit_aiv(rt, 0, &a); /* X */
    }
    PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) { /* fill ring 2 */
      for (int i = 0; i < 16 && !pto2_is_fatal(rt); i++) {
        pto2_arg_init(&a);
        pto2_submit_aiv(rt, 0, &a);
      }
    }
  }
}

int main(void) {
  pto2_config c = {0};
  c.task_window = 8;
  c.stall_timeout_ms = 300;
  c.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 0, PTO2_CORE_AIV, "noop", noop, 0), 0);
  int rc = pto2_run(rt, program, 0, 0);
  printf("rc %d: %s\n", rc, pto2_error_message(rt));
  ASSERT_EQ_INT(rc, PTO2_E_TIMEOUT);
  char want[64];
  snprintf(want, sizeof want, "waits for task %u:%llu", pto2_task_id_ring(held),
           (unsigned long long)pto2_task_id_local(held));
  ASSERT_STR_CONTAINS(pto2_error_message(rt), want);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "held back until its GRAPH scope (depth 1) ends");
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "end that scope");
  pto2_runtime_destroy(rt);
  TEST_PASS("test_stall_message");
}
