/*
 * MANUAL scope boundary semantics (docs/semantics.md, "Scope modes" and "Lifetimes"):
 *  (a) the outer multi-write regression: two in-scope OUTPUT_EXISTING writes
 *      of an external tensor are published to the TensorMap at submit, so
 *      the AUTO reader after the scope and get_tensor_data see the last one;
 *  (b) the per-argument table: every arg kind x {manual-local (and a view of
 *      one), boundary created, boundary created + manual_dep, boundary
 *      external, boundary external + manual_dep}; the edges of the manual
 *      task and of an AUTO reader after the scope are counted through
 *      stats.edges, and the data is checked where the order is defined;
 *  (c) Appendix A's worked example with a producer that is still running
 *      when the manual task is wired to it (edges and data);
 *  (d) manual tasks whose boundary producer is still running wait for it
 *      (creator retention, TensorMap lookup, manual_dep, explicit-deps
 *      tasks published at submit, deeper enclosing scopes, including one on
 *      the same ring as the manual scope);
 *  (e) scope membership is exact: on a fresh runtime, a tensor created by task 0:0
 *      is boundary for the first manual submit (creator retention kept);
 *  (f) the publish barrier: a manual task without explicit producers does
 *      not run before its scope ends; one with explicit producers (even
 *      none) runs at once and can be the producer of a later
 *      add_dependency in the same scope.
 */
#include "manual_common.h"

/* ------------------------------------------------------------------------ */
/* (a) outer multi-write regression                                          */
/* ------------------------------------------------------------------------ */

#define MW 128
#define MW_N (MW * MW)

typedef struct multiwrite {
  float a[MW_N], b[MW_N], out[MW_N], result[MW_N], check[4];
} multiwrite;

static pto2_tensor ext2(float *buf) {
  uint32_t shape[2] = {MW, MW};
  return pto2_tensor_external(buf, shape, 2, PTO2_FLOAT32);
}

static pto2_task_id add_manual(pto2_runtime *rt, const pto2_tensor *x, const pto2_tensor *y,
                               const pto2_tensor *out_existing, const pto2_create_info *ci,
                               pto2_tensor *created) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_input(&a, x);
  pto2_arg_add_input(&a, y);
  if (ci) pto2_arg_add_output(&a, ci);
  else pto2_arg_add_output_existing(&a, out_existing);
  pto2_task_id id = pto2_submit_aiv_manual(rt, K_ADD, &a);
  ASSERT_TRUE(pto2_task_id_is_valid(id));
  if (ci) *created = *pto2_arg_output(&a, 0);
  return id;
}

static void set_check(pto2_runtime *rt, const pto2_tensor *check, uint32_t i,
                      const pto2_tensor *src, uint32_t r, uint32_t c) {
  uint32_t idx[2] = {r, c}, ci[1] = {i};
  uint64_t bits = 0;
  ASSERT_EQ_INT(pto2_get_tensor_data(rt, src, idx, &bits), 0);
  ASSERT_EQ_INT(pto2_set_tensor_data(rt, check, ci, bits), 0);
}

static void multiwrite_orch(pto2_runtime *rt, void *arg) {
  multiwrite *mw = arg;
  pto2_tensor a = ext2(mw->a), b = ext2(mw->b), out = ext2(mw->out), result = ext2(mw->result);
  pto2_tensor check = ext1(mw->check, 4);
  uint32_t shape[2] = {MW, MW};
  pto2_create_info ci = pto2_create_info_make(shape, 2, PTO2_FLOAT32);
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
    PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
      pto2_tensor tmp0, tmp1;
      pto2_task_id t0 = add_manual(rt, &a, &a, 0, &ci, &tmp0);       /* 2 */
      pto2_task_id w0 = add_manual(rt, &tmp0, &a, &out, 0, 0);       /* out = 3 */
      ASSERT_EQ_INT(pto2_add_dependency(rt, t0, w0), 0);
      pto2_task_id t1 = add_manual(rt, &b, &b, 0, &ci, &tmp1);       /* 4 */
      pto2_task_id w1 = add_manual(rt, &tmp1, &a, &out, 0, 0);       /* out = 5 */
      ASSERT_EQ_INT(pto2_add_dependency(rt, t1, w1), 0);
      ASSERT_EQ_INT(pto2_add_dependency(rt, w0, w1), 0); /* WAW between the boundary writes */
    }
    pto2_arg x;
    pto2_arg_init(&x);
    pto2_arg_add_input(&x, &out);
    pto2_arg_add_input(&x, &b);
    pto2_arg_add_output_existing(&x, &result);
    ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_ADD, &x)));
    set_check(rt, &check, 0, &out, 0, 0);
    set_check(rt, &check, 1, &result, 0, 0);
    set_check(rt, &check, 2, &out, 0, 100);
  }
}

