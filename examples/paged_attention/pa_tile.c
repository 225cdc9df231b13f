/* Portable inner loops of the paged-attention kernels (plain C the compiler
 * vectorizes) and the run-time choice between them and the AVX-512 ones. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "pa_tile.h"

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

static const pa_tile_ops portable_ops = {widen_portable, gemm_acc_portable};

/* -1 until first use, then 0 (portable) or 1 (AVX-512).  Relaxed: the value
 * only changes in pa_simd_set(), which callers make while no kernel runs,
 * and the runtime's task hand-off orders it before later kernels. */
static _Atomic int simd_mode = -1;

static int initial_mode(void) {
  const char *off = getenv("PA_NO_SIMD");
  return pa__tile_ops_avx512() && !(off && strcmp(off, "1") == 0);
}

bool pa_simd_available(void) { return pa__tile_ops_avx512() != NULL; }

bool pa_simd_active(void) {
  int mode = atomic_load_explicit(&simd_mode, memory_order_relaxed);
  if (mode < 0) {
    mode = initial_mode(); /* racing first uses compute the same value */
    atomic_store_explicit(&simd_mode, mode, memory_order_relaxed);
  }
  return mode == 1;
}

void pa_simd_set(bool on) {
  atomic_store_explicit(&simd_mode, on && pa_simd_available(), memory_order_relaxed);
}

const pa_tile_ops *pa__tile_ops(void) {
  return pa_simd_active() ? pa__tile_ops_avx512() : &portable_ops;
}
