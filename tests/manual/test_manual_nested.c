/*
 * MANUAL scopes nested in MANUAL scopes: a tensor created in the enclosing
 * manual scope is a boundary tensor of the inner one (creator retention on
 * its still-unpublished creator), tensors created in the inner scope are
 * manual-local there and need explicit edges, the inner scope's writes to
 * caller memory are found by a later task of the outer scope, and after the
 * inner scope ends its tasks no longer count as tasks of the current scope.
 *
 *   MANUAL {                        (outer)
 *     A: X = 1                      out X
 *     MANUAL {                      (inner)
 *       B: Y = X                    in X (boundary: creator A), out Y
 *       C: Y += 2                   inout Y (manual-local)      edge B -> C
 *       D: R = Y                    in Y, output_existing R     edge C -> D
 *     }
 *     E: R += X                     in X (manual-local), inout R: finds D
 *   }                                                            edge A -> E
 */
#include "manual_common.h"

enum { N = 64 };

typedef struct nested {
  float r[N];
  int variant; /* 0: valid; 1: inner edge from an outer task; 2: outer edge from an inner task */
} nested;

static pto2_task_id fill(pto2_runtime *rt, const pto2_create_info *ci, pto2_tensor *out) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_output(&a, ci);
  pto2_arg_add_scalar(&a, pto2_u64_from_f32(1.0f));
  pto2_task_id id = pto2_submit_aiv_manual(rt, K_FILL, &a);
  *out = a.outputs[0];
  return id;
}

static void program(pto2_runtime *rt, void *arg) {
  nested *n = arg;
  pto2_tensor r = ext1(n->r, N);
  pto2_create_info ci = ci1(N);
  pto2_arg a;
  PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
    pto2_tensor x;
    pto2_task_id ta = fill(rt, &ci, &x), td = PTO2_TASK_ID_INVALID, tb = PTO2_TASK_ID_INVALID;
    PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
      pto2_arg_init(&a);
      pto2_arg_add_input(&a, &x);
      pto2_arg_add_output(&a, &ci);
      tb = pto2_submit_aiv_manual(rt, K_COPY, &a);
      pto2_tensor y = a.outputs[0];
      pto2_arg_init(&a);
      pto2_arg_add_inout(&a, &y);
      pto2_arg_add_scalar(&a, pto2_u64_from_f32(2.0f));
      pto2_task_id tc = pto2_submit_aiv_manual(rt, K_ADDC, &a);
      pto2_add_dependency(rt, tb, tc);
      pto2_arg_init(&a);
      pto2_arg_add_input(&a, &y);
      pto2_arg_add_output_existing(&a, &r);
      td = pto2_submit_aiv_manual(rt, K_COPY, &a);
      pto2_add_dependency(rt, tc, td);
      if (n->variant == 1) pto2_add_dependency(rt, ta, tb); /* A is not in this scope */
    }
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &x);
    pto2_arg_add_inout(&a, &r);
    pto2_task_id te = pto2_submit_aiv_manual(rt, K_ACC, &a);
    pto2_add_dependency(rt, ta, te);
    if (n->variant == 2) pto2_add_dependency(rt, tb, te); /* B's scope has ended */
  }
}

int main(void) {
  pto2_runtime *rt = make_runtime(0);
  nested n;
  for (int round = 0; round < 20; round++) {
    memset(&n, 0, sizeof n);
    pto2_run_stats st;
    int rc = pto2_run(rt, program, &n, &st);
    if (rc) TEST_FAIL("nested run failed: %s", pto2_error_message(rt));
    ASSERT_EQ_U64(st.tasks, 5);
    ASSERT_EQ_U64(st.edges, 5); /* A->B (creator), B->C, C->D, A->E, D->E (TensorMap) */
    ASSERT_ALL_F32(n.r, N, 4.0f);
  }
  const char *msg = "belong to the current manual scope";
  n.variant = 1;
  expect_failed_run(rt, program, &n, PTO2_E_INVALID_ARGS, msg);
  n.variant = 2;
  expect_failed_run(rt, program, &n, PTO2_E_INVALID_ARGS, msg);
  pto2_runtime_destroy(rt);
  TEST_PASS("test_manual_nested");
}
