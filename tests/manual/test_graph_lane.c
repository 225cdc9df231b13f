/*
 * The explicit-graph lane (PTO2_SCOPE_GRAPH, docs/semantics.md "Scope modes") and explicit
 * producers ("deps at submit"):
 *  - plain submits in a GRAPH scope find no dependencies (no creator, no
 *    TensorMap lookup or insert); edges come only from pto2_add_dependency;
 *  - chains (forward and backward in submission order) and diamonds run in
 *    edge order and compute the right data;
 *  - a fan-in of exactly 16 works; a 17th producer fails with
 *    PTO2_E_DEPENDENCY_OVERFLOW instead of dropping the edge, also when the first producers were given at submit;
 *  - producers in an earlier, ended GRAPH scope: finished ones count as an
 *    edge and are not waited for; running ones are waited for;
 *  - duplicate edges are counted once (live, finished, at submit + later);
 *  - a tiny dependency pool (8 entries, window 16) with many edges across
 *    scopes completes in order (pool space is waited for, never overrun);
 *  - pto2_arg_add_dep orders tasks that share no tensor, in AUTO, MANUAL and
 *    GRAPH scopes (flag written through a raw pointer);
 *  - add_dependency onto a published consumer fails with "already published";
 *  - nested scopes: an inner GRAPH task as producer of an outer, still
 *    unpublished GRAPH task; an AUTO task inside a GRAPH scope waiting (deps
 *    at submit) for an unpublished GRAPH task; GRAPH tasks, even with
 *    producers given at submit, do not run before their scope ends.
 */
#include "manual_common.h"

#define GN 32

static void wait_flag(atomic_int *flag) {
  for (int i = 0; i < 5000 && !atomic_load(flag); i++) sleep_ms(1);
  ASSERT_EQ_INT(atomic_load(flag), 1);
}


static int64_t step_ref(int64_t x, int64_t s) { return (int64_t)((uint64_t)x * 3u + (uint64_t)s); }

/* ------------------------------------------------------------------------ */
/* Chains and diamonds                                                       */
/* ------------------------------------------------------------------------ */

#define CHAIN 12

typedef struct chain_ctx {
  bool backward;
  int64_t x[1];
} chain_ctx;

static void chain_orch(pto2_runtime *rt, void *arg) {
  chain_ctx *c = arg;
  pto2_tensor x = ext_i64(c->x, 1);
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
    pto2_task_id t[CHAIN];
    for (int i = 0; i < CHAIN; i++) t[i] = submit_step(rt, &x, i + 1, false);
    for (int i = 1; i < CHAIN; i++) {
      /* forward: t0 -> t1 -> ...; backward: t11 -> t10 -> ... -> t0 */
      if (c->backward) ASSERT_EQ_INT(pto2_add_dependency(rt, t[CHAIN - i], t[CHAIN - i - 1]), 0);
      else ASSERT_EQ_INT(pto2_add_dependency(rt, t[i - 1], t[i]), 0);
    }
  }
}

static void test_chains(pto2_runtime *rt) {
  for (int backward = 0; backward < 2; backward++) {
    chain_ctx c = {backward, {0}};
    pto2_run_stats st;
    ASSERT_EQ_INT(pto2_run(rt, chain_orch, &c, &st), 0);
    int64_t want = 0;
    for (int i = 0; i < CHAIN; i++) want = step_ref(want, backward ? CHAIN - i : i + 1);
    ASSERT_EQ_I64(c.x[0], want);
    ASSERT_EQ_U64(st.tasks, CHAIN);
    ASSERT_EQ_U64(st.edges, CHAIN - 1);
  }
}

typedef struct diamond_ctx {
  float e[GN];
} diamond_ctx;

/* A: a = 1; B: b = a + a; C: c = a; D: e = b + c.  Only the four explicit
 * edges exist: the created tensors do not make B, C, D wait for A. */
