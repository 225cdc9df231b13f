/* The message a failing kernel gave with pto2_kernel_set_error(). */
#ifndef PTO2_UTIL_KERNEL_ERROR_H
#define PTO2_UTIL_KERNEL_ERROR_H

#include "pto2/pto2.h"

enum { PTO2__KERNEL_ERROR_MAX = 256 };

/* The message set on this thread by the kernel invocation `ctx` (same task,
 * block and core), consumed; NULL if it set none.  Valid until the thread's
 * next pto2_kernel_set_error(). */
const char *pto2__kernel_error_take(const pto2_kernel_ctx *ctx);

#endif
