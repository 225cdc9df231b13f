/* The paged-attention kernels without the runtime, on every instruction set
 * this build and CPU support (portable, avx512, avx512bf16, amx):
 *  - each op (QK, PV, softmax, update) against a scalar double reference:
 *    bf16 and fp16, the case shapes (head_dim 16/128/256, blocks of
 *    16/64/128, 16/64/128 rows) and ragged ones the fast paths hand on (odd
 *    sizes, not multiples of 16 or 32, head_dim > 256, strided views),
 *    several blocks per call, partial last blocks; nothing written outside
 *    the results; the vector exp within 2^-22 relative error on [-87.3, 0];
 *  - the kernels called one after another in the order of orchestration
 *    variant A (per head tile a hub, then per block QK, SF on the valid
 *    [M x valid_len] view, PV, UP) and variant C (groups of up to 64 blocks
 *    through the unroll kernels) match the golden reference within each
 *    case's tolerance (fp16 head_dim 16 cases; bf16 Case1/Case2/Case3 shapes
 *    on one or two batches; ragged contexts ending in partial blocks and
 *    partial groups); A and C agree; a rerun gives the same bits; the hub's
 *    uninitialized accumulators are never read;
 *  - PTO2_PA_ISA selects the instruction set and unknown or unsupported
 *    names are refused; malformed calls are refused.
 * Arguments: case names to run (default all). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pa_tile.h"
#include "test.h"

static unsigned passed, failed;

/* ------------------------------------------------------------------------ */
/* Sequential chains                                                         */
/* ------------------------------------------------------------------------ */

/* Buffers and views of one sequential run; intermediates sized for a group. */
typedef struct chain {
  pa_inputs *in;
  const pa_case *c;
  uint32_t m, k, n;  /* q_tile, head_dim, block_size */
  pto2_tensor t[PA_TENSOR_COUNT], query2d, key2d, value2d, out2d;
  float *oi, *li, *mi, *sij, *mij, *lij, *oi_new;
  uint16_t *pij;
} chain;

static void *alloc_nan(size_t floats) {
  float *p = malloc(floats * sizeof(float));
  ASSERT_TRUE(p != NULL);
  for (size_t i = 0; i < floats; i++) p[i] = NAN;
  return p;
}

static pto2_tensor flat(const pto2_tensor *t, uint32_t rows, uint32_t cols) {
  const uint32_t shape[2] = {rows, cols};
  pto2_tensor r = pto2_tensor_reshape(t, shape, 2);
  ASSERT_TRUE(pto2_tensor_is_valid(&r));
  return r;
}

static void chain_init(chain *ch, pa_inputs *in) {
  const pa_case *c = in->pcase;
  *ch = (chain){.in = in, .c = c, .m = pa_case_q_tile(c), .k = c->head_dim, .n = c->block_size};
  pa_inputs_tensors(in, ch->t);
  ch->query2d = flat(&ch->t[PA_T_QUERY], c->batch * c->num_heads, ch->k);
  ch->out2d = flat(&ch->t[PA_T_OUT], c->batch * c->num_heads, ch->k);
  ch->key2d = flat(&ch->t[PA_T_KEY_CACHE], in->total_blocks * ch->n, ch->k);
  ch->value2d = flat(&ch->t[PA_T_VALUE_CACHE], in->total_blocks * ch->n, ch->k);
  size_t mk = (size_t)ch->m * ch->k, group = (size_t)ch->m * PA_UNROLL * ch->n;
  ch->oi = alloc_nan(mk);
  ch->oi_new = alloc_nan(mk);
  ch->li = alloc_nan(ch->m);
  ch->mi = alloc_nan(ch->m);
  ch->mij = alloc_nan(ch->m);
  ch->lij = alloc_nan(ch->m);
  ch->sij = alloc_nan(group);
  ch->pij = alloc_nan(group); /* twice the bytes needed: fine */
}

static void chain_fini(chain *ch) {
  free(ch->oi);
  free(ch->oi_new);
  free(ch->li);
  free(ch->mi);
  free(ch->mij);
  free(ch->lij);
  free(ch->sij);
  free(ch->pij);
}

static pto2_tensor mat_tensor(void *p, uint32_t rows, uint32_t cols, pto2_dtype dtype) {
  const uint32_t shape[2] = {rows, cols};
  return pto2_tensor_external(p, shape, 2, dtype);
}

static pto2_tensor vec_tensor(float *p, uint32_t n) {
  return pto2_tensor_external(p, &n, 1, PTO2_FLOAT32);
}

static int call(pto2_kernel_fn fn, const pto2_tensor *t, uint32_t nt, const uint64_t *s,
                uint32_t ns) {
  pto2_kernel_ctx ctx = {.tensors = t, .scalars = s, .tensor_count = nt, .scalar_count = ns};
  return fn(&ctx);
}

