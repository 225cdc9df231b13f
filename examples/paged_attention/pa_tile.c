/* Portable inner loops of the paged-attention kernels (plain C the compiler
 * vectorizes), the fp32 panel products shared with the AVX-512F ops, and
 * the run-time choice of the instruction set. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pa_tile.h"

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

static void *elem(const pa_mat *m, uint32_t r, uint32_t c) {
  return (char *)m->data + ((size_t)r * m->stride + c) * pto2_dtype_size(m->dtype);
}

/* ------------------------------------------------------------------------ */
/* Panel products                                                            */
/* ------------------------------------------------------------------------ */

/* dst[r][c] = m[r0 + r][c0 + c] widened to fp32 (dst row stride PA_PANEL). */
static void load_panel(const pa_panel_kit *kit, const pa_mat *m, uint32_t r0, uint32_t rows,
                       uint32_t c0, uint32_t cols, float *dst) {
  for (uint32_t r = 0; r < rows; r++)
    kit->widen(dst + r * PA_PANEL, elem(m, r0 + r, c0), m->dtype, cols);
}

/* dst[c][r] = m[r0 + r][c0 + c] widened to fp32: the transposed panel. */
static void load_panel_t(const pa_panel_kit *kit, const pa_mat *m, uint32_t r0, uint32_t rows,
                         uint32_t c0, uint32_t cols, float *dst) {
  float row[PA_PANEL];
  for (uint32_t r = 0; r < rows; r++) {
    kit->widen(row, elem(m, r0 + r, c0), m->dtype, cols);
    for (uint32_t c = 0; c < cols; c++) dst[c * PA_PANEL + r] = row[c];
  }
}

/* s[m0.., j0..] = panel st transposed (st holds jr rows of mr columns). */
static void store_panel_t(const float *st, uint32_t jr, uint32_t mr, const pa_mat *s, uint32_t m0,
                          uint32_t j0) {
  for (uint32_t m = 0; m < mr; m++) {
    float *row = elem(s, m0 + m, j0);
    for (uint32_t j = 0; j < jr; j++) row[j] = st[j * PA_PANEL + m];
  }
}

/* s = q * k^T, computed as s^T = k * q^T so that the panel product runs
 * along the contiguous rows of k. */
static void qk_tile(const pa_panel_kit *kit, const pa_mat *q, const pa_mat *k, const pa_mat *s) {
  float qt[PA_PANEL * PA_PANEL], kw[PA_PANEL * PA_PANEL], st[PA_PANEL * PA_PANEL];
  for (uint32_t m0 = 0; m0 < q->rows; m0 += PA_PANEL) {
    uint32_t mr = min_u32(PA_PANEL, q->rows - m0);
    for (uint32_t j0 = 0; j0 < k->rows; j0 += PA_PANEL) {
      uint32_t jr = min_u32(PA_PANEL, k->rows - j0);
      memset(st, 0, sizeof st);
      for (uint32_t k0 = 0; k0 < q->cols; k0 += PA_PANEL) {
        uint32_t kd = min_u32(PA_PANEL, q->cols - k0);
        load_panel_t(kit, q, m0, mr, k0, kd, qt);
        load_panel(kit, k, j0, jr, k0, kd, kw);
        kit->gemm_acc(jr, mr, kd, kw, PA_PANEL, qt, PA_PANEL, st, PA_PANEL);
      }
      store_panel_t(st, jr, mr, s, m0, j0);
    }
  }
}

void pa__qk_panels(const pa_panel_kit *kit, const pa_mat *q, uint32_t count, const pa_mat *k,
                   const pa_mat *s) {
  for (uint32_t i = 0; i < count; i++) qk_tile(kit, q, &k[i], &s[i]);
}

/* o += p * v. */
static void pv_acc(const pa_panel_kit *kit, const pa_mat *p, const pa_mat *v, const pa_mat *o) {
  float pw[PA_PANEL * PA_PANEL], vw[PA_PANEL * PA_PANEL];
  for (uint32_t m0 = 0; m0 < p->rows; m0 += PA_PANEL) {
    uint32_t mr = min_u32(PA_PANEL, p->rows - m0);
    for (uint32_t c0 = 0; c0 < v->cols; c0 += PA_PANEL) {
      uint32_t cw = min_u32(PA_PANEL, v->cols - c0);
      for (uint32_t j0 = 0; j0 < p->cols; j0 += PA_PANEL) {
        uint32_t jd = min_u32(PA_PANEL, p->cols - j0);
        load_panel(kit, p, m0, mr, j0, jd, pw);
        load_panel(kit, v, j0, jd, c0, cw, vw);
        kit->gemm_acc(mr, cw, jd, pw, PA_PANEL, vw, PA_PANEL, elem(o, m0, c0), o->stride);
      }
    }
  }
}

