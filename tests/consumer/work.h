/* The consumers' shared workload: y = x * 2 + 1 over 4 row blocks, two
 * kernels per block, checked element by element.  Returns 0 when right. */
#ifndef CONSUMER_WORK_H
#define CONSUMER_WORK_H

#include <stdio.h>

#include "pto2/pto2.h"

enum { ROWS = 32, COLS = 8, BLOCK = 8 };

static int times2(const pto2_kernel_ctx *k) {
  const pto2_tensor *x = &k->tensors[0], *y = &k->tensors[1];
  for (uint32_t r = 0; r < y->shapes[0]; r++)
    for (uint32_t c = 0; c < y->shapes[1]; c++)
      ((float *)y->data)[r * pto2_tensor_stride(y, 0) + c] =
          2.0f * ((const float *)x->data)[r * pto2_tensor_stride(x, 0) + c];
  return 0;
}

static int plus(const pto2_kernel_ctx *k) {
  const pto2_tensor *y = &k->tensors[0];
  float s = pto2_f32_from_u64(k->scalars[0]);
  for (uint32_t r = 0; r < y->shapes[0]; r++)
    for (uint32_t c = 0; c < y->shapes[1]; c++)
      ((float *)y->data)[r * pto2_tensor_stride(y, 0) + c] += s;
  return 0;
}

static pto2_config consumer_config(void) {
  pto2_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.block_dim = 2;
  cfg.worker_threads = 1;
  cfg.log_level = PTO2_LOG_SILENT; /* failures are printed by the consumer */
  return cfg;
}

static int consumer_check(const float *x, const float *y, const char *who, uint64_t tasks) {
  for (int i = 0; i < ROWS * COLS; i++)
    if (y[i] != x[i] * 2.0f + 1.0f) {
      printf("%s: y[%d] = %g, expected %g\n", who, i, (double)y[i], (double)(x[i] * 2.0f + 1.0f));
      return 1;
    }
  printf("%s: pto2 %s (headers %s), %llu tasks, result ok\n", who, pto2_version(),
         PTO2_VERSION_STRING, (unsigned long long)tasks);
  return 0;
}

#endif
