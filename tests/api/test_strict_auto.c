/*
 * Strict AUTO scopes (PTO2_SCOPE_AUTO_STRICT, pto2_config.auto_strict,
 * PTO2_AUTO_STRICT): write-after-read and write-after-write are ordered
 * without explicit edges.
 *
 *  - Fixed programs: a reader and a later overwrite of what it reads, an
 *    OUTPUT_EXISTING after a write, a blocking set after a reader.  Their
 *    result is the sequential one and the hazard checker finds nothing;
 *    the same programs in a plain AUTO scope are reported (WAR / WAW).
 *  - Randomized sequential equivalence: random programs of INPUT, INOUT,
 *    OUTPUT_EXISTING and OUTPUT accesses (whole tensors, views, views of
 *    reshapes) over caller memory and created buffers, in nested strict
 *    scopes, with blocking get/set between tasks and no explicit ordering
 *    at all, run under the hazard checker (a hazard fails the run) and must
 *    match the same kernels run in program order bit for bit, the values
 *    read by get included.
 *
 * Usage: test_strict_auto [programs per configuration] [seed]
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pto2/pto2.h"
#include "test.h"

enum { K_MIX = 0, K_MIX_AIC = 1, K_COPY_SLOW = 2 };
enum { R = 8, C = 8, NEXT = 3, MAX_ALLOCS = 24, MAX_TASKS = 48, MAX_ARGS = 4, MAX_OPS = 96 };

static inline uint32_t mix(uint32_t h, uint32_t v) {
  h ^= v + 0x9e3779b9u + (h << 6) + (h >> 2);
  return h * 0x85ebca6bu;
}

/* Element (i, j) of a 2-D int32 view. */
static int32_t *at(const pto2_tensor *t, uint32_t i, uint32_t j) {
  return (int32_t *)t->data + (uint64_t)i * pto2_tensor_stride(t, 0) + j;
}

/* scalars[0] = salt, scalars[1 + i] = kind of tensor i.  Hashes every read
 * view, then rewrites every written view from the hash (and, for INOUT,
 * the old value). */
static int k_mix(const pto2_kernel_ctx *k) {
  uint32_t h = (uint32_t)k->scalars[0];
  for (uint32_t a = 0; a < k->tensor_count; a++) {
    unsigned kind = (unsigned)k->scalars[1 + a];
    if (kind != PTO2_ARG_INPUT && kind != PTO2_ARG_INOUT) continue;
    const pto2_tensor *t = &k->tensors[a];
    for (uint32_t i = 0; i < t->shapes[0]; i++)
      for (uint32_t j = 0; j < t->shapes[1]; j++) h = mix(h, (uint32_t)*at(t, i, j));
  }
  for (uint32_t a = 0; a < k->tensor_count; a++) {
    unsigned kind = (unsigned)k->scalars[1 + a];
    if (kind == PTO2_ARG_INPUT) continue;
    const pto2_tensor *t = &k->tensors[a];
    for (uint32_t i = 0; i < t->shapes[0]; i++)
      for (uint32_t j = 0; j < t->shapes[1]; j++) {
        int32_t *e = at(t, i, j);
        uint32_t old = kind == PTO2_ARG_INOUT ? (uint32_t)*e : 0;
        *e = (int32_t)mix(mix(h, old), i * 131 + j * 7 + a);
      }
  }
  return 0;
}

/* t1 = t0, slowly (the reader of the fixed programs). */
static int k_copy_slow(const pto2_kernel_ctx *k) {
  struct timespec ts = {0, 5 * 1000000L};
  nanosleep(&ts, 0);
  const pto2_tensor *s = &k->tensors[0], *d = &k->tensors[1];
  for (uint32_t i = 0; i < s->shapes[0]; i++)
    for (uint32_t j = 0; j < s->shapes[1]; j++) *at(d, i, j) = *at(s, i, j);
  return 0;
}

