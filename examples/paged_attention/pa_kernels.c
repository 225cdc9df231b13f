/*
 * The paged-attention kernels and their registration table.
 *
 * Tensors are read as matrices (all dimensions but the last flattened into
 * rows).  The kernels check their arguments and hand the matrices to the
 * pa_tile_ops of the selected instruction set (pa_tile.h): QK and PV as
 * matrix products with fp32 accumulation, SF and UP as row loops.
 */
#include <string.h>

#include "pa_tile.h"

typedef pa_mat mat;

/* Block tiles handed to one qk / pv call of the unroll kernels. */
enum { BATCH = 64 };

/* `count` equal tiles, tile i at `step` elements after tile 0 (block-major). */
typedef struct tiles {
  mat first;
  size_t step;
  uint32_t count;
} tiles;

static void *elem(const mat *m, uint32_t r, uint32_t c) {
  return (char *)m->data + ((size_t)r * m->stride + c) * pto2_dtype_size(m->dtype);
}

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

static void zero_mat(const mat *m) {
  for (uint32_t r = 0; r < m->rows; r++) memset(elem(m, r, 0), 0, m->cols * sizeof(float));
}

/* o = sum_i p_i * v_i: the ISA's loop that writes o where it has one, else
 * zero and accumulate (the same bits either way). */
static void pv_set(const pa_tile_ops *ops, const mat *o, uint32_t count, const mat *p,
                   const mat *v) {
  if (ops->pv_set) {
    ops->pv_set(o, count, p, v);
    return;
  }
  zero_mat(o);
  ops->pv(o, count, p, v);
}

/* The softmax arguments over tiles s and p (same rows and columns). */
static pa_sf_args sf_args(const tiles *s, const tiles *p, uint32_t valid_last, float scale,
                          float *mij, float *lij) {
  return (pa_sf_args){.s = s->first.data, .s_step = s->step, .s_stride = s->first.stride,
                      .p = p->first.data, .p_dtype = p->first.dtype, .p_step = p->step,
                      .p_stride = p->first.stride, .rows = p->first.rows, .count = p->count,
                      .cols = p->first.cols, .valid_last = valid_last, .scale = scale,
                      .mij = mij, .lij = lij};
}

/* ------------------------------------------------------------------------ */
/* Kernels                                                                   */
/* ------------------------------------------------------------------------ */

int pa_kernel_qk(const pto2_kernel_ctx *ctx) {
  mat q, k, s;
  if (!has_args(ctx, 3, 0) || !as_mat(&ctx->tensors[0], &q) || !as_mat(&ctx->tensors[1], &k) ||
      q.cols != k.cols || !as_f32_mat(&ctx->tensors[2], q.rows, k.rows, &s))
    return PTO2_E_INVALID_ARGS;
  pa__tile_ops()->qk(&q, 1, &k, &s);
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
  pa_sf_args a = sf_args(&s, &p, s.first.cols, pto2_f32_from_u64(ctx->scalars[0]), mij, lij);
  pa__tile_ops()->softmax(&a);
  return 0;
}

int pa_kernel_pv(const pto2_kernel_ctx *ctx) {
  mat p, v, o;
  if (!has_args(ctx, 3, 0) || !as_mat(&ctx->tensors[0], &p) || !as_mat(&ctx->tensors[1], &v) ||
      p.cols != v.rows || !as_f32_mat(&ctx->tensors[2], p.rows, v.cols, &o))
    return PTO2_E_INVALID_ARGS;
  pv_set(pa__tile_ops(), &o, 1, &p, &v);
  return 0;
}

int pa_kernel_up(const pto2_kernel_ctx *ctx) {
  const pto2_tensor *t = ctx->tensors;
  mat onew, oi, dst;
  if (!has_args(ctx, 7, 2) || !as_mat(&t[2], &onew) || onew.dtype != PTO2_FLOAT32)
    return PTO2_E_INVALID_ARGS;
  uint32_t rows = onew.rows, cols = onew.cols;
  pa_up_args a = {.rows = rows, .cols = cols, .mij = as_vec(&t[0], rows),
                  .lij = as_vec(&t[1], rows), .mi = as_vec(&t[3], rows),
                  .li = as_vec(&t[4], rows), .is_first = ctx->scalars[0] != 0,
                  .is_last = ctx->scalars[1] != 0};
  if (!a.mij || !a.lij || !a.mi || !a.li || !as_f32_mat(&t[5], rows, cols, &oi) ||
      !as_f32_mat(&t[6], rows, cols, &dst))
    return PTO2_E_INVALID_ARGS;
  a.oi_new = onew.data, a.onew_stride = onew.stride;
  a.oi = oi.data, a.oi_stride = oi.stride;
  a.dst = dst.data, a.dst_stride = dst.stride;
  pa__tile_ops()->update(&a);
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
  mat k[BATCH], si[BATCH];
  for (uint32_t i0 = 0; i0 < s.count; i0 += BATCH) {
    uint32_t n = s.count - i0 < BATCH ? s.count - i0 : BATCH;
    for (uint32_t i = 0; i < n; i++) {
      si[i] = tile_at(&s, i0 + i);
      if (!cache_block(&cache, bt[i0 + i], si[i].cols, &k[i])) return PTO2_E_INVALID_ARGS;
    }
    ops->qk(&q, n, k, si);
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
  pa_sf_args a = sf_args(&s, &p, valid_last, pto2_f32_from_u64(ctx->scalars[0]), mij, lij);
  pa__tile_ops()->softmax(&a);
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
  mat v[BATCH], pi[BATCH];
  for (uint32_t i = 0; i < p.count; i++)
    if (!cache_block(&cache, bt[i], p.first.cols, &v[0])) return PTO2_E_INVALID_ARGS;
  if (!p.count) zero_mat(&o);
  for (uint32_t i0 = 0; i0 < p.count; i0 += BATCH) {
    uint32_t n = p.count - i0 < BATCH ? p.count - i0 : BATCH;
    for (uint32_t i = 0; i < n; i++) {
      pi[i] = tile_at(&p, i0 + i);
      (void)cache_block(&cache, bt[i0 + i], pi[i].cols, &v[i]);
    }
    if (i0 == 0)
      pv_set(ops, &o, n, pi, v);
    else
      ops->pv(&o, n, pi, v);
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