/* The hub "creates" the accumulators: they hold NaN, which UP must overwrite. */
static void run_hub(chain *ch) {
  for (uint32_t i = 0; i < ch->m * ch->k; i++) ch->oi[i] = NAN;
  for (uint32_t i = 0; i < ch->m; i++) ch->li[i] = ch->mi[i] = NAN;
  pto2_tensor t[3] = {mat_tensor(ch->oi, ch->m, ch->k, PTO2_FLOAT32), vec_tensor(ch->li, ch->m),
                      vec_tensor(ch->mi, ch->m)};
  ASSERT_EQ_INT(call(pa_kernel_hub, t, 3, NULL, 0), 0);
}

static void run_up(chain *ch, const pto2_tensor *out_view, bool is_first, bool is_last) {
  pto2_tensor t[7] = {vec_tensor(ch->mij, ch->m), vec_tensor(ch->lij, ch->m),
                      mat_tensor(ch->oi_new, ch->m, ch->k, PTO2_FLOAT32),
                      vec_tensor(ch->mi, ch->m), vec_tensor(ch->li, ch->m),
                      mat_tensor(ch->oi, ch->m, ch->k, PTO2_FLOAT32), *out_view};
  uint64_t s[2] = {is_first, is_last};
  ASSERT_EQ_INT(call(pa_kernel_up, t, 7, s, 2), 0);
}

/* Variant A, one block of one head tile. */
static void run_block(chain *ch, const pto2_tensor *qi, const pto2_tensor *out_view, uint32_t b,
                      uint32_t blk_index, uint32_t blocks) {
  int32_t blk = ch->in->block_table[(size_t)b * pa_case_table_width(ch->c) + blk_index];
  uint32_t rest = (uint32_t)ch->in->context_lens[b] - blk_index * ch->n;
  pto2_tensor kj = pto2_tensor_view2(&ch->key2d, ch->n, ch->k, (uint32_t)blk * ch->n, 0);
  pto2_tensor vj = pto2_tensor_view2(&ch->value2d, ch->n, ch->k, (uint32_t)blk * ch->n, 0);
  pto2_tensor sij = mat_tensor(ch->sij, ch->m, ch->n, PTO2_FLOAT32);
  pto2_tensor sij_valid = pto2_tensor_view2(&sij, ch->m, rest < ch->n ? rest : ch->n, 0, 0);
  pto2_tensor pij = mat_tensor(ch->pij, ch->m, ch->n, ch->c->dtype);
  pto2_tensor oi_new = mat_tensor(ch->oi_new, ch->m, ch->k, PTO2_FLOAT32);
  uint64_t scale = pto2_u64_from_f32(ch->in->scale);

  pto2_tensor qk[3] = {*qi, kj, sij};
  ASSERT_EQ_INT(call(pa_kernel_qk, qk, 3, NULL, 0), 0);
  pto2_tensor sf[4] = {sij_valid, pij, vec_tensor(ch->mij, ch->m), vec_tensor(ch->lij, ch->m)};
  ASSERT_EQ_INT(call(pa_kernel_sf, sf, 4, &scale, 1), 0);
  pto2_tensor pv[3] = {pij, vj, oi_new};
  ASSERT_EQ_INT(call(pa_kernel_pv, pv, 3, NULL, 0), 0);
  run_up(ch, out_view, blk_index == 0, blk_index + 1 == blocks);
}

/* Variant C, one group of up to PA_UNROLL blocks starting at block bn. */
static void run_group(chain *ch, const pto2_tensor *qi, const pto2_tensor *out_view, uint32_t b,
                      uint32_t bn, uint32_t blocks) {
  uint32_t g = blocks - bn < PA_UNROLL ? blocks - bn : PA_UNROLL;
  uint32_t last_len = (uint32_t)ch->in->context_lens[b] - (bn + g - 1) * ch->n;
  const int32_t *bt = ch->in->block_table + (size_t)b * pa_case_table_width(ch->c) + bn;
  pto2_tensor sij = mat_tensor(ch->sij, ch->m, g * ch->n, PTO2_FLOAT32);
  pto2_tensor pij = mat_tensor(ch->pij, ch->m, g * ch->n, ch->c->dtype);
  pto2_tensor oi_new = mat_tensor(ch->oi_new, ch->m, ch->k, PTO2_FLOAT32);
  uint64_t table[2] = {g, (uint64_t)(uintptr_t)bt};
  uint64_t sf_scalars[3] = {pto2_u64_from_f32(ch->in->scale), g,
                            last_len < ch->n ? last_len : ch->n};

  pto2_tensor qk[3] = {*qi, ch->t[PA_T_KEY_CACHE], sij};
  ASSERT_EQ_INT(call(pa_kernel_qk_unroll, qk, 3, table, 2), 0);
  pto2_tensor sf[4] = {sij, pij, vec_tensor(ch->mij, ch->m), vec_tensor(ch->lij, ch->m)};
  ASSERT_EQ_INT(call(pa_kernel_sf_unroll, sf, 4, sf_scalars, 3), 0);
  pto2_tensor pv[3] = {pij, ch->value2d, oi_new};
  ASSERT_EQ_INT(call(pa_kernel_pv_unroll, pv, 3, table, 2), 0);
  run_up(ch, out_view, bn == 0, bn + g >= blocks);
}

