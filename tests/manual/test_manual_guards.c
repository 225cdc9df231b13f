/*
 * MANUAL / GRAPH scope guards (docs/semantics.md, "Scope modes"): each misuse fails the run
 * with PTO2_E_INVALID_ARGS (PTO2_E_DEPENDENCY_OVERFLOW for a 17th explicit
 * producer) and the documented message; the failing call returns the code
 * (submits return PTO2_TASK_ID_INVALID), the error is sticky for the rest of
 * the run, unpublished manual tasks left behind do not hang the run's end,
 * and the next run on the same runtime succeeds with correct data.  Also
 * the limits of one scope: too many tasks (PTO2_E_SCOPE_DEADLOCK) and too
 * many live dependency entries (PTO2_E_DEP_POOL_OVERFLOW), reported at once.
 */
#include "manual_common.h"

#define N 16

static const char *const MSG_NESTED = "an AUTO or GRAPH scope inside a manual scope is not supported";
static const char *const MSG_PLAIN_IN_MANUAL =
    "PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) requires pto2_submit_*_manual task APIs";
static const char *const MSG_MANUAL_OUTSIDE =
    "manual submit APIs require PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL)";
static const char *const MSG_ADD_DEP_AUTO =
    "pto2_add_dependency is only valid inside PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) or "
    "PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH)";
static const char *const MSG_SELF = "pto2_add_dependency does not allow self-dependency";
static const char *const MSG_NOT_IN_SCOPE =
    "pto2_add_dependency requires producer and consumer to belong to the current manual scope";
static const char *const MSG_DATA_MANUAL =
    "blocking tensor data access is not supported inside PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL); "
    "exit the manual scope first";

typedef struct guard_case {
  int variant;
  float buf[N];
} guard_case;

/* A task that computes something, so abandoned tasks are real work. */
static pto2_task_id submit_fill(pto2_runtime *rt, pto2_tensor *t, float v, bool manual) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_output_existing(&a, t);
  pto2_arg_add_scalar(&a, pto2_u64_from_f32(v));
  return manual ? pto2_submit_aiv_manual(rt, K_FILL, &a) : pto2_submit_aiv(rt, K_FILL, &a);
}

static pto2_task_id submit_noop(pto2_runtime *rt, bool manual) {
  pto2_arg a;
  pto2_arg_init(&a);
  return manual ? pto2_submit_aiv_manual(rt, K_NOOP, &a) : pto2_submit_aiv(rt, K_NOOP, &a);
}

/* After the failure: the code is sticky and every further call refuses. */
static void expect_sticky(pto2_runtime *rt, int code) {
  ASSERT_TRUE(pto2_is_fatal(rt));
  ASSERT_EQ_INT(pto2_error_code(rt), code);
  ASSERT_TRUE(!pto2_task_id_is_valid(submit_noop(rt, false)));
  ASSERT_TRUE(!pto2_task_id_is_valid(submit_noop(rt, true)));
  ASSERT_EQ_INT(pto2_scope_begin(rt, PTO2_SCOPE_AUTO), code);
  ASSERT_EQ_INT(pto2_add_dependency(rt, PTO2_TASK_ID_INVALID, PTO2_TASK_ID_INVALID), code);
}

/* ---- an AUTO or GRAPH scope begin inside MANUAL ------------------------ */

static void nested_scope(pto2_runtime *rt, void *arg) {
  guard_case *g = arg;
  pto2_tensor t = ext1(g->buf, N);
  ASSERT_EQ_INT(pto2_scope_begin(rt, PTO2_SCOPE_MANUAL), 0);
  ASSERT_TRUE(pto2_task_id_is_valid(submit_fill(rt, &t, 1.0f, true))); /* left unpublished */
  pto2_scope_mode inner = g->variant ? PTO2_SCOPE_GRAPH : PTO2_SCOPE_AUTO;
  ASSERT_EQ_INT(pto2_scope_begin(rt, inner), PTO2_E_INVALID_ARGS);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), MSG_NESTED);
  expect_sticky(rt, PTO2_E_INVALID_ARGS);
  ASSERT_EQ_INT(pto2_scope_end(rt), PTO2_E_INVALID_ARGS);
}