static int k_noop(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

/* noop: kernels that touch nothing, for programs that race on purpose
 * (only the checker's verdict matters there). */
static pto2_runtime *make_runtime_k(bool auto_strict, pto2_hazard_check check, uint32_t workers,
                                    bool noop) {
  pto2_config cfg = {0};
  cfg.block_dim = 4;
  cfg.worker_threads = workers;
  cfg.auto_strict = auto_strict;
  cfg.hazard_check = check;
  cfg.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&cfg, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_MIX, PTO2_CORE_AIV, "mix", noop ? k_noop : k_mix, 0), 0);
  ASSERT_EQ_INT(
      pto2_kernel_register(rt, K_MIX_AIC, PTO2_CORE_AIC, "mix_aic", noop ? k_noop : k_mix, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_COPY_SLOW, PTO2_CORE_AIV, "copy_slow",
                                     noop ? k_noop : k_copy_slow, 0),
                0);
  return rt;
}

static pto2_runtime *make_runtime(bool auto_strict, pto2_hazard_check check, uint32_t workers) {
  return make_runtime_k(auto_strict, check, workers, false);
}

/* ------------------------------------------------------------------------ */
/* Fixed programs                                                            */
/* ------------------------------------------------------------------------ */

static int32_t X[R * C], Y[R * C];

static pto2_tensor ext(int32_t *p) {
  const uint32_t s[2] = {R, C};
  return pto2_tensor_external(p, s, 2, PTO2_INT32);
}

typedef struct fixed {
  pto2_scope_mode mode;
  int which;
} fixed;

static void submit_mix(pto2_runtime *rt, const pto2_tensor *t, unsigned kind, uint32_t salt) {
  pto2_arg a;
  pto2_arg_init(&a);
  if (kind == PTO2_ARG_INOUT) pto2_arg_add_inout(&a, t);
  else pto2_arg_add_output_existing(&a, t);
  pto2_arg_add_scalar(&a, salt);
  pto2_arg_add_scalar(&a, kind);
  pto2_submit_aiv(rt, K_MIX, &a);
}

static void fixed_orch(pto2_runtime *rt, void *arg) {
  const fixed *f = arg;
  pto2_tensor x = ext(X), y = ext(Y);
  PTO2_SCOPE(rt, f->mode) {
    if (f->which == 2) submit_mix(rt, &x, PTO2_ARG_OUTPUT_EXISTING, 1); /* a first write */
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &x);
    pto2_arg_add_output_existing(&a, &y);
    pto2_submit_aiv(rt, K_COPY_SLOW, &a); /* y = x, slowly */
    pto2_tensor rows = pto2_tensor_view2(&x, 4, C, 2, 0);
    if (f->which == 0) submit_mix(rt, &rows, PTO2_ARG_INOUT, 2);
    if (f->which == 1 || f->which == 2) submit_mix(rt, &rows, PTO2_ARG_OUTPUT_EXISTING, 3);
    if (f->which == 3) {
      const uint32_t idx[2] = {3, 3};
      pto2_set_tensor_data(rt, &x, idx, 12345);
    }
  }
}

/* The expected contents of X and Y after fixed program `which`. */
static void fixed_expect(int which, int32_t *x, int32_t *y) {
  for (int i = 0; i < R * C; i++) x[i] = i;
  pto2_tensor tx = ext(x), ty = ext(y), rows = pto2_tensor_view2(&tx, 4, C, 2, 0);
  uint64_t sc[3] = {1, PTO2_ARG_OUTPUT_EXISTING, 0};
  pto2_kernel_ctx k = {&tx, sc, 1, 3, 0, 1, 0, 0, {0}, 0};
  if (which == 2) k_mix(&k);
  memcpy(y, x, sizeof X);
  k.tensors = &rows;
  sc[0] = which == 0 ? 2 : 3;
  sc[1] = which == 0 ? PTO2_ARG_INOUT : PTO2_ARG_OUTPUT_EXISTING;
  if (which <= 2) k_mix(&k);
  if (which == 3) x[3 * C + 3] = 12345;
  (void)ty;
}