/* Runs every (batch, head tile) chain of the case into in->out. */
static void run_chain(chain *ch, bool unroll) {
  const pa_case *c = ch->c;
  pa_inputs_clear_out(ch->in);
  for (uint32_t b = 0; b < c->batch; b++)
    for (uint32_t h0 = 0; h0 < c->num_heads; h0 += ch->m) {
      uint32_t row = b * c->num_heads + h0, blocks = pa_case_block_count(c, b);
      pto2_tensor qi = pto2_tensor_view2(&ch->query2d, ch->m, ch->k, row, 0);
      pto2_tensor out_view = pto2_tensor_view2(&ch->out2d, ch->m, ch->k, row, 0);
      run_hub(ch);
      for (uint32_t n = 0; n < blocks; n += unroll ? PA_UNROLL : 1) {
        if (unroll) run_group(ch, &qi, &out_view, b, n, blocks);
        else run_block(ch, &qi, &out_view, b, n, blocks);
      }
    }
}

/* ------------------------------------------------------------------------ */
/* Checks                                                                    */
/* ------------------------------------------------------------------------ */

static void check(bool ok, const char *what, const char *case_name, const char *path,
                  double err) {
  printf("  %-8s %-8s %-22s max_abs_err %.3g  %s\n", case_name, path, what, err,
         ok ? "ok" : "FAILED");
  if (ok) passed++;
  else failed++;
}

static void check_close(const float *a, const float *e, const pa_inputs *in, const char *what,
                        const char *path) {
  const pa_case *c = in->pcase;
  pa_compare_result r = pa_compare(a, e, pa_inputs_out_count(in), c->rtol, c->atol);
  if (!r.pass)
    printf("  %zu mismatches, first at %zu: %.9g vs %.9g\n", r.mismatches, r.first_mismatch,
           a[r.first_mismatch], e[r.first_mismatch]);
  check(r.pass, what, c->name, path, r.max_abs_err);
}

static float *copy_out(const pa_inputs *in) {
  float *p = malloc(pa_inputs_out_count(in) * sizeof(float));
  ASSERT_TRUE(p != NULL);
  memcpy(p, in->out, pa_inputs_out_count(in) * sizeof(float));
  return p;
}

/* Variants A and C on the current path against the golden and each other. */
static void check_path(pa_inputs *in, const float *golden, const char *path) {
  chain ch;
  chain_init(&ch, in);
  run_chain(&ch, false);
  float *a = copy_out(in);
  check_close(a, golden, in, "A vs golden", path);
  run_chain(&ch, false);
  check(memcmp(a, in->out, pa_inputs_out_count(in) * sizeof(float)) == 0, "A rerun same bits",
        in->pcase->name, path, 0.0);
  run_chain(&ch, true);
  check_close(in->out, golden, in, "C vs golden", path);
  check_close(in->out, a, in, "C vs A", path);
  free(a);
  chain_fini(&ch);
}

static void check_case(const pa_case *c) {
  pa_inputs *in;
  ASSERT_EQ_INT(pa_inputs_create(c, PA_SEED_DEFAULT, &in), 0);
  float *golden = malloc(pa_inputs_out_count(in) * sizeof(float));
  ASSERT_TRUE(golden != NULL);
  ASSERT_EQ_INT(pa_golden_compute(in, golden), 0);
  /* PTO2_TEST_SCALE=small (the sanitizer builds): the chains of the
   * production shapes on the best ISA only; the ops are checked on every
   * ISA anyway. */
  const char *scale = getenv("PTO2_TEST_SCALE");
  bool small = scale && strcmp(scale, "small") == 0 && c->dtype == PTO2_BFLOAT16;
  for (int isa = 0; isa < PA_ISA_COUNT; isa++) {
    if (!pa_isa_supported((pa_isa)isa)) continue;
    if (small && isa != (int)pa_isa_best()) continue;
    ASSERT_EQ_INT(pa_isa_set((pa_isa)isa), 0);
    ASSERT_TRUE(pa_isa_active() == (pa_isa)isa);
    check_path(in, golden, pa_isa_name((pa_isa)isa));
  }
  free(golden);
  pa_inputs_destroy(in);
}

