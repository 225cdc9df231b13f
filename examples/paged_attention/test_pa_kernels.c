/* The paged-attention kernels without the runtime: called one after another
 * in the order of orchestration variant A (per head tile a hub, then per
 * block QK, SF on the valid [M x valid_len] view, PV, UP) and variant C
 * (groups of up to 64 blocks through the unroll kernels), on the portable
 * and the AVX-512 paths, they match the golden reference within each case's
 * tolerance (fp16 head_dim 16 cases; bf16 Case1/Case2/Case3 shapes on one or
 * two batches; ragged contexts ending in partial blocks and partial groups);
 * A and C agree; a rerun gives the same bits; the hub's uninitialized
 * accumulators are never read; PA_NO_SIMD=1 selects the portable path; and
 * malformed calls are refused.  Arguments: case names to run (default all). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pa.h"
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
  pa_simd_set(false);
  check_path(in, golden, "portable");
  if (pa_simd_available()) {
    pa_simd_set(true);
    ASSERT_TRUE(pa_simd_active());
    check_path(in, golden, "avx512");
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
  setenv("PA_NO_SIMD", "1", 1); /* read at first use */
  ASSERT_TRUE(!pa_simd_active());
  printf("AVX-512 path %s\n", pa_simd_available() ? "available" : "not available: portable only");
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
