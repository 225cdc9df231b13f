/* Tensor construction: external tensors, views, reshapes, create-infos. */
#include <string.h>

#include "deps/tensor.h"

static pto2_tensor invalid_tensor(void) {
  pto2_tensor t;
  memset(&t, 0, sizeof t);
  t.owner = PTO2_TASK_ID_INVALID;
  return t;
}

pto2_tensor pto2_tensor_external(void *addr, const uint32_t *shapes, uint32_t ndims,
                                 pto2_dtype dtype) {
  pto2_tensor t = invalid_tensor();
  size_t esz = pto2_dtype_size(dtype);
  if (!addr || !shapes || ndims == 0 || ndims > PTO2_MAX_DIMS || esz == 0) return t;
  uint64_t nbytes = pto2__extent_bytes(shapes, ndims, esz); /* 0: a zero extent or too large */
  if (!nbytes) return t;
  t.addr = t.data = addr;
  t.nbytes = nbytes;
  t.ndims = (uint8_t)ndims;
  t.dtype = (uint8_t)dtype;
  memcpy(t.shapes, shapes, ndims * sizeof shapes[0]);
  memcpy(t.raw_shapes, shapes, ndims * sizeof shapes[0]);
  return t;
}

pto2_tensor pto2_tensor_view(const pto2_tensor *t, const uint32_t *shapes,
                             const uint32_t *offsets) {
  if (!pto2__tensor_valid(t) || !shapes || !offsets) return invalid_tensor();
  pto2_tensor v = *t;
  uint64_t delta = 0, stride = 1;
  for (unsigned d = t->ndims; d-- > 0;) { /* innermost first: strides accumulate */
    if (shapes[d] == 0 || offsets[d] > t->shapes[d] || shapes[d] > t->shapes[d] - offsets[d])
      return invalid_tensor();
    v.shapes[d] = shapes[d];
    v.offsets[d] = t->offsets[d] + offsets[d];
    delta += (uint64_t)offsets[d] * stride;
    stride *= t->raw_shapes[d];
  }
  v.data = (char *)t->data + delta * pto2__dtype_size(t->dtype);
  v.manual_dep = false;
  return v;
}

pto2_tensor pto2_tensor_reshape(const pto2_tensor *t, const uint32_t *shapes, uint32_t ndims) {
  if (!pto2__tensor_valid(t) || !shapes || ndims == 0 || ndims > PTO2_MAX_DIMS)
    return invalid_tensor();
  for (unsigned d = 1; d < t->ndims; d++)
    if (t->shapes[d] != t->raw_shapes[d]) return invalid_tensor(); /* not contiguous */
  uint64_t numel = 1;
  for (uint32_t d = 0; d < ndims; d++) {
    /* A product that wraps 2^64 could equal the element count: refuse it. */
    if (shapes[d] == 0 || __builtin_mul_overflow(numel, (uint64_t)shapes[d], &numel))
      return invalid_tensor();
  }
  if (numel != pto2_tensor_numel(t)) return invalid_tensor();
  pto2_tensor r = *t;
  r.ndims = (uint8_t)ndims;
  memset(r.shapes, 0, sizeof r.shapes);
  memset(r.raw_shapes, 0, sizeof r.raw_shapes);
  memset(r.offsets, 0, sizeof r.offsets);
  memcpy(r.shapes, shapes, ndims * sizeof shapes[0]);
  memcpy(r.raw_shapes, shapes, ndims * sizeof shapes[0]);
  r.manual_dep = false;
  /* The raw layout's origin is now the view origin (data). */
  return r;
}

bool pto2_tensor_is_valid(const pto2_tensor *t) { return pto2__tensor_valid(t); }

uint64_t pto2_tensor_numel(const pto2_tensor *t) {
  if (!pto2__tensor_valid(t)) return 0;
  uint64_t n = 1;
  for (unsigned d = 0; d < t->ndims; d++) n *= t->shapes[d];
  return n;
}

pto2_create_info pto2_create_info_make(const uint32_t *shapes, uint32_t ndims, pto2_dtype dtype) {
  pto2_create_info ci;
  memset(&ci, 0, sizeof ci);
  if (!shapes || ndims == 0 || ndims > PTO2_MAX_DIMS || pto2_dtype_size(dtype) == 0) return ci;
  if (!pto2__extent_bytes(shapes, ndims, pto2_dtype_size(dtype))) return ci; /* zero or too large */
  for (uint32_t d = 0; d < ndims; d++) ci.shapes[d] = shapes[d];
  ci.ndims = (uint8_t)ndims;
  ci.dtype = (uint8_t)dtype;
  return ci;
}