/* ------------------------------------------------------------------------ */
/* Malformed calls                                                           */
/* ------------------------------------------------------------------------ */

static void test_malformed(void) {
  float s[4 * 4], o[4 * 4], v4[4];
  uint16_t q[4 * 4];
  int32_t bad_block = 5;
  memset(q, 0, sizeof q);
  pto2_tensor qt = mat_tensor(q, 4, 4, PTO2_BFLOAT16), st = mat_tensor(s, 4, 4, PTO2_FLOAT32);
  pto2_tensor ot = mat_tensor(o, 4, 4, PTO2_FLOAT32), vt = vec_tensor(v4, 4);
  pto2_tensor it = pto2_tensor_external(v4, (const uint32_t[]){4}, 1, PTO2_INT32);
  pto2_tensor qk[3] = {qt, qt, st}, sf[4] = {st, qt, vt, it}, pv[3] = {qt, qt, ot};
  uint64_t scale = pto2_u64_from_f32(1.0f), table[2] = {1, (uint64_t)(uintptr_t)&bad_block};
  uint64_t sf_unroll[3] = {scale, 1, 0};
  ASSERT_EQ_INT(call(pa_kernel_qk, qk, 3, NULL, 0), 0);
  ASSERT_EQ_INT(call(pa_kernel_qk, qk, 2, NULL, 0), PTO2_E_INVALID_ARGS); /* tensor count */
  ASSERT_EQ_INT(call(pa_kernel_sf, sf, 4, &scale, 1), PTO2_E_INVALID_ARGS); /* int32 lij */
  ASSERT_EQ_INT(call(pa_kernel_pv, (pto2_tensor[]){qt, qt, qt}, 3, NULL, 0),
                PTO2_E_INVALID_ARGS); /* bf16 output */
  ASSERT_EQ_INT(call(pa_kernel_pv, pv, 3, table, 2), PTO2_E_INVALID_ARGS); /* scalar count */
  /* block 5 of a 4-row cache with 4-row blocks */
  ASSERT_EQ_INT(call(pa_kernel_qk_unroll, qk, 3, table, 2), PTO2_E_INVALID_ARGS);
  sf[3] = vt;
  ASSERT_EQ_INT(call(pa_kernel_sf_unroll, sf, 4, sf_unroll, 3), PTO2_E_INVALID_ARGS); /* valid 0 */
  printf("  malformed calls refused\n");
  passed++;
}

/* ------------------------------------------------------------------------ */
/* Instruction-set choice                                                    */
/* ------------------------------------------------------------------------ */

static void test_isa_choice(void) {
  char msg[160];
  pa_isa isa;
  for (int i = 0; i < PA_ISA_COUNT; i++) {
    ASSERT_EQ_INT(pa_isa_from_name(pa_isa_name((pa_isa)i), &isa), 0);
    ASSERT_TRUE(isa == (pa_isa)i);
  }
  ASSERT_EQ_INT(pa_isa_from_name("sse2", &isa), PTO2_E_INVALID_ARGS);
  ASSERT_TRUE(pa_isa_supported(PA_ISA_PORTABLE) && pa_isa_supported(pa_isa_best()));
  setenv("PTO2_PA_ISA", "sse2", 1);
  msg[0] = 0;
  ASSERT_EQ_INT(pa_isa_init_from_env(msg, sizeof msg), PTO2_E_INVALID_ARGS);
  ASSERT_TRUE(strstr(msg, "sse2") != NULL);
  for (int i = 0; i < PA_ISA_COUNT; i++) {
    setenv("PTO2_PA_ISA", pa_isa_name((pa_isa)i), 1);
    if (pa_isa_supported((pa_isa)i)) {
      ASSERT_EQ_INT(pa_isa_init_from_env(msg, sizeof msg), 0);
      ASSERT_TRUE(pa_isa_active() == (pa_isa)i);
    } else {
      pa_isa before = pa_isa_active();
      ASSERT_EQ_INT(pa_isa_init_from_env(msg, sizeof msg), PTO2_E_INVALID_ARGS);
      ASSERT_EQ_INT(pa_isa_set((pa_isa)i), PTO2_E_INVALID_ARGS);
      ASSERT_TRUE(pa_isa_active() == before);
    }
  }
  unsetenv("PTO2_PA_ISA");
  ASSERT_EQ_INT(pa_isa_init_from_env(msg, sizeof msg), 0);
  ASSERT_TRUE(pa_isa_active() == pa_isa_best());
  printf("  instruction-set names, PTO2_PA_ISA and unsupported choices ok\n");
  passed++;
}

