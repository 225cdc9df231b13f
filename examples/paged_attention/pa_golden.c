/*
 * Golden reference (plain sequential attention) and the allclose comparison.
 *
 * Per batch, the key/value blocks are visited in block-table order; every
 * head row scores the block, takes the block's row max, rounds
 * p = exp(s - max) to the input dtype, and folds the block into its running
 * (max, sum, output) with the same rescaling as the UP kernel.  Arithmetic
 * is in double; the loops are axpys over contiguous rows so the compiler
 * vectorizes them without reassociating any sum.
 */
#include <math.h>
#include <stdlib.h>

#include "pa.h"

/* Per-batch working set; sizes from the case. */
typedef struct golden {
  const pa_inputs *in;
  uint32_t heads, dim, block; /* H, K, N */
  double *q;      /* H x K: the batch's query rows */
  double *kt;     /* K x N: the block's keys, transposed */
  double *v;      /* N x K: the block's values */
  double *s;      /* N: one row's scores */
  double *o_new;  /* K: one row's block output */
  double *o;      /* H x K: running outputs */
  double *m, *l;  /* H: running max and sum */
} golden;

static double widen(const uint16_t *x, size_t i, pto2_dtype dtype) {
  return dtype == PTO2_BFLOAT16 ? pto2_bf16_to_f32(x[i]) : pto2_fp16_to_f32(x[i]);
}

static double round_to_dtype(double x, pto2_dtype dtype) {
  float f = (float)x;
  return dtype == PTO2_BFLOAT16 ? pto2_bf16_to_f32(pto2_f32_to_bf16(f))
                                : pto2_fp16_to_f32(pto2_f32_to_fp16(f));
}