/* The same through the macro: the inner block is skipped. */
static void nested_scope_macro(pto2_runtime *rt, void *arg) {
  (void)arg;
  int entered = 0;
  PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
    ASSERT_TRUE(pto2_task_id_is_valid(submit_noop(rt, true)));
    PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) { entered = 1; }
    ASSERT_TRUE(!pto2_task_id_is_valid(submit_noop(rt, true)));
  }
  ASSERT_EQ_INT(entered, 0);
  ASSERT_EQ_INT(pto2_error_code(rt), PTO2_E_INVALID_ARGS);
}

/* ---- plain submit inside MANUAL ----------------------------------------- */

static void plain_submit_in_manual(pto2_runtime *rt, void *arg) {
  guard_case *g = arg;
  pto2_tensor t = ext1(g->buf, N);
  PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
    ASSERT_TRUE(pto2_task_id_is_valid(submit_fill(rt, &t, 1.0f, true)));
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_inout(&a, &t);
    pto2_arg_add_scalar(&a, pto2_u64_from_f32(1.0f));
    pto2_mixed_kernels mk = {PTO2_NO_KERNEL, K_ADDC, PTO2_NO_KERNEL};
    pto2_task_id id = g->variant == 0   ? pto2_submit_aiv(rt, K_ADDC, &a)
                      : g->variant == 1 ? pto2_submit_task(rt, mk, &a)
                                        : pto2_submit_aic(rt, K_ADDC, &a);
    ASSERT_TRUE(!pto2_task_id_is_valid(id));
    ASSERT_EQ_INT(pto2_error_code(rt), PTO2_E_INVALID_ARGS);
    ASSERT_STR_CONTAINS(pto2_error_message(rt), MSG_PLAIN_IN_MANUAL);
    expect_sticky(rt, PTO2_E_INVALID_ARGS);
  }
}

/* ---- manual submit outside MANUAL --------------------------------------- */

static void manual_submit_outside(pto2_runtime *rt, void *arg) {
  guard_case *g = arg;
  pto2_tensor t = ext1(g->buf, N);
  if (g->variant == 1) ASSERT_EQ_INT(pto2_scope_begin(rt, PTO2_SCOPE_AUTO), 0);
  if (g->variant == 2) ASSERT_EQ_INT(pto2_scope_begin(rt, PTO2_SCOPE_GRAPH), 0);
  if (g->variant == 3) { /* after a MANUAL scope has ended */
    PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) { submit_fill(rt, &t, 2.0f, true); }
  }
  ASSERT_EQ_INT(pto2_error_code(rt), 0);
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_inout(&a, &t);
  pto2_arg_add_scalar(&a, pto2_u64_from_f32(1.0f));
  pto2_mixed_kernels mk = {PTO2_NO_KERNEL, K_ADDC, PTO2_NO_KERNEL};
  pto2_task_id id = g->variant == 1 ? pto2_submit_task_manual(rt, mk, &a)
                                    : pto2_submit_aiv_manual(rt, K_ADDC, &a);
  ASSERT_TRUE(!pto2_task_id_is_valid(id));
  ASSERT_STR_CONTAINS(pto2_error_message(rt), MSG_MANUAL_OUTSIDE);
  expect_sticky(rt, PTO2_E_INVALID_ARGS);
  if (g->variant == 1 || g->variant == 2) ASSERT_EQ_INT(pto2_scope_end(rt), PTO2_E_INVALID_ARGS);
}

/* ---- add_dependency in an AUTO scope ------------------------------------ */

