/*
 * Cycles among explicit edges.  With PTO2_DEBUG_CHECKS
 * the scope end that closes a cycle fails the run with PTO2_E_INVALID_ARGS
 * ("form a cycle"); without them the cycle's tasks never become ready and
 * the run ends with PTO2_E_TIMEOUT ("no progress") after stall_timeout_ms
 * instead of hanging.  Either way the runtime completes a good run next,
 * and backward edges that form no cycle are accepted and run in edge order.
 *
 * Usage: test_manual_cycle cycle|timeout — the behaviour the build should
 * show (CMake passes it from the same condition that defines
 * PTO2_DEBUG_CHECKS); a mismatch fails the test.
 */
#include "manual_common.h"

#ifdef PTO2_DEBUG_CHECKS
#define BUILD_MODE "cycle"
#else
#define BUILD_MODE "timeout"
#endif

typedef struct cycle_ctx {
  int variant;
  int scope_end_rc;
  int64_t x[1];
} cycle_ctx;


/* 0: MANUAL A <-> B.  1: GRAPH A -> B -> C -> A.  2: GRAPH chain
 * t0 -> t1 -> t2 -> t3 with a back edge t3 -> t1 (t0 could run).
 * 3: MANUAL, a cycle among tasks that also have a boundary producer. */
static void cycle_orch(pto2_runtime *rt, void *arg) {
  cycle_ctx *c = arg;
  pto2_tensor x = ext_i64(c->x, 1);
  if (c->variant == 3) submit_step(rt, &x, 7, false); /* boundary writer in the root scope */
  bool manual = c->variant == 0 || c->variant == 3;
  ASSERT_EQ_INT(pto2_scope_begin(rt, manual ? PTO2_SCOPE_MANUAL : PTO2_SCOPE_GRAPH), 0);
  pto2_task_id t[4];
  int n = c->variant == 2 ? 4 : c->variant == 1 ? 3 : 2;
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

int main(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "cycle") && strcmp(argv[1], "timeout"))) {
    fprintf(stderr, "usage: %s cycle|timeout\n", argv[0]);
    return 2;
  }
  if (strcmp(argv[1], BUILD_MODE))
    TEST_FAIL("CMake registered the '%s' variant but the build compiled '%s' "
              "(PTO2_DEBUG_CHECKS %s)",
              argv[1], BUILD_MODE, strcmp(BUILD_MODE, "cycle") ? "undefined" : "defined");
  bool debug = !strcmp(BUILD_MODE, "cycle");
  pto2_config cfg = {0};
  cfg.stall_timeout_ms = 200;
  pto2_runtime *rt = make_runtime(&cfg);
  expect_good_run(rt);
  for (int v = 0; v < 4; v++) {
    cycle_ctx c;
    memset(&c, 0, sizeof c);
    c.variant = v;
    uint64_t t0 = now_ms();
    int rc = pto2_run(rt, cycle_orch, &c, 0);
    uint64_t took = now_ms() - t0;
    printf("variant %d: rc %d (%s) after %llu ms: %s\n", v, rc, pto2_err_name(rc),
           (unsigned long long)took, pto2_error_message(rt));
    if (debug) {
      ASSERT_EQ_INT(rc, PTO2_E_INVALID_ARGS);
      ASSERT_EQ_INT(c.scope_end_rc, PTO2_E_INVALID_ARGS);
      ASSERT_STR_CONTAINS(pto2_error_message(rt), "form a cycle");
    } else {
      ASSERT_EQ_INT(rc, PTO2_E_TIMEOUT);
      ASSERT_EQ_INT(c.scope_end_rc, 0);
      ASSERT_STR_CONTAINS(pto2_error_message(rt), "no progress");
      ASSERT_TRUE(took >= 150);
    }
    ASSERT_EQ_INT(pto2_error_code(rt), rc);
    ASSERT_TRUE(took < 20000);
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
