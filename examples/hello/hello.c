/*
 * The README's example: y = (a + b) * 2 over four row blocks, as two kinds
 * of tasks.  The TensorMap orders each scale task after the add task that
 * wrote the rows it reads.
 */
#include <stdio.h>

#include "pto2/pto2.h"

enum { ROWS = 64, COLS = 32, BLOCK = 16, K_ADD = 0, K_SCALE = 1 };

/* tensors: a, b (inputs), out (written) */
static int add_kernel(const pto2_kernel_ctx *k) {
  const pto2_tensor *a = &k->tensors[0], *b = &k->tensors[1], *out = &k->tensors[2];
  for (uint32_t r = 0; r < out->shapes[0]; r++)
    for (uint32_t c = 0; c < out->shapes[1]; c++) {
      uint64_t i = r * pto2_tensor_stride(a, 0) + c;
      ((float *)out->data)[r * pto2_tensor_stride(out, 0) + c] =
          ((const float *)a->data)[i] + ((const float *)b->data)[r * pto2_tensor_stride(b, 0) + c];
    }
  return 0;
}

/* tensors: x (read and written in place); scalars: factor (float bits) */
static int scale_kernel(const pto2_kernel_ctx *k) {
  const pto2_tensor *x = &k->tensors[0];
  float factor = pto2_f32_from_u64(k->scalars[0]);
  for (uint32_t r = 0; r < x->shapes[0]; r++)
    for (uint32_t c = 0; c < x->shapes[1]; c++)
      ((float *)x->data)[r * pto2_tensor_stride(x, 0) + c] *= factor;
  return 0;
}

struct job {
  float *a, *b, *y;
};

static void orchestrate(pto2_runtime *rt, void *arg) {
  struct job *job = arg;
  const uint32_t shape[2] = {ROWS, COLS};
  pto2_tensor a = pto2_tensor_external(job->a, shape, 2, PTO2_FLOAT32);
  pto2_tensor b = pto2_tensor_external(job->b, shape, 2, PTO2_FLOAT32);
  pto2_tensor y = pto2_tensor_external(job->y, shape, 2, PTO2_FLOAT32);
  for (uint32_t row = 0; row < ROWS; row += BLOCK) {
    PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
      pto2_tensor av = pto2_tensor_view2(&a, BLOCK, COLS, row, 0);
      pto2_tensor bv = pto2_tensor_view2(&b, BLOCK, COLS, row, 0);
      pto2_tensor yv = pto2_tensor_view2(&y, BLOCK, COLS, row, 0);
      pto2_arg args;
      pto2_arg_init(&args);
      pto2_arg_add_input(&args, &av);
      pto2_arg_add_input(&args, &bv);
      pto2_arg_add_output_existing(&args, &yv);
      pto2_submit_aiv(rt, K_ADD, &args);

      pto2_arg_init(&args);
      pto2_arg_add_inout(&args, &yv);
      pto2_arg_add_scalar(&args, pto2_u64_from_f32(2.0f));
      pto2_submit_aiv(rt, K_SCALE, &args);
    }
  }
}

int main(void) {
  static float a[ROWS * COLS], b[ROWS * COLS], y[ROWS * COLS];
  for (int i = 0; i < ROWS * COLS; i++) a[i] = (float)i, b[i] = 1.0f;

  pto2_runtime *rt;
  if (pto2_runtime_create(NULL, &rt) != 0) return 1;
  if (pto2_kernel_register(rt, K_ADD, PTO2_CORE_AIV, "add", add_kernel, NULL) != 0 ||
      pto2_kernel_register(rt, K_SCALE, PTO2_CORE_AIV, "scale", scale_kernel, NULL) != 0)
    return 1;
  struct job job = {a, b, y};
  pto2_run_stats stats;
  int rc = pto2_run(rt, orchestrate, &job, &stats);
  if (rc != 0) {
    fprintf(stderr, "run failed: %s\n", pto2_error_message(rt));
    pto2_runtime_destroy(rt);
    return 1;
  }
  int bad = 0;
  for (int i = 0; i < ROWS * COLS; i++) bad += y[i] != (a[i] + b[i]) * 2.0f;
  printf("tasks=%llu edges=%llu mismatches=%d\n", (unsigned long long)stats.tasks,
         (unsigned long long)stats.edges, bad);
  pto2_runtime_destroy(rt);
  return bad != 0;
}