static void add_dep_in_auto(pto2_runtime *rt, void *arg) {
  guard_case *g = arg;
  pto2_tensor t = ext1(g->buf, N);
  pto2_task_id p = submit_fill(rt, &t, 1.0f, false);
  if (g->variant == 1) ASSERT_EQ_INT(pto2_scope_begin(rt, PTO2_SCOPE_AUTO), 0);
  pto2_task_id c = submit_noop(rt, false);
  ASSERT_TRUE(pto2_task_id_is_valid(p) && pto2_task_id_is_valid(c));
  ASSERT_EQ_INT(pto2_add_dependency(rt, p, c), PTO2_E_INVALID_ARGS);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), MSG_ADD_DEP_AUTO);
  expect_sticky(rt, PTO2_E_INVALID_ARGS);
  if (g->variant == 1) ASSERT_EQ_INT(pto2_scope_end(rt), PTO2_E_INVALID_ARGS);
}

/* ---- self dependency ----------------------------------------------------- */

static void self_dep(pto2_runtime *rt, void *arg) {
  guard_case *g = arg;
  pto2_tensor t = ext1(g->buf, N);
  pto2_scope_mode mode = g->variant == 2 ? PTO2_SCOPE_GRAPH : PTO2_SCOPE_MANUAL;
  PTO2_SCOPE(rt, mode) {
    pto2_task_id a = mode == PTO2_SCOPE_GRAPH ? submit_fill(rt, &t, 1.0f, false)
                                              : submit_fill(rt, &t, 1.0f, true);
    ASSERT_TRUE(pto2_task_id_is_valid(a));
    /* variant 1: two invalid ids: equality
     * is checked before membership. */
    pto2_task_id x = g->variant == 1 ? PTO2_TASK_ID_INVALID : a;
    ASSERT_EQ_INT(pto2_add_dependency(rt, x, x), PTO2_E_INVALID_ARGS);
    ASSERT_STR_CONTAINS(pto2_error_message(rt), MSG_SELF);
    expect_sticky(rt, PTO2_E_INVALID_ARGS);
  }
}

/* ---- ids outside the current manual scope ------------------------------- */

static void not_in_scope(pto2_runtime *rt, void *arg) {
  guard_case *g = arg;
  pto2_tensor t = ext1(g->buf, N);
  pto2_task_id outer = submit_fill(rt, &t, 1.0f, false); /* enclosing AUTO scope */
  pto2_task_id earlier = PTO2_TASK_ID_INVALID;
  PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) { earlier = submit_noop(rt, true); }
  ASSERT_TRUE(pto2_task_id_is_valid(outer) && pto2_task_id_is_valid(earlier));
  PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
    pto2_task_id a = submit_noop(rt, true), b = submit_noop(rt, true);
    ASSERT_TRUE(pto2_task_id_is_valid(a) && pto2_task_id_is_valid(b));
    ASSERT_EQ_INT(pto2_add_dependency(rt, a, b), 0); /* fine: both in scope */
    pto2_task_id bogus = {((uint64_t)(pto2_task_id_ring(b) + 1) << 56) | (pto2_task_id_local(b) + 5)};
    pto2_task_id p = a, c = b;
    switch (g->variant) {
      case 0: p = outer; break;                   /* producer in the enclosing AUTO scope */
      case 1: p = earlier; break;                 /* producer in an earlier MANUAL scope */
      case 2: c = outer; break;                   /* consumer outside */
      case 3: p = PTO2_TASK_ID_INVALID; break;    /* invalid id */
      case 4: c = bogus; break;                   /* an id not issued yet */
      default: c = earlier; break;                /* consumer in an earlier MANUAL scope */
    }
    ASSERT_EQ_INT(pto2_add_dependency(rt, p, c), PTO2_E_INVALID_ARGS);
    ASSERT_STR_CONTAINS(pto2_error_message(rt), MSG_NOT_IN_SCOPE);
    expect_sticky(rt, PTO2_E_INVALID_ARGS);
  }
}

/* The same on the last ring, which serves every scope from depth 4 on:
 * a task of a nested MANUAL scope that has ended, or of the enclosing
 * MANUAL scope, shares the ring (and follows the enclosing scope's first
 * task) but is not in the current scope. */
