/*
 * The hazard checker on deliberately wrong orchestrations: each is reported
 * exactly as expected (kind, tasks, region, likely cause), once, with
 * PTO2_E_HAZARD; correct ones (interleaving views, transitive orders,
 * blocking access after a writer) report nothing.  Also PTO2_CHECK=warn,
 * the "possible" fallback, and that the runtime runs again after a hazard.
 * Kernels do nothing: the verdict never depends on what ran when.
 */
#include <stdlib.h>
#include <unistd.h>

#include "pto2/pto2.h"
#include "test.h"

enum { K_AIC = 0, K_AIV = 1, K_AIV2 = 2 };

static int k_noop(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

static pto2_runtime *make_runtime(pto2_hazard_check mode) {
  pto2_config cfg = {0};
  cfg.block_dim = 4;
  cfg.worker_threads = 2;
  cfg.hazard_check = mode;
  cfg.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&cfg, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_AIC, PTO2_CORE_AIC, "cube", k_noop, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_AIV, PTO2_CORE_AIV, "vec", k_noop, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_AIV2, PTO2_CORE_AIV, "vec2", k_noop, 0), 0);
  return rt;
}

/* Caller memory shared by the scenarios. */
static float X[64 * 64], Y[64], Z[64];
static float BIG[70000 * 2];

typedef struct ctx {
  pto2_task_id t[8];
  pto2_tensor x;
} ctx;

static pto2_tensor ext2(float *p, uint32_t r, uint32_t c) {
  const uint32_t s[2] = {r, c};
  return pto2_tensor_external(p, s, 2, PTO2_FLOAT32);
}

/* ---- AUTO: write-after-read --------------------------------------------- */
static void war_auto(pto2_runtime *rt, void *arg) {
  ctx *c = arg;
  pto2_tensor x = ext2(X, 8, 8), y = ext2(Y, 8, 8);
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_input(&a, &x);
  pto2_arg_add_output_existing(&a, &y);
  c->t[0] = pto2_submit_aiv(rt, K_AIV, &a); /* reads x */
  pto2_tensor xv = pto2_tensor_view2(&x, 4, 8, 2, 0);
  pto2_arg_init(&a);
  pto2_arg_add_inout(&a, &xv);
  c->t[1] = pto2_submit_aiv(rt, K_AIV2, &a); /* overwrites rows 2..5 */
}

/* ---- AUTO: write-after-read across two sibling scopes -------------------- */
static void war_siblings(pto2_runtime *rt, void *arg) {
  ctx *c = arg;
  pto2_tensor x = ext2(X, 8, 8), y = ext2(Y, 8, 8);
  pto2_arg a;
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) { /* scope #1 */
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &x);
    pto2_arg_add_output_existing(&a, &y);
    c->t[0] = pto2_submit_aiv(rt, K_AIV, &a);
  }
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) { /* scope #2 */
    pto2_arg_init(&a);
    pto2_arg_add_inout(&a, &x);
    c->t[1] = pto2_submit_aiv(rt, K_AIV2, &a);
  }
}

/* ---- WAR by the reader's scope: the advice fits where the read was ------- */
static struct {
  pto2_scope_mode reader, writer;
  bool inout;      /* the writer writes with INOUT, else OUTPUT_EXISTING */
  bool dep;        /* the writer has the reader as an explicit producer */
  bool strict_all; /* (only for a check of the advice) */
} war_case;

static void war_by_scope(pto2_runtime *rt, void *arg) {
  ctx *c = arg;
  pto2_tensor x = ext2(X, 8, 8), y = ext2(Y, 8, 8);
  pto2_arg a;
  PTO2_SCOPE(rt, war_case.reader) { /* scope #1: reads x */
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &x);
    pto2_arg_add_output_existing(&a, &y);
    c->t[0] = war_case.reader == PTO2_SCOPE_MANUAL ? pto2_submit_aiv_manual(rt, K_AIV, &a)
                                                   : pto2_submit_aiv(rt, K_AIV, &a);
  }
  PTO2_SCOPE(rt, war_case.writer) { /* scope #2: writes x */
    pto2_arg_init(&a);
    if (war_case.inout) pto2_arg_add_inout(&a, &x);
    else pto2_arg_add_output_existing(&a, &x);
    if (war_case.dep) pto2_arg_add_dep(&a, c->t[0]);
    c->t[1] = pto2_submit_aiv(rt, K_AIV2, &a);
  }
}

