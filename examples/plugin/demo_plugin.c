/*
 * The smallest useful pto2 plugin (libpto2_demo.so): four kernels and an
 * orchestration entry point, defined with PTO2_PLUGIN (pto2/plugin.h).
 *
 * Build it outside pto2's tree against an installed pto2:
 *   cc -shared -fPIC -o libpto2_demo.so demo_plugin.c $(pkg-config --cflags --libs pto2)
 *
 * Kernels (AIV): 0 scale [IN x, OUT y] scalar factor (float32 bits): y = factor * x
 *                1 add   [IN a, IN b, OUT c]: c = a + b
 *                2 noop  any arguments, does nothing
 *                3 blocks [INOUT v] (int32, 1-D), SPMD: block b of n sets v[b] = n
 * Orchestration: tensors [x, y] (float32, same 2-D shape), scalar factor
 * (default 2.0): per block of 16 rows, t = scale(x), y = add(t, x).
 * Python can also submit these kernels one by one (pto2.Runtime.run with a
 * Python function).
 */
#include <stdio.h>

#include "pto2/plugin.h"

enum { K_SCALE = 0, K_ADD = 1, K_NOOP = 2, K_BLOCKS = 3, ROWS_PER_BLOCK = 16 };

static float *at(const pto2_tensor *t, uint32_t r, uint32_t c) {
  return (float *)t->data + r * pto2_tensor_stride(t, 0) + c;
}

/* Both kernels accept 1-D or 2-D float32 views. */
static int same_2d(const pto2_kernel_ctx *k, uint32_t n) {
  if (k->tensor_count != n) return 1;
  for (uint32_t i = 0; i < n; i++)
    if (k->tensors[i].dtype != PTO2_FLOAT32 || k->tensors[i].ndims > 2 ||
        k->tensors[i].shapes[0] != k->tensors[0].shapes[0] ||
        k->tensors[i].shapes[1] != k->tensors[0].shapes[1])
      return 1;
  return 0;
}

static int scale_kernel(const pto2_kernel_ctx *k) {
  if (same_2d(k, 2) || k->scalar_count != 1) return 1;
  const pto2_tensor *x = &k->tensors[0], *y = &k->tensors[1];
  float f = pto2_f32_from_u64(k->scalars[0]);
  uint32_t rows = x->ndims == 2 ? x->shapes[0] : 1, cols = x->shapes[x->ndims - 1];
  for (uint32_t r = 0; r < rows; r++)
    for (uint32_t c = 0; c < cols; c++) *at(y, r, c) = f * *at(x, r, c);
  return 0;
}

static int add_kernel(const pto2_kernel_ctx *k) {
  if (same_2d(k, 3)) return 1;
  const pto2_tensor *a = &k->tensors[0], *b = &k->tensors[1], *out = &k->tensors[2];
  uint32_t rows = a->ndims == 2 ? a->shapes[0] : 1, cols = a->shapes[a->ndims - 1];
  for (uint32_t r = 0; r < rows; r++)
    for (uint32_t c = 0; c < cols; c++) *at(out, r, c) = *at(a, r, c) + *at(b, r, c);
  return 0;
}

static int noop_kernel(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

/* One invocation per SPMD block (pto2_arg_set_block_num, Python Args.block_num). */
static int blocks_kernel(const pto2_kernel_ctx *k) {
  const pto2_tensor *v = &k->tensors[0];
  if (k->tensor_count != 1 || v->dtype != PTO2_INT32 || v->ndims != 1) {
    pto2_kernel_set_error(k, "blocks: expects one 1-D int32 tensor");
    return 1;
  }
  if ((uint32_t)k->block_idx >= v->shapes[0]) {
    pto2_kernel_set_error(k, "blocks: the tensor has fewer elements than the task has blocks");
    return 1;
  }
  ((int32_t *)v->data)[(uint64_t)k->block_idx * pto2_tensor_stride(v, 0)] = k->block_num;
  return 0;
}

static int demo_register(pto2_runtime *rt) {
  int rc = pto2_kernel_register(rt, K_SCALE, PTO2_CORE_AIV, "scale", scale_kernel, NULL);
  if (!rc) rc = pto2_kernel_register(rt, K_ADD, PTO2_CORE_AIV, "add", add_kernel, NULL);
  if (!rc) rc = pto2_kernel_register(rt, K_NOOP, PTO2_CORE_AIV, "noop", noop_kernel, NULL);
  if (!rc) rc = pto2_kernel_register(rt, K_BLOCKS, PTO2_CORE_AIV, "blocks", blocks_kernel, NULL);
  return rc;
}

static void demo_orchestrate(pto2_runtime *rt, const pto2_plugin_args *a) {
  if (a->tensor_count != 2) {
    pto2_abort_run(rt, "demo plugin: expected 2 tensors, x and y");
    return;
  }
  const pto2_tensor *x = &a->tensors[0], *y = &a->tensors[1];
  if (x->ndims != 2 || x->dtype != PTO2_FLOAT32 || y->ndims != 2 || y->dtype != PTO2_FLOAT32 ||
      x->shapes[0] != y->shapes[0] || x->shapes[1] != y->shapes[1]) {
    pto2_abort_run(rt, "demo plugin: x and y must be float32 matrices of one shape");
    return;
  }
  float factor = a->scalar_count > 0 ? pto2_f32_from_u64(a->scalars[0]) : 2.0f;
  const uint32_t rows = x->shapes[0], cols = x->shapes[1];
  for (uint32_t r0 = 0; r0 < rows; r0 += ROWS_PER_BLOCK) {
    uint32_t n = rows - r0 < ROWS_PER_BLOCK ? rows - r0 : ROWS_PER_BLOCK;
    PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
      pto2_tensor xb = pto2_tensor_view2(x, n, cols, r0, 0);
      pto2_tensor yb = pto2_tensor_view2(y, n, cols, r0, 0);
      const uint32_t shape[2] = {n, cols};
      pto2_create_info t_info = pto2_create_info_make(shape, 2, PTO2_FLOAT32);
      pto2_arg s;
      pto2_arg_init(&s);
      pto2_arg_add_input(&s, &xb);
      pto2_arg_add_output(&s, &t_info);
      pto2_arg_add_scalar(&s, pto2_u64_from_f32(factor));
      if (!pto2_task_id_is_valid(pto2_submit_aiv(rt, K_SCALE, &s))) break;
      pto2_arg d;
      pto2_arg_init(&d);
      pto2_arg_add_input(&d, pto2_arg_output(&s, 0));
      pto2_arg_add_input(&d, &xb);
      pto2_arg_add_output_existing(&d, &yb);
      pto2_submit_aiv(rt, K_ADD, &d);
    }
  }
}

PTO2_PLUGIN(demo_register, demo_orchestrate);