static void diamond_orch(pto2_runtime *rt, void *arg) {
  diamond_ctx *d = arg;
  pto2_tensor e = ext1(d->e, GN);
  pto2_create_info ci = ci1(GN);
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_output(&a, &ci);
    pto2_arg_add_scalar(&a, pto2_u64_from_f32(1.0f));
    pto2_task_id ta = pto2_submit_aiv(rt, K_FILL, &a);
    pto2_tensor ta_out = *pto2_arg_output(&a, 0);
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &ta_out);
    pto2_arg_add_input(&a, &ta_out);
    pto2_arg_add_output(&a, &ci);
    pto2_task_id tb = pto2_submit_aiv(rt, K_ADD, &a);
    pto2_tensor tb_out = *pto2_arg_output(&a, 0);
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &ta_out);
    pto2_arg_add_output(&a, &ci);
    pto2_task_id tc = pto2_submit_aiv(rt, K_COPY, &a);
    pto2_tensor tc_out = *pto2_arg_output(&a, 0);
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &tb_out);
    pto2_arg_add_input(&a, &tc_out);
    pto2_arg_add_output_existing(&a, &e);
    pto2_task_id td = pto2_submit_aiv(rt, K_ADD, &a);
    /* Declared bottom-up, after every submit. */
    ASSERT_EQ_INT(pto2_add_dependency(rt, tc, td), 0);
    ASSERT_EQ_INT(pto2_add_dependency(rt, tb, td), 0);
    ASSERT_EQ_INT(pto2_add_dependency(rt, ta, tc), 0);
    ASSERT_EQ_INT(pto2_add_dependency(rt, ta, tb), 0);
  }
}

static void test_diamond(pto2_runtime *rt) {
  for (int rep = 0; rep < 20; rep++) {
    diamond_ctx d;
    fill_host(d.e, GN, 0.0f);
    pto2_run_stats st;
    ASSERT_EQ_INT(pto2_run(rt, diamond_orch, &d, &st), 0);
    ASSERT_ALL_F32(d.e, GN, 3.0f);
    ASSERT_EQ_U64(st.tasks, 4);
    ASSERT_EQ_U64(st.edges, 4);
  }
}

/* No implicit dependencies inside GRAPH: a task reading a created tensor of
 * the root scope and an external tensor with a TensorMap entry, and writing
 * an external tensor, gets no edge and records no write; an AUTO reader
 * after the scope finds only the AUTO writer and the creator. */
typedef struct implicit_ctx {
  float xe[GN], e[GN];
} implicit_ctx;

static void no_implicit_orch(pto2_runtime *rt, void *arg) {
  implicit_ctx *c = arg;
  pto2_tensor xe = ext1(c->xe, GN), e = ext1(c->e, GN);
  pto2_create_info ci = ci1(GN);
  pto2_arg a;
  pto2_arg_init(&a); /* Q: T = 2 */
  pto2_arg_add_output(&a, &ci);
  pto2_arg_add_scalar(&a, pto2_u64_from_f32(2.0f));
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_FILL, &a)));
  pto2_tensor t = *pto2_arg_output(&a, 0);
  pto2_arg_init(&a); /* W: Xe += 1 */
  pto2_arg_add_inout(&a, &xe);
  pto2_arg_add_scalar(&a, pto2_u64_from_f32(1.0f));
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_ADDC, &a)));
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
    pto2_arg_init(&a); /* G touches nothing: the kernel is a no-op */
    pto2_arg_add_input(&a, &t);
    pto2_arg_add_inout(&a, &xe);
    pto2_arg_add_output_existing(&a, &e);
    pto2_arg_add_no_dep(&a, &t);
    ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_NOOP, &a)));
  }
  pto2_arg_init(&a); /* R: E = Xe + T, finds W (lookup) and Q (creator), not G */
  pto2_arg_add_input(&a, &xe);
  pto2_arg_add_input(&a, &t);
  pto2_arg_add_output_existing(&a, &e);
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_ADD, &a)));
}

static void test_no_implicit_deps(pto2_runtime *rt) {
  implicit_ctx c;
  fill_host(c.xe, GN, 1.0f);
  fill_host(c.e, GN, 0.0f);
  pto2_run_stats st;
  ASSERT_EQ_INT(pto2_run(rt, no_implicit_orch, &c, &st), 0);
  ASSERT_EQ_U64(st.tasks, 4);
  ASSERT_EQ_U64(st.edges, 2);
  ASSERT_ALL_F32(c.e, GN, 4.0f);
}

