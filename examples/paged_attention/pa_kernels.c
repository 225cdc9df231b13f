/*
 * The paged-attention kernels and their registration table.
 *
 * Tensors are read as matrices (all dimensions but the last flattened into
 * rows).  QK and PV widen PA_PANEL-sized panels of their inputs to fp32 on
 * the stack (48 KiB at most) and multiply them with the selected
 * pa_tile_ops; every output element sums its products in ascending order of
 * the reduction index, so a result does not depend on the panel sizes.  SF
 * and UP are plain loops (libm expf).
 */
#include <math.h>
#include <string.h>

#include "pa_tile.h"

/* A row-major matrix view: element (r, c) at data + (r * stride + c). */
typedef struct mat {
  void *data;
  pto2_dtype dtype;
  uint32_t rows, cols;
  size_t stride; /* elements */
} mat;

/* `count` equal tiles, tile i at `step` elements after tile 0 (block-major). */
typedef struct tiles {
  mat first;
  size_t step;
  uint32_t count;
} tiles;

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

static void *elem(const mat *m, uint32_t r, uint32_t c) {
  return (char *)m->data + ((size_t)r * m->stride + c) * pto2_dtype_size(m->dtype);
}

static float *elem_f32(const mat *m, uint32_t r, uint32_t c) { return elem(m, r, c); }

static mat sub_rows(const mat *m, uint32_t r0, uint32_t rows) {
  mat s = *m;
  s.data = elem(m, r0, 0);
  s.rows = rows;
  return s;
}

static mat tile_at(const tiles *t, uint32_t i) {
  mat m = t->first;
  m.data = (char *)m.data + i * t->step * pto2_dtype_size(m.dtype);
  return m;
}

/* ------------------------------------------------------------------------ */
/* Argument checks                                                           */
/* ------------------------------------------------------------------------ */

static bool is_float_dtype(pto2_dtype d) {
  return d == PTO2_FLOAT32 || d == PTO2_BFLOAT16 || d == PTO2_FLOAT16;
}

/* Views `t` as a matrix; false unless every dimension between the first and
 * the last spans its whole raw extent (so rows have one stride). */
static bool as_mat(const pto2_tensor *t, mat *m) {
  if (!pto2_tensor_is_valid(t) || !is_float_dtype((pto2_dtype)t->dtype)) return false;
  unsigned last = t->ndims - 1u;
  m->rows = 1;
  for (unsigned d = 0; d < last; d++) {
    if (d > 0 && t->shapes[d] != t->raw_shapes[d]) return false;
    m->rows *= t->shapes[d];
  }
  m->data = t->data;
  m->dtype = (pto2_dtype)t->dtype;
  m->cols = t->shapes[last];
  m->stride = last ? pto2_tensor_stride(t, last - 1u) : m->cols;
  return true;
}

static bool as_f32_mat(const pto2_tensor *t, uint32_t rows, uint32_t cols, mat *m) {
  return as_mat(t, m) && m->dtype == PTO2_FLOAT32 && m->rows == rows && m->cols == cols;
}

/* An fp32 vector of n elements. */
static float *as_vec(const pto2_tensor *t, uint32_t n) {
  mat m;
  return as_f32_mat(t, 1, n, &m) ? m.data : NULL;
}

/* A block-major buffer of `count` tiles of rows x (cols / count), contiguous. */
static bool as_tiles(const pto2_tensor *t, uint32_t count, tiles *out) {
  mat m;
  if (!count || !as_mat(t, &m) || m.stride != m.cols || m.cols % count) return false;
  out->first = m;
  out->first.cols = m.cols / count;
  out->first.stride = out->first.cols;
  out->step = (size_t)m.rows * out->first.cols;
  out->count = count;
  return true;
}

static bool has_args(const pto2_kernel_ctx *ctx, uint32_t tensors, uint32_t scalars) {
  return ctx->tensor_count == tensors && ctx->scalar_count == scalars;
}

/* The block-table slice passed as an address scalar. */
static const int32_t *block_ids(uint64_t address) {
  return (const int32_t *)(uintptr_t)address;
}

/* The rows of block `id` of a cache of rows x K, or false if out of range. */
static bool cache_block(const mat *cache, int32_t id, uint32_t block_rows, mat *out) {
  if (id < 0 || ((uint64_t)id + 1) * block_rows > cache->rows) return false;
  *out = sub_rows(cache, (uint32_t)id * block_rows, block_rows);
  return true;
}

