/*
 * AVX-512 inner loops of the paged-attention kernels, compiled with function
 * target attributes and used only when the CPU reports the features:
 *
 *   avx512      (AVX512F/BW/VL + FMA) fp32 panel products with the operands
 *               widened to fp32; softmax and update with a vector exp.
 *   avx512bf16  (+ AVX512_BF16) bf16 products as vdpbf16ps dot products:
 *               each instruction adds two adjacent products of the reduction
 *               (exact in fp32) to an fp32 accumulator.  fp16 inputs, odd
 *               reduction lengths and head_dim > 256 use the avx512 products.
 *
 * QK computes s^T = k * q^T: q is packed once per call into bf16 pairs along
 * head_dim (q^T, 16 rows of q per vector), every key row pair is broadcast
 * straight from the cache, and the fp32 result tile is transposed on the way
 * out.  PV packs each value block into pairs of rows (the layout vdpbf16ps
 * and AMX read) and broadcasts pairs of p; for 8 or 16 rows it unpacks the
 * row pairs in registers instead.  The loops for Case1's shapes are compiled
 * per row length (qk16_*, pv8_*) and prefetch the rows they read next.
 */
#include <math.h>
#include <string.h>

#include "pa_tile.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define PA_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#define PA_AVX512_INLINE \
  static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,fma")))
#define PA_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,fma")))
#define PA_BF16_INLINE \
  static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512bf16,fma")))

enum { LANES = 16, MAX_VECS = 4, ROW_BLOCK = 4 };

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

/* The first n (<= 16) lanes. */
PA_AVX512_INLINE __mmask16 first_lanes(uint32_t n) {
  return n >= LANES ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u);
}

/* ------------------------------------------------------------------------ */
/* fp32 panels (avx512)                                                      */
/* ------------------------------------------------------------------------ */

PA_AVX512 static void widen_avx512(float *dst, const void *src, pto2_dtype dtype, size_t n) {
  const uint16_t *h = src;
  size_t i = 0;
  if (dtype == PTO2_FLOAT32) {
    memcpy(dst, src, n * sizeof(float));
    return;
  }
  for (; i < n; i += LANES) {
    __mmask16 k = first_lanes((uint32_t)(n - i < LANES ? n - i : LANES));
    __m256i x = _mm256_maskz_loadu_epi16(k, h + i);
    __m512 v = dtype == PTO2_BFLOAT16
                   ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(x), 16))
                   : _mm512_cvtph_ps(x);
    _mm512_mask_storeu_ps(dst + i, k, v);
  }
}

/* Lanes of vector v of a row of nv vectors whose last one has `last` lanes. */
PA_AVX512_INLINE __mmask16 lanes(unsigned v, unsigned nv, __mmask16 last) {
  return v + 1 == nv ? last : (__mmask16)0xffff;
}

/* c[nr rows x nv vectors] += a[nr x depth] * b[depth x nv vectors], with the
 * accumulators in registers: one broadcast of a per row and step, one load
 * of b per vector and step, nr * nv fused multiply-adds. */
PA_AVX512_INLINE void block(const unsigned nr, const unsigned nv, uint32_t depth, const float *a,
                            size_t lda, const float *b, size_t ldb, float *c, size_t ldc,
                            __mmask16 last) {
  __m512 acc[ROW_BLOCK][MAX_VECS];
  for (unsigned r = 0; r < nr; r++)
    for (unsigned v = 0; v < nv; v++)
      acc[r][v] = _mm512_maskz_loadu_ps(lanes(v, nv, last), c + r * ldc + v * LANES);
  for (uint32_t k = 0; k < depth; k++) {
    __m512 bv[MAX_VECS];
    for (unsigned v = 0; v < nv; v++)
      bv[v] = _mm512_maskz_loadu_ps(lanes(v, nv, last), b + k * ldb + v * LANES);
    for (unsigned r = 0; r < nr; r++) {
      const __m512 ark = _mm512_set1_ps(a[r * lda + k]);
      for (unsigned v = 0; v < nv; v++) acc[r][v] = _mm512_fmadd_ps(ark, bv[v], acc[r][v]);
    }
  }
  for (unsigned r = 0; r < nr; r++)
    for (unsigned v = 0; v < nv; v++)
      _mm512_mask_storeu_ps(c + r * ldc + v * LANES, lanes(v, nv, last), acc[r][v]);
}

typedef void rows_fn(uint32_t rows, uint32_t depth, const float *a, size_t lda, const float *b,
                     size_t ldb, float *c, size_t ldc, __mmask16 last);

/* All rows of a panel NV vectors wide: blocks of ROW_BLOCK rows, then single
 * rows.  One function per width gives `block` constant sizes, so its
 * accumulators stay in registers. */
#define PA_ROWS_OF(NV)                                                                    \
  PA_AVX512 static void rows_##NV(uint32_t rows, uint32_t depth, const float *a, size_t lda, \
                                  const float *b, size_t ldb, float *c, size_t ldc,       \
                                  __mmask16 last) {                                       \
    uint32_t r = 0;                                                                       \
    for (; r + ROW_BLOCK <= rows; r += ROW_BLOCK)                                         \
      block(ROW_BLOCK, NV, depth, a + r * lda, lda, b, ldb, c + r * ldc, ldc, last);      \
    for (; r < rows; r++)                                                                 \
      block(1, NV, depth, a + r * lda, lda, b, ldb, c + r * ldc, ldc, last);              \
  }