static void fixed_programs(void) {
  static const char *names[] = {"reader, then INOUT overwrite", "reader, then OUTPUT_EXISTING",
                                "write, reader, OUTPUT_EXISTING", "reader, then blocking set"};
  static const pto2_hazard_kind plain_kind[] = {PTO2_HAZARD_WAR, PTO2_HAZARD_WAR,
                                                PTO2_HAZARD_WAW, PTO2_HAZARD_WAR};
  pto2_runtime *strict_rt = make_runtime(false, PTO2_HAZARD_CHECK_FAIL, 2);
  pto2_runtime *config_rt = make_runtime(true, PTO2_HAZARD_CHECK_FAIL, 2);
  pto2_runtime *plain_rt = make_runtime_k(false, PTO2_HAZARD_CHECK_WARN, 2, true);
  for (int which = 0; which < 4; which++) {
    int32_t ex[R * C], ey[R * C];
    fixed_expect(which, ex, ey);
    for (int variant = 0; variant < 2; variant++) {
      for (int i = 0; i < R * C; i++) X[i] = i, Y[i] = -1;
      fixed f = {variant ? PTO2_SCOPE_AUTO : PTO2_SCOPE_AUTO_STRICT, which};
      pto2_runtime *rt = variant ? config_rt : strict_rt;
      int rc = pto2_run(rt, fixed_orch, &f, 0);
      if (rc) TEST_FAIL("%s: %s", names[which], pto2_error_message(rt));
      ASSERT_EQ_U64(pto2_hazard_count(rt), 0);
      ASSERT_TRUE(memcmp(X, ex, sizeof X) == 0);
      ASSERT_TRUE(memcmp(Y, ey, sizeof Y) == 0);
    }
    /* The same program in a plain AUTO scope: the checker names the WAR
     * (a blocking set waits for earlier readers in every AUTO scope, so the
     * set program is ordered there too). */
    fixed f = {PTO2_SCOPE_AUTO, which};
    ASSERT_EQ_INT(pto2_run(plain_rt, fixed_orch, &f, 0), 0);
    if (which == 3) {
      ASSERT_EQ_U64(pto2_hazard_count(plain_rt), 0);
      printf("  %-32s strict and plain AUTO: sequential result, no hazard\n", names[which]);
      continue;
    }
    ASSERT_TRUE(pto2_hazard_count(plain_rt) >= 1);
    ASSERT_EQ_INT(pto2_hazard_get(plain_rt, 0)->kind, plain_kind[which]);
    ASSERT_STR_CONTAINS(pto2_hazard_get(plain_rt, 0)->second.kernel,
                        which == 3 ? "orchestrator" : "mix");
    printf("  %-32s strict: sequential result, no hazard; plain AUTO: reported\n", names[which]);
  }
  pto2_runtime_destroy(strict_rt);
  pto2_runtime_destroy(config_rt);
  pto2_runtime_destroy(plain_rt);
}

/* ------------------------------------------------------------------------ */
/* Random programs                                                           */
/* ------------------------------------------------------------------------ */

typedef struct gacc {
  uint8_t alloc, kind, reshaped;
  uint32_t rows, cols, r0, c0; /* view, in the 8x8 layout or (reshaped) the 4x16 one */
} gacc;

enum { OP_TASK, OP_BEGIN, OP_END, OP_GET, OP_SET };

typedef struct gop {
  uint8_t op, mode, nargs, aic;
  uint32_t salt;
  gacc args[MAX_ARGS];
} gop;

typedef struct program {
  gop ops[MAX_OPS];
  int nops, nallocs;
} program;

static uint64_t rng;
static uint32_t rnd(uint32_t n) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (uint32_t)(rng % n);
}

