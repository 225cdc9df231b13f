/*
 * pto2_kernel_set_error(): a failing kernel's own words for the run's error
 * message.  The text is kept per thread (a kernel runs on its executor's
 * thread from call to return) together with the invocation that set it, so
 * the executor takes it only for that invocation and the hot path pays
 * nothing: no reset before each kernel call.
 */
#include <stdbool.h>
#include <stdio.h>

#include "pto2/pto2.h"
#include "util/kernel_error.h"

static _Thread_local struct {
  bool set;
  uint64_t task;
  int32_t block, core;
  char text[PTO2__KERNEL_ERROR_MAX];
} kernel_error;

void pto2_kernel_set_error(const pto2_kernel_ctx *ctx, const char *message) {
  if (!ctx || !message) return;
  kernel_error.set = true;
  kernel_error.task = ctx->task_id.raw;
  kernel_error.block = ctx->block_idx;
  kernel_error.core = ctx->core_id;
  snprintf(kernel_error.text, sizeof kernel_error.text, "%s", message);
}

const char *pto2__kernel_error_take(const pto2_kernel_ctx *ctx) {
  if (!kernel_error.set || kernel_error.task != ctx->task_id.raw ||
      kernel_error.block != ctx->block_idx || kernel_error.core != ctx->core_id)
    return 0;
  kernel_error.set = false;
  return kernel_error.text;
}