static void test_outer_multiwrite(pto2_runtime *rt) {
  static multiwrite mw;
  fill_host(mw.a, MW_N, 1.0f);
  fill_host(mw.b, MW_N, 2.0f);
  fill_host(mw.out, MW_N, 0.0f);
  fill_host(mw.result, MW_N, 0.0f);
  fill_host(mw.check, 4, 0.0f);
  pto2_run_stats st;
  ASSERT_EQ_INT(pto2_run(rt, multiwrite_orch, &mw, &st), 0);
  ASSERT_ALL_F32(mw.out, MW_N, 5.0f);
  ASSERT_ALL_F32(mw.result, MW_N, 7.0f);
  ASSERT_EQ_INT((int)mw.check[0], 5);
  ASSERT_EQ_INT((int)mw.check[1], 7);
  ASSERT_EQ_INT((int)mw.check[2], 5);
  ASSERT_EQ_INT((int)mw.check[3], 0);
  ASSERT_EQ_U64(st.tasks, 5);
  /* t0->w0, t1->w1, w0->w1 explicit; the AUTO reader finds w0 and w1. */
  ASSERT_EQ_U64(st.edges, 5);
}

/* ------------------------------------------------------------------------ */
/* (b) boundary matrix (docs/semantics.md, "Scope modes")                    */
/* ------------------------------------------------------------------------ */

#define BN 32

enum col { COL_LOCAL, COL_LOCAL_VIEW, COL_CREATED, COL_CREATED_MD, COL_EXTERNAL, COL_EXTERNAL_MD,
           COL_COUNT };
static const char *const col_names[] = {"manual-local",      "view of manual-local",
                                        "boundary created",  "boundary created + manual_dep",
                                        "boundary external", "boundary external + manual_dep"};
static const pto2_arg_kind kinds[] = {PTO2_ARG_INPUT, PTO2_ARG_INOUT, PTO2_ARG_OUTPUT_EXISTING,
                                      PTO2_ARG_NO_DEP};
static const char *const kind_names[] = {"INPUT", "OUTPUT", "INOUT", "OUTPUT_EXISTING", "NO_DEP"};

/* Producers the manual task M finds.  Program: Q creates T (fill 1), W adds
 * 2 to T (INOUT: creator Q + TensorMap entry), We adds 2 to external Xe
 * (entry); both finished before the scope.  A created boundary tensor has
 * creator Q and writer W; an external one only writer We. */
static unsigned expected_m_edges(enum col c, pto2_arg_kind k) {
  bool lookup = k == PTO2_ARG_INPUT || k == PTO2_ARG_INOUT;
  switch (c) {
    case COL_CREATED: return 1u + lookup;  /* creator Q (every kind) + W if looked up */
    case COL_CREATED_MD: return 1u;        /* creator retention only */
    case COL_EXTERNAL: return lookup;      /* We if looked up */
    default: return 0;                     /* local, or external + manual_dep */
  }
}

/* Producers of an AUTO reader R of T (or Xe) after the scope: creator Q for
 * T, plus every TensorMap entry; M's INOUT removed the entry it covered and
 * replaced it by its own, M's OUTPUT_EXISTING added one. */
static unsigned expected_r_edges(enum col c, pto2_arg_kind k) {
  bool ext = c == COL_EXTERNAL || c == COL_EXTERNAL_MD;
  unsigned base = ext ? 1u : 2u;
  if ((c == COL_CREATED || c == COL_EXTERNAL) && k == PTO2_ARG_OUTPUT_EXISTING) return base + 1;
  return base;
}