/* ---- A missing MANUAL edge and the WAR it leaves a later writer ---------- *
 * (found in the other order: x's accesses are checked before s's) */
static void manual_edge_then_war(pto2_runtime *rt, void *arg) {
  ctx *c = arg;
  const uint32_t shape[2] = {4, 4};
  pto2_create_info ci = pto2_create_info_make(shape, 2, PTO2_FLOAT32);
  pto2_tensor x = ext2(X, 8, 8), z = ext2(Z, 4, 4);
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_inout(&a, &x);
  c->t[3] = pto2_submit_aiv(rt, K_AIV, &a); /* x's first access: checked first */
  PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
    pto2_arg_init(&a);
    pto2_arg_add_output(&a, &ci);
    pto2_arg_add_input(&a, &x);
    c->t[0] = pto2_submit_aiv_manual(rt, K_AIV, &a); /* reads x */
    pto2_tensor s = a.outputs[0];
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &s); /* no edge from t[0] */
    pto2_arg_add_output_existing(&a, &z);
    c->t[1] = pto2_submit_aiv_manual(rt, K_AIV2, &a);
  }
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &z);
    pto2_arg_add_inout(&a, &x); /* after t[1] (z), not after t[0] */
    c->t[2] = pto2_submit_aic(rt, K_AIC, &a);
  }
}

/* ---- AUTO: OUTPUT_EXISTING after an unordered write ---------------------- */
static void oe_after_write(pto2_runtime *rt, void *arg) {
  ctx *c = arg;
  pto2_tensor x = ext2(X, 8, 8);
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_output_existing(&a, &x);
  c->t[0] = pto2_submit_aic(rt, K_AIC, &a);
  pto2_tensor xv = pto2_tensor_view2(&x, 8, 2, 0, 6);
  pto2_arg_init(&a);
  pto2_arg_add_output_existing(&a, &xv);
  c->t[1] = pto2_submit_aiv(rt, K_AIV, &a);
}

/* ---- manual_dep on an INOUT accumulator ---------------------------------- */
static void manual_dep_acc(pto2_runtime *rt, void *arg) {
  ctx *c = arg;
  pto2_tensor acc = ext2(Y, 1, 16);
  acc.manual_dep = true;
  for (int i = 0; i < 2; i++) {
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_inout(&a, &acc);
    c->t[i] = pto2_submit_aiv(rt, K_AIV, &a);
  }
}

/* ---- GRAPH: disjoint-slice writers, a reader of both, one edge missing --- */
static void graph_slices(pto2_runtime *rt, void *arg) {
  ctx *c = arg;
  pto2_tensor x = ext2(X, 8, 8);
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
    pto2_tensor top = pto2_tensor_view2(&x, 4, 8, 0, 0), bottom = pto2_tensor_view2(&x, 4, 8, 4, 0);
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_output_existing(&a, &top);
    c->t[0] = pto2_submit_aiv(rt, K_AIV, &a);
    pto2_arg_init(&a);
    pto2_arg_add_output_existing(&a, &bottom);
    c->t[1] = pto2_submit_aiv(rt, K_AIV, &a);
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &x);
    c->t[2] = pto2_submit_aic(rt, K_AIC, &a);
    pto2_add_dependency(rt, c->t[0], c->t[2]); /* the edge from t[1] is missing */
  }
}