/* ------------------------------------------------------------------------ */
/* Each op against a scalar reference                                        */
/* ------------------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

/* Uniform in [lo, hi). */
static double uniform(double lo, double hi) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return lo + (hi - lo) * (double)(rng_state >> 11) / 9007199254740992.0;
}

static uint16_t to_half(double x, pto2_dtype d) {
  return d == PTO2_BFLOAT16 ? pto2_f32_to_bf16((float)x) : pto2_f32_to_fp16((float)x);
}

static double from_half(uint16_t h, pto2_dtype d) {
  return d == PTO2_BFLOAT16 ? pto2_bf16_to_f32(h) : pto2_fp16_to_f32(h);
}

/* rows x cols of dtype d with row stride `stride`, random in [-1, 1). */
static pa_mat rand_mat(uint32_t rows, uint32_t cols, size_t stride, pto2_dtype d) {
  uint16_t *h = malloc(((size_t)rows * stride + 1) * sizeof *h);
  ASSERT_TRUE(h != NULL);
  for (size_t i = 0; i < (size_t)rows * stride; i++) h[i] = to_half(uniform(-1, 1), d);
  return (pa_mat){h, d, rows, cols, stride};
}

/* fp32 rows x cols with stride, every element (padding too) NaN. */
static pa_mat nan_mat(uint32_t rows, uint32_t cols, size_t stride) {
  return (pa_mat){alloc_nan((size_t)rows * stride + 1), PTO2_FLOAT32, rows, cols, stride};
}

static double half_at(const pa_mat *m, uint32_t r, uint32_t c) {
  return from_half(((const uint16_t *)m->data)[(size_t)r * m->stride + c], m->dtype);
}

static float *f32_at(const pa_mat *m, uint32_t r, uint32_t c) {
  return (float *)m->data + (size_t)r * m->stride + c;
}

/* The padding columns of m (cols..stride) still hold NaN. */
static bool padding_untouched(const pa_mat *m) {
  for (uint32_t r = 0; r < m->rows; r++)
    for (size_t c = m->cols; c < m->stride; c++)
      if (!isnan(*f32_at(m, r, (uint32_t)c))) return false;
  return true;
}

typedef struct shape {
  uint32_t m, n, k, count;
} shape;

/* Shapes of the cases (16/64 rows, blocks of 16/64/128, head_dim 16/128/256),
 * the other shapes of the fixed-stride avx512bf16 loops (QK: head_dim
 * 64/128/256 with up to 16 q rows; PV: 8/16 rows, blocks of 64/128) and
 * ragged ones the fast paths hand on (odd sizes, not multiples of 16/32). */
static const shape op_shapes[] = {
    {16, 128, 128, 2}, {64, 64, 128, 2}, {64, 64, 256, 1}, {16, 16, 16, 3}, {128, 64, 256, 1},
    {5, 24, 40, 2},    {70, 48, 64, 1},  {3, 7, 6, 1},     {16, 32, 33, 1}, {32, 64, 272, 1},
    {48, 96, 80, 2},   {16, 160, 128, 1}, {8, 64, 256, 3},   {16, 64, 64, 2}};

static void test_qk_op(const pa_tile_ops *ops, const char *isa, pto2_dtype d, const shape *sh) {
  pa_mat q = rand_mat(sh->m, sh->k, sh->k + 2, d), k[3], s[3];
  double worst = 0.0;
  bool ok = true;
  for (uint32_t i = 0; i < sh->count; i++) {
    k[i] = rand_mat(sh->n, sh->k, sh->k, d);
    s[i] = nan_mat(sh->m, sh->n, sh->n + 3);
  }
  ops->qk(&q, sh->count, k, s);
  for (uint32_t i = 0; i < sh->count; i++) {
    for (uint32_t m = 0; m < sh->m; m++)
      for (uint32_t n = 0; n < sh->n; n++) {
        double ref = 0.0, mag = 0.0;
        for (uint32_t c = 0; c < sh->k; c++) {
          double prod = half_at(&q, m, c) * half_at(&k[i], n, c);
          ref += prod;
          mag += fabs(prod);
        }
        double err = fabs(*f32_at(&s[i], m, n) - ref);
        if (!(err <= sh->k * 0x1p-23 * mag + 1e-30)) ok = false;
        if (err > worst || isnan(err)) worst = err;
      }
    ok = ok && padding_untouched(&s[i]);
    free(k[i].data);
    free(s[i].data);
  }
  free(q.data);
  if (!ok)
    printf("  qk %s %s M%u N%u K%u x%u\n", isa, pto2_dtype_name(d), sh->m, sh->n, sh->k,
           sh->count);
  check(ok, "qk vs reference", d == PTO2_BFLOAT16 ? "bf16" : "fp16", isa, worst);
}