static void rand_view(gacc *g) {
  g->reshaped = g->alloc < NEXT && rnd(5) == 0;
  uint32_t rows = g->reshaped ? 4 : R, cols = g->reshaped ? 16 : C;
  g->rows = 1 + rnd(rows);
  g->cols = 1 + rnd(cols);
  g->r0 = rnd(rows - g->rows + 1);
  g->c0 = rnd(cols - g->cols + 1);
}

/* Allocations usable now: the externals and the buffers created in open
 * scopes. */
static void gen_program(program *p, bool explicit_scopes) {
  int live[MAX_ALLOCS], nlive = NEXT, scope_mark[8], depth = 0;
  for (int i = 0; i < NEXT; i++) live[i] = i;
  p->nops = 0;
  p->nallocs = NEXT;
  if (explicit_scopes) {
    p->ops[p->nops++] = (gop){.op = OP_BEGIN, .mode = PTO2_SCOPE_AUTO_STRICT};
    scope_mark[depth++] = nlive;
  }
  int tasks = 8 + (int)rnd(MAX_TASKS - 8);
  for (int t = 0; t < tasks && p->nops < MAX_OPS - 8; t++) {
    uint32_t r = rnd(100);
    if (r < 10 && depth < 4) {
      p->ops[p->nops++] =
          (gop){.op = OP_BEGIN, .mode = rnd(2) ? PTO2_SCOPE_AUTO : PTO2_SCOPE_AUTO_STRICT};
      scope_mark[depth++] = nlive;
      continue;
    }
    if (r < 18 && depth > (explicit_scopes ? 1 : 0)) {
      p->ops[p->nops++] = (gop){.op = OP_END};
      nlive = scope_mark[--depth];
      continue;
    }
    if (r < 24) {
      gop *o = &p->ops[p->nops++];
      memset(o, 0, sizeof *o);
      o->op = rnd(2) ? OP_GET : OP_SET;
      o->salt = (uint32_t)rng;
      o->args[0].alloc = (uint8_t)live[rnd((uint32_t)nlive)];
      o->args[0].rows = o->args[0].cols = 1;
      o->args[0].r0 = rnd(R);
      o->args[0].c0 = rnd(C);
      continue;
    }
    gop *o = &p->ops[p->nops++];
    memset(o, 0, sizeof *o);
    o->op = OP_TASK;
    o->aic = (uint8_t)rnd(2);
    o->salt = (uint32_t)rng;
    o->nargs = (uint8_t)(1 + rnd(MAX_ARGS));
    int created = 0;
    for (unsigned i = 0; i < o->nargs; i++) {
      gacc *g = &o->args[i];
      uint32_t k = rnd(10);
      if (k < 2 && p->nallocs + created < MAX_ALLOCS && nlive + created < MAX_ALLOCS) {
        g->kind = PTO2_ARG_OUTPUT;
        g->alloc = (uint8_t)(p->nallocs + created++);
        continue;
      }
      g->kind = k < 6 ? PTO2_ARG_INPUT : k < 8 ? PTO2_ARG_INOUT : PTO2_ARG_OUTPUT_EXISTING;
      g->alloc = (uint8_t)live[rnd((uint32_t)nlive)];
      rand_view(g);
    }
    for (int c = 0; c < created; c++) live[nlive++] = p->nallocs++;
  }
  while (depth > 0) p->ops[p->nops++] = (gop){.op = OP_END}, depth--;
}

typedef struct run_ctx {
  const program *p;
  pto2_tensor base[MAX_ALLOCS];
  int32_t *ext;                /* NEXT buffers of R * C */
  uint32_t got[MAX_OPS];       /* values read by OP_GET */
  bool failed;
} run_ctx;

static pto2_tensor view_of(const pto2_tensor *base, const gacc *g) {
  pto2_tensor b = *base;
  if (g->reshaped) {
    const uint32_t s[2] = {4, 16};
    b = pto2_tensor_reshape(base, s, 2);
  }
  return pto2_tensor_view2(&b, g->rows, g->cols, g->r0, g->c0);
}