/* ---- MANUAL: a dropped edge between two tasks of the scope --------------- */
static void manual_dropped(pto2_runtime *rt, void *arg) {
  ctx *c = arg;
  const uint32_t shape[2] = {4, 4};
  pto2_create_info ci = pto2_create_info_make(shape, 2, PTO2_FLOAT32);
  PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_output(&a, &ci);
    c->t[0] = pto2_submit_aic_manual(rt, K_AIC, &a);
    pto2_tensor s = a.outputs[0];
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &s);
    pto2_arg_add_output(&a, &ci);
    c->t[1] = pto2_submit_aiv_manual(rt, K_AIV, &a);
    pto2_tensor p = a.outputs[0];
    pto2_add_dependency(rt, c->t[0], c->t[1]);
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &p);
    c->t[2] = pto2_submit_aic_manual(rt, K_AIC, &a); /* no edge from t[1] */
  }
}

/* ---- correct: interleaving column blocks, same layout and reshaped ------- */
static void interleaved(pto2_runtime *rt, void *arg) {
  ctx *c = arg;
  pto2_tensor x = ext2(X, 8, 8);
  pto2_tensor left = pto2_tensor_view2(&x, 8, 4, 0, 0), right = pto2_tensor_view2(&x, 8, 4, 0, 4);
  const uint32_t s3[3] = {8, 2, 4}, o3[3] = {0, 1, 0}, v3[3] = {8, 1, 4};
  pto2_tensor x3 = pto2_tensor_reshape(&x, s3, 3);
  pto2_tensor right3 = pto2_tensor_view(&x3, v3, o3); /* columns 4..7 again, other layout */
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_input(&a, &left);
  c->t[0] = pto2_submit_aiv(rt, K_AIV, &a);
  pto2_arg_init(&a);
  pto2_arg_add_output_existing(&a, &right);
  c->t[1] = pto2_submit_aiv(rt, K_AIV, &a);
  pto2_arg_init(&a);
  pto2_arg_add_output_existing(&a, &right3);
  pto2_arg_add_dep(&a, c->t[1]); /* ordered after the other writer of those columns */
  c->t[2] = pto2_submit_aiv(rt, K_AIV2, &a);
}

/* ---- correct: ordered through a third task, and a backward edge ---------- */
static void transitive(pto2_runtime *rt, void *arg) {
  ctx *c = arg;
  pto2_tensor x = ext2(X, 8, 8), y = ext2(Y, 8, 8), z = ext2(Z, 8, 8);
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_output_existing(&a, &x);
    c->t[0] = pto2_submit_aiv(rt, K_AIV, &a);
    pto2_arg_init(&a);
    pto2_arg_add_output_existing(&a, &y);
    c->t[1] = pto2_submit_aiv(rt, K_AIV, &a);
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &x);
    pto2_arg_add_output_existing(&a, &z);
    c->t[2] = pto2_submit_aiv(rt, K_AIV, &a);
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &z);
    c->t[3] = pto2_submit_aiv(rt, K_AIV, &a);
    pto2_add_dependency(rt, c->t[0], c->t[1]);
    pto2_add_dependency(rt, c->t[1], c->t[2]); /* x: t0 -> t1 -> t2 */
    pto2_add_dependency(rt, c->t[3], c->t[2]); /* z: t2 after its reader t3 */
  }
}

/* ---- blocking access ------------------------------------------------------ */
/* A blocking get of an element a manual_dep writer writes: the get waits
 * only for recorded writers, and manual_dep writes are not recorded. */
static void orch_raw(pto2_runtime *rt, void *arg) {
  ctx *c = arg;
  pto2_tensor x = ext2(X, 8, 8);
  x.manual_dep = true;
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_inout(&a, &x);
  c->t[0] = pto2_submit_aiv(rt, K_AIV, &a);
  pto2_tensor y = ext2(X, 8, 8);
  const uint32_t idx[2] = {3, 5};
  uint64_t bits;
  pto2_get_tensor_data(rt, &y, idx, &bits);
}

/* set waits for every earlier task in flight with an overlapping argument,
 * readers included: ordered. */
static void orch_set_after_reader(pto2_runtime *rt, void *arg) {
  ctx *c = arg;
  pto2_tensor x = ext2(X, 8, 8);
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_input(&a, &x);
  c->t[0] = pto2_submit_aiv(rt, K_AIV, &a);
  const uint32_t idx[2] = {3, 5};
  pto2_set_tensor_data(rt, &x, idx, pto2_u64_from_f32(1.0f));
}