/* ------------------------------------------------------------------------ */
/* Matrix products                                                           */
/* ------------------------------------------------------------------------ */

/* dst[r][c] = m[r0 + r][c0 + c] widened to fp32 (dst row stride PA_PANEL). */
static void load_panel(const pa_tile_ops *ops, const mat *m, uint32_t r0, uint32_t rows,
                       uint32_t c0, uint32_t cols, float *dst) {
  for (uint32_t r = 0; r < rows; r++)
    ops->widen(dst + r * PA_PANEL, elem(m, r0 + r, c0), m->dtype, cols);
}

/* dst[c][r] = m[r0 + r][c0 + c] widened to fp32: the transposed panel. */
static void load_panel_t(const pa_tile_ops *ops, const mat *m, uint32_t r0, uint32_t rows,
                         uint32_t c0, uint32_t cols, float *dst) {
  float row[PA_PANEL];
  for (uint32_t r = 0; r < rows; r++) {
    ops->widen(row, elem(m, r0 + r, c0), m->dtype, cols);
    for (uint32_t c = 0; c < cols; c++) dst[c * PA_PANEL + r] = row[c];
  }
}

/* s[m0.., j0..] = panel st transposed (st holds jr rows of mr columns). */
static void store_panel_t(const float *st, uint32_t jr, uint32_t mr, const mat *s, uint32_t m0,
                          uint32_t j0) {
  for (uint32_t m = 0; m < mr; m++) {
    float *row = elem_f32(s, m0 + m, j0);
    for (uint32_t j = 0; j < jr; j++) row[j] = st[j * PA_PANEL + m];
  }
}

/* s[M x N] = q[M x K] * k[N x K]^T, computed as s^T = k * q^T so that the
 * panel product runs along the contiguous rows of k. */
static void qk_tile(const pa_tile_ops *ops, const mat *q, const mat *k, const mat *s) {
  float qt[PA_PANEL * PA_PANEL], kw[PA_PANEL * PA_PANEL], st[PA_PANEL * PA_PANEL];
  for (uint32_t m0 = 0; m0 < q->rows; m0 += PA_PANEL) {
    uint32_t mr = min_u32(PA_PANEL, q->rows - m0);
    for (uint32_t j0 = 0; j0 < k->rows; j0 += PA_PANEL) {
      uint32_t jr = min_u32(PA_PANEL, k->rows - j0);
      memset(st, 0, sizeof st);
      for (uint32_t k0 = 0; k0 < q->cols; k0 += PA_PANEL) {
        uint32_t kd = min_u32(PA_PANEL, q->cols - k0);
        load_panel_t(ops, q, m0, mr, k0, kd, qt);
        load_panel(ops, k, j0, jr, k0, kd, kw);
        ops->gemm_acc(jr, mr, kd, kw, PA_PANEL, qt, PA_PANEL, st, PA_PANEL);
      }
      store_panel_t(st, jr, mr, s, m0, j0);
    }
  }
}

/* o[M x K] += p[M x N] * v[N x K]. */
static void pv_acc(const pa_tile_ops *ops, const mat *p, const mat *v, const mat *o) {
  float pw[PA_PANEL * PA_PANEL], vw[PA_PANEL * PA_PANEL];
  for (uint32_t m0 = 0; m0 < p->rows; m0 += PA_PANEL) {
    uint32_t mr = min_u32(PA_PANEL, p->rows - m0);
    for (uint32_t c0 = 0; c0 < v->cols; c0 += PA_PANEL) {
      uint32_t cw = min_u32(PA_PANEL, v->cols - c0);
      for (uint32_t j0 = 0; j0 < p->cols; j0 += PA_PANEL) {
        uint32_t jd = min_u32(PA_PANEL, p->cols - j0);
        load_panel(ops, p, m0, mr, j0, jd, pw);
        load_panel(ops, v, j0, jd, c0, cw, vw);
        ops->gemm_acc(mr, cw, jd, pw, PA_PANEL, vw, PA_PANEL, elem_f32(o, m0, c0), o->stride);
      }
    }
  }
}

static void zero_mat(const mat *m) {
  for (uint32_t r = 0; r < m->rows; r++) memset(elem(m, r, 0), 0, m->cols * sizeof(float));
}