PA_ROWS_OF(1)
PA_ROWS_OF(2)
PA_ROWS_OF(3)
PA_ROWS_OF(4)

static rows_fn *const rows_by_vecs[MAX_VECS] = {rows_1, rows_2, rows_3, rows_4};

PA_AVX512 static void gemm_acc_avx512(uint32_t rows, uint32_t cols, uint32_t depth,
                                      const float *a, size_t lda, const float *b, size_t ldb,
                                      float *c, size_t ldc) {
  for (uint32_t c0 = 0; c0 < cols; c0 += MAX_VECS * LANES) {
    uint32_t width = cols - c0 < MAX_VECS * LANES ? cols - c0 : MAX_VECS * LANES;
    unsigned nv = (width + LANES - 1) / LANES;
    __mmask16 last = (__mmask16)(0xffffu >> (nv * LANES - width));
    rows_by_vecs[nv - 1](rows, depth, a, lda, b + c0, ldb, c + c0, ldc, last);
  }
}

static const pa_panel_kit avx512_kit = {widen_avx512, gemm_acc_avx512};

static void qk_avx512(const pa_mat *q, uint32_t count, const pa_mat *k, const pa_mat *s) {
  pa__qk_panels(&avx512_kit, q, count, k, s);
}

static void pv_avx512(const pa_mat *o, uint32_t count, const pa_mat *p, const pa_mat *v) {
  pa__pv_panels(&avx512_kit, o, count, p, v);
}

/* ------------------------------------------------------------------------ */
/* Vector exp, softmax, update                                               */
/* ------------------------------------------------------------------------ */

/* exp(x) = 2^n * exp(r) with n = round(x / ln 2) and r = x - n ln 2 in
 * [-ln2/2, ln2/2] (ln 2 in two parts, so n * ln2_hi is exact); exp(r) by the
 * degree-6 polynomial of Cephes' expf; 2^n applied with vscalefps.  Relative
 * error below 2^-22 (about 2 ulp) for -87.3 <= x <= 0, measured against
 * double exp by test_pa_kernels; below that the results are subnormal (as
 * accurate as those allow) and 0 from x = -103.9 on; NaN stays NaN.  x is
 * clamped to [-104, 88.7] (the kernels only pass x <= 0). */
PA_AVX512_INLINE __m512 exp_ps(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(-104.0f), x); /* NaN x stays NaN */
  x = _mm512_min_ps(_mm512_set1_ps(88.72283f), x);
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-0.693359375f), x);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
  __m512 y = _mm512_set1_ps(1.9875691500e-4f);
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507e-3f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073e-3f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894e-2f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459e-1f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201e-1f));
  y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), r);
  y = _mm512_add_ps(y, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(y, n);
}

/* Rounds v to p's dtype, stores the `k` lanes at p (elements) and returns
 * the stored values widened back.  bf16: round to nearest even as
 * pto2_f32_to_bf16 (the kernels never produce NaN here but it would stay
 * NaN); fp16: vcvtps2ph, round to nearest even. */
PA_AVX512_INLINE __m512 store_rounded(void *p, pto2_dtype dtype, __mmask16 k, __m512 v) {
  if (dtype == PTO2_BFLOAT16) {
    __m512i u = _mm512_castps_si512(v);
    __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i rnd = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), odd);
    __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    rnd = _mm512_mask_mov_epi32(rnd, nan, _mm512_or_si512(u, _mm512_set1_epi32(0x00400000)));
    rnd = _mm512_and_si512(rnd, _mm512_set1_epi32((int)0xffff0000u));
    _mm512_mask_cvtepi32_storeu_epi16(p, k, _mm512_srli_epi32(rnd, 16));
    return _mm512_castsi512_ps(rnd);
  }
  if (dtype == PTO2_FLOAT16) {
    __m256i h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_mask_storeu_epi16(p, k, h);
    return _mm512_cvtph_ps(h);
  }
  _mm512_mask_storeu_ps(p, k, v);
  return v;
}

/* The same with vcvtneps2bf16 for bf16 (round to nearest even; subnormal
 * inputs become zero, which a p never is above exp(-87.3)). */
PA_BF16_INLINE __m512 store_rounded_bf16(void *p, pto2_dtype dtype, __mmask16 k, __m512 v) {
  if (dtype != PTO2_BFLOAT16) return store_rounded(p, dtype, k, v);
  __m256bh h = _mm512_cvtneps_pbh(v);
  _mm256_mask_storeu_epi16(p, k, (__m256i)h);
  return _mm512_cvtpbh_ps(h);
}

/* Per row: the max over every valid column, then p tile by tile with 16
 * running sums (lane j sums the columns = j mod 16), added up at the end.
 * NR rows at a time, interleaved, so that the max and sum chains of one row
 * (each a sequence of dependent vector operations) overlap with the
 * others'; every row's operations and their order are those of one row
 * alone. */
