/* AVX-512 inner loops of the paged-attention kernels (AVX512F + FMA),
 * compiled with function target attributes and used only when the CPU
 * reports AVX512F; elsewhere pa__tile_ops_avx512() returns NULL. */
#include <string.h>

#include "pa_tile.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define PA_AVX512 __attribute__((target("avx512f,fma")))
#define PA_AVX512_INLINE static inline __attribute__((always_inline, target("avx512f,fma")))

enum { LANES = 16, MAX_VECS = 4, ROW_BLOCK = 4 };

PA_AVX512 static void widen_avx512(float *dst, const void *src, pto2_dtype dtype, size_t n) {
  const uint16_t *h = src;
  size_t i = 0;
  if (dtype == PTO2_FLOAT32) {
    memcpy(dst, src, n * sizeof(float));
    return;
  }
  for (; i + LANES <= n; i += LANES) {
    __m256i x = _mm256_loadu_si256((const __m256i *)(h + i));
    __m512 v = dtype == PTO2_BFLOAT16
                   ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(x), 16))
                   : _mm512_cvtph_ps(x);
    _mm512_storeu_ps(dst + i, v);
  }
  for (; i < n; i++)
    dst[i] = dtype == PTO2_BFLOAT16 ? pto2_bf16_to_f32(h[i]) : pto2_fp16_to_f32(h[i]);
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

static const pa_tile_ops avx512_ops = {widen_avx512, gemm_acc_avx512};

const pa_tile_ops *pa__tile_ops_avx512(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") ? &avx512_ops : NULL;
}

#else

const pa_tile_ops *pa__tile_ops_avx512(void) { return NULL; }

#endif