/* ------------------------------------------------------------------------ */
/* Softmax                                                                   */
/* ------------------------------------------------------------------------ */

/* Stores v at p[r][j] in p's dtype (round to nearest even) and returns the
 * stored value widened back. */
static float store_rounded(const mat *p, uint32_t r, uint32_t j, float v) {
  uint16_t *h = elem(p, r, j);
  switch (p->dtype) {
  case PTO2_BFLOAT16:
    *h = pto2_f32_to_bf16(v);
    return pto2_bf16_to_f32(*h);
  case PTO2_FLOAT16:
    *h = pto2_f32_to_fp16(v);
    return pto2_fp16_to_f32(*h);
  default:
    *elem_f32(p, r, j) = v;
    return v;
  }
}

/* Columns of tile i that hold scores; the rest are masked. */
static uint32_t valid_cols(const tiles *p, uint32_t i, uint32_t valid_last) {
  return i + 1 == p->count ? valid_last : p->first.cols;
}

/* max over the valid columns of row r of all tiles of scale * s. */
static float row_max(const tiles *s, const tiles *p, uint32_t r, uint32_t valid_last, float scale) {
  float m = -INFINITY;
  for (uint32_t i = 0; i < s->count; i++) {
    mat si = tile_at(s, i);
    const float *row = elem_f32(&si, r, 0);
    for (uint32_t j = 0; j < valid_cols(p, i, valid_last); j++) m = fmaxf(m, row[j] * scale);
  }
  return m;
}

/* Writes p = exp(scale * s - m) (0 where masked), rounded to p's dtype, for
 * row r of every tile, and returns the sum of the rounded values: summed
 * over the tiles per column first, then over the columns. */
static float row_exp(const tiles *s, const tiles *p, uint32_t r, uint32_t valid_last, float scale,
                     float m) {
  float l = 0.0f, colsum[PA_PANEL];
  for (uint32_t j0 = 0; j0 < p->first.cols; j0 += PA_PANEL) {
    uint32_t w = min_u32(PA_PANEL, p->first.cols - j0);
    memset(colsum, 0, sizeof colsum);
    for (uint32_t i = 0; i < p->count; i++) {
      mat si = tile_at(s, i), pi = tile_at(p, i);
      const float *row = elem_f32(&si, r, 0);
      uint32_t valid = valid_cols(p, i, valid_last);
      for (uint32_t j = j0; j < j0 + w; j++)
        colsum[j - j0] += store_rounded(&pi, r, j, j < valid ? expf(row[j] * scale - m) : 0.0f);
    }
    for (uint32_t j = 0; j < w; j++) l += colsum[j];
  }
  return l;
}

static void softmax(const tiles *s, const tiles *p, uint32_t valid_last, float scale, float *mij,
                    float *lij) {
  for (uint32_t r = 0; r < p->first.rows; r++) {
    mij[r] = row_max(s, p, r, valid_last, scale);
    lij[r] = row_exp(s, p, r, valid_last, scale, mij[r]);
  }
}

/* ------------------------------------------------------------------------ */
/* Kernels                                                                   */
/* ------------------------------------------------------------------------ */

int pa_kernel_qk(const pto2_kernel_ctx *ctx) {
  mat q, k, s;
  if (!has_args(ctx, 3, 0) || !as_mat(&ctx->tensors[0], &q) || !as_mat(&ctx->tensors[1], &k) ||
      q.cols != k.cols || !as_f32_mat(&ctx->tensors[2], q.rows, k.rows, &s))
    return PTO2_E_INVALID_ARGS;
  qk_tile(pa__tile_ops(), &q, &k, &s);
  return 0;
}

/* sij is the [M x valid_len] view of an [M x N] buffer; pij is [M x N]. */
int pa_kernel_sf(const pto2_kernel_ctx *ctx) {
  tiles s = {.count = 1}, p = {.count = 1};
  if (!has_args(ctx, 4, 1) || !as_mat(&ctx->tensors[0], &s.first) ||
      s.first.dtype != PTO2_FLOAT32 || !as_mat(&ctx->tensors[1], &p.first) ||
      p.first.rows != s.first.rows || p.first.cols < s.first.cols)
    return PTO2_E_INVALID_ARGS;
  float *mij = as_vec(&ctx->tensors[2], p.first.rows);
  float *lij = as_vec(&ctx->tensors[3], p.first.rows);
  if (!mij || !lij) return PTO2_E_INVALID_ARGS;
  softmax(&s, &p, s.first.cols, pto2_f32_from_u64(ctx->scalars[0]), mij, lij);
  return 0;
}