typedef struct cell {
  enum col col;
  pto2_arg_kind kind;
  bool reader;
  float xe[BN], e[BN], e2[BN];
  float t_first, t_last; /* T or Xe read after the scope */
} cell;

static void cell_orch(pto2_runtime *rt, void *arg) {
  cell *c = arg;
  pto2_tensor xe = ext1(c->xe, BN), e = ext1(c->e, BN), e2 = ext1(c->e2, BN);
  pto2_create_info ci = ci1(BN);
  pto2_arg a;
  pto2_arg_init(&a); /* Q: T = 1 */
  pto2_arg_add_output(&a, &ci);
  pto2_arg_add_scalar(&a, pto2_u64_from_f32(1.0f));
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_FILL, &a)));
  pto2_tensor t = *pto2_arg_output(&a, 0);
  pto2_arg_init(&a); /* W: T += 2 */
  pto2_arg_add_inout(&a, &t);
  pto2_arg_add_scalar(&a, pto2_u64_from_f32(2.0f));
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_ADDC, &a)));
  pto2_arg_init(&a); /* We: Xe += 2 */
  pto2_arg_add_inout(&a, &xe);
  pto2_arg_add_scalar(&a, pto2_u64_from_f32(2.0f));
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_ADDC, &a)));
  ASSERT_EQ_INT((int)get_f32(rt, &t, 0), 3); /* W and We have finished */
  ASSERT_EQ_INT((int)get_f32(rt, &xe, BN - 1), 3);

  bool ext = c->col == COL_EXTERNAL || c->col == COL_EXTERNAL_MD;
  bool work = c->col == COL_CREATED || c->col == COL_EXTERNAL; /* order defined by the map */
  PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
    pto2_arg_init(&a); /* L: Y = 5, manual-local */
    pto2_arg_add_output(&a, &ci);
    pto2_arg_add_scalar(&a, pto2_u64_from_f32(5.0f));
    ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv_manual(rt, K_FILL, &a)));
    pto2_tensor y = *pto2_arg_output(&a, 0);
    uint32_t half[1] = {BN / 2};
    pto2_tensor x;
    switch (c->col) {
      case COL_LOCAL: x = y; break;
      case COL_LOCAL_VIEW: x = pto2_tensor_view(&y, half, half); break;
      case COL_CREATED: x = t; break;
      case COL_CREATED_MD: x = t; x.manual_dep = true; break;
      case COL_EXTERNAL: x = xe; break;
      default: x = xe; x.manual_dep = true; break;
    }
    ASSERT_TRUE(pto2_tensor_is_valid(&x));
    pto2_arg_init(&a); /* M */
    switch (c->kind) {
      case PTO2_ARG_INPUT: pto2_arg_add_input(&a, &x); break;
      case PTO2_ARG_INOUT: pto2_arg_add_inout(&a, &x); break;
      case PTO2_ARG_OUTPUT_EXISTING: pto2_arg_add_output_existing(&a, &x); break;
      default: pto2_arg_add_no_dep(&a, &x); break;
    }
    int kernel = K_NOOP;
    if (c->kind == PTO2_ARG_INPUT) {
      pto2_arg_add_output_existing(&a, &e); /* external, written only: no producer */
      if (work) kernel = K_COPY;
    } else if (work && c->kind == PTO2_ARG_INOUT) {
      pto2_arg_add_scalar(&a, pto2_u64_from_f32(4.0f));
      kernel = K_ADDC;
    } else if (work && c->kind == PTO2_ARG_OUTPUT_EXISTING) {
      pto2_arg_add_scalar(&a, pto2_u64_from_f32(9.0f));
      kernel = K_FILL;
    }
    ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv_manual(rt, kernel, &a)));
  }
  pto2_tensor target = ext ? xe : t;
  if (c->reader) { /* R: E2 = T (or Xe) */
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &target);
    pto2_arg_add_output_existing(&a, &e2);
    ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_COPY, &a)));
  }
  c->t_first = get_f32(rt, &target, 0);
  c->t_last = get_f32(rt, &target, BN - 1);
}