/* pv (o += the products, o random) or, with set, pv_set (o = the products,
 * o NaN before: never read), which must also give the bits of zeroing o and
 * calling pv. */
static void test_pv_op(const pa_tile_ops *ops, const char *isa, pto2_dtype d, const shape *sh,
                       bool set) {
  pa_mat p[3], v[3], o = nan_mat(sh->m, sh->k, sh->k + 1);
  double worst = 0.0;
  bool ok = true;
  for (uint32_t i = 0; i < sh->count; i++) {
    p[i] = rand_mat(sh->m, sh->n, sh->n, d);
    v[i] = rand_mat(sh->n, sh->k, sh->k, d);
  }
  for (uint32_t m = 0; m < sh->m; m++)
    for (uint32_t c = 0; c < sh->k; c++) *f32_at(&o, m, c) = set ? 0.0f : (float)uniform(-1, 1);
  pa_mat o0 = nan_mat(sh->m, sh->k, sh->k + 1);
  memcpy(o0.data, o.data, ((size_t)sh->m * o.stride + 1) * sizeof(float));
  ops->pv(&o, sh->count, p, v);
  if (set) {
    pa_mat os = nan_mat(sh->m, sh->k, sh->k + 1);
    ops->pv_set(&os, sh->count, p, v);
    for (uint32_t m = 0; m < sh->m; m++)
      if (memcmp(f32_at(&os, m, 0), f32_at(&o, m, 0), sh->k * sizeof(float))) ok = false;
    ok = ok && padding_untouched(&os);
    free(o.data);
    o = os;
  }
  for (uint32_t m = 0; m < sh->m; m++)
    for (uint32_t c = 0; c < sh->k; c++) {
      double ref = *f32_at(&o0, m, c), mag = fabs(ref);
      for (uint32_t i = 0; i < sh->count; i++)
        for (uint32_t n = 0; n < sh->n; n++) {
          double prod = half_at(&p[i], m, n) * half_at(&v[i], n, c);
          ref += prod;
          mag += fabs(prod);
        }
      double err = fabs(*f32_at(&o, m, c) - ref);
      if (!(err <= (sh->n * sh->count + 1) * 0x1p-23 * mag + 1e-30)) ok = false;
      if (err > worst || isnan(err)) worst = err;
    }
  ok = ok && padding_untouched(&o);
  for (uint32_t i = 0; i < sh->count; i++) {
    free(p[i].data);
    free(v[i].data);
  }
  free(o.data);
  free(o0.data);
  if (!ok)
    printf("  pv%s %s %s M%u N%u K%u x%u\n", set ? "_set" : "", isa, pto2_dtype_name(d), sh->m,
           sh->n, sh->k, sh->count);
  check(ok, set ? "pv_set vs reference and zero + pv" : "pv vs reference", d == PTO2_BFLOAT16 ? "bf16" : "fp16", isa, worst);
}

typedef struct sf_shape {
  uint32_t rows, count, cols, valid_last;
  float scale;
} sf_shape;

/* p's tolerance against exp(x) = e in double, x = sx - m, sx = scale * s:
 * the roundings of sx and x to float (fused or not: half an ulp of each),
 * the exp error (2^-22), and the rounding to the dtype (half an ulp; fp16
 * subnormals an absolute 2^-25). */
static double p_tol(pto2_dtype d, double sx, double x, double e) {
  double rel = (fabs(sx) + fabs(x)) * 0x1p-24 + 0x1p-22;
  return d == PTO2_BFLOAT16 ? (rel + 0x1p-8) * e
         : d == PTO2_FLOAT16 ? (rel + 0x1p-11) * e + 0x1p-25
                             : rel * e;
}