/* ------------------------------------------------------------------------ */
/* Fan-in                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct fanin_ctx {
  int producers;   /* 16 or 17 */
  int at_submit;   /* producers given with pto2_arg_add_dep on the consumer */
  float rows[17 * GN], out[GN];
} fanin_ctx;

static void fanin_orch(pto2_runtime *rt, void *arg) {
  fanin_ctx *f = arg;
  uint32_t shape[2] = {(uint32_t)f->producers, GN};
  pto2_tensor rows = pto2_tensor_external(f->rows, shape, 2, PTO2_FLOAT32);
  pto2_tensor out = ext1(f->out, GN);
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
    pto2_task_id p[17];
    for (int i = 0; i < f->producers; i++) { /* row i = i + 1 */
      pto2_tensor row = pto2_tensor_view2(&rows, 1, GN, (uint32_t)i, 0);
      pto2_arg a;
      pto2_arg_init(&a);
      pto2_arg_add_output_existing(&a, &row);
      pto2_arg_add_scalar(&a, pto2_u64_from_f32((float)(i + 1)));
      p[i] = pto2_submit_aiv(rt, K_FILL, &a);
      ASSERT_TRUE(pto2_task_id_is_valid(p[i]));
    }
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &rows);
    pto2_arg_add_output_existing(&a, &out);
    for (int i = 0; i < f->at_submit; i++) pto2_arg_add_dep(&a, p[i]);
    pto2_task_id c = pto2_submit_aiv(rt, K_SUM_ROWS, &a);
    ASSERT_TRUE(pto2_task_id_is_valid(c));
    int limit = f->producers < PTO2_MAX_FANIN ? f->producers : PTO2_MAX_FANIN;
    for (int i = f->at_submit; i < limit; i++) ASSERT_EQ_INT(pto2_add_dependency(rt, p[i], c), 0);
    if (f->producers > PTO2_MAX_FANIN) {
      ASSERT_EQ_INT(pto2_add_dependency(rt, p[0], c), 0); /* duplicate: still fine */
      ASSERT_EQ_INT(pto2_add_dependency(rt, p[PTO2_MAX_FANIN], c), PTO2_E_DEPENDENCY_OVERFLOW);
      ASSERT_STR_CONTAINS(pto2_error_message(rt), "explicit add_dependency");
    }
  }
}

static void test_fanin(pto2_runtime *rt) {
  static fanin_ctx f;
  for (int at_submit = 0; at_submit <= 16; at_submit += 8) {
    memset(&f, 0, sizeof f);
    f.producers = 16;
    f.at_submit = at_submit;
    pto2_run_stats st;
    ASSERT_EQ_INT(pto2_run(rt, fanin_orch, &f, &st), 0);
    ASSERT_ALL_F32(f.out, GN, 136.0f); /* 1 + 2 + ... + 16 */
    ASSERT_EQ_U64(st.tasks, 17);
    ASSERT_EQ_U64(st.edges, 16);
  }
  for (int at_submit = 0; at_submit <= 10; at_submit += 10) {
    memset(&f, 0, sizeof f);
    f.producers = 17;
    f.at_submit = at_submit;
    expect_failed_run(rt, fanin_orch, &f, PTO2_E_DEPENDENCY_OVERFLOW, "explicit add_dependency");
  }
}

/* 17 producers given at submit: the argument builder refuses the 17th. */
static void fanin_at_submit_17(pto2_runtime *rt, void *arg) {
  (void)arg;
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
    pto2_arg a;
    pto2_arg_init(&a);
    for (int i = 0; i < 17; i++) {
      pto2_arg n;
      pto2_arg_init(&n);
      pto2_arg_add_dep(&a, pto2_submit_aiv(rt, K_NOOP, &n));
    }
    ASSERT_TRUE(pto2_arg_error(&a) != NULL);
    ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(rt, K_NOOP, &a)));
  }
}

/* ------------------------------------------------------------------------ */
/* Producers in earlier scopes; duplicate edges                              */
/* ------------------------------------------------------------------------ */

typedef struct earlier_ctx {
  int variant; /* 0: finished producer, 1: running producer, 2: finished, edge
                  given twice, 3: finished, at submit and again by add_dependency */
  float xe[GN], e[GN];
  atomic_int gate, p_done;
  int observed, p_done_at_wiring;
} earlier_ctx;