static void not_in_scope_deep(pto2_runtime *rt, void *arg) {
  guard_case *g = arg;
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
    PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
      PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) { /* depth 4: the last ring */
        pto2_task_id outer = submit_noop(rt, true), inner = PTO2_TASK_ID_INVALID;
        PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) { inner = submit_noop(rt, true); }
        pto2_task_id a = submit_noop(rt, true);
        ASSERT_EQ_INT(pto2_task_id_ring(inner), pto2_task_id_ring(a));
        ASSERT_EQ_INT(pto2_add_dependency(rt, outer, a), 0); /* fine: both in scope */
        if (g->variant < 2) {
          /* the ended inner scope's task, as producer or consumer */
          pto2_task_id p = g->variant ? a : inner, c = g->variant ? inner : a;
          ASSERT_EQ_INT(pto2_add_dependency(rt, p, c), PTO2_E_INVALID_ARGS);
        } else {
          PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) { /* depth 5: the enclosing scope's task */
            pto2_task_id b = submit_noop(rt, true);
            pto2_task_id p = g->variant == 2 ? outer : b, c = g->variant == 2 ? b : a;
            ASSERT_EQ_INT(pto2_add_dependency(rt, p, c), PTO2_E_INVALID_ARGS);
          }
        }
        ASSERT_STR_CONTAINS(pto2_error_message(rt), MSG_NOT_IN_SCOPE);
        expect_sticky(rt, PTO2_E_INVALID_ARGS);
      }
    }
  }
}

/* ---- GRAPH: ids this runtime never issued -------------------------------- */

static void graph_bogus_ids(pto2_runtime *rt, void *arg) {
  guard_case *g = arg;
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
    pto2_task_id c = submit_noop(rt, false);
    pto2_task_id future = {c.raw + 100};
    pto2_task_id bad_ring = {((uint64_t)7 << 56) | 1};
    if (g->variant < 2) {
      ASSERT_EQ_INT(pto2_add_dependency(rt, g->variant ? bad_ring : future, c),
                    PTO2_E_INVALID_ARGS);
    } else { /* as an explicit producer given at submit */
      pto2_arg a;
      pto2_arg_init(&a);
      pto2_arg_add_dep(&a, future);
      ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(rt, K_NOOP, &a)));
    }
    ASSERT_STR_CONTAINS(pto2_error_message(rt), "this runtime");
    expect_sticky(rt, PTO2_E_INVALID_ARGS);
  }
}

/* ---- blocking data access inside MANUAL --------------------------------- */

static void data_in_manual(pto2_runtime *rt, void *arg) {
  guard_case *g = arg;
  pto2_tensor t = ext1(g->buf, N);
  PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
    ASSERT_TRUE(pto2_task_id_is_valid(submit_fill(rt, &t, 1.0f, true)));
    uint32_t idx[1] = {0};
    uint64_t bits = 77;
    int rc = g->variant == 0 ? pto2_get_tensor_data(rt, &t, idx, &bits)
                             : pto2_set_tensor_data(rt, &t, idx, pto2_u64_from_f32(1.0f));
    ASSERT_EQ_INT(rc, PTO2_E_INVALID_ARGS);
    ASSERT_EQ_U64(bits, 77); /* nothing written through the out-parameter */
    ASSERT_STR_CONTAINS(pto2_error_message(rt), MSG_DATA_MANUAL);
    expect_sticky(rt, PTO2_E_INVALID_ARGS);
  }
}

/* Also refused inside GRAPH (tasks there are unpublished until scope end). */
static void data_in_graph(pto2_runtime *rt, void *arg) {
  guard_case *g = arg;
  pto2_tensor t = ext1(g->buf, N);
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
    ASSERT_TRUE(pto2_task_id_is_valid(submit_fill(rt, &t, 1.0f, false)));
    uint32_t idx[1] = {0};
    uint64_t bits = 0;
    ASSERT_EQ_INT(pto2_get_tensor_data(rt, &t, idx, &bits), PTO2_E_INVALID_ARGS);
    ASSERT_STR_CONTAINS(pto2_error_message(rt),
                        "blocking tensor data access is not supported inside PTO2_SCOPE(rt, "
                        "PTO2_SCOPE_GRAPH)");
  }
}