static void orch_ok(pto2_runtime *rt, void *arg) {
  ctx *c = arg;
  pto2_tensor x = ext2(X, 8, 8);
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_inout(&a, &x);
  c->t[0] = pto2_submit_aiv(rt, K_AIV, &a);
  pto2_arg_init(&a);
  pto2_arg_add_input(&a, &x);
  c->t[1] = pto2_submit_aiv(rt, K_AIV2, &a);
  const uint32_t idx[2] = {1, 1};
  uint64_t bits;
  pto2_get_tensor_data(rt, &x, idx, &bits); /* after the writer: ordered */
  pto2_set_tensor_data(rt, &x, idx, bits);  /* after the writer and its reader t1 */
  pto2_arg_init(&a);
  pto2_arg_add_input(&a, &x);
  c->t[2] = pto2_submit_aiv(rt, K_AIV, &a); /* after the set in program order */
}

/* ---- different layouts with too many pieces: "possible" ------------------ */
static void possible(pto2_runtime *rt, void *arg) {
  ctx *c = arg;
  pto2_tensor b = ext2(BIG, 70000, 2);
  pto2_tensor col0 = pto2_tensor_view2(&b, 70000, 1, 0, 0);
  const uint32_t flat[1] = {140000}, one[1] = {1}, at[1] = {1};
  pto2_tensor b1 = pto2_tensor_reshape(&b, flat, 1);
  pto2_tensor e1 = pto2_tensor_view(&b1, one, at); /* BIG[0][1]: not in column 0 */
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_input(&a, &col0);
  c->t[0] = pto2_submit_aiv(rt, K_AIV, &a);
  pto2_arg_init(&a);
  pto2_arg_add_output_existing(&a, &e1);
  c->t[1] = pto2_submit_aiv(rt, K_AIV, &a);
}

/* ---- pto2_hazard_set_names inside a run ----------------------------------- */
static void set_names_in_run(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_hazard_set_names(rt, NULL, 0);
}

static int run(pto2_runtime *rt, pto2_orchestration_fn fn, ctx *c) {
  memset(c, 0xff, sizeof *c);
  return pto2_run(rt, fn, c, 0);
}

static const pto2_hazard *only_hazard(pto2_runtime *rt) {
  ASSERT_EQ_U64(pto2_hazard_count(rt), 1);
  const pto2_hazard *h = pto2_hazard_get(rt, 0);
  ASSERT_TRUE(h != NULL);
  ASSERT_TRUE(pto2_hazard_get(rt, 1) == NULL);
  char buf[1024];
  pto2_hazard_format(h, buf, sizeof buf);
  printf("  %s\n", buf);
  return h;
}

static void expect_side(const pto2_hazard_access *s, pto2_task_id id, const char *kernel,
                        pto2_scope_mode mode, unsigned arg_kind, uint32_t off0, uint32_t rows) {
  ASSERT_EQ_U64(s->task.raw, id.raw);
  ASSERT_STR_CONTAINS(s->kernel, kernel);
  ASSERT_EQ_INT(s->scope_mode, mode);
  ASSERT_EQ_INT(s->arg_kind, arg_kind);
  ASSERT_EQ_U64(s->offsets[0], off0);
  ASSERT_EQ_U64(s->shapes[0], rows);
}

static void expect_fail(pto2_runtime *rt, pto2_orchestration_fn fn, ctx *c, const char *words) {
  ASSERT_EQ_INT(run(rt, fn, c), PTO2_E_HAZARD);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), words);
}