#define PA_SOFTMAX(NAME, TARGET, STORE)                                                          \
  static inline __attribute__((always_inline)) TARGET void NAME##_rows(                         \
      const pa_sf_args *a, const unsigned NR, uint32_t r0, const pto2_dtype DT) {                \
    const __m512 scale = _mm512_set1_ps(a->scale);                                               \
    const size_t esize = pto2_dtype_size(DT), s_step = a->s_step, s_stride = a->s_stride;        \
    const size_t p_step = a->p_step, p_stride = a->p_stride;                                     \
    const uint32_t count = a->count, cols = a->cols, valid_last = a->valid_last;                 \
    const float *s = a->s;                                                                       \
    char *p = a->p;                                                                              \
    __m512 vmax[4], vm[4], sum[4];                                                               \
    for (unsigned q = 0; q < NR; q++) vmax[q] = _mm512_set1_ps(-INFINITY);                       \
    for (uint32_t i = 0; i < count; i++) {                                                       \
      const float *row = s + i * s_step + r0 * s_stride;                                         \
      uint32_t valid = i + 1 == count ? valid_last : cols;                                       \
      for (uint32_t j = 0; j < valid; j += LANES) {                                              \
        __mmask16 k = first_lanes(valid - j);                                                    \
        for (unsigned q = 0; q < NR; q++) {                                                      \
          __m512 x = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, row + q * s_stride + j), scale);     \
          vmax[q] = _mm512_mask_max_ps(vmax[q], k, vmax[q], x);                                  \
        }                                                                                        \
      }                                                                                          \
    }                                                                                            \
    float m[4];                                                                                  \
    for (unsigned q = 0; q < NR; q++) {                                                          \
      m[q] = _mm512_reduce_max_ps(vmax[q]);                                                      \
      vm[q] = _mm512_set1_ps(m[q]);                                                              \
      sum[q] = _mm512_setzero_ps();                                                              \
    }                                                                                            \
    for (uint32_t i = 0; i < count; i++) {                                                       \
      const float *row = s + i * s_step + r0 * s_stride;                                         \
      char *prow = p + (i * p_step + r0 * p_stride) * esize;                                     \
      uint32_t valid = i + 1 == count ? valid_last : cols;                                       \
      for (uint32_t j = 0; j < cols; j += LANES) {                                               \
        __mmask16 k = first_lanes(cols - j);                                                     \
        __mmask16 kv = j < valid ? first_lanes(valid - j) : 0;                                   \
        for (unsigned q = 0; q < NR; q++) {                                                      \
          __m512 x = _mm512_fmsub_ps(_mm512_maskz_loadu_ps(kv, row + q * s_stride + j), scale,   \
                                     vm[q]);                                                     \
          __m512 e = _mm512_maskz_mov_ps(kv, exp_ps(x));                                         \
          sum[q] = _mm512_add_ps(sum[q], STORE(prow + (q * p_stride + j) * esize, DT, k, e));    \
        }                                                                                        \
      }                                                                                          \
    }                                                                                            \
    for (unsigned q = 0; q < NR; q++) {                                                          \
      a->mij[r0 + q] = m[q];                                                                     \
      a->lij[r0 + q] = _mm512_reduce_add_ps(sum[q]);                                             \
    }                                                                                            \
  }                                                                                              \
  static inline __attribute__((always_inline)) TARGET void NAME##_of(const pa_sf_args *a,       \
                                                                     const pto2_dtype DT) {      \
    uint32_t r = 0;                                                                              \
    for (; r + 4 <= a->rows; r += 4) NAME##_rows(a, 4, r, DT);                                   \
    for (; r < a->rows; r++) NAME##_rows(a, 1, r, DT);                                           \
  }                                                                                              \
  TARGET void NAME(const pa_sf_args *a) {                                                        \
    switch (a->p_dtype) {                                                                        \
    case PTO2_BFLOAT16: NAME##_of(a, PTO2_BFLOAT16); break;                                      \
    case PTO2_FLOAT16: NAME##_of(a, PTO2_FLOAT16); break;                                        \
    default: NAME##_of(a, PTO2_FLOAT32); break;                                                  \
    }                                                                                            \
  }

PA_SOFTMAX(pa__softmax_avx512, PA_AVX512, store_rounded)

/* Rows in groups of 16 for the scalars (alpha, beta by the vector exp), then
 * each row's vectors. */
PA_AVX512 void pa__update_avx512(const pa_up_args *a) {
  for (uint32_t r0 = 0; r0 < a->rows; r0 += LANES) {
    __mmask16 kr = first_lanes(a->rows - r0);
    float alpha[LANES], beta[LANES], inv[LANES];
    __m512 mij = _mm512_maskz_loadu_ps(kr, a->mij + r0), lij = _mm512_maskz_loadu_ps(kr, a->lij + r0);
    __m512 al, be, l, m;
    if (a->is_first) {
      m = mij, l = lij, al = _mm512_setzero_ps(), be = _mm512_set1_ps(1.0f);
    } else {
      __m512 mi = _mm512_maskz_loadu_ps(kr, a->mi + r0), li = _mm512_maskz_loadu_ps(kr, a->li + r0);
      m = _mm512_max_ps(mi, mij);
      al = exp_ps(_mm512_sub_ps(mi, m));
      be = exp_ps(_mm512_sub_ps(mij, m));
      l = _mm512_fmadd_ps(al, li, _mm512_mul_ps(be, lij));
    }
    _mm512_mask_storeu_ps(a->mi + r0, kr, m);
    _mm512_mask_storeu_ps(a->li + r0, kr, l);
    _mm512_storeu_ps(alpha, al);
    _mm512_storeu_ps(beta, be);
    _mm512_storeu_ps(inv, _mm512_div_ps(_mm512_set1_ps(1.0f), l));
    for (uint32_t r = r0; r < a->rows && r < r0 + LANES; r++) {
      const float *onew = a->oi_new + r * a->onew_stride;
      float *o = a->oi + r * a->oi_stride, *dst = a->dst + r * a->dst_stride;
      const __m512 va = _mm512_set1_ps(alpha[r - r0]), vb = _mm512_set1_ps(beta[r - r0]);
      const __m512 vi = _mm512_set1_ps(inv[r - r0]);
      for (uint32_t c = 0; c < a->cols; c += LANES) {
        __mmask16 k = first_lanes(a->cols - c);
        __m512 v = _mm512_maskz_loadu_ps(k, onew + c);
        if (!a->is_first) v = _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(k, o + c), _mm512_mul_ps(vb, v));
        if (a->is_last) _mm512_mask_storeu_ps(dst + c, k, _mm512_mul_ps(v, vi));
        if (!a->is_last || a->is_first) _mm512_mask_storeu_ps(o + c, k, v);
      }
    }
  }
}