static void run_cell(pto2_runtime *rt, enum col col, pto2_arg_kind kind, bool reader) {
  static cell c;
  memset(&c, 0, sizeof c);
  c.col = col;
  c.kind = kind;
  c.reader = reader;
  fill_host(c.xe, BN, 1.0f);
  pto2_run_stats st;
  int rc = pto2_run(rt, cell_orch, &c, &st);
  if (rc) TEST_FAIL("cell %s x %s: rc %d (%s)", kind_names[kind], col_names[col], rc,
                    pto2_error_message(rt));
  unsigned want = 1 + expected_m_edges(col, kind) + (reader ? expected_r_edges(col, kind) : 0);
  if (st.edges != want)
    TEST_FAIL("cell %s x %s%s: %llu edges, expected %u (W<-Q: 1, M: %u, R: %u)", kind_names[kind],
              col_names[col], reader ? " + AUTO reader" : "", (unsigned long long)st.edges, want,
              expected_m_edges(col, kind), reader ? expected_r_edges(col, kind) : 0);
  ASSERT_EQ_U64(st.tasks, 5 + (reader ? 1 : 0));
  bool work = col == COL_CREATED || col == COL_EXTERNAL;
  float after = 3.0f;
  if (work && kind == PTO2_ARG_INOUT) after = 7.0f;
  if (work && kind == PTO2_ARG_OUTPUT_EXISTING) after = 9.0f;
  ASSERT_EQ_INT((int)c.t_first, (int)after);
  ASSERT_EQ_INT((int)c.t_last, (int)after);
  if (work && kind == PTO2_ARG_INPUT) ASSERT_ALL_F32(c.e, BN, 3.0f); /* M waited for W / We */
  if (reader) ASSERT_ALL_F32(c.e2, BN, after);                        /* R waited for M */
}

static void test_boundary_matrix(pto2_runtime *rt) {
  for (unsigned col = 0; col < COL_COUNT; col++)
    for (unsigned k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
      for (int reader = 0; reader < 2; reader++)
        run_cell(rt, (enum col)col, kinds[k], reader);
}

/* Manual-local data needs explicit edges: L (Y = 5) -> M1 (Y += 1, INOUT)
 * -> M2 (E = Y).  Exactly the two explicit edges exist. */
typedef struct local_chain {
  float e[BN];
} local_chain;

static void local_chain_orch(pto2_runtime *rt, void *arg) {
  local_chain *lc = arg;
  pto2_tensor e = ext1(lc->e, BN);
  pto2_create_info ci = ci1(BN);
  PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_output(&a, &ci);
    pto2_arg_add_scalar(&a, pto2_u64_from_f32(5.0f));
    pto2_task_id l = pto2_submit_aiv_manual(rt, K_FILL, &a);
    pto2_tensor y = *pto2_arg_output(&a, 0);
    pto2_arg_init(&a);
    pto2_arg_add_inout(&a, &y);
    pto2_arg_add_scalar(&a, pto2_u64_from_f32(1.0f));
    pto2_task_id m1 = pto2_submit_aiv_manual(rt, K_ADDC, &a);
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &y);
    pto2_arg_add_output_existing(&a, &e);
    pto2_task_id m2 = pto2_submit_aiv_manual(rt, K_COPY, &a);
    /* Declared out of submission order on purpose: wiring is immediate. */
    ASSERT_EQ_INT(pto2_add_dependency(rt, m1, m2), 0);
    ASSERT_EQ_INT(pto2_add_dependency(rt, l, m1), 0);
    ASSERT_EQ_INT(pto2_add_dependency(rt, l, m1), 0); /* duplicate: ignored */
  }
}

static void test_local_chain(pto2_runtime *rt) {
  static local_chain lc;
  fill_host(lc.e, BN, 0.0f);
  pto2_run_stats st;
  ASSERT_EQ_INT(pto2_run(rt, local_chain_orch, &lc, &st), 0);
  ASSERT_ALL_F32(lc.e, BN, 6.0f);
  ASSERT_EQ_U64(st.tasks, 3);
  ASSERT_EQ_U64(st.edges, 2);
}

/* ------------------------------------------------------------------------ */
/* (c) Appendix A                                                            */
/* ------------------------------------------------------------------------ */

typedef struct appendix_a {
  float z[BN];
  atomic_int gate, p_done;
  int p_done_when_wired;
  float x_val, y_val, z_val, c_val[BN];
} appendix_a;