static void build_args(const gop *o, const pto2_tensor *base, pto2_arg *a, pto2_tensor *tv,
                       const pto2_create_info *ci) {
  pto2_arg_init(a);
  for (unsigned i = 0; i < o->nargs; i++) {
    const gacc *g = &o->args[i];
    if (g->kind == PTO2_ARG_OUTPUT) {
      pto2_arg_add_output(a, ci);
      continue;
    }
    tv[i] = view_of(&base[g->alloc], g);
    if (g->kind == PTO2_ARG_INPUT) pto2_arg_add_input(a, &tv[i]);
    else if (g->kind == PTO2_ARG_INOUT) pto2_arg_add_inout(a, &tv[i]);
    else pto2_arg_add_output_existing(a, &tv[i]);
  }
  pto2_arg_add_scalar(a, o->salt);
  for (unsigned i = 0; i < o->nargs; i++) pto2_arg_add_scalar(a, o->args[i].kind);
}

static void random_orch(pto2_runtime *rt, void *arg) {
  run_ctx *c = arg;
  const program *p = c->p;
  const uint32_t shape[2] = {R, C};
  pto2_create_info ci = pto2_create_info_make(shape, 2, PTO2_INT32);
  for (int i = 0; i < NEXT; i++) c->base[i] = pto2_tensor_external(c->ext + i * R * C, shape, 2, PTO2_INT32);
  for (int n = 0; n < p->nops && !c->failed; n++) {
    const gop *o = &p->ops[n];
    if (o->op == OP_BEGIN) c->failed = pto2_scope_begin(rt, (pto2_scope_mode)o->mode) != 0;
    else if (o->op == OP_END) c->failed = pto2_scope_end(rt) != 0;
    else if (o->op == OP_GET || o->op == OP_SET) {
      const uint32_t idx[2] = {o->args[0].r0, o->args[0].c0};
      uint64_t bits = o->salt;
      c->failed = o->op == OP_GET ? pto2_get_tensor_data(rt, &c->base[o->args[0].alloc], idx, &bits)
                                  : pto2_set_tensor_data(rt, &c->base[o->args[0].alloc], idx, bits);
      c->got[n] = (uint32_t)bits;
    } else {
      pto2_arg a;
      pto2_tensor tv[MAX_ARGS];
      build_args(o, c->base, &a, tv, &ci);
      pto2_task_id id = o->aic ? pto2_submit_aic(rt, K_MIX_AIC, &a) : pto2_submit_aiv(rt, K_MIX, &a);
      c->failed = !pto2_task_id_is_valid(id);
      unsigned out = 0;
      for (unsigned i = 0; i < o->nargs && !c->failed; i++)
        if (o->args[i].kind == PTO2_ARG_OUTPUT) c->base[o->args[i].alloc] = a.outputs[out++];
    }
  }
}

/* The same program in program order on other memory. */
static void run_sequential(const program *p, int32_t *ext, uint32_t *got) {
  static int32_t mem[MAX_ALLOCS][R * C];
  const uint32_t shape[2] = {R, C};
  pto2_tensor base[MAX_ALLOCS];
  for (int i = 0; i < MAX_ALLOCS; i++)
    base[i] = pto2_tensor_external(i < NEXT ? ext + i * R * C : mem[i], shape, 2, PTO2_INT32);
  for (int n = 0; n < p->nops; n++) {
    const gop *o = &p->ops[n];
    if (o->op == OP_GET || o->op == OP_SET) {
      int32_t *e = at(&base[o->args[0].alloc], o->args[0].r0, o->args[0].c0);
      if (o->op == OP_GET) got[n] = (uint32_t)*e;
      else *e = (int32_t)o->salt;
    }
    if (o->op != OP_TASK) continue;
    pto2_tensor tv[MAX_ARGS];
    uint64_t sc[1 + MAX_ARGS];
    sc[0] = o->salt;
    for (unsigned i = 0; i < o->nargs; i++) {
      const gacc *g = &o->args[i];
      sc[1 + i] = g->kind;
      tv[i] = g->kind == PTO2_ARG_OUTPUT ? base[g->alloc] : view_of(&base[g->alloc], g);
    }
    pto2_kernel_ctx k = {tv, sc, o->nargs, 1u + o->nargs, 0, 1, 0, 0, {0}, 0};
    k_mix(&k);
  }
}