/* ---- more than 16 producers through add_dependency ---------------------- */

static void too_many_producers(pto2_runtime *rt, void *arg) {
  (void)arg;
  PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
    pto2_task_id ps[PTO2_MAX_FANIN + 1];
    for (int i = 0; i <= PTO2_MAX_FANIN; i++) ps[i] = submit_noop(rt, true);
    pto2_task_id c = submit_noop(rt, true);
    for (int i = 0; i < PTO2_MAX_FANIN; i++) ASSERT_EQ_INT(pto2_add_dependency(rt, ps[i], c), 0);
    ASSERT_EQ_INT(pto2_add_dependency(rt, ps[0], c), 0); /* a duplicate is not a 17th */
    ASSERT_EQ_INT(pto2_error_code(rt), 0);
    ASSERT_EQ_INT(pto2_add_dependency(rt, ps[PTO2_MAX_FANIN], c), PTO2_E_DEPENDENCY_OVERFLOW);
    ASSERT_STR_CONTAINS(pto2_error_message(rt), "explicit add_dependency");
    ASSERT_STR_CONTAINS(pto2_error_message(rt), "Dependency Overflow");
    expect_sticky(rt, PTO2_E_DEPENDENCY_OVERFLOW);
  }
}

/* ---- consumer already published ----------------------------------------- */

static void consumer_published(pto2_runtime *rt, void *arg) {
  guard_case *g = arg;
  pto2_tensor t = ext1(g->buf, N);
  PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
    pto2_task_id p = submit_noop(rt, true);
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_output_existing(&a, &t);
    pto2_arg_add_scalar(&a, pto2_u64_from_f32(4.0f));
    if (g->variant == 0) pto2_arg_set_deps(&a, NULL, 0); /* no producers, still explicit */
    else pto2_arg_add_dep(&a, p);
    pto2_task_id c = pto2_submit_aiv_manual(rt, K_FILL, &a);
    ASSERT_TRUE(pto2_task_id_is_valid(p) && pto2_task_id_is_valid(c));
    ASSERT_EQ_INT(pto2_add_dependency(rt, p, c), PTO2_E_INVALID_ARGS);
    ASSERT_STR_CONTAINS(pto2_error_message(rt), "already published");
    expect_sticky(rt, PTO2_E_INVALID_ARGS);
  }
}

/* ---- limits of one scope (docs/semantics.md, "Rings and limits") ------- */

/* On a runtime with task_window 16 and dep_pool 8: variant 0/1: 17 tasks in
 * one MANUAL/GRAPH scope; variant 2/3: one consumer with 12 unfinished
 * explicit producers in one MANUAL/GRAPH scope (the entries cannot be
 * freed before the scope ends).  Reported at once, not a hang. */
static void scope_limits(pto2_runtime *rt, void *arg) {
  guard_case *g = arg;
  bool manual = !(g->variant & 1);
  PTO2_SCOPE(rt, manual ? PTO2_SCOPE_MANUAL : PTO2_SCOPE_GRAPH) {
    if (g->variant < 2) {
      for (int i = 0; i < 16; i++) ASSERT_TRUE(pto2_task_id_is_valid(submit_noop(rt, manual)));
      ASSERT_TRUE(!pto2_task_id_is_valid(submit_noop(rt, manual)));
      ASSERT_EQ_INT(pto2_error_code(rt), PTO2_E_SCOPE_DEADLOCK);
    } else {
      pto2_task_id p[12];
      for (int i = 0; i < 12; i++) p[i] = submit_noop(rt, manual);
      pto2_task_id c = submit_noop(rt, manual);
      int rc = 0, i = 0;
      for (; i < 12 && !rc; i++) rc = pto2_add_dependency(rt, p[i], c);
      ASSERT_EQ_INT(rc, PTO2_E_DEP_POOL_OVERFLOW);
      ASSERT_EQ_INT(i, 9); /* the 9th edge found the 8 entries held */
    }
  }
}