static void appendix_a_orch(pto2_runtime *rt, void *arg) {
  appendix_a *s = arg;
  pto2_tensor z = ext1(s->z, BN);
  pto2_create_info ci = ci1(BN);
  pto2_arg a;
  pto2_arg_init(&a); /* W: Z += 2 (Z = 3), finished before the scope */
  pto2_arg_add_inout(&a, &z);
  pto2_arg_add_scalar(&a, pto2_u64_from_f32(2.0f));
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_ADDC, &a)));
  ASSERT_EQ_INT((int)get_f32(rt, &z, 0), 3);
  pto2_arg_init(&a); /* P: X = 1 once the gate opens, ~20 ms later */
  pto2_arg_add_output(&a, &ci);
  pto2_arg_add_scalar(&a, pto2_u64_from_f32(1.0f));
  pto2_arg_add_scalar(&a, ptr_scalar(&s->gate));
  pto2_arg_add_scalar(&a, 20);
  pto2_arg_add_scalar(&a, ptr_scalar(&s->p_done));
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_GATE_FILL, &a)));
  pto2_tensor x = *pto2_arg_output(&a, 0);
  PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
    pto2_arg_init(&a); /* A: Y = X + X */
    pto2_arg_add_input(&a, &x);
    pto2_arg_add_input(&a, &x);
    pto2_arg_add_output(&a, &ci);
    pto2_task_id ta = pto2_submit_aiv_manual(rt, K_ADD, &a);
    pto2_tensor y = *pto2_arg_output(&a, 0);
    pto2_arg_init(&a); /* B: Z += Y */
    pto2_arg_add_input(&a, &y);
    pto2_arg_add_inout(&a, &z);
    pto2_task_id tb = pto2_submit_aiv_manual(rt, K_ACC, &a);
    ASSERT_TRUE(pto2_task_id_is_valid(ta) && pto2_task_id_is_valid(tb));
    ASSERT_EQ_INT(pto2_add_dependency(rt, ta, tb), 0);
    s->p_done_when_wired = atomic_load(&s->p_done);
  }
  atomic_store(&s->gate, 1);
  pto2_arg_init(&a); /* C: Cout = Z + Z, AUTO, finds B through the TensorMap */
  pto2_arg_add_input(&a, &z);
  pto2_arg_add_input(&a, &z);
  pto2_arg_add_output(&a, &ci);
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_ADD, &a)));
  pto2_tensor cout = *pto2_arg_output(&a, 0);
  for (uint32_t i = 0; i < BN; i++) s->c_val[i] = get_f32(rt, &cout, i);
  s->x_val = get_f32(rt, &x, BN - 1);
  s->z_val = get_f32(rt, &z, BN - 1);
}

static void test_appendix_a(pto2_runtime *rt) {
  static appendix_a s;
  memset(&s, 0, sizeof s);
  fill_host(s.z, BN, 1.0f);
  pto2_run_stats st;
  ASSERT_EQ_INT(pto2_run(rt, appendix_a_orch, &s, &st), 0);
  ASSERT_EQ_INT(s.p_done_when_wired, 0); /* A was wired to a producer that had not finished */
  ASSERT_EQ_INT(atomic_load(&s.p_done), 1);
  ASSERT_EQ_U64(st.tasks, 5);
  /* A<-P (creator), B<-W (lookup), A->B (explicit), C<-B (lookup). */
  ASSERT_EQ_U64(st.edges, 4);
  ASSERT_EQ_INT((int)s.x_val, 1);
  ASSERT_EQ_INT((int)s.z_val, 5);
  ASSERT_ALL_F32(s.z, BN, 5.0f);
  ASSERT_ALL_F32(s.c_val, BN, 10.0f);
}

/* ------------------------------------------------------------------------ */
/* (d) a running boundary producer holds back the manual task                */
/* ------------------------------------------------------------------------ */

enum wait_variant { WV_CREATOR, WV_LOOKUP, WV_MANUAL_DEP, WV_EXPLICIT_PUBLISHED, WV_DEEP,
                    WV_SAME_RING, WV_COUNT };
static const char *const wv_names[] = {
    "creator retention", "TensorMap lookup", "creator retention with manual_dep",
    "explicit deps (published at submit)", "producer in an enclosing AUTO scope at depth 2",
    "producer at depth 4, MANUAL at depth 5 (both on ring 3)"};