int main(void) {
  ctx c;
  pto2_runtime *rt = make_runtime(PTO2_HAZARD_CHECK_FAIL);
  const pto2_hazard *h;

  printf("WAR in AUTO\n");
  expect_fail(rt, war_auto, &c, "write-after-read hazard on caller memory");
  h = only_hazard(rt);
  ASSERT_EQ_INT(h->kind, PTO2_HAZARD_WAR);
  ASSERT_TRUE(!h->possible && h->addr == X && !pto2_task_id_is_valid(h->owner));
  expect_side(&h->first, c.t[0], "vec", PTO2_SCOPE_AUTO, PTO2_ARG_INPUT, 0, 8);
  expect_side(&h->second, c.t[1], "vec2", PTO2_SCOPE_AUTO, PTO2_ARG_INOUT, 2, 4);
  ASSERT_STR_CONTAINS(h->cause, "write-after-read is not tracked in AUTO");

  printf("WAR: the advice fits the reader's scope, and following it removes the hazard\n");
  {
    static const struct {
      pto2_scope_mode reader, writer;
      bool inout;
      const char *cause;
      pto2_scope_mode fixed_reader, fixed_writer; /* the advice's scopes, if it gives them */
    } cases[] = {
        {PTO2_SCOPE_AUTO, PTO2_SCOPE_AUTO, true,
         "(submit both in PTO2_SCOPE_AUTO_STRICT scopes, read with INOUT, or give the writer "
         "the reader as an explicit producer: pto2_arg_add_dep)",
         PTO2_SCOPE_AUTO_STRICT, PTO2_SCOPE_AUTO_STRICT},
        {PTO2_SCOPE_AUTO, PTO2_SCOPE_AUTO, false, /* OUTPUT_EXISTING: INOUT reads do not help */
         "(submit both in PTO2_SCOPE_AUTO_STRICT scopes, or give the writer the reader as an "
         "explicit producer: pto2_arg_add_dep)",
         PTO2_SCOPE_AUTO_STRICT, PTO2_SCOPE_AUTO_STRICT},
        {PTO2_SCOPE_AUTO, PTO2_SCOPE_AUTO_STRICT, true,
         "the earlier read was outside strict AUTO scopes, where readers are not recorded, so "
         "the writer does not wait for it (submit the reader in a PTO2_SCOPE_AUTO_STRICT scope "
         "too, or give the writer the reader as an explicit producer: pto2_arg_add_dep)",
         PTO2_SCOPE_AUTO_STRICT, PTO2_SCOPE_AUTO_STRICT},
        {PTO2_SCOPE_MANUAL, PTO2_SCOPE_AUTO, true,
         "the read was in a MANUAL scope, whose reads are not recorded, so no later writer "
         "waits for it (not even in a strict AUTO scope): give the writer the reader as an "
         "explicit producer (pto2_arg_add_dep)",
         PTO2_SCOPE_MANUAL, PTO2_SCOPE_AUTO},
        {PTO2_SCOPE_MANUAL, PTO2_SCOPE_AUTO_STRICT, false,
         "the read was in a MANUAL scope, whose reads are not recorded",
         PTO2_SCOPE_MANUAL, PTO2_SCOPE_AUTO_STRICT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      war_case.reader = cases[i].reader;
      war_case.writer = cases[i].writer;
      war_case.inout = cases[i].inout;
      war_case.dep = false;
      expect_fail(rt, war_by_scope, &c, "write-after-read");
      h = only_hazard(rt);
      ASSERT_EQ_INT(h->kind, PTO2_HAZARD_WAR);
      ASSERT_EQ_INT(h->first.scope_mode, cases[i].reader);
      ASSERT_EQ_INT(h->second.scope_mode, cases[i].writer);
      ASSERT_STR_CONTAINS(h->cause, cases[i].cause);
      if (cases[i].reader == PTO2_SCOPE_MANUAL)
        ASSERT_TRUE(strstr(h->cause, "submit both") == NULL);
      /* the explicit producer removes it */
      war_case.dep = true;
      ASSERT_EQ_INT(run(rt, war_by_scope, &c), 0);
      ASSERT_EQ_U64(pto2_hazard_count(rt), 0);
      /* so do the strict scopes where the advice names them */
      war_case.dep = false;
      war_case.reader = cases[i].fixed_reader;
      war_case.writer = cases[i].fixed_writer;
      if (war_case.reader == PTO2_SCOPE_AUTO_STRICT) {
        ASSERT_EQ_INT(run(rt, war_by_scope, &c), 0);
        ASSERT_EQ_U64(pto2_hazard_count(rt), 0);
      }
    }
  }

  printf("A missing MANUAL edge is listed before the WAR it leaves a later writer\n");
  expect_fail(rt, manual_edge_then_war, &c, "read-after-write");
  ASSERT_EQ_U64(pto2_hazard_count(rt), 2);
  h = pto2_hazard_get(rt, 0);
  ASSERT_EQ_INT(h->kind, PTO2_HAZARD_RAW);
  ASSERT_EQ_U64(h->first.task.raw, c.t[0].raw);
  ASSERT_EQ_U64(h->second.task.raw, c.t[1].raw);
  ASSERT_STR_CONTAINS(h->cause, "one MANUAL scope");
  h = pto2_hazard_get(rt, 1);
  ASSERT_EQ_INT(h->kind, PTO2_HAZARD_WAR);
  ASSERT_EQ_U64(h->first.task.raw, c.t[0].raw);
  ASSERT_EQ_U64(h->second.task.raw, c.t[2].raw);
  ASSERT_STR_CONTAINS(h->cause, "add the explicit edge that orders the reader before a task");

  printf("WAR across sibling AUTO scopes: the scopes are told apart\n");
  expect_fail(rt, war_siblings, &c, "write-after-read");
  h = only_hazard(rt);
  ASSERT_EQ_INT(h->kind, PTO2_HAZARD_WAR);
  ASSERT_EQ_INT(h->first.scope_depth, 1);
  ASSERT_EQ_INT(h->second.scope_depth, 1);
  ASSERT_EQ_INT(h->first.scope_seq, 1); /* the run's scopes in opening order, root 0 */
  ASSERT_EQ_INT(h->second.scope_seq, 2);
  {
    char line[1024];
    pto2_hazard_format(h, line, sizeof line);
    ASSERT_STR_CONTAINS(line, "'vec' (AUTO scope #1, depth 1)");
    ASSERT_STR_CONTAINS(line, "'vec2' (AUTO scope #2, depth 1)");
  }

  printf("OUTPUT_EXISTING after an unordered write\n");
  expect_fail(rt, oe_after_write, &c, "write-after-write");
  h = only_hazard(rt);
  ASSERT_EQ_INT(h->kind, PTO2_HAZARD_WAW);
  expect_side(&h->first, c.t[0], "cube", PTO2_SCOPE_AUTO, PTO2_ARG_OUTPUT_EXISTING, 0, 8);
  expect_side(&h->second, c.t[1], "vec", PTO2_SCOPE_AUTO, PTO2_ARG_OUTPUT_EXISTING, 0, 8);
  ASSERT_EQ_U64(h->second.offsets[1], 6);
  ASSERT_STR_CONTAINS(h->cause, "OUTPUT_EXISTING does not wait");

  printf("manual_dep on an INOUT accumulator\n");
  expect_fail(rt, manual_dep_acc, &c, "manual_dep");
  h = only_hazard(rt);
  ASSERT_EQ_INT(h->kind, PTO2_HAZARD_RAW);
  ASSERT_TRUE(h->first.manual_dep && h->second.manual_dep);
  expect_side(&h->first, c.t[0], "vec", PTO2_SCOPE_AUTO, PTO2_ARG_INOUT, 0, 1);
  expect_side(&h->second, c.t[1], "vec", PTO2_SCOPE_AUTO, PTO2_ARG_INOUT, 0, 1);
  ASSERT_STR_CONTAINS(h->cause, "manual_dep on a conflicting tensor");

  printf("GRAPH: disjoint-slice writers, one edge to the reader missing\n");
  expect_fail(rt, graph_slices, &c, "read-after-write");
  h = only_hazard(rt);
  ASSERT_EQ_INT(h->kind, PTO2_HAZARD_RAW);
  expect_side(&h->first, c.t[1], "vec", PTO2_SCOPE_GRAPH, PTO2_ARG_OUTPUT_EXISTING, 4, 4);
  expect_side(&h->second, c.t[2], "cube", PTO2_SCOPE_GRAPH, PTO2_ARG_INPUT, 0, 8);
  ASSERT_EQ_INT(h->first.scope_depth, 1);
  ASSERT_EQ_INT(h->first.scope_seq, 1); /* numbered per run: this run's first inner scope */
  ASSERT_STR_CONTAINS(h->cause, "GRAPH scope");

  printf("MANUAL: dropped edge\n");
  expect_fail(rt, manual_dropped, &c, "missing explicit edge");
  h = only_hazard(rt);
  ASSERT_EQ_INT(h->kind, PTO2_HAZARD_RAW);
  ASSERT_EQ_U64(h->owner.raw, c.t[1].raw); /* the buffer t[1] created */
  expect_side(&h->first, c.t[1], "vec", PTO2_SCOPE_MANUAL, PTO2_ARG_OUTPUT, 0, 4);
  expect_side(&h->second, c.t[2], "cube", PTO2_SCOPE_MANUAL, PTO2_ARG_INPUT, 0, 4);
  ASSERT_STR_CONTAINS(h->cause, "one MANUAL scope");

  printf("blocking set after an untracked reader\n");
  expect_fail(rt, orch_raw, &c, "the orchestrator (pto2_get_tensor_data");
  h = only_hazard(rt);
  ASSERT_EQ_INT(h->kind, PTO2_HAZARD_RAW);
  ASSERT_EQ_U64(h->first.task.raw, c.t[0].raw);
  ASSERT_TRUE(!pto2_task_id_is_valid(h->second.task));
  ASSERT_STR_CONTAINS(h->second.kernel, "orchestrator");
  ASSERT_EQ_U64(h->second.offsets[0], 3);
  ASSERT_EQ_U64(h->second.offsets[1], 5);
  ASSERT_STR_CONTAINS(h->cause, "blocking data access");

  printf("pto2_hazard_set_names: the error message names what the pairs say\n");
  {
    /* "pto2_add" is no whole word of pto2_add_dependency: the second pair applies */
    const char *names[] = {"pto2_add", "WRONG", "pto2_add_dependency", "Orch.add_dependency",
                           "MANUAL", "manual"};
    ASSERT_EQ_INT(pto2_hazard_set_names(rt, names, 3), 0);
    expect_fail(rt, manual_dropped, &c,
                "missing explicit edge (Orch.add_dependency) between two tasks of one manual "
                "scope");
    ASSERT_TRUE(strstr(pto2_error_message(rt), "pto2_add") == NULL);
    ASSERT_TRUE(strstr(pto2_error_message(rt), "WRONG") == NULL);
    /* pto2_hazard_format and the cause keep the C names */
    ASSERT_STR_CONTAINS(only_hazard(rt)->cause, "(pto2_add_dependency)");
    ASSERT_EQ_INT(pto2_hazard_set_names(rt, NULL, 0), 0); /* the C names again */
    expect_fail(rt, manual_dropped, &c, "(pto2_add_dependency) between two tasks of one MANUAL");
    const char *empty[] = {"", "x"}, *null_replacement[] = {"a", NULL};
    ASSERT_EQ_INT(pto2_hazard_set_names(rt, empty, 1), PTO2_E_INVALID_ARGS);
    ASSERT_STR_CONTAINS(pto2_error_message(rt), "pair 0: the name is empty");
    ASSERT_EQ_INT(pto2_hazard_set_names(rt, null_replacement, 1), PTO2_E_INVALID_ARGS);
    ASSERT_EQ_INT(pto2_hazard_set_names(rt, NULL, 2), PTO2_E_INVALID_ARGS);
    ASSERT_EQ_INT(run(rt, set_names_in_run, &c), PTO2_E_BUSY);
    ASSERT_STR_CONTAINS(pto2_error_message(rt), "not allowed during pto2_run");
  }

  printf("correct programs report nothing\n");
  pto2_orchestration_fn ok[] = {interleaved, transitive, orch_ok, orch_set_after_reader};
  for (unsigned i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    ASSERT_EQ_INT(run(rt, ok[i], &c), 0);
    ASSERT_EQ_U64(pto2_hazard_count(rt), 0);
  }

  printf("different layouts beyond the run limit: possible\n");
  expect_fail(rt, possible, &c, "possible write-after-read");
  h = only_hazard(rt);
  ASSERT_TRUE(h->possible);
  pto2_runtime_destroy(rt);

  printf("warn mode: listed, the run succeeds\n");
  rt = make_runtime(PTO2_HAZARD_CHECK_WARN);
  ASSERT_EQ_INT(run(rt, war_auto, &c), 0);
  ASSERT_EQ_U64(pto2_hazard_count(rt), 1);
  ASSERT_EQ_INT(run(rt, interleaved, &c), 0);
  ASSERT_EQ_U64(pto2_hazard_count(rt), 0);
  pto2_runtime_destroy(rt);

  printf("warn mode: the logged lines use pto2_hazard_set_names's names\n");
  {
    pto2_config cfg = {0};
    cfg.worker_threads = 1;
    cfg.hazard_check = PTO2_HAZARD_CHECK_WARN;
    cfg.log_level = PTO2_LOG_WARN;
    ASSERT_EQ_INT(pto2_runtime_create(&cfg, &rt), 0);
    ASSERT_EQ_INT(pto2_kernel_register(rt, K_AIV, PTO2_CORE_AIV, "vec", k_noop, 0), 0);
    ASSERT_EQ_INT(pto2_kernel_register(rt, K_AIV2, PTO2_CORE_AIV, "vec2", k_noop, 0), 0);
    const char *names[] = {"PTO2_SCOPE_AUTO_STRICT", "Scope.AUTO_STRICT"};
    ASSERT_EQ_INT(pto2_hazard_set_names(rt, names, 1), 0);
    /* stderr into a file for the run */
    char path[] = "/tmp/pto2-test-hazards.XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    ASSERT_TRUE(fd >= 0 && saved >= 0);
    fflush(stderr);
    ASSERT_TRUE(dup2(fd, 2) == 2);
    int rc = run(rt, war_auto, &c);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ASSERT_EQ_INT(rc, 0);
    char logged[4096] = {0};
    ASSERT_TRUE(pread(fd, logged, sizeof logged - 1, 0) > 0);
    close(fd);
    unlink(path);
    ASSERT_STR_CONTAINS(logged, "[pto2] WARN: hazard 1 of 1: write-after-read hazard");
    ASSERT_STR_CONTAINS(logged, "submit both in Scope.AUTO_STRICT scopes");
    ASSERT_TRUE(strstr(logged, "PTO2_SCOPE_AUTO_STRICT") == NULL);
    ASSERT_STR_CONTAINS(only_hazard(rt)->cause, "PTO2_SCOPE_AUTO_STRICT"); /* the C text */
  }
  pto2_runtime_destroy(rt);

  printf("PTO2_CHECK from the environment; off: nothing recorded\n");
  setenv("PTO2_CHECK", "1", 1);
  rt = make_runtime(PTO2_HAZARD_CHECK_DEFAULT);
  ASSERT_EQ_INT(run(rt, war_auto, &c), PTO2_E_HAZARD);
  pto2_runtime_destroy(rt);
  rt = make_runtime(PTO2_HAZARD_CHECK_OFF); /* an explicit OFF wins */
  ASSERT_EQ_INT(run(rt, war_auto, &c), 0);
  ASSERT_EQ_U64(pto2_hazard_count(rt), 0);
  ASSERT_TRUE(pto2_hazard_get(rt, 0) == NULL);
  pto2_runtime_destroy(rt);
  setenv("PTO2_CHECK", "maybe", 1);
  pto2_config cfg = {0};
  ASSERT_EQ_INT(pto2_runtime_create(&cfg, &rt), PTO2_E_INVALID_CONFIG);
  unsetenv("PTO2_CHECK");
  TEST_PASS("test_hazards");
}