static void test_softmax_op(const pa_tile_ops *ops, const char *isa, pto2_dtype d,
                            const sf_shape *sh) {
  size_t s_stride = sh->cols + 5, p_stride = sh->cols + 2, esize = pto2_dtype_size(d);
  size_t s_step = sh->rows * s_stride + 3, p_step = sh->rows * p_stride + 1;
  float *sbuf = alloc_nan(s_step * sh->count), mij[128], lij[128];
  char *pbuf = malloc(p_step * sh->count * esize);
  ASSERT_TRUE(pbuf != NULL);
  for (size_t i = 0; i < s_step * sh->count; i++) sbuf[i] = (float)uniform(-8, 8);
  pa_sf_args a = {sbuf, s_step, s_stride, pbuf, d, p_step, p_stride, sh->rows, sh->count,
                  sh->cols, sh->valid_last, sh->scale, mij, lij};
  ops->softmax(&a);
  bool ok = true;
  double worst = 0.0;
  for (uint32_t r = 0; r < sh->rows; r++) {
    float m = -INFINITY;
    double l = 0.0;
    for (uint32_t i = 0; i < sh->count; i++)
      for (uint32_t j = 0; j < (i + 1 == sh->count ? sh->valid_last : sh->cols); j++)
        m = fmaxf(m, sbuf[i * s_step + r * s_stride + j] * sh->scale);
    if (mij[r] != m) { if (ok) printf("    m %.9g vs %.9g\n", mij[r], m); ok = false; }
    for (uint32_t i = 0; i < sh->count; i++)
      for (uint32_t j = 0; j < sh->cols; j++) {
        const char *pp = pbuf + (i * p_step + r * p_stride + j) * esize;
        double got = d == PTO2_FLOAT32 ? *(const float *)pp : from_half(*(const uint16_t *)pp, d);
        bool valid = j < (i + 1 == sh->count ? sh->valid_last : sh->cols);
        double sx = sbuf[i * s_step + r * s_stride + j] * sh->scale, x = sx - m;
        double e = valid ? exp(x) : 0.0, err = fabs(got - e);
        if (valid ? !(err <= p_tol(d, sx, x, e)) : got != 0.0) ok = false;
        if (err > worst || isnan(err)) worst = err;
        l += got;
      }
    if (!(fabs(lij[r] - l) <= 1e-5 * l)) { if (ok) printf("    l %.9g vs %.9g\n", lij[r], l); ok = false; }
  }
  free(sbuf);
  free(pbuf);
  if (!ok)
    printf("  softmax %s %s rows%u x%u cols%u valid%u\n", isa, pto2_dtype_name(d), sh->rows,
           sh->count, sh->cols, sh->valid_last);
  check(ok, "softmax vs reference", pto2_dtype_name(d), isa, worst);
}

/* exp over [-87.3, 0]: one row whose max is 0, p in fp32. */
static void test_exp_accuracy(const pa_tile_ops *ops, const char *isa) {
  enum { N = 20000 };
  float *s = malloc(N * sizeof *s), *p = malloc(N * sizeof *p), mij, lij;
  ASSERT_TRUE(s && p);
  s[0] = 0.0f;
  for (int j = 1; j < N; j++) s[j] = (float)(-87.3 * j / (N - 1)) * (j % 2 ? 1.0f : 0.999f);
  pa_sf_args a = {s, N, N, p, PTO2_FLOAT32, N, N, 1, 1, N, N, 1.0f, &mij, &lij};
  ops->softmax(&a);
  double worst = 0.0;
  for (int j = 0; j < N; j++) {
    double e = exp((double)s[j]), rel = fabs(p[j] - e) / e;
    if (rel > worst || isnan(rel)) worst = rel;
  }
  free(s);
  free(p);
  check(worst <= 0x1p-22, "exp rel err <= 2^-22", "fp32", isa, worst);
}

static void test_update_op(const pa_tile_ops *ops, const char *isa, uint32_t rows, uint32_t cols,
                           bool first, bool last) {
  size_t st = cols + 3;
  float *onew = alloc_nan(rows * st), *oi = alloc_nan(rows * st), *dst = alloc_nan(rows * st);
  float *oi0 = alloc_nan(rows * st), mij[64], lij[64], mi[64], li[64], mi0[64], li0[64];
  for (size_t i = 0; i < rows * st; i++) onew[i] = (float)uniform(-3, 3), oi0[i] = oi[i] = (float)uniform(-3, 3);
  for (uint32_t r = 0; r < rows; r++) {
    mij[r] = (float)uniform(-5, 5), lij[r] = (float)uniform(1, 50);
    mi0[r] = mi[r] = (float)uniform(-5, 5), li0[r] = li[r] = (float)uniform(1, 50);
  }
  pa_up_args a = {rows, cols, mij, lij, mi, li, onew, oi, dst, st, st, st, first, last};
  ops->update(&a);
  bool ok = true;
  double worst = 0.0;
  for (uint32_t r = 0; r < rows; r++) {
    double m = first ? mij[r] : fmax(mi0[r], mij[r]);
    double al = first ? 0.0 : exp(mi0[r] - m), be = first ? 1.0 : exp(mij[r] - m);
    double l = first ? lij[r] : al * li0[r] + be * lij[r];
    ok = ok && mi[r] == (float)m && fabs(li[r] - l) <= 1e-6 * l;
    for (uint32_t c = 0; c < cols; c++) {
      double o = al * oi0[r * st + c] + be * onew[r * st + c];
      double mag = fabs(al * oi0[r * st + c]) + fabs(be * onew[r * st + c]);
      float got_o = oi[r * st + c];
      if (last) {
        double err = fabs(dst[r * st + c] - o / l);
        if (!(err <= 2e-6 * mag / l)) ok = false;
        if (err > worst || isnan(err)) worst = err;
        /* oi holds the running output unless this was the last of several */
        if (!first && got_o != oi0[r * st + c]) ok = false;
      } else {
        double err = fabs(got_o - o);
        if (!(err <= 2e-6 * mag)) ok = false;
        if (err > worst || isnan(err)) worst = err;
      }
    }
  }
  free(onew), free(oi), free(dst), free(oi0);
  char what[48];
  snprintf(what, sizeof what, "update %ux%u %s%s", rows, cols, first ? "first" : "next",
           last ? "+last" : "");
  check(ok, what, "fp32", isa, worst);
}