/* y[i] += a * x[i] */
static void axpy(size_t n, double a, const double *restrict x, double *restrict y) {
  for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

static void golden_fini(golden *g) {
  free(g->q);
  free(g->kt);
  free(g->v);
  free(g->s);
  free(g->o_new);
  free(g->o);
  free(g->m);
  free(g->l);
}

static int golden_init(golden *g, const pa_inputs *in) {
  const pa_case *c = in->pcase;
  size_t hk = (size_t)c->num_heads * c->head_dim, nk = (size_t)c->block_size * c->head_dim;
  *g = (golden){.in = in, .heads = c->num_heads, .dim = c->head_dim, .block = c->block_size};
  g->q = malloc(hk * sizeof(double));
  g->kt = malloc(nk * sizeof(double));
  g->v = malloc(nk * sizeof(double));
  g->s = malloc(c->block_size * sizeof(double));
  g->o_new = malloc(c->head_dim * sizeof(double));
  g->o = malloc(hk * sizeof(double));
  g->m = malloc(c->num_heads * sizeof(double));
  g->l = malloc(c->num_heads * sizeof(double));
  if (g->q && g->kt && g->v && g->s && g->o_new && g->o && g->m && g->l) return 0;
  golden_fini(g);
  return PTO2_E_NO_MEMORY;
}

static void load_query(golden *g, uint32_t b) {
  const uint16_t *q = (const uint16_t *)g->in->query + (size_t)b * g->heads * g->dim;
  for (size_t i = 0; i < (size_t)g->heads * g->dim; i++) g->q[i] = widen(q, i, g->in->pcase->dtype);
}

/* The first `valid` rows of cache block `blk`: keys transposed into kt
 * (row stride N), values into v. */
static void load_block(golden *g, int32_t blk, uint32_t valid) {
  pto2_dtype dtype = g->in->pcase->dtype;
  size_t base = (size_t)blk * g->block * g->dim;
  const uint16_t *k = (const uint16_t *)g->in->key_cache + base;
  const uint16_t *v = (const uint16_t *)g->in->value_cache + base;
  for (uint32_t j = 0; j < valid; j++)
    for (uint32_t d = 0; d < g->dim; d++) {
      g->kt[(size_t)d * g->block + j] = widen(k, (size_t)j * g->dim + d, dtype);
      g->v[(size_t)j * g->dim + d] = widen(v, (size_t)j * g->dim + d, dtype);
    }
}

/* Scores of head h against the block; returns their max (clamped at -1e30). */
static double score_row(golden *g, uint32_t h, uint32_t valid) {
  const double *q = g->q + (size_t)h * g->dim;
  double m = -1e30;
  for (uint32_t j = 0; j < valid; j++) g->s[j] = 0.0;
  for (uint32_t d = 0; d < g->dim; d++) axpy(valid, q[d], g->kt + (size_t)d * g->block, g->s);
  for (uint32_t j = 0; j < valid; j++) {
    g->s[j] *= g->in->scale;
    m = fmax(m, g->s[j]);
  }
  return m;
}

/* o_new = p * V with p = round(exp(s - m)); returns sum(p). */
static double block_output(golden *g, uint32_t valid, double m) {
  double l = 0.0;
  for (uint32_t d = 0; d < g->dim; d++) g->o_new[d] = 0.0;
  for (uint32_t j = 0; j < valid; j++) {
    double p = round_to_dtype(exp(g->s[j] - m), g->in->pcase->dtype);
    l += p;
    axpy(g->dim, p, g->v + (size_t)j * g->dim, g->o_new);
  }
  return l;
}

/* Folds head h's block result (m_blk, l_blk, o_new) into its running state. */
static void fold(golden *g, uint32_t h, bool first, double m_blk, double l_blk) {
  double *o = g->o + (size_t)h * g->dim;
  if (first) {
    g->m[h] = m_blk;
    g->l[h] = l_blk;
    for (uint32_t d = 0; d < g->dim; d++) o[d] = g->o_new[d];
    return;
  }
  double m = fmax(g->m[h], m_blk);
  double alpha = exp(g->m[h] - m), beta = exp(m_blk - m);
  g->m[h] = m;
  g->l[h] = alpha * g->l[h] + beta * l_blk;
  for (uint32_t d = 0; d < g->dim; d++) o[d] = alpha * o[d] + beta * g->o_new[d];
}

static void run_batch(golden *g, uint32_t b, float *out) {
  const pa_case *c = g->in->pcase;
  const int32_t *bt = g->in->block_table + (size_t)b * pa_case_table_width(c);
  uint32_t ctx = (uint32_t)g->in->context_lens[b];
  load_query(g, b);
  for (uint32_t n = 0; n * g->block < ctx; n++) {
    uint32_t valid = ctx - n * g->block < g->block ? ctx - n * g->block : g->block;
    load_block(g, bt[n], valid);
    for (uint32_t h = 0; h < g->heads; h++) {
      double m = score_row(g, h, valid);
      double l = block_output(g, valid, m);
      fold(g, h, n == 0, m, l);
    }
  }
  for (size_t i = 0; i < (size_t)g->heads * g->dim; i++)
    out[i] = (float)(g->o[i] / g->l[i / g->dim]);
}

int pa_golden_compute_batch(const pa_inputs *in, uint32_t b, float *expected) {
  golden g;
  int rc = golden_init(&g, in);
  if (rc) return rc;
  run_batch(&g, b, expected + (size_t)b * g.heads * g.dim);
  golden_fini(&g);
  return 0;
}

int pa_golden_compute(const pa_inputs *in, float *expected) {
  golden g;
  int rc = golden_init(&g, in);
  if (rc) return rc;
  for (uint32_t b = 0; b < in->pcase->batch; b++)
    run_batch(&g, b, expected + (size_t)b * g.heads * g.dim);
  golden_fini(&g);
  return 0;
}

pa_compare_result pa_compare(const float *actual, const float *expected, size_t n, double rtol,
                             double atol) {
  pa_compare_result r = {.pass = true};
  for (size_t i = 0; i < n; i++) {
    double err = fabs((double)actual[i] - (double)expected[i]);
    if (isnan(err) || err > r.max_abs_err) r.max_abs_err = err; /* a NaN sticks */
    if (err <= atol + rtol * fabs((double)expected[i])) continue;
    if (!r.mismatches++) r.first_mismatch = i;
    r.pass = false;
  }
  return r;
}