int pa_kernel_pv(const pto2_kernel_ctx *ctx) {
  mat p, v, o;
  if (!has_args(ctx, 3, 0) || !as_mat(&ctx->tensors[0], &p) || !as_mat(&ctx->tensors[1], &v) ||
      p.cols != v.rows || !as_f32_mat(&ctx->tensors[2], p.rows, v.cols, &o))
    return PTO2_E_INVALID_ARGS;
  zero_mat(&o);
  pv_acc(pa__tile_ops(), &p, &v, &o);
  return 0;
}

/* The accumulators of one online-softmax update (UP). */
typedef struct up_args {
  const float *mij, *lij;
  float *mi, *li;
  mat oi_new, oi, dst;
} up_args;

static void up_first(const up_args *a, bool is_last) {
  for (uint32_t r = 0; r < a->oi.rows; r++) {
    const float *onew = elem_f32(&a->oi_new, r, 0);
    float *o = elem_f32(&a->oi, r, 0), *out = elem_f32(&a->dst, r, 0);
    a->mi[r] = a->mij[r];
    a->li[r] = a->lij[r];
    memcpy(o, onew, a->oi.cols * sizeof(float));
    for (uint32_t c = 0; is_last && c < a->oi.cols; c++) out[c] = onew[c] / a->lij[r];
  }
}

static void up_next(const up_args *a, bool is_last) {
  for (uint32_t r = 0; r < a->oi.rows; r++) {
    const float *onew = elem_f32(&a->oi_new, r, 0);
    float *o = elem_f32(&a->oi, r, 0);
    float *out = is_last ? elem_f32(&a->dst, r, 0) : o;
    float m = fmaxf(a->mi[r], a->mij[r]);
    float alpha = expf(a->mi[r] - m), beta = expf(a->mij[r] - m);
    float l = alpha * a->li[r] + beta * a->lij[r];
    a->mi[r] = m;
    a->li[r] = l;
    for (uint32_t c = 0; c < a->oi.cols; c++) {
      float v = alpha * o[c] + beta * onew[c];
      out[c] = is_last ? v / l : v;
    }
  }
}

int pa_kernel_up(const pto2_kernel_ctx *ctx) {
  const pto2_tensor *t = ctx->tensors;
  up_args a;
  if (!has_args(ctx, 7, 2) || !as_mat(&t[2], &a.oi_new) || a.oi_new.dtype != PTO2_FLOAT32)
    return PTO2_E_INVALID_ARGS;
  uint32_t rows = a.oi_new.rows, cols = a.oi_new.cols;
  a.mij = as_vec(&t[0], rows);
  a.lij = as_vec(&t[1], rows);
  a.mi = as_vec(&t[3], rows);
  a.li = as_vec(&t[4], rows);
  if (!a.mij || !a.lij || !a.mi || !a.li || !as_f32_mat(&t[5], rows, cols, &a.oi) ||
      !as_f32_mat(&t[6], rows, cols, &a.dst))
    return PTO2_E_INVALID_ARGS;
  bool is_first = ctx->scalars[0] != 0, is_last = ctx->scalars[1] != 0;
  if (is_first) up_first(&a, is_last);
  else up_next(&a, is_last);
  return 0;
}

int pa_kernel_hub(const pto2_kernel_ctx *ctx) {
  (void)ctx; /* the hub task only creates the accumulators */
  return 0;
}

/* Scalars: n_blocks, block-table address.  Tile i of sij_buf = qi * K_{bt[i]}^T. */
int pa_kernel_qk_unroll(const pto2_kernel_ctx *ctx) {
  mat q, cache;
  tiles s;
  if (!has_args(ctx, 3, 2) || !as_mat(&ctx->tensors[0], &q) ||
      !as_mat(&ctx->tensors[1], &cache) || cache.cols != q.cols ||
      !as_tiles(&ctx->tensors[2], (uint32_t)ctx->scalars[0], &s) ||
      s.first.dtype != PTO2_FLOAT32 || s.first.rows != q.rows || !ctx->scalars[1])
    return PTO2_E_INVALID_ARGS;
  const int32_t *bt = block_ids(ctx->scalars[1]);
  const pa_tile_ops *ops = pa__tile_ops();
  for (uint32_t i = 0; i < s.count; i++) {
    mat k, si = tile_at(&s, i);
    if (!cache_block(&cache, bt[i], si.cols, &k)) return PTO2_E_INVALID_ARGS;
    qk_tile(ops, &q, &k, &si);
  }
  return 0;
}

