/*
 * The inner loops of the paged-attention kernels, private to the workload.
 *
 * Four implementations share this interface, one per instruction set (enum
 * pa_isa in pa.h): portable C (pa_tile.c), AVX-512F fp32 FMA and AVX-512 BF16
 * dot products (pa_tile_avx512.c), and AMX tiles (pa_tile_amx.c).  The
 * faster ones handle the shapes they were built for (bf16 inputs, even
 * head_dim and block size; AMX: multiples of 16/32) and pass anything else
 * to the next slower one, so every ISA accepts every valid call.
 *
 * Every implementation gives the same bits on every run for the same inputs;
 * different implementations may differ in the last bits (summation order).
 */
#ifndef PA_TILE_H
#define PA_TILE_H

#include <stddef.h>
#include <stdint.h>

#include "pa.h"

/* A row-major matrix view: element (r, c) at data + (r * stride + c). */
typedef struct pa_mat {
  void *data;
  pto2_dtype dtype;
  uint32_t rows, cols;
  size_t stride; /* elements */
} pa_mat;

/* The softmax of SF / SF_UNROLL over `count` score tiles of rows x cols:
 * per row, m = max over the valid columns of scale * s (columns < cols of
 * every tile but the last, < valid_last of the last), p = exp(scale * s - m)
 * rounded to p's dtype (0 in the masked columns), l = sum of the rounded p. */
typedef struct pa_sf_args {
  const float *s;        /* tile i, row r at s + i * s_step + r * s_stride */
  size_t s_step, s_stride;
  void *p;               /* same layout in p_dtype (bf16, fp16 or fp32) */
  pto2_dtype p_dtype;
  size_t p_step, p_stride;
  uint32_t rows, count, cols, valid_last;
  float scale;
  float *mij, *lij;      /* rows each */
} pa_sf_args;

/* The online-softmax update of UP over rows x cols (all fp32). */
typedef struct pa_up_args {
  uint32_t rows, cols;
  const float *mij, *lij;
  float *mi, *li;
  const float *oi_new;
  float *oi, *dst;
  size_t onew_stride, oi_stride, dst_stride;
  int is_first, is_last;
} pa_up_args;

typedef struct pa_tile_ops {
  /* s_i = q * k_i^T for i < count (q: M x K; k_i: N x K; s_i: M x N fp32).
   * q and k_i have the same float dtype. */
  void (*qk)(const pa_mat *q, uint32_t count, const pa_mat *k, const pa_mat *s);
  /* o += sum_i p_i * v_i (p_i: M x N; v_i: N x K; o: M x K fp32). */
  void (*pv)(const pa_mat *o, uint32_t count, const pa_mat *p, const pa_mat *v);
  /* o = sum_i p_i * v_i: o's contents are never read, and the result has
   * the bits of zeroing o and calling pv.  NULL where the ISA has no such
   * loop (the caller zeroes o and calls pv). */
  void (*pv_set)(const pa_mat *o, uint32_t count, const pa_mat *p, const pa_mat *v);
  void (*softmax)(const pa_sf_args *a);
  void (*update)(const pa_up_args *a);
} pa_tile_ops;

/* The ops of the ISA in effect (pa_isa_active()). */
const pa_tile_ops *pa__tile_ops(void);
/* The ops of each ISA, or NULL where this build or CPU lacks it (AMX also
 * needs the kernel's permission, requested on first call). */
const pa_tile_ops *pa__tile_ops_portable(void);
const pa_tile_ops *pa__tile_ops_avx512(void);
const pa_tile_ops *pa__tile_ops_avx512bf16(void);
const pa_tile_ops *pa__tile_ops_amx(void);

/* Shared pieces of the x86 implementations (pa_tile_avx512.c), used by the
 * AMX one for what it does not do itself. */
void pa__qk_bf16dp(const pa_mat *q, uint32_t count, const pa_mat *k, const pa_mat *s);
void pa__pv_bf16dp(const pa_mat *o, uint32_t count, const pa_mat *p, const pa_mat *v);
void pa__pv_set_bf16dp(const pa_mat *o, uint32_t count, const pa_mat *p, const pa_mat *v);
void pa__softmax_avx512(const pa_sf_args *a);
void pa__softmax_bf16(const pa_sf_args *a); /* bf16 rounding by vcvtneps2bf16 */
void pa__update_avx512(const pa_up_args *a);
/* q^T packed as bf16 pairs: dst[kp * ld + m] = (q[m][2kp], q[m][2kp+1]) for
 * kp < kpairs, m < rows, zero for rows <= m < ld. */
void pa__pack_q_pairs(const pa_mat *q, uint32_t k0, uint32_t kpairs, uint32_t m0, uint32_t rows,
                      uint32_t ld, uint32_t *dst);
/* v packed as bf16 pairs of rows: dst[np * ld + c] = (v[2np][c0+c], v[2np+1][c0+c]) for
 * np < npairs, c < cols, zero for cols <= c < ld. */
void pa__pack_v_pairs(const pa_mat *v, uint32_t n0, uint32_t npairs, uint32_t c0, uint32_t cols,
                      uint32_t ld, uint32_t *dst);
/* s[m][n0 + n] = t[n * ldt + m] for m < s->rows, n < cols. */
void pa__store_transposed(const float *t, size_t ldt, uint32_t cols, const pa_mat *s, uint32_t m0,
                          uint32_t mrows, uint32_t n0);

/* The fp32 panel products of the portable and AVX-512F ops: inputs widened
 * to fp32 panels of at most PA_PANEL x PA_PANEL on the stack, multiplied by
 * gemm_acc; every output element sums its products in ascending order of the
 * reduction index. */
#define PA_PANEL 64
typedef struct pa_panel_kit {
  /* dst[i] = src[i] widened to fp32, i < n; src is fp32, bf16 or fp16. */
  void (*widen)(float *dst, const void *src, pto2_dtype dtype, size_t n);
  /* c[rows x cols] += a[rows x depth] * b[depth x cols]; row strides in
   * elements; rows, cols, depth <= PA_PANEL. */
  void (*gemm_acc)(uint32_t rows, uint32_t cols, uint32_t depth, const float *a, size_t lda,
                   const float *b, size_t ldb, float *c, size_t ldc);
} pa_panel_kit;
void pa__qk_panels(const pa_panel_kit *kit, const pa_mat *q, uint32_t count, const pa_mat *k,
                   const pa_mat *s);
void pa__pv_panels(const pa_panel_kit *kit, const pa_mat *o, uint32_t count, const pa_mat *p,
                   const pa_mat *v);


#endif /* PA_TILE_H */