static void earlier_orch(pto2_runtime *rt, void *arg) {
  earlier_ctx *c = arg;
  pto2_tensor xe = ext1(c->xe, GN), e = ext1(c->e, GN);
  pto2_task_id p = PTO2_TASK_ID_INVALID;
  if (c->variant != 1) atomic_store(&c->gate, 1);
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) { /* P: Xe = 6 (after the gate, for variant 1) */
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_output_existing(&a, &xe);
    pto2_arg_add_scalar(&a, pto2_u64_from_f32(6.0f));
    pto2_arg_add_scalar(&a, ptr_scalar(&c->gate));
    pto2_arg_add_scalar(&a, c->variant == 1 ? 10 : 0);
    pto2_arg_add_scalar(&a, ptr_scalar(&c->p_done));
    p = pto2_submit_aiv(rt, K_GATE_FILL, &a);
    ASSERT_TRUE(pto2_task_id_is_valid(p));
  }
  if (c->variant != 1) {
    wait_flag(&c->p_done);
    sleep_ms(5); /* usually long enough for P to retire as well */
  }
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) { /* C: E = Xe, only through the explicit edge */
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &xe);
    pto2_arg_add_output_existing(&a, &e);
    pto2_arg_add_scalar(&a, ptr_scalar(&c->p_done));
    pto2_arg_add_scalar(&a, ptr_scalar(&c->observed));
    if (c->variant == 3) pto2_arg_add_dep(&a, p);
    pto2_task_id cid = pto2_submit_aiv(rt, K_OBSERVE_COPY, &a);
    ASSERT_TRUE(pto2_task_id_is_valid(cid));
    ASSERT_EQ_INT(pto2_add_dependency(rt, p, cid), 0);
    if (c->variant == 2) ASSERT_EQ_INT(pto2_add_dependency(rt, p, cid), 0);
    c->p_done_at_wiring = atomic_load(&c->p_done);
  }
  atomic_store(&c->gate, 1);
}

static void test_earlier_scope_producers(pto2_runtime *rt) {
  static const char *names[] = {"finished producer", "running producer",
                                "finished producer, edge given twice",
                                "finished producer, at submit and by add_dependency"};
  for (int v = 0; v < 4; v++) {
    for (int rep = 0; rep < 5; rep++) {
      static earlier_ctx c;
      memset(&c, 0, sizeof c);
      c.variant = v;
      c.observed = -1;
      fill_host(c.xe, GN, 0.0f);
      pto2_run_stats st;
      int rc = pto2_run(rt, earlier_orch, &c, &st);
      if (rc) TEST_FAIL("%s: rc %d (%s)", names[v], rc, pto2_error_message(rt));
      ASSERT_EQ_INT(c.observed, 1);
      ASSERT_EQ_INT(c.p_done_at_wiring, v == 1 ? 0 : 1);
      ASSERT_ALL_F32(c.e, GN, 6.0f);
      ASSERT_EQ_U64(st.tasks, 2);
      if (st.edges != 1)
        TEST_FAIL("%s (rep %d): %llu edges, expected 1 distinct producer -> consumer pair",
                  names[v], rep, (unsigned long long)st.edges);
    }
  }
}

/* Duplicates of live producers in one scope, through add_dependency and
 * through producers given at submit. */
typedef struct dup_ctx {
  int64_t x[1];
} dup_ctx;

static void dup_orch(pto2_runtime *rt, void *arg) {
  dup_ctx *d = arg;
  pto2_tensor x = ext_i64(d->x, 1);
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
    pto2_task_id a = submit_step(rt, &x, 1, false);
    pto2_arg g;
    pto2_arg_init(&g);
    pto2_arg_add_inout(&g, &x);
    pto2_arg_add_scalar(&g, 2);
    pto2_arg_add_dep(&g, a);
    pto2_arg_add_dep(&g, a); /* duplicate at submit */
    pto2_task_id b = pto2_submit_aiv(rt, K_STEP, &g);
    ASSERT_TRUE(pto2_task_id_is_valid(b));
    pto2_task_id c = submit_step(rt, &x, 3, false);
    for (int i = 0; i < 3; i++) {
      ASSERT_EQ_INT(pto2_add_dependency(rt, a, b), 0); /* duplicates of the submit edge */
      ASSERT_EQ_INT(pto2_add_dependency(rt, b, c), 0);
    }
  }
}