/* Scalars: scale, n_blocks, valid_len_last.  mij is the row max over the
 * whole group; pij_buf has the layout of sij_buf in the query dtype. */
int pa_kernel_sf_unroll(const pto2_kernel_ctx *ctx) {
  tiles s, p;
  if (!has_args(ctx, 4, 3)) return PTO2_E_INVALID_ARGS;
  uint32_t n = (uint32_t)ctx->scalars[1], valid_last = (uint32_t)ctx->scalars[2];
  if (!as_tiles(&ctx->tensors[0], n, &s) || s.first.dtype != PTO2_FLOAT32 ||
      !as_tiles(&ctx->tensors[1], n, &p) || p.first.rows != s.first.rows ||
      p.first.cols != s.first.cols || valid_last < 1 || valid_last > p.first.cols)
    return PTO2_E_INVALID_ARGS;
  float *mij = as_vec(&ctx->tensors[2], p.first.rows);
  float *lij = as_vec(&ctx->tensors[3], p.first.rows);
  if (!mij || !lij) return PTO2_E_INVALID_ARGS;
  softmax(&s, &p, valid_last, pto2_f32_from_u64(ctx->scalars[0]), mij, lij);
  return 0;
}

/* Scalars: n_blocks, block-table address.  oi_new = sum_i pij_i * V_{bt[i]}. */
int pa_kernel_pv_unroll(const pto2_kernel_ctx *ctx) {
  mat cache, o;
  tiles p;
  if (!has_args(ctx, 3, 2) || !as_tiles(&ctx->tensors[0], (uint32_t)ctx->scalars[0], &p) ||
      !as_mat(&ctx->tensors[1], &cache) ||
      !as_f32_mat(&ctx->tensors[2], p.first.rows, cache.cols, &o) || !ctx->scalars[1])
    return PTO2_E_INVALID_ARGS;
  const int32_t *bt = block_ids(ctx->scalars[1]);
  const pa_tile_ops *ops = pa__tile_ops();
  zero_mat(&o);
  for (uint32_t i = 0; i < p.count; i++) {
    mat v, pi = tile_at(&p, i);
    if (!cache_block(&cache, bt[i], pi.cols, &v)) return PTO2_E_INVALID_ARGS;
    pv_acc(ops, &pi, &v, &o);
  }
  return 0;
}

int pa_kernel_noop(const pto2_kernel_ctx *ctx) {
  (void)ctx;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Registration                                                              */
/* ------------------------------------------------------------------------ */

static const pa_kernel_info kernel_table[PA_KERNEL_COUNT] = {
    {PA_K_QK, PTO2_CORE_AIC, "QK", pa_kernel_qk},
    {PA_K_SF, PTO2_CORE_AIV, "SF", pa_kernel_sf},
    {PA_K_PV, PTO2_CORE_AIC, "PV", pa_kernel_pv},
    {PA_K_UP, PTO2_CORE_AIV, "UP", pa_kernel_up},
    {PA_K_AIC_HUB, PTO2_CORE_AIC, "AIC_HUB", pa_kernel_hub},
    {PA_K_AIV_HUB, PTO2_CORE_AIV, "AIV_HUB", pa_kernel_hub},
    {PA_K_QK_UNROLL, PTO2_CORE_AIC, "QK_UNROLL", pa_kernel_qk_unroll},
    {PA_K_SF_UNROLL, PTO2_CORE_AIV, "SF_UNROLL", pa_kernel_sf_unroll},
    {PA_K_PV_UNROLL, PTO2_CORE_AIC, "PV_UNROLL", pa_kernel_pv_unroll},
};

const pa_kernel_info *pa_kernel_table(void) { return kernel_table; }

int pa_kernels_register(pto2_runtime *rt, bool noop) {
  for (unsigned i = 0; i < PA_KERNEL_COUNT; i++) {
    const pa_kernel_info *k = &kernel_table[i];
    int rc = pto2_kernel_register(rt, k->id, k->core, k->name, noop ? pa_kernel_noop : k->fn, NULL);
    if (rc) return rc;
  }
  return 0;
}