static const pa_tile_ops avx512_ops = {
    .qk = qk_avx512, .pv = pv_avx512, .softmax = pa__softmax_avx512, .update = pa__update_avx512};

/* ------------------------------------------------------------------------ */
/* Packing and transposing                                                   */
/* ------------------------------------------------------------------------ */

/* r[c] = column c of the 16 x 16 matrix with rows r[0..15]. */
PA_AVX512_INLINE void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  /* r[4i + j], 128-bit lane L: rows 4i..4i+3 of column 4L + j */
  for (int i = 0; i < 4; i++) {
    r[4 * i + 0] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0xee);
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
  }
  for (int j = 0; j < 4; j++) {
    __m512 a = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88);
    __m512 b = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xdd);
    __m512 c = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
    __m512 d = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xdd);
    t[j] = _mm512_shuffle_f32x4(a, c, 0x88);
    t[8 + j] = _mm512_shuffle_f32x4(a, c, 0xdd);
    t[4 + j] = _mm512_shuffle_f32x4(b, d, 0x88);
    t[12 + j] = _mm512_shuffle_f32x4(b, d, 0xdd);
  }
  for (int i = 0; i < 16; i++) r[i] = t[i];
}

/* dst[c][r] = src[r][c] for r < rows, c < cols (both <= 16), 32-bit
 * elements, row strides in bytes; lanes r >= rows of the dst rows are zero
 * when zero_pad (else left alone). */
PA_AVX512_INLINE void transpose_block(const char *src, size_t lds, uint32_t rows, uint32_t cols,
                                      char *dst, size_t ldd, int zero_pad) {
  __m512 r[16];
  const __mmask16 kc = first_lanes(cols), kr = first_lanes(rows);
  for (uint32_t i = 0; i < 16; i++)
    r[i] = i < rows ? _mm512_maskz_loadu_ps(kc, src + i * lds) : _mm512_setzero_ps();
  transpose16(r);
  for (uint32_t i = 0; i < cols; i++) _mm512_mask_storeu_ps(dst + i * ldd, zero_pad ? 0xffff : kr, r[i]);
}

PA_AVX512 void pa__pack_q_pairs(const pa_mat *q, uint32_t k0, uint32_t kpairs, uint32_t m0,
                                uint32_t rows, uint32_t ld, uint32_t *dst) {
  const char *base = (const char *)q->data + ((size_t)m0 * q->stride + k0) * 2;
  for (uint32_t mb = 0; mb < ld; mb += LANES)
    for (uint32_t kb = 0; kb < kpairs; kb += LANES)
      transpose_block(base + (mb * q->stride + 2 * kb) * 2, q->stride * 2,
                      mb < rows ? min_u32(LANES, rows - mb) : 0, min_u32(LANES, kpairs - kb),
                      (char *)(dst + (size_t)kb * ld + mb), ld * 4, 1);
}

PA_AVX512 void pa__store_transposed(const float *t, size_t ldt, uint32_t cols, const pa_mat *s,
                                    uint32_t m0, uint32_t mrows, uint32_t n0) {
  float *base = (float *)s->data + (size_t)m0 * s->stride + n0;
  for (uint32_t nb = 0; nb < cols; nb += LANES)
    for (uint32_t mb = 0; mb < mrows; mb += LANES)
      transpose_block((const char *)(t + nb * ldt + mb), ldt * 4, min_u32(LANES, cols - nb),
                      min_u32(LANES, mrows - mb), (char *)(base + mb * s->stride + nb),
                      s->stride * 4, 0);
}

PA_AVX512 void pa__pack_v_pairs(const pa_mat *v, uint32_t n0, uint32_t npairs, uint32_t c0,
                                uint32_t cols, uint32_t ld, uint32_t *dst) {
  /* interleave the first (lo) or second (hi) 16 columns of rows a and b */
  static const uint16_t lo_idx[32] = {0, 32, 1, 33, 2, 34, 3, 35, 4, 36, 5, 37, 6, 38, 7, 39,
                                      8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47};
  const __m512i lo = _mm512_loadu_si512(lo_idx);
  const __m512i hi = _mm512_add_epi16(lo, _mm512_set1_epi16(16));
  const uint16_t *base = (const uint16_t *)v->data + (size_t)n0 * v->stride + c0;
  for (uint32_t np = 0; np < npairs; np++) {
    const uint16_t *ra = base + (size_t)(2 * np) * v->stride, *rb = ra + v->stride;
    uint32_t *d = dst + (size_t)np * ld;
    for (uint32_t c = 0; c < ld; c += 2 * LANES) {
      __mmask32 k = c >= cols ? 0 : cols - c >= 32 ? 0xffffffffu : (__mmask32)((1u << (cols - c)) - 1u);
      __m512i a = _mm512_maskz_loadu_epi16(k, ra + c), b = _mm512_maskz_loadu_epi16(k, rb + c);
      _mm512_storeu_si512(d + c, _mm512_permutex2var_epi16(a, lo, b));
      if (c + LANES < ld) _mm512_storeu_si512(d + c + LANES, _mm512_permutex2var_epi16(a, hi, b));
    }
  }
}

