/*
 * Cycles among explicit edges.  In every build, the scope end that closes a
 * cycle fails the run at once with PTO2_E_INVALID_ARGS ("form a cycle"),
 * naming the tasks; the check runs only when a backward edge (to an
 * earlier-submitted consumer) exists.  A cycle through a task of a nested
 * GRAPH scope is found when the outer consumer's scope ends.  The runtime
 * completes a good run next, and backward edges that form no cycle are
 * accepted and run in edge order.
 */
#include "manual_common.h"

typedef struct cycle_ctx {
  int variant;
  int scope_end_rc;
  int64_t x[1];
} cycle_ctx;


/* 0: MANUAL A <-> B.  1: GRAPH A -> B -> C -> A.  2: GRAPH chain
 * t0 -> t1 -> t2 -> t3 with a back edge t3 -> t1 (t0 could run).
 * 3: MANUAL, a cycle among tasks that also have a boundary producer.
 * 4: GRAPH A in the outer scope, B in a nested GRAPH scope, A -> B -> A. */
static void cycle_orch(pto2_runtime *rt, void *arg) {
  cycle_ctx *c = arg;
  pto2_tensor x = ext_i64(c->x, 1);
  if (c->variant == 3) submit_step(rt, &x, 7, false); /* boundary writer in the root scope */
  bool manual = c->variant == 0 || c->variant == 3;
  ASSERT_EQ_INT(pto2_scope_begin(rt, manual ? PTO2_SCOPE_MANUAL : PTO2_SCOPE_GRAPH), 0);
  pto2_task_id t[4];
  int n = c->variant == 2 ? 4 : c->variant == 1 ? 3 : c->variant == 4 ? 1 : 2;
  for (int i = 0; i < n; i++) t[i] = submit_step(rt, &x, i + 1, manual);
  switch (c->variant) {
    case 0:
    case 3:
      ASSERT_EQ_INT(pto2_add_dependency(rt, t[0], t[1]), 0);
      ASSERT_EQ_INT(pto2_add_dependency(rt, t[1], t[0]), 0);
      break;
    case 1:
      ASSERT_EQ_INT(pto2_add_dependency(rt, t[0], t[1]), 0);
      ASSERT_EQ_INT(pto2_add_dependency(rt, t[1], t[2]), 0);
      ASSERT_EQ_INT(pto2_add_dependency(rt, t[2], t[0]), 0);
      break;
    case 4:
      PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
        t[1] = submit_step(rt, &x, 2, false);
        ASSERT_EQ_INT(pto2_add_dependency(rt, t[0], t[1]), 0);
        ASSERT_EQ_INT(pto2_add_dependency(rt, t[1], t[0]), 0); /* backward, outer consumer */
      }
      ASSERT_TRUE(!pto2_is_fatal(rt)); /* the inner scope alone has no cycle */
      break;
    default:
      for (int i = 1; i < 4; i++) ASSERT_EQ_INT(pto2_add_dependency(rt, t[i - 1], t[i]), 0);
      ASSERT_EQ_INT(pto2_add_dependency(rt, t[3], t[1]), 0);
      break;
  }
  c->scope_end_rc = pto2_scope_end(rt);
}
/* Backward edges without a cycle: t3 -> t2 -> t1 -> t0, in both modes.
 * In MANUAL, x is a boundary tensor: manual_dep keeps the TensorMap from
 * adding the forward edges t0 -> t1 -> ... (which would close a cycle). */
static void backward_orch(pto2_runtime *rt, void *arg) {
  cycle_ctx *c = arg;
  pto2_tensor x = ext_i64(c->x, 1);
  bool manual = c->variant == 1;
  x.manual_dep = manual;
  PTO2_SCOPE(rt, manual ? PTO2_SCOPE_MANUAL : PTO2_SCOPE_GRAPH) {
    pto2_task_id t[4];
    for (int i = 0; i < 4; i++) t[i] = submit_step(rt, &x, i + 1, manual);
    for (int i = 3; i > 0; i--) ASSERT_EQ_INT(pto2_add_dependency(rt, t[i], t[i - 1]), 0);
  }
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int main(void) {
  pto2_config cfg = {0};
  cfg.stall_timeout_ms = 60000; /* a cycle must not need the stall timeout */
  pto2_runtime *rt = make_runtime(&cfg);
  expect_good_run(rt);
  for (int v = 0; v < 5; v++) {
    cycle_ctx c;
    memset(&c, 0, sizeof c);
    c.variant = v;
    uint64_t t0 = now_ms();
    int rc = pto2_run(rt, cycle_orch, &c, 0);
    uint64_t took = now_ms() - t0;
    printf("variant %d: rc %d (%s) after %llu ms: %s\n", v, rc, pto2_err_name(rc),
           (unsigned long long)took, pto2_error_message(rt));
    ASSERT_EQ_INT(rc, PTO2_E_INVALID_ARGS);
    ASSERT_EQ_INT(c.scope_end_rc, PTO2_E_INVALID_ARGS);
    ASSERT_STR_CONTAINS(pto2_error_message(rt), "form a cycle");
    ASSERT_STR_CONTAINS(pto2_error_message(rt), "waits for");
    ASSERT_EQ_INT(pto2_error_code(rt), rc);
    expect_good_run(rt);
  }
  for (int v = 0; v < 2; v++) {
    cycle_ctx c;
    memset(&c, 0, sizeof c);
    c.variant = v;
    pto2_run_stats st;
    int rc = pto2_run(rt, backward_orch, &c, &st);
    if (rc) TEST_FAIL("backward edges without a cycle: rc %d (%s)", rc, pto2_error_message(rt));
    int64_t want = 0;
    for (int s = 4; s >= 1; s--) want = want * 3 + s;
    ASSERT_EQ_I64(c.x[0], want);
    ASSERT_EQ_U64(st.edges, 3);
  }
  pto2_runtime_destroy(rt);
  TEST_PASS("test_manual_cycle");
}
