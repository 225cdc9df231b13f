/*
 * The submit's check that a created tensor's creator is alive.  It has a
 * fast path (a creator submitted in the innermost scope, when no nested
 * scope shares that scope's ring: scope depths 1-3) and the full check
 * (every other case).  Both must accept every live creator and the full
 * check must refuse, with its message, every other owner:
 *  - creators of the innermost scope at every depth 1..6 (fast at 1-3,
 *    full from depth 4 on, where nested scopes share ring 3), and of
 *    every enclosing scope;
 *  - a creator whose scope has ended, used in the enclosing scope, at
 *    every depth: at depth 4 the ended scope used the same ring (the case
 *    a range test alone would accept);
 *  - owners this runtime never issued: the next id of the innermost
 *    scope's ring (just past the fast path's range), a ring that does not
 *    exist, and an id of an earlier run that has retired;
 *  - the same checks through pto2_get_tensor_data.
 */
#include <string.h>

#include "pto2/pto2.h"
#include "test.h"

enum { K_NOOP = 0, DEPTH_MAX = 6 };

static int noop(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

static const uint32_t shape[1] = {16};

static pto2_tensor create(pto2_runtime *rt) {
  pto2_create_info ci = pto2_create_info_make(shape, 1, PTO2_FLOAT32);
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_output(&a, &ci);
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_NOOP, &a)));
  return a.outputs[0];
}

static pto2_task_id use(pto2_runtime *rt, const pto2_tensor *t) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_input(&a, t);
  return pto2_submit_aiv(rt, K_NOOP, &a);
}

/* Depth 1..DEPTH_MAX: each scope creates a tensor, and uses its own and
 * every enclosing scope's. */
static void live_creators(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_tensor made[DEPTH_MAX];
  for (int d = 0; d < DEPTH_MAX; d++) {
    if (d) ASSERT_EQ_INT(pto2_scope_begin(rt, PTO2_SCOPE_AUTO), 0);
    made[d] = create(rt);
    for (int i = 0; i < 3; i++) { /* also after tasks of its own scope */
      for (int e = d; e >= 0; e--) ASSERT_TRUE(pto2_task_id_is_valid(use(rt, &made[e])));
      create(rt);
    }
    uint64_t bits;
    const uint32_t idx[1] = {0};
    ASSERT_EQ_INT(pto2_get_tensor_data(rt, &made[d], idx, &bits), 0);
  }
  for (int d = DEPTH_MAX - 1; d > 0; d--) ASSERT_EQ_INT(pto2_scope_end(rt), 0);
}

static int ended_depth;     /* the enclosing scope's depth (1 = root) */
static bool through_get;    /* pto2_get_tensor_data instead of a submit */

/* A tensor created in a scope at depth ended_depth + 1 that has ended,
 * used at ended_depth (after further tasks of that scope's ring). */
static void ended_creator(pto2_runtime *rt, void *arg) {
  (void)arg;
  for (int d = 1; d < ended_depth; d++) ASSERT_EQ_INT(pto2_scope_begin(rt, PTO2_SCOPE_AUTO), 0);
  create(rt);
  ASSERT_EQ_INT(pto2_scope_begin(rt, PTO2_SCOPE_AUTO), 0);
  pto2_tensor t = create(rt);
  ASSERT_EQ_INT(pto2_scope_end(rt), 0);
  create(rt);
  if (through_get) {
    uint64_t bits;
    const uint32_t idx[1] = {0};
    ASSERT_TRUE(pto2_get_tensor_data(rt, &t, idx, &bits) != 0);
  } else {
    ASSERT_TRUE(!pto2_task_id_is_valid(use(rt, &t)));
  }
}

static pto2_task_id earlier_run_id;

static void remember_id(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_tensor t = create(rt);
  earlier_run_id = t.owner;
}

static int forged_kind;

/* An owner this runtime never issued (or that retired long ago). */
static void forged_owner(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_tensor t = create(rt); /* root scope: ring 0 */
  pto2_task_id next = {t.owner.raw + 1};
  pto2_task_id far_ring = {(UINT64_C(9) << 56) | 1};
  t.owner = forged_kind == 0 ? next : forged_kind == 1 ? far_ring : earlier_run_id;
  ASSERT_TRUE(!pto2_task_id_is_valid(use(rt, &t)));
}

int main(void) {
  const uint32_t workers[] = {1, PTO2_WORKERS_NONE};
  for (unsigned w = 0; w < 2; w++) {
    pto2_config c = {0};
    c.worker_threads = workers[w];
    c.log_level = PTO2_LOG_SILENT;
    pto2_runtime *rt;
    ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
    ASSERT_EQ_INT(pto2_kernel_register(rt, K_NOOP, PTO2_CORE_AIV, "noop", noop, 0), 0);
    pto2_run_stats st;
    ASSERT_EQ_INT(pto2_run(rt, live_creators, 0, &st), 0);

    for (int g = 0; g < 2; g++) {
      through_get = g;
      for (ended_depth = 1; ended_depth < DEPTH_MAX; ended_depth++) {
        ASSERT_EQ_INT(pto2_run(rt, ended_creator, 0, 0), PTO2_E_INVALID_ARGS);
        char want[160];
        snprintf(want, sizeof want, "%s: tensor arg 0 was created by task %d:",
                 g ? "pto2_get_tensor_data" : "pto2_submit_aiv",
                 ended_depth < 4 ? ended_depth : 3);
        ASSERT_STR_CONTAINS(pto2_error_message(rt), want);
        ASSERT_STR_CONTAINS(pto2_error_message(rt),
                            "in a scope that has ended, so its memory may already be reused");
        ASSERT_EQ_INT(pto2_run(rt, live_creators, 0, &st), 0);
      }
    }

    ASSERT_EQ_INT(pto2_run(rt, remember_id, 0, &st), 0);
    for (forged_kind = 0; forged_kind < 3; forged_kind++) {
      ASSERT_EQ_INT(pto2_run(rt, forged_owner, 0, 0), PTO2_E_INVALID_ARGS);
      ASSERT_STR_CONTAINS(pto2_error_message(rt),
                          forged_kind == 2
                              ? "pto2_submit_aiv: tensor arg 0 was created by task 0:"
                              : "pto2_submit_aiv: tensor arg 0 names a creator task this "
                                "runtime never issued");
      ASSERT_EQ_INT(pto2_run(rt, live_creators, 0, &st), 0);
    }
    pto2_runtime_destroy(rt);
  }
  TEST_PASS("test_creator_check");
}