static void test_ops(void) {
  static const sf_shape sf_shapes[] = {{16, 1, 128, 128, 1.0f}, {16, 1, 128, 77, 0.7f},
                                       {64, 3, 64, 1, 1.0f},    {5, 2, 24, 13, -1.3f},
                                       {3, 1, 7, 7, 0.5f},      {64, 64, 64, 40, 0.088f}};
  static const pto2_dtype dtypes[] = {PTO2_BFLOAT16, PTO2_FLOAT16};
  for (int isa = 0; isa < PA_ISA_COUNT; isa++) {
    if (!pa_isa_supported((pa_isa)isa)) continue;
    ASSERT_EQ_INT(pa_isa_set((pa_isa)isa), 0);
    const pa_tile_ops *ops = pa__tile_ops();
    const char *name = pa_isa_name((pa_isa)isa);
    for (size_t d = 0; d < 2; d++)
      for (size_t i = 0; i < sizeof op_shapes / sizeof op_shapes[0]; i++) {
        test_qk_op(ops, name, dtypes[d], &op_shapes[i]);
        test_pv_op(ops, name, dtypes[d], &op_shapes[i], false);
        if (ops->pv_set) test_pv_op(ops, name, dtypes[d], &op_shapes[i], true);
      }
    for (size_t i = 0; i < sizeof sf_shapes / sizeof sf_shapes[0]; i++) {
      test_softmax_op(ops, name, PTO2_BFLOAT16, &sf_shapes[i]);
      test_softmax_op(ops, name, PTO2_FLOAT16, &sf_shapes[i]);
      test_softmax_op(ops, name, PTO2_FLOAT32, &sf_shapes[i]);
    }
    test_exp_accuracy(ops, name);
    for (int f = 0; f < 2; f++)
      for (int l = 0; l < 2; l++) {
        test_update_op(ops, name, 16, 128, f, l);
        test_update_op(ops, name, 5, 40, f, l);
        test_update_op(ops, name, 64, 256, f, l);
      }
  }
}

/* ------------------------------------------------------------------------ */

static const int32_t ragged_lens[] = {5000, 4133};

static pa_case derived(const char *base, const char *name, uint32_t batch) {
  pa_case c = *pa_case_find(base);
  c.name = name;
  c.batch = batch;
  return c;
}

static bool selected(const char *name, int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], name) == 0) return true;
  return argc < 2;
}

int main(int argc, char **argv) {
  setenv("PTO2_PA_ISA", "portable", 1); /* read at first use */
  ASSERT_TRUE(pa_isa_active() == PA_ISA_PORTABLE);
  printf("instruction sets:");
  for (int isa = 0; isa < PA_ISA_COUNT; isa++)
    printf(" %s%s", pa_isa_name((pa_isa)isa), pa_isa_supported((pa_isa)isa) ? "" : "(n/a)");
  printf("; best %s\n", pa_isa_name(pa_isa_best()));
  test_isa_choice();
  test_ops();
  test_malformed();

  pa_case cases[] = {*pa_case_find("Small1"), *pa_case_find("Small2"),
                     *pa_case_find("VarSeq2"), *pa_case_find("VarSeq4"),
                     derived("Case1", "Case1x1", 1), derived("Case2", "Case2x2", 2),
                     derived("Case3", "Case3x1", 1), derived("Case2", "Ragged", 2)};
  pa_case *ragged = &cases[sizeof cases / sizeof cases[0] - 1];
  ragged->context_lens = ragged_lens;
  ragged->context_len_count = 2;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (selected(cases[i].name, argc, argv)) check_case(&cases[i]);

  printf("test_pa_kernels: %u passed, %u failed\n", passed, failed);
  return failed ? 1 : 0;
}