/* ------------------------------------------------------------------------ */
/* bf16 dot products (avx512bf16)                                            */
/* ------------------------------------------------------------------------ */

enum {
  QK_M = 64,    /* q rows per packed chunk */
  QK_N = 128,   /* key rows per result chunk */
  DP_MAX_K = 256,
  PV_N = 64,    /* value rows per packed chunk */
  PV_C = 256,   /* value columns per packed chunk */
  PV_MR = 4,
  PV_CV = 4,
};

/* The bf16 pair at p (any 2-byte alignment) as one 32-bit word. */
static inline uint32_t pair_at(const uint16_t *p) {
  uint32_t w;
  memcpy(&w, p, sizeof w);
  return w;
}

typedef void qk16_fn_t(const uint16_t *kr, uint32_t rows, const uint32_t *qv, uint32_t mrows,
                       float *s, size_t sst, const uint16_t *next);

/* t[r][v] = sum over kp of the pairs of key row r and packed q vector v:
 * nr key rows (row stride kst elements) times mv vectors of 16 q rows. */
PA_BF16_INLINE void qk_rows(const unsigned nr, const unsigned mv, uint32_t kpairs,
                            const uint16_t *kr, size_t kst, const uint32_t *qv, size_t ld,
                            float *t) {
  __m512 acc[16][MAX_VECS];
  for (unsigned r = 0; r < nr; r++)
    for (unsigned v = 0; v < mv; v++) acc[r][v] = _mm512_setzero_ps();
  for (uint32_t kp = 0; kp < kpairs; kp++) {
    __m512bh b[MAX_VECS];
    for (unsigned v = 0; v < mv; v++) b[v] = (__m512bh)_mm512_load_si512(qv + kp * ld + v * LANES);
    for (unsigned r = 0; r < nr; r++) {
      __m512bh a = (__m512bh)_mm512_set1_epi32((int)pair_at(kr + r * kst + 2 * kp));
      for (unsigned v = 0; v < mv; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], a, b[v]);
    }
  }
  for (unsigned r = 0; r < nr; r++)
    for (unsigned v = 0; v < mv; v++) _mm512_store_ps(t + r * ld + v * LANES, acc[r][v]);
}

/* Rows per register block for mv vectors: 16 accumulators. */
#define PA_QK_ROWS_OF(MV, NR)                                                                   \
  PA_BF16 static void qk_rows_##MV(uint32_t rows, uint32_t kpairs, const uint16_t *kr,         \
                                   size_t kst, const uint32_t *qv, size_t ld, float *t) {      \
    uint32_t r = 0;                                                                             \
    for (; r + NR <= rows; r += NR) qk_rows(NR, MV, kpairs, kr + r * kst, kst, qv, ld, t + r * ld); \
    for (; r < rows; r++) qk_rows(1, MV, kpairs, kr + r * kst, kst, qv, ld, t + r * ld);         \
  }
PA_QK_ROWS_OF(1, 16)
PA_QK_ROWS_OF(2, 8)
PA_QK_ROWS_OF(3, 4)
PA_QK_ROWS_OF(4, 4)

typedef void qk_rows_fn(uint32_t rows, uint32_t kpairs, const uint16_t *kr, size_t kst,
                        const uint32_t *qv, size_t ld, float *t);
static qk_rows_fn *const qk_rows_by_vecs[MAX_VECS] = {qk_rows_1, qk_rows_2, qk_rows_3, qk_rows_4};

/* The register-blocked QK of up to 16 q rows (one packed vector) against
 * key rows of exactly KP pairs (row stride 2 * KP elements, so every key
 * row of a group is a constant offset from one pointer): per group of 16
 * key rows, 16 accumulators (acc[r] lane j = s[j][g + r]), each step one
 * load of q pairs and 16 broadcast key pairs (at constant offsets) and
 * vdpbf16ps; the accumulators are transposed in registers and stored as
 * 16 columns of s.  While a group runs, the next one (or the first of
 * `next`, the following block) is prefetched, one cache line per step: a
 * group of 16 rows is exactly KP lines. */
PA_BF16_INLINE void qk16_fixed(const uint32_t KP, const uint16_t *kr, uint32_t rows,
                               const uint32_t *qv, uint32_t mrows, float *s, size_t sst,
                               const uint16_t *next) {
  const size_t row_bytes = (size_t)KP * 4;
  for (uint32_t g = 0; g < rows; g += LANES) {
    const char *base = (const char *)kr + g * row_bytes;
    const char *pf = g + LANES < rows ? base + LANES * row_bytes
                     : next            ? (const char *)next
                                       : base;
    __m512 acc[LANES];
    for (unsigned r = 0; r < LANES; r++) acc[r] = _mm512_setzero_ps();
    for (uint32_t kp = 0; kp < KP; kp++) {
      const __m512bh qvec = (__m512bh)_mm512_load_si512(qv + kp * LANES);
      _mm_prefetch(pf + (size_t)kp * 64, _MM_HINT_T0);
      for (unsigned r = 0; r < LANES; r++) {
        uint32_t w;
        memcpy(&w, base + r * row_bytes + kp * 4, sizeof w);
        acc[r] = _mm512_dpbf16_ps(acc[r], qvec, (__m512bh)_mm512_set1_epi32((int)w));
      }
    }
    transpose16(acc);
    for (uint32_t m = 0; m < mrows; m++) _mm512_storeu_ps(s + m * sst + g, acc[m]);
  }
}

