/*
 * Tensor internals: the private flag bits and the region geometry used by
 * the TensorMap's overlap test.
 */
#ifndef PTO2_DEPS_TENSOR_H
#define PTO2_DEPS_TENSOR_H

#include "pto2/pto2.h"

/* pto2_dtype_size() for the hot paths: 0 for a value that is not a dtype. */
_Static_assert(PTO2_DTYPE_COUNT == 9, "every dtype has a (non-zero) size below");
static inline size_t pto2__dtype_size(unsigned dtype) {
  static const uint8_t sizes[PTO2_DTYPE_COUNT] = {4, 2, 4, 2, 1, 1, 2, 8, 8};
  return dtype < PTO2_DTYPE_COUNT ? sizes[dtype] : 0;
}

/* Bytes of `ndims` extents of `esz`-byte elements, or 0 if that does not
 * fit in 48 bits (no real allocation is larger; 0 marks it invalid). */
static inline uint64_t pto2__extent_bytes(const uint32_t *shapes, unsigned ndims, size_t esz) {
  uint64_t n = esz;
  for (unsigned d = 0; d < ndims; d++)
    if (__builtin_mul_overflow(n, (uint64_t)shapes[d], &n) || n >> 48) return 0;
  return n;
}

static inline bool pto2__tensor_valid(const pto2_tensor *t) {
  /* Every dtype below PTO2_DTYPE_COUNT has a size; ndims - 1 wraps for 0. */
  return t && (unsigned)t->ndims - 1u < PTO2_MAX_DIMS && t->addr && t->dtype < PTO2_DTYPE_COUNT;
}

/* Element offset of the view origin from the allocation base. */
static inline uint64_t pto2__tensor_start(const pto2_tensor *t) {
  return (uint64_t)((const char *)t->data - (const char *)t->addr) /
         pto2__dtype_size(t->dtype);
}

/* Element offset, from the allocation base, of the raw layout's origin: 0 for
 * tensors built by external/view/create, the view origin for a reshape. */
static inline uint64_t pto2__tensor_raw_origin(const pto2_tensor *t) {
  uint64_t flat = 0;
  for (unsigned d = 0; d < t->ndims; d++) flat = flat * t->raw_shapes[d] + t->offsets[d];
  return pto2__tensor_start(t) - flat;
}

/* Byte range [lo, hi) that bounds every element of the view. */
static inline void pto2__tensor_byte_range(const pto2_tensor *t, uint64_t *lo, uint64_t *hi) {
  uint64_t esz = pto2__dtype_size(t->dtype);
  uint64_t last = 0;
  for (unsigned d = 0; d < t->ndims; d++)
    last += (uint64_t)(t->shapes[d] - 1) * pto2_tensor_stride(t, d);
  *lo = (uint64_t)((const char *)t->data - (const char *)t->addr);
  *hi = *lo + (last + 1) * esz;
}

#endif
