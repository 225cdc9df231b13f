/*
 * A pin computed from the consumer's own scope.  Consumer C belongs to the
 * outer GRAPH scope G1 and is published when G1 ends; the edge P -> C is
 * added from inside a nested GRAPH scope G2.  After G2 ends, P still cannot
 * retire before G1 ends, so filling P's ring from G1 is a deadlock and must
 * be reported as one at once (PTO2_E_FLOW_CONTROL_DEADLOCK), not end after
 * a timeout (PTO2_E_TIMEOUT).  P's kernel waits on a gate opened after the
 * fill, so P is live when the edge is added.
 */
#include "gate.h"
#include "pto2/pto2.h"
#include "test.h"

static int noop(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

static void program(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_arg a;
  pto2_task_id p = PTO2_TASK_ID_INVALID;
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) { /* depth 1, ring 1 */
    pto2_arg_init(&a);
    p = pto2_submit_aiv(rt, 1, &a);
  }
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) { /* G1: depth 1, ring 1 */
    pto2_arg_init(&a);
    pto2_task_id c = pto2_submit_aiv(rt, 0, &a);
    PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) { /* G2: ring 2 */
      ASSERT_EQ_INT(pto2_add_dependency(rt, p, c), 0);
    }
    for (int i = 0; i < 16 && !pto2_is_fatal(rt); i++) { /* fill ring 1 */
      pto2_arg_init(&a);
      pto2_submit_aiv(rt, 0, &a);
    }
  }
  gate_open();
}

int main(void) {
  pto2_config c = {0};
  c.task_window = 8;
  c.stall_timeout_ms = 1000;
  c.kernel_timeout_ms = 2000;
  c.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 0, PTO2_CORE_AIV, "noop", noop, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 1, PTO2_CORE_AIV, "gate", gate_kernel, 0), 0);
  int rc = pto2_run(rt, program, 0, 0);
  if (rc != PTO2_E_FLOW_CONTROL_DEADLOCK)
    TEST_FAIL("rc %d (%s), expected PTO2_E_FLOW_CONTROL_DEADLOCK", rc, pto2_error_message(rt));
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "held back until its scope ends");
  pto2_runtime_destroy(rt);
  TEST_PASS("test_graph_outer_pin");
}