#define PA_QK16_OF(KP)                                                                        \
  PA_BF16 static void qk16_##KP(const uint16_t *kr, uint32_t rows, const uint32_t *qv,        \
                                uint32_t mrows, float *s, size_t sst, const uint16_t *next) { \
    qk16_fixed(KP, kr, rows, qv, mrows, s, sst, next);                                        \
  }
PA_QK16_OF(32)
PA_QK16_OF(64)
PA_QK16_OF(128)

/* The qk16 kernel for rows of kpairs pairs, or NULL. */
static qk16_fn_t *qk16_for(uint32_t kpairs) {
  switch (kpairs) {
  case 32: return qk16_32;
  case 64: return qk16_64;
  case 128: return qk16_128;
  default: return NULL;
  }
}

/* bf16 operands whose reduction (the columns of a) comes in pairs. */
static int bf16_pairs(const pa_mat *a, const pa_mat *b) {
  return a->dtype == PTO2_BFLOAT16 && b->dtype == PTO2_BFLOAT16 && a->cols % 2 == 0;
}

PA_BF16 void pa__qk_bf16dp(const pa_mat *q, uint32_t count, const pa_mat *k, const pa_mat *s) {
  if (!count) return;
  if (!bf16_pairs(q, &k[0]) || q->cols > DP_MAX_K) {
    qk_avx512(q, count, k, s);
    return;
  }
  _Alignas(64) uint32_t qv[DP_MAX_K / 2 * QK_M];
  _Alignas(64) float t[QK_N * QK_M];
  const uint32_t kpairs = q->cols / 2;
  for (uint32_t m0 = 0; m0 < q->rows; m0 += QK_M) {
    uint32_t mrows = min_u32(QK_M, q->rows - m0), mv = (mrows + LANES - 1) / LANES;
    uint32_t ld = mv * LANES;
    pa__pack_q_pairs(q, 0, kpairs, m0, mrows, ld, qv);
    qk16_fn_t *fast = mv == 1 ? qk16_for(kpairs) : NULL;
    for (uint32_t i = 0; i < count; i++) {
      const uint16_t *kd = k[i].data;
      if (fast && k[i].stride == 2u * kpairs && k[i].rows % LANES == 0) {
        const uint16_t *next = i + 1 < count ? k[i + 1].data : NULL;
        fast(kd, k[i].rows, qv, mrows, (float *)s[i].data + (size_t)m0 * s[i].stride,
             s[i].stride, next);
        continue;
      }
      for (uint32_t n0 = 0; n0 < k[i].rows; n0 += QK_N) {
        uint32_t nrows = min_u32(QK_N, k[i].rows - n0);
        qk_rows_by_vecs[mv - 1](nrows, kpairs, kd + n0 * k[i].stride, k[i].stride, qv, ld, t);
        pa__store_transposed(t, ld, nrows, &s[i], m0, mrows, n0);
      }
    }
  }
}

/* o[mr rows][cv vectors] += pairs of p (row stride pst elements) times the
 * packed value pairs (row stride ldv dwords); `last` masks the last vector. */
PA_BF16_INLINE void pv_block(const unsigned mr, const unsigned cv, uint32_t npairs,
                             const uint16_t *pr, size_t pst, const uint32_t *vp, size_t ldv,
                             float *o, size_t ldo, __mmask16 last) {
  __m512 acc[PV_MR][PV_CV];
  for (unsigned r = 0; r < mr; r++)
    for (unsigned v = 0; v < cv; v++)
      acc[r][v] = _mm512_maskz_loadu_ps(lanes(v, cv, last), o + r * ldo + v * LANES);
  for (uint32_t np = 0; np < npairs; np++) {
    __m512bh b[PV_CV];
    for (unsigned v = 0; v < cv; v++) b[v] = (__m512bh)_mm512_load_si512(vp + np * ldv + v * LANES);
    for (unsigned r = 0; r < mr; r++) {
      __m512bh a = (__m512bh)_mm512_set1_epi32((int)pair_at(pr + r * pst + 2 * np));
      for (unsigned v = 0; v < cv; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], a, b[v]);
    }
  }
  for (unsigned r = 0; r < mr; r++)
    for (unsigned v = 0; v < cv; v++)
      _mm512_mask_storeu_ps(o + r * ldo + v * LANES, lanes(v, cv, last), acc[r][v]);
}

#define PA_PV_COLS_OF(CV)                                                                      \
  PA_BF16 static void pv_cols_##CV(uint32_t rows, uint32_t npairs, const uint16_t *pr,         \
                                   size_t pst, const uint32_t *vp, size_t ldv, float *o,       \
                                   size_t ldo, __mmask16 last) {                               \
    uint32_t r = 0;                                                                            \
    for (; r + PV_MR <= rows; r += PV_MR)                                                      \
      pv_block(PV_MR, CV, npairs, pr + r * pst, pst, vp, ldv, o + r * ldo, ldo, last);         \
    switch (rows - r) {                                                                        \
    case 3: pv_block(3, CV, npairs, pr + r * pst, pst, vp, ldv, o + r * ldo, ldo, last); break; \
    case 2: pv_block(2, CV, npairs, pr + r * pst, pst, vp, ldv, o + r * ldo, ldo, last); break; \
    case 1: pv_block(1, CV, npairs, pr + r * pst, pst, vp, ldv, o + r * ldo, ldo, last); break; \
    default: break;                                                                            \
    }                                                                                          \
  }