typedef struct waiter {
  enum wait_variant v;
  float xe[BN], e[BN];
  atomic_int gate, p_done;
  int observed, p_done_at_submit;
} waiter;

static void waiter_body(pto2_runtime *rt, waiter *w) {
  pto2_tensor xe = ext1(w->xe, BN), e = ext1(w->e, BN);
  pto2_create_info ci = ci1(BN);
  pto2_arg a;
  pto2_arg_init(&a); /* P: X = 4 after the gate and 10 ms */
  if (w->v == WV_LOOKUP) pto2_arg_add_output_existing(&a, &xe);
  else pto2_arg_add_output(&a, &ci);
  pto2_arg_add_scalar(&a, pto2_u64_from_f32(4.0f));
  pto2_arg_add_scalar(&a, ptr_scalar(&w->gate));
  pto2_arg_add_scalar(&a, 10);
  pto2_arg_add_scalar(&a, ptr_scalar(&w->p_done));
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_GATE_FILL, &a)));
  pto2_tensor x = w->v == WV_LOOKUP ? xe : *pto2_arg_output(&a, 0);
  if (w->v == WV_MANUAL_DEP) x.manual_dep = true;
  PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
    pto2_arg_init(&a); /* M: records whether P had finished when it started; E = X */
    pto2_arg_add_input(&a, &x);
    pto2_arg_add_output_existing(&a, &e);
    pto2_arg_add_scalar(&a, ptr_scalar(&w->p_done));
    pto2_arg_add_scalar(&a, ptr_scalar(&w->observed));
    if (w->v == WV_EXPLICIT_PUBLISHED) pto2_arg_set_deps(&a, NULL, 0);
    ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv_manual(rt, K_OBSERVE_COPY, &a)));
    w->p_done_at_submit = atomic_load(&w->p_done);
    if (w->v == WV_EXPLICIT_PUBLISHED) atomic_store(&w->gate, 1); /* M is live already */
  }
  atomic_store(&w->gate, 1);
}

static void waiter_nested(pto2_runtime *rt, waiter *w, int extra_scopes) {
  if (!extra_scopes) {
    waiter_body(rt, w);
    return;
  }
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) { waiter_nested(rt, w, extra_scopes - 1); }
}

static void waiter_orch(pto2_runtime *rt, void *arg) {
  waiter *w = arg;
  waiter_nested(rt, w, w->v == WV_DEEP ? 1 : w->v == WV_SAME_RING ? 3 : 0);
}

static void test_waits_for_running_producer(pto2_runtime *rt) {
  for (int v = 0; v < WV_COUNT; v++) {
    static waiter w;
    memset(&w, 0, sizeof w);
    w.v = (enum wait_variant)v;
    w.observed = -1;
    pto2_run_stats st;
    int rc = pto2_run(rt, waiter_orch, &w, &st);
    if (rc) TEST_FAIL("%s: rc %d (%s)", wv_names[v], rc, pto2_error_message(rt));
    if (w.p_done_at_submit != 0 || w.observed != 1)
      TEST_FAIL("%s: producer done at submit %d (want 0), seen done by the manual task %d "
                "(want 1)",
                wv_names[v], w.p_done_at_submit, w.observed);
    ASSERT_ALL_F32(w.e, BN, 4.0f);
    ASSERT_EQ_U64(st.tasks, 2);
    ASSERT_EQ_U64(st.edges, 1);
  }
}

/* ------------------------------------------------------------------------ */
/* (e) exact scope membership on a fresh runtime                            */
/* ------------------------------------------------------------------------ */

static void test_first_task_owner(void) {
  pto2_runtime *rt = make_runtime(0); /* ring 0 local 0 is the first root task */
  static waiter w;
  memset(&w, 0, sizeof w);
  w.v = WV_CREATOR;
  w.observed = -1;
  pto2_run_stats st;
  ASSERT_EQ_INT(pto2_run(rt, waiter_orch, &w, &st), 0);
  ASSERT_EQ_INT(w.p_done_at_submit, 0);
  ASSERT_EQ_INT(w.observed, 1);
  ASSERT_ALL_F32(w.e, BN, 4.0f);
  ASSERT_EQ_U64(st.edges, 1);
  pto2_runtime_destroy(rt);
}