static void test_duplicates(pto2_runtime *rt) {
  dup_ctx d = {{0}};
  pto2_run_stats st;
  ASSERT_EQ_INT(pto2_run(rt, dup_orch, &d, &st), 0);
  ASSERT_EQ_I64(d.x[0], step_ref(step_ref(step_ref(0, 1), 2), 3));
  ASSERT_EQ_U64(st.tasks, 3);
  ASSERT_EQ_U64(st.edges, 2);
}

/* ------------------------------------------------------------------------ */
/* Tiny dependency pool                                                      */
/* ------------------------------------------------------------------------ */

#define TINY_SCOPES 40
#define TINY_PER_SCOPE 3

typedef struct tiny_ctx {
  int64_t x[1];
} tiny_ctx;

/* Each scope: a chain of 3 steps; its first step also waits for the
 * previous scope's last one (by add_dependency, or given at submit in odd
 * scopes).  Every step must run in global order. */
static void tiny_orch(pto2_runtime *rt, void *arg) {
  tiny_ctx *c = arg;
  pto2_tensor x = ext_i64(c->x, 1);
  pto2_task_id prev = PTO2_TASK_ID_INVALID;
  int64_t s = 1;
  for (int k = 0; k < TINY_SCOPES; k++) {
    PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
      pto2_task_id t[TINY_PER_SCOPE];
      for (int i = 0; i < TINY_PER_SCOPE; i++) {
        if (i == 0 && (k & 1) && pto2_task_id_is_valid(prev)) {
          pto2_arg a;
          pto2_arg_init(&a);
          pto2_arg_add_inout(&a, &x);
          pto2_arg_add_scalar(&a, (uint64_t)s++);
          pto2_arg_add_dep(&a, prev);
          t[i] = pto2_submit_aiv(rt, K_STEP, &a);
          ASSERT_TRUE(pto2_task_id_is_valid(t[i]));
        } else {
          t[i] = submit_step(rt, &x, s++, false);
        }
      }
      if (!(k & 1) && pto2_task_id_is_valid(prev))
        ASSERT_EQ_INT(pto2_add_dependency(rt, prev, t[0]), 0);
      for (int i = 1; i < TINY_PER_SCOPE; i++)
        ASSERT_EQ_INT(pto2_add_dependency(rt, t[i - 1], t[i]), 0);
      prev = t[TINY_PER_SCOPE - 1];
    }
  }
}

static void test_tiny_pool(void) {
  pto2_config cfg = {0};
  cfg.dep_pool = 8;
  cfg.task_window = 16;
  pto2_runtime *rt = make_runtime(&cfg);
  for (int rep = 0; rep < 3; rep++) {
    tiny_ctx c = {{0}};
    pto2_run_stats st;
    int rc = pto2_run(rt, tiny_orch, &c, &st);
    if (rc) TEST_FAIL("tiny pool: rc %d (%s)", rc, pto2_error_message(rt));
    int64_t want = 0;
    for (int64_t s = 1; s <= TINY_SCOPES * TINY_PER_SCOPE; s++) want = step_ref(want, s);
    ASSERT_EQ_I64(c.x[0], want);
    ASSERT_EQ_U64(st.tasks, TINY_SCOPES * TINY_PER_SCOPE);
    ASSERT_EQ_U64(st.edges, TINY_SCOPES * TINY_PER_SCOPE - 1);
    for (int r = 0; r < PTO2_RING_COUNT; r++) ASSERT_TRUE(st.ring_dep_high_water[r] <= 8);
  }
  expect_good_run(rt);
  pto2_runtime_destroy(rt);
}

/* ------------------------------------------------------------------------ */
/* Deps at submit: ordering without a shared tensor                          */
/* ------------------------------------------------------------------------ */

typedef struct flag_ctx {
  int mode; /* 0 AUTO, 1 MANUAL (both in scope), 2 MANUAL (producer outside),
               3 GRAPH, 4 producer in a MANUAL scope, consumer a later AUTO task */
  int64_t flag, seen;
} flag_ctx;