static void test_scope_limits(void) {
  pto2_config cfg = {0};
  cfg.task_window = 16;
  cfg.dep_pool = 8;
  pto2_runtime *rt = make_runtime(&cfg);
  for (int v = 0; v < 4; v++) {
    guard_case g;
    memset(&g, 0, sizeof g);
    g.variant = v;
    printf("case: scope limits, variant %d\n", v);
    if (v < 2) expect_failed_run(rt, scope_limits, &g, PTO2_E_SCOPE_DEADLOCK, "Scope Deadlock");
    else
      expect_failed_run(rt, scope_limits, &g, PTO2_E_DEP_POOL_OVERFLOW,
                        "Dependency Pool Deadlock");
  }
  pto2_runtime_destroy(rt);
}

typedef struct named_case {
  const char *name;
  pto2_orchestration_fn fn;
  int variants;
  int code;
  const char *msg;
} named_case;

int main(void) {
  pto2_runtime *rt = make_runtime(0);
  expect_good_run(rt); /* baseline */
  const named_case cases[] = {
      {"AUTO/GRAPH scope begin inside MANUAL", nested_scope, 2, PTO2_E_INVALID_ARGS, MSG_NESTED},
      {"PTO2_SCOPE(AUTO) inside MANUAL (macro)", nested_scope_macro, 1, PTO2_E_INVALID_ARGS,
       MSG_NESTED},
      {"plain submit inside MANUAL (aiv/task/aic)", plain_submit_in_manual, 3,
       PTO2_E_INVALID_ARGS, MSG_PLAIN_IN_MANUAL},
      {"manual submit outside MANUAL (root/AUTO/GRAPH/after MANUAL)", manual_submit_outside, 4,
       PTO2_E_INVALID_ARGS, MSG_MANUAL_OUTSIDE},
      {"add_dependency in AUTO (root/nested)", add_dep_in_auto, 2, PTO2_E_INVALID_ARGS,
       MSG_ADD_DEP_AUTO},
      {"self dependency (MANUAL id/invalid ids/GRAPH)", self_dep, 3, PTO2_E_INVALID_ARGS,
       MSG_SELF},
      {"ids outside the current manual scope", not_in_scope, 6, PTO2_E_INVALID_ARGS,
       MSG_NOT_IN_SCOPE},
      {"ids outside the current manual scope, depth 4 and 5 (one ring)", not_in_scope_deep, 4,
       PTO2_E_INVALID_ARGS, MSG_NOT_IN_SCOPE},
      {"GRAPH: producer id never issued (add_dependency x2, at submit)", graph_bogus_ids, 3,
       PTO2_E_INVALID_ARGS, "this runtime"},
      {"get/set_tensor_data inside MANUAL", data_in_manual, 2, PTO2_E_INVALID_ARGS,
       MSG_DATA_MANUAL},
      {"get_tensor_data inside GRAPH", data_in_graph, 1, PTO2_E_INVALID_ARGS,
       "exit the graph scope first"},
      {"17th producer via add_dependency", too_many_producers, 1, PTO2_E_DEPENDENCY_OVERFLOW,
       "explicit add_dependency"},
      {"add_dependency onto a published MANUAL task", consumer_published, 2, PTO2_E_INVALID_ARGS,
       "already published"},
  };
  int n = 0;
  for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    for (int v = 0; v < cases[i].variants; v++) {
      guard_case g;
      memset(&g, 0, sizeof g);
      g.variant = v;
      printf("case: %s, variant %d\n", cases[i].name, v);
      fflush(stdout);
      expect_failed_run(rt, cases[i].fn, &g, cases[i].code, cases[i].msg);
      n++;
    }
  }
  pto2_runtime_destroy(rt);
  test_scope_limits();
  printf("test_manual_guards: %d cases + 4 scope limits\n", n);
  TEST_PASS("test_manual_guards");
}