/* ------------------------------------------------------------------------ */
/* (f) the publish barrier                                                   */
/* ------------------------------------------------------------------------ */

typedef struct barrier_ctx {
  atomic_int deferred_ran, live_ran;
  int deferred_ran_in_scope, live_ran_in_scope;
  float e[BN];
} barrier_ctx;

/* Sleeps up to `ms` or until *flag is set; returns the flag. */
static int poll_flag(atomic_int *flag, int ms) {
  for (int i = 0; i < ms && !atomic_load(flag); i++) sleep_ms(1);
  return atomic_load(flag);
}

static void barrier_orch(pto2_runtime *rt, void *arg) {
  barrier_ctx *b = arg;
  pto2_tensor e = ext1(b->e, BN);
  pto2_create_info ci = ci1(BN);
  PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
    pto2_arg a;
    pto2_arg_init(&a); /* D: deferred, sets deferred_ran */
    pto2_arg_add_scalar(&a, 0);
    pto2_arg_add_scalar(&a, 0);
    pto2_arg_add_scalar(&a, 0);
    pto2_arg_add_scalar(&a, ptr_scalar(&b->deferred_ran));
    ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv_manual(rt, K_GATE_FILL, &a)));
    pto2_arg_init(&a); /* L: live at submit (no producers given), Y = 8 */
    pto2_arg_add_output(&a, &ci);
    pto2_arg_add_scalar(&a, pto2_u64_from_f32(8.0f));
    pto2_arg_add_scalar(&a, 0);
    pto2_arg_add_scalar(&a, 0);
    pto2_arg_add_scalar(&a, ptr_scalar(&b->live_ran));
    pto2_arg_set_deps(&a, NULL, 0);
    pto2_task_id l = pto2_submit_aiv_manual(rt, K_GATE_FILL, &a);
    ASSERT_TRUE(pto2_task_id_is_valid(l));
    pto2_tensor y = *pto2_arg_output(&a, 0);
    b->live_ran_in_scope = poll_flag(&b->live_ran, 5000);
    b->deferred_ran_in_scope = poll_flag(&b->deferred_ran, 30);
    pto2_arg_init(&a); /* C: deferred, E = Y; ordered after the running L explicitly */
    pto2_arg_add_input(&a, &y);
    pto2_arg_add_output_existing(&a, &e);
    pto2_task_id c = pto2_submit_aiv_manual(rt, K_COPY, &a);
    ASSERT_TRUE(pto2_task_id_is_valid(c));
    ASSERT_EQ_INT(pto2_add_dependency(rt, l, c), 0);
  }
}

static void test_publish_barrier(pto2_runtime *rt) {
  static barrier_ctx b;
  memset(&b, 0, sizeof b);
  pto2_run_stats st;
  ASSERT_EQ_INT(pto2_run(rt, barrier_orch, &b, &st), 0);
  ASSERT_EQ_INT(b.live_ran_in_scope, 1);     /* explicit producers: published at submit */
  ASSERT_EQ_INT(b.deferred_ran_in_scope, 0); /* held back until the scope ended */
  ASSERT_EQ_INT(atomic_load(&b.deferred_ran), 1);
  ASSERT_ALL_F32(b.e, BN, 8.0f);
  ASSERT_EQ_U64(st.tasks, 3);
  ASSERT_EQ_U64(st.edges, 1);
}

int main(void) {
  test_first_task_owner();
  printf("(e) first task's tensor is boundary: ok\n");
  pto2_runtime *rt = make_runtime(0);
  test_outer_multiwrite(rt);
  printf("(a) outer multi-write: ok\n");
  test_boundary_matrix(rt);
  test_local_chain(rt);
  printf("(b) boundary matrix: ok\n");
  test_appendix_a(rt);
  printf("(c) Appendix A: ok\n");
  test_waits_for_running_producer(rt);
  printf("(d) running boundary producer: ok\n");
  test_publish_barrier(rt);
  printf("(f) publish barrier: ok\n");
  pto2_runtime_destroy(rt);
  TEST_PASS("test_manual_boundary");
}