PA_PV_COLS_OF(1)
PA_PV_COLS_OF(2)
PA_PV_COLS_OF(3)
PA_PV_COLS_OF(4)

typedef void pv_cols_fn(uint32_t rows, uint32_t npairs, const uint16_t *pr, size_t pst,
                        const uint32_t *vp, size_t ldv, float *o, size_t ldo, __mmask16 last);
static pv_cols_fn *const pv_cols_by_vecs[PV_CV] = {pv_cols_1, pv_cols_2, pv_cols_3, pv_cols_4};

/* The register-blocked PV without a packed copy of v, for p rows of exactly
 * PST elements (every row of a block a constant offset from one pointer):
 * per 32 columns of o and 8 rows of p, 16 accumulators hold o in an
 * interleaved column order, because vpunpcklwd / vpunpckhwd of value rows
 * 2n and 2n+1 give the bf16 pairs of columns {0-3, 8-11, 16-19, 24-27}
 * (lo) and {4-7, 12-15, 20-23, 28-31} (hi) of the 32; o is permuted into
 * that order when loaded and back when stored.  Each step: two loads and
 * two unpacks of value rows, 8 broadcast pairs of p, 16 vdpbf16ps.  Tile
 * by tile (o goes through memory in fp32 between tiles, exactly), so every
 * element sums its pairs in ascending order of n over the tiles in order:
 * the result is the same as the packed loop's, and one value block is in
 * cache at a time.  The first pass over a block prefetches its 32 columns
 * 16 row pairs ahead; the passes over 32 columns prefetch the next 32
 * columns (after the last, those of the next block, `next`), the row-block
 * passes taking turns over the row pairs so that the reads spread out. */
PA_BF16_INLINE void pv8_tile(const uint32_t PST, const uint16_t *p, const pa_mat *v,
                             const uint16_t *next, const pa_mat *o, const int set) {
  static const uint32_t in_lo[16] = {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27};
  static const uint32_t out_0[16] = {0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23};
  const __m512i ilo = _mm512_loadu_si512(in_lo), ihi = _mm512_add_epi32(ilo, _mm512_set1_epi32(4));
  const __m512i o0 = _mm512_loadu_si512(out_0), o1 = _mm512_add_epi32(o0, _mm512_set1_epi32(8));
  const uint32_t npairs = PST / 2;
  const size_t vst = v->stride * 2;
  for (uint32_t c0 = 0; c0 < o->cols; c0 += 2 * LANES) {
    /* where the passes prefetch: the next 32 columns */
    const int last_chunk = c0 + 2 * LANES >= o->cols;
    const char *pf = last_chunk ? (next ? (const char *)next : (const char *)v->data + c0 * 2)
                                : (const char *)v->data + (c0 + 2 * LANES) * 2;
    for (uint32_t r0 = 0; r0 < o->rows; r0 += 8) {
      __m512 lo[8], hi[8];
      for (unsigned r = 0; r < 8 && set; r++) lo[r] = hi[r] = _mm512_setzero_ps();
      for (unsigned r = 0; r < 8 && !set; r++) {
        const float *orow = (const float *)o->data + (size_t)(r0 + r) * o->stride + c0;
        __m512 a = _mm512_loadu_ps(orow), b = _mm512_loadu_ps(orow + LANES);
        lo[r] = _mm512_permutex2var_ps(a, ilo, b);
        hi[r] = _mm512_permutex2var_ps(a, ihi, b);
      }
      const char *pr = (const char *)p + (size_t)r0 * PST * 2;
      const char *vr = (const char *)v->data + (size_t)c0 * 2;
      const int first_pass = c0 == 0 && r0 == 0;
      /* the row pairs whose next 32 columns this pass prefetches: the
       * passes over the row blocks take turns */
      const uint32_t turns = o->rows / 8, turn = r0 / 8;
      for (uint32_t np = 0; np < npairs; np++, vr += 2 * vst) {
        if (np % turns == turn) {
          _mm_prefetch(pf + np * 2 * vst, _MM_HINT_T0);
          _mm_prefetch(pf + np * 2 * vst + vst, _MM_HINT_T0);
        }
        if (first_pass) { /* these 32 columns 16 pairs ahead */
          const char *ahead = vr + (np + 16 < npairs ? 32 * vst : 0);
          _mm_prefetch(ahead, _MM_HINT_T0);
          _mm_prefetch(ahead + vst, _MM_HINT_T0);
        }
        const __m512i a = _mm512_loadu_si512(vr), b = _mm512_loadu_si512(vr + vst);
        const __m512bh vlo = (__m512bh)_mm512_unpacklo_epi16(a, b);
        const __m512bh vhi = (__m512bh)_mm512_unpackhi_epi16(a, b);
        for (unsigned r = 0; r < 8; r++) {
          uint32_t w;
          memcpy(&w, pr + r * PST * 2 + np * 4, sizeof w);
          const __m512bh pw = (__m512bh)_mm512_set1_epi32((int)w);
          lo[r] = _mm512_dpbf16_ps(lo[r], vlo, pw);
          hi[r] = _mm512_dpbf16_ps(hi[r], vhi, pw);
        }
      }
      for (unsigned r = 0; r < 8; r++) {
        float *orow = (float *)o->data + (size_t)(r0 + r) * o->stride + c0;
        _mm512_storeu_ps(orow, _mm512_permutex2var_ps(lo[r], o0, hi[r]));
        _mm512_storeu_ps(orow + LANES, _mm512_permutex2var_ps(lo[r], o1, hi[r]));
      }
    }
  }
}