void pa__pv_panels(const pa_panel_kit *kit, const pa_mat *o, uint32_t count, const pa_mat *p,
                   const pa_mat *v) {
  for (uint32_t i = 0; i < count; i++) pv_acc(kit, &p[i], &v[i], o);
}

/* ------------------------------------------------------------------------ */
/* Portable ops                                                              */
/* ------------------------------------------------------------------------ */

static void widen_portable(float *dst, const void *src, pto2_dtype dtype, size_t n) {
  const uint16_t *h = src;
  if (dtype == PTO2_FLOAT32) {
    memcpy(dst, src, n * sizeof(float));
  } else if (dtype == PTO2_BFLOAT16) {
    for (size_t i = 0; i < n; i++) dst[i] = pto2_bf16_to_f32(h[i]);
  } else {
    for (size_t i = 0; i < n; i++) dst[i] = pto2_fp16_to_f32(h[i]);
  }
}

/* Row by row, one axpy per reduction step: c[r][:] += a[r][k] * b[k][:]. */
static void gemm_acc_portable(uint32_t rows, uint32_t cols, uint32_t depth,
                              const float *restrict a, size_t lda, const float *restrict b,
                              size_t ldb, float *restrict c, size_t ldc) {
  for (uint32_t r = 0; r < rows; r++) {
    float *restrict crow = c + r * ldc;
    for (uint32_t k = 0; k < depth; k++) {
      const float ark = a[r * lda + k];
      const float *restrict brow = b + k * ldb;
      for (uint32_t j = 0; j < cols; j++) crow[j] += ark * brow[j];
    }
  }
}

static const pa_panel_kit portable_kit = {widen_portable, gemm_acc_portable};

static void qk_portable(const pa_mat *q, uint32_t count, const pa_mat *k, const pa_mat *s) {
  pa__qk_panels(&portable_kit, q, count, k, s);
}

static void pv_portable(const pa_mat *o, uint32_t count, const pa_mat *p, const pa_mat *v) {
  pa__pv_panels(&portable_kit, o, count, p, v);
}

/* Stores v at p[j] in p's dtype (round to nearest even) and returns the
 * stored value widened back. */
static float store_rounded(void *p, pto2_dtype dtype, uint32_t j, float v) {
  uint16_t *h = (uint16_t *)p + j;
  switch (dtype) {
  case PTO2_BFLOAT16:
    *h = pto2_f32_to_bf16(v);
    return pto2_bf16_to_f32(*h);
  case PTO2_FLOAT16:
    *h = pto2_f32_to_fp16(v);
    return pto2_fp16_to_f32(*h);
  default:
    ((float *)p)[j] = v;
    return v;
  }
}

static const float *s_row(const pa_sf_args *a, uint32_t i, uint32_t r) {
  return a->s + i * a->s_step + r * a->s_stride;
}

static void *p_row(const pa_sf_args *a, uint32_t i, uint32_t r) {
  return (char *)a->p + (i * a->p_step + r * a->p_stride) * pto2_dtype_size(a->p_dtype);
}

static uint32_t valid_cols(const pa_sf_args *a, uint32_t i) {
  return i + 1 == a->count ? a->valid_last : a->cols;
}

/* Per row: the max, then p and the sum of the rounded p tile by tile. */
static void softmax_portable(const pa_sf_args *a) {
  for (uint32_t r = 0; r < a->rows; r++) {
    float m = -INFINITY, l = 0.0f;
    for (uint32_t i = 0; i < a->count; i++) {
      const float *row = s_row(a, i, r);
      for (uint32_t j = 0; j < valid_cols(a, i); j++) m = fmaxf(m, row[j] * a->scale);
    }
    for (uint32_t i = 0; i < a->count; i++) {
      const float *row = s_row(a, i, r);
      void *prow = p_row(a, i, r);
      uint32_t valid = valid_cols(a, i);
      for (uint32_t j = 0; j < a->cols; j++)
        l += store_rounded(prow, a->p_dtype, j, j < valid ? expf(row[j] * a->scale - m) : 0.0f);
    }
    a->mij[r] = m;
    a->lij[r] = l;
  }
}

