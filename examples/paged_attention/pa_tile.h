/*
 * The fp32 inner loops of the paged-attention kernels, private to the
 * workload.  Two implementations share this interface: a portable one
 * (pa_tile.c) and an AVX-512 one (pa_tile_avx512.c); pa__tile_ops() returns
 * the one selected by pa_simd_set() / PA_NO_SIMD.
 *
 * Both add the products of one output element in ascending order of the
 * reduction index, so they differ only in fused vs separate multiply-add.
 */
#ifndef PA_TILE_H
#define PA_TILE_H

#include <stddef.h>
#include <stdint.h>

#include "pa.h"

/* Panels handed to gemm_acc have at most this many rows, columns and depth. */
#define PA_PANEL 64

typedef struct pa_tile_ops {
  /* dst[i] = src[i] widened to fp32, i < n; src is fp32, bf16 or fp16. */
  void (*widen)(float *dst, const void *src, pto2_dtype dtype, size_t n);
  /* c[rows x cols] += a[rows x depth] * b[depth x cols]; row strides in
   * elements; rows, cols, depth <= PA_PANEL. */
  void (*gemm_acc)(uint32_t rows, uint32_t cols, uint32_t depth, const float *a, size_t lda,
                   const float *b, size_t ldb, float *c, size_t ldc);
} pa_tile_ops;

/* The ops in effect. */
const pa_tile_ops *pa__tile_ops(void);
/* The AVX-512 ops, or NULL if this build or CPU has none. */
const pa_tile_ops *pa__tile_ops_avx512(void);

#endif /* PA_TILE_H */