/* set: the first tile starts from zero instead of o (which is not read). */
PA_BF16_INLINE void pv8_fixed(const uint32_t PST, uint32_t count, const pa_mat *p,
                              const pa_mat *v, const pa_mat *o, int set) {
  for (uint32_t i = 0; i < count; i++)
    pv8_tile(PST, p[i].data, &v[i], i + 1 < count ? v[i + 1].data : NULL, o, set && i == 0);
}

#define PA_PV8_OF(PST)                                                                     \
  PA_BF16 static void pv8_##PST(uint32_t count, const pa_mat *p, const pa_mat *v,          \
                                const pa_mat *o, int set) {                                \
    pv8_fixed(PST, count, p, v, o, set);                                                   \
  }
PA_PV8_OF(64)
PA_PV8_OF(128)

/* Whether pv8 takes the call (returns the kernel): 8 or 16 rows, o's
 * columns a multiple of 32, every p tile of 64 or 128 columns, contiguous.
 * With more rows the packed loop below wins: its packing is shared by more
 * rows, and it needs no unpacking per row block. */
typedef void pv8_fn_t(uint32_t count, const pa_mat *p, const pa_mat *v, const pa_mat *o, int set);
static pv8_fn_t *pv8_for(uint32_t count, const pa_mat *p, const pa_mat *o) {
  if ((o->rows != 8 && o->rows != 16) || o->cols % (2 * LANES)) return NULL;
  for (uint32_t i = 0; i < count; i++)
    if (p[i].cols != p[0].cols || p[i].stride != p[i].cols) return NULL;
  return p[0].cols == 64 ? pv8_64 : p[0].cols == 128 ? pv8_128 : NULL;
}

PA_BF16 void pa__pv_bf16dp(const pa_mat *o, uint32_t count, const pa_mat *p, const pa_mat *v) {
  if (!count) return;
  if (!bf16_pairs(&p[0], &v[0])) {
    pv_avx512(o, count, p, v);
    return;
  }
  pv8_fn_t *fast = pv8_for(count, p, o);
  if (fast) {
    fast(count, p, v, o, 0);
    return;
  }
  _Alignas(64) uint32_t vp[PV_N / 2 * PV_C];
  for (uint32_t i = 0; i < count; i++) {
    const uint16_t *pd = p[i].data;
    const size_t pst = p[i].stride;
    for (uint32_t n0 = 0; n0 < p[i].cols; n0 += PV_N) {
      uint32_t npairs = min_u32(PV_N, p[i].cols - n0) / 2;
      for (uint32_t c0 = 0; c0 < o->cols; c0 += PV_C) {
        uint32_t cols = min_u32(PV_C, o->cols - c0), ldv = (cols + LANES - 1) / LANES * LANES;
        pa__pack_v_pairs(&v[i], n0, npairs, c0, cols, ldv, vp);
        for (uint32_t cb = 0; cb < cols; cb += PV_CV * LANES) {
          uint32_t width = min_u32(PV_CV * LANES, cols - cb), cv = (width + LANES - 1) / LANES;
          __mmask16 last = (__mmask16)(0xffffu >> (cv * LANES - width));
          pv_cols_by_vecs[cv - 1](o->rows, npairs, pd + n0, pst, vp + cb, ldv,
                                  (float *)o->data + c0 + cb, o->stride, last);
        }
      }
    }
  }
}

/* o = the products: pv8 starts from zero; the other loops zero o first. */
PA_BF16 void pa__pv_set_bf16dp(const pa_mat *o, uint32_t count, const pa_mat *p, const pa_mat *v) {
  pv8_fn_t *fast = count && bf16_pairs(&p[0], &v[0]) ? pv8_for(count, p, o) : NULL;
  if (fast) {
    fast(count, p, v, o, 1);
    return;
  }
  for (uint32_t r = 0; r < o->rows; r++)
    memset((float *)o->data + (size_t)r * o->stride, 0, o->cols * sizeof(float));
  pa__pv_bf16dp(o, count, p, v);
}

PA_SOFTMAX(pa__softmax_bf16, PA_BF16, store_rounded_bf16)

static const pa_tile_ops avx512bf16_ops = {.qk = pa__qk_bf16dp,
                                           .pv = pa__pv_bf16dp,
                                           .pv_set = pa__pv_set_bf16dp,
                                           .softmax = pa__softmax_bf16,
                                           .update = pa__update_avx512};

static int has_avx512(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
}

const pa_tile_ops *pa__tile_ops_avx512(void) { return has_avx512() ? &avx512_ops : NULL; }

const pa_tile_ops *pa__tile_ops_avx512bf16(void) {
  return has_avx512() && __builtin_cpu_supports("avx512bf16") ? &avx512bf16_ops : NULL;
}

#else

const pa_tile_ops *pa__tile_ops_avx512(void) { return NULL; }
const pa_tile_ops *pa__tile_ops_avx512bf16(void) { return NULL; }

#endif