static void update_portable(const pa_up_args *a) {
  for (uint32_t r = 0; r < a->rows; r++) {
    const float *onew = a->oi_new + r * a->onew_stride;
    float *o = a->oi + r * a->oi_stride, *dst = a->dst + r * a->dst_stride;
    if (a->is_first) {
      a->mi[r] = a->mij[r];
      a->li[r] = a->lij[r];
      memcpy(o, onew, a->cols * sizeof(float));
      for (uint32_t c = 0; a->is_last && c < a->cols; c++) dst[c] = onew[c] / a->lij[r];
      continue;
    }
    float m = fmaxf(a->mi[r], a->mij[r]);
    float alpha = expf(a->mi[r] - m), beta = expf(a->mij[r] - m);
    float l = alpha * a->li[r] + beta * a->lij[r];
    float *out = a->is_last ? dst : o;
    a->mi[r] = m;
    a->li[r] = l;
    for (uint32_t c = 0; c < a->cols; c++) {
      float v = alpha * o[c] + beta * onew[c];
      out[c] = a->is_last ? v / l : v;
    }
  }
}

static const pa_tile_ops portable_ops = {
    .qk = qk_portable, .pv = pv_portable, .softmax = softmax_portable, .update = update_portable};

const pa_tile_ops *pa__tile_ops_portable(void) { return &portable_ops; }

/* ------------------------------------------------------------------------ */
/* Choice of the instruction set                                             */
/* ------------------------------------------------------------------------ */

static const char *const isa_names[PA_ISA_COUNT] = {"portable", "avx512", "avx512bf16", "amx"};

const char *pa_isa_name(pa_isa isa) {
  return (unsigned)isa < PA_ISA_COUNT ? isa_names[isa] : "?";
}

int pa_isa_from_name(const char *name, pa_isa *out) {
  for (int i = 0; i < PA_ISA_COUNT; i++)
    if (name && strcmp(name, isa_names[i]) == 0) {
      *out = (pa_isa)i;
      return 0;
    }
  return PTO2_E_INVALID_ARGS;
}

static const pa_tile_ops *ops_of(pa_isa isa) {
  switch (isa) {
  case PA_ISA_PORTABLE: return pa__tile_ops_portable();
  case PA_ISA_AVX512: return pa__tile_ops_avx512();
  case PA_ISA_AVX512BF16: return pa__tile_ops_avx512bf16();
  case PA_ISA_AMX: return pa__tile_ops_amx();
  default: return NULL;
  }
}

bool pa_isa_supported(pa_isa isa) { return ops_of(isa) != NULL; }

pa_isa pa_isa_best(void) {
  int i = PA_ISA_COUNT - 1;
  while (i > 0 && !pa_isa_supported((pa_isa)i)) i--;
  return (pa_isa)i;
}

/* -1 until first use, then the pa_isa in effect.  Relaxed: the value only
 * changes in pa_isa_set() / pa_isa_init_from_env(), which callers make while
 * no kernel runs, and the runtime's task hand-off orders it before later
 * kernels; racing first uses store the same value. */
static _Atomic int active_isa = -1;

/* The ISA named by PTO2_PA_ISA, the best if unset; -1 with a message if bad. */
static int isa_from_env(char *msg, size_t len) {
  const char *name = getenv("PTO2_PA_ISA");
  pa_isa isa;
  if (!name || !*name) return (int)pa_isa_best();
  if (pa_isa_from_name(name, &isa) != 0) {
    snprintf(msg, len, "PTO2_PA_ISA='%s' is not one of portable, avx512, avx512bf16, amx", name);
    return -1;
  }
  if (!pa_isa_supported(isa)) {
    snprintf(msg, len, "PTO2_PA_ISA=%s: this CPU or build does not support it (best: %s)", name,
             pa_isa_name(pa_isa_best()));
    return -1;
  }
  return (int)isa;
}

int pa_isa_init_from_env(char *msg, size_t msg_len) {
  int isa = isa_from_env(msg, msg_len);
  if (isa < 0) return PTO2_E_INVALID_ARGS;
  atomic_store_explicit(&active_isa, isa, memory_order_relaxed);
  return 0;
}

pa_isa pa_isa_active(void) {
  int isa = atomic_load_explicit(&active_isa, memory_order_relaxed);
  if (isa < 0) {
    char msg[160];
    isa = isa_from_env(msg, sizeof msg);
    if (isa < 0) isa = (int)pa_isa_best();
    atomic_store_explicit(&active_isa, isa, memory_order_relaxed);
  }
  return (pa_isa)isa;
}

int pa_isa_set(pa_isa isa) {
  if (!pa_isa_supported(isa)) return PTO2_E_INVALID_ARGS;
  atomic_store_explicit(&active_isa, (int)isa, memory_order_relaxed);
  return 0;
}

const pa_tile_ops *pa__tile_ops(void) { return ops_of(pa_isa_active()); }