static pto2_task_id flag_writer(pto2_runtime *rt, flag_ctx *c, bool manual) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_scalar(&a, ptr_scalar(&c->flag));
  pto2_arg_add_scalar(&a, 42);
  pto2_arg_add_scalar(&a, 20); /* ms */
  pto2_task_id id =
      manual ? pto2_submit_aiv_manual(rt, K_FLAG_WRITE, &a) : pto2_submit_aiv(rt, K_FLAG_WRITE, &a);
  ASSERT_TRUE(pto2_task_id_is_valid(id));
  return id;
}

static void flag_reader(pto2_runtime *rt, flag_ctx *c, pto2_task_id p, bool manual) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_scalar(&a, ptr_scalar(&c->flag));
  pto2_arg_add_scalar(&a, ptr_scalar(&c->seen));
  pto2_arg_add_dep(&a, p);
  pto2_task_id id =
      manual ? pto2_submit_aiv_manual(rt, K_FLAG_READ, &a) : pto2_submit_aiv(rt, K_FLAG_READ, &a);
  ASSERT_TRUE(pto2_task_id_is_valid(id));
}

static void flag_orch(pto2_runtime *rt, void *arg) {
  flag_ctx *c = arg;
  switch (c->mode) {
    case 0:
      flag_reader(rt, c, flag_writer(rt, c, false), false);
      break;
    case 1:
      PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
        /* The writer is published at scope end, the reader at submit. */
        flag_reader(rt, c, flag_writer(rt, c, true), true);
      }
      break;
    case 2: {
      pto2_task_id p = flag_writer(rt, c, false);
      PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) { flag_reader(rt, c, p, true); }
      break;
    }
    case 3:
      PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) { flag_reader(rt, c, flag_writer(rt, c, false), false); }
      break;
    default: {
      pto2_task_id p = PTO2_TASK_ID_INVALID;
      PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) { p = flag_writer(rt, c, true); }
      flag_reader(rt, c, p, false);
      break;
    }
  }
}

static void test_deps_at_submit(pto2_runtime *rt) {
  static const char *names[] = {"AUTO", "MANUAL", "MANUAL, producer outside", "GRAPH",
                                "AUTO consumer of a MANUAL producer"};
  for (int mode = 0; mode < 5; mode++) {
    flag_ctx c = {mode, 0, -1};
    pto2_run_stats st;
    int rc = pto2_run(rt, flag_orch, &c, &st);
    if (rc) TEST_FAIL("%s: rc %d (%s)", names[mode], rc, pto2_error_message(rt));
    if (c.seen != 42) TEST_FAIL("%s: reader saw %lld, expected 42", names[mode], (long long)c.seen);
    ASSERT_EQ_U64(st.tasks, 2);
    ASSERT_EQ_U64(st.edges, 1);
  }
}

/* ------------------------------------------------------------------------ */
/* Published consumers                                                       */
/* ------------------------------------------------------------------------ */

static void published_consumer(pto2_runtime *rt, void *arg) {
  int variant = *(int *)arg;
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_task_id root_task = pto2_submit_aiv(rt, K_NOOP, &a);
  pto2_task_id ended = PTO2_TASK_ID_INVALID;
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
    pto2_arg_init(&a);
    ended = pto2_submit_aiv(rt, K_NOOP, &a);
  }
  if (variant == 0) { /* MANUAL: a task with explicit producers is live at submit */
    PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
      pto2_arg_init(&a);
      pto2_task_id p = pto2_submit_aiv_manual(rt, K_NOOP, &a);
      pto2_arg_init(&a);
      pto2_arg_add_dep(&a, root_task);
      pto2_task_id c = pto2_submit_aiv_manual(rt, K_NOOP, &a);
      ASSERT_EQ_INT(pto2_add_dependency(rt, p, c), PTO2_E_INVALID_ARGS);
    }
    return;
  }
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
    pto2_arg_init(&a);
    pto2_task_id p = pto2_submit_aiv(rt, K_NOOP, &a);
    /* GRAPH consumer from an ended GRAPH scope, or an AUTO task. */
    pto2_task_id c = variant == 1 ? ended : root_task;
    ASSERT_EQ_INT(pto2_add_dependency(rt, p, c), PTO2_E_INVALID_ARGS);
  }
}