static void random_programs(int programs, uint64_t seed) {
  static int32_t ext_rt[NEXT * R * C], ext_seq[NEXT * R * C];
  static program prog;
  static const struct {
    bool config_strict;
    uint32_t workers;
  } cfgs[] = {{false, 1}, {false, 3}, {true, 2}};
  for (unsigned ci = 0; ci < sizeof cfgs / sizeof cfgs[0]; ci++) {
    pto2_runtime *rt = make_runtime(cfgs[ci].config_strict, PTO2_HAZARD_CHECK_FAIL, cfgs[ci].workers);
    for (int i = 0; i < programs; i++) {
      rng = (seed + (uint64_t)i) * 0x9E3779B97F4A7C15ull | 1;
      gen_program(&prog, !cfgs[ci].config_strict);
      for (int e = 0; e < NEXT * R * C; e++) ext_rt[e] = ext_seq[e] = (int32_t)mix((uint32_t)i, (uint32_t)e);
      static run_ctx c;
      memset(&c, 0, sizeof c);
      c.p = &prog;
      c.ext = ext_rt;
      int rc = pto2_run(rt, random_orch, &c, 0);
      if (rc || c.failed)
        TEST_FAIL("program %d (seed %llu, configuration %u): run returned %d: %s", i,
                  (unsigned long long)seed, ci, rc, pto2_error_message(rt));
      uint32_t got_seq[MAX_OPS] = {0};
      run_sequential(&prog, ext_seq, got_seq);
      if (memcmp(ext_rt, ext_seq, sizeof ext_rt) != 0)
        TEST_FAIL("program %d (seed %llu, configuration %u): memory differs from sequential "
                  "execution",
                  i, (unsigned long long)seed, ci);
      for (int n = 0; n < prog.nops; n++)
        if (prog.ops[n].op == OP_GET && c.got[n] != got_seq[n])
          TEST_FAIL("program %d (seed %llu, configuration %u): get at op %d read %08x, "
                    "sequential %08x",
                    i, (unsigned long long)seed, ci, n, c.got[n], got_seq[n]);
    }
    pto2_runtime_destroy(rt);
    printf("  configuration %u (%s, %u workers): %d programs match sequential execution\n", ci,
           cfgs[ci].config_strict ? "auto_strict config" : "PTO2_SCOPE_AUTO_STRICT",
           cfgs[ci].workers, programs);
  }
}

int main(int argc, char **argv) {
  int programs = 2000;
  const char *scale = getenv("PTO2_TEST_SCALE");
  if (scale && !strcmp(scale, "small")) programs = 200;
  if (argc > 1) programs = atoi(argv[1]);
  uint64_t seed = argc > 2 ? strtoull(argv[2], 0, 0) : 20261201u;
  printf("fixed programs\n");
  fixed_programs();
  printf("PTO2_AUTO_STRICT=1 in the environment\n");
  setenv("PTO2_AUTO_STRICT", "1", 1);
  pto2_runtime *rt = make_runtime(false, PTO2_HAZARD_CHECK_FAIL, 2);
  pto2_config eff;
  pto2_runtime_get_config(rt, &eff);
  ASSERT_TRUE(eff.auto_strict);
  pto2_runtime_destroy(rt);
  setenv("PTO2_AUTO_STRICT", "2", 1);
  pto2_config bad = {0};
  ASSERT_EQ_INT(pto2_runtime_create(&bad, &rt), PTO2_E_INVALID_CONFIG);
  unsetenv("PTO2_AUTO_STRICT");
  printf("random programs without explicit ordering\n");
  random_programs(programs, seed);
  TEST_PASS("test_strict_auto");
}