static void test_published_consumers(pto2_runtime *rt) {
  for (int v = 0; v < 3; v++)
    expect_failed_run(rt, published_consumer, &v, PTO2_E_INVALID_ARGS, "already published");
}

/* ------------------------------------------------------------------------ */
/* Nested scopes and the publish barrier                                     */
/* ------------------------------------------------------------------------ */

typedef struct nested_ctx {
  int64_t x[1];
  int64_t flag, seen;
  atomic_int ran;
  int ran_in_scope;
} nested_ctx;

/* GRAPH { A; GRAPH { B; B -> A }; C; A -> C }: order B, A, C.  Then
 * GRAPH { P (flag = 42, 20 ms); AUTO { R reads the flag, deps at submit: P } }
 * and GRAPH { G (explicit producers: none) } must not run inside its scope. */
static void nested_orch(pto2_runtime *rt, void *arg) {
  nested_ctx *c = arg;
  pto2_tensor x = ext_i64(c->x, 1);
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
    pto2_task_id a = submit_step(rt, &x, 1, false);
    PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
      pto2_task_id b = submit_step(rt, &x, 2, false);
      ASSERT_EQ_INT(pto2_add_dependency(rt, b, a), 0);
    }
    pto2_task_id cc = submit_step(rt, &x, 3, false);
    ASSERT_EQ_INT(pto2_add_dependency(rt, a, cc), 0);
  }
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_scalar(&a, ptr_scalar(&c->flag));
    pto2_arg_add_scalar(&a, 42);
    pto2_arg_add_scalar(&a, 20);
    pto2_task_id p = pto2_submit_aiv(rt, K_FLAG_WRITE, &a);
    ASSERT_TRUE(pto2_task_id_is_valid(p));
    PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
      pto2_arg_init(&a);
      pto2_arg_add_scalar(&a, ptr_scalar(&c->flag));
      pto2_arg_add_scalar(&a, ptr_scalar(&c->seen));
      pto2_arg_add_dep(&a, p);
      ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_FLAG_READ, &a)));
    }
  }
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_scalar(&a, 0);
    pto2_arg_add_scalar(&a, 0);
    pto2_arg_add_scalar(&a, 0);
    pto2_arg_add_scalar(&a, ptr_scalar(&c->ran));
    pto2_arg_set_deps(&a, NULL, 0);
    ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_GATE_FILL, &a)));
    for (int i = 0; i < 30 && !atomic_load(&c->ran); i++) sleep_ms(1);
    c->ran_in_scope = atomic_load(&c->ran);
  }
}

static void test_nested(pto2_runtime *rt) {
  static nested_ctx c;
  memset(&c, 0, sizeof c);
  c.seen = -1;
  pto2_run_stats st;
  ASSERT_EQ_INT(pto2_run(rt, nested_orch, &c, &st), 0);
  ASSERT_EQ_I64(c.x[0], step_ref(step_ref(step_ref(0, 2), 1), 3));
  ASSERT_EQ_I64(c.seen, 42);
  ASSERT_EQ_INT(c.ran_in_scope, 0);
  ASSERT_EQ_INT(atomic_load(&c.ran), 1);
  ASSERT_EQ_U64(st.tasks, 6);
  ASSERT_EQ_U64(st.edges, 3);
}

int main(void) {
  pto2_runtime *rt = make_runtime(0);
  test_chains(rt);
  test_diamond(rt);
  test_no_implicit_deps(rt);
  printf("chains, diamond, no implicit deps: ok\n");
  test_fanin(rt);
  expect_failed_run(rt, fanin_at_submit_17, 0, PTO2_E_INVALID_ARGS, "Too many explicit producers");
  printf("fan-in 16 / 17: ok\n");
  test_duplicates(rt);
  test_deps_at_submit(rt);
  test_published_consumers(rt);
  printf("duplicates, deps at submit, published consumers: ok\n");
  test_nested(rt);
  printf("nested scopes, publish barrier: ok\n");
  test_tiny_pool();
  printf("tiny dependency pool: ok\n");
  test_earlier_scope_producers(rt);
  printf("earlier-scope producers (finished, running, duplicate edges): ok\n");
  pto2_runtime_destroy(rt);
  TEST_PASS("test_graph_lane");
}
