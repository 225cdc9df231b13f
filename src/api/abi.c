/*
 * The stable ABI: exported, out-of-line definitions of every PTO2_INLINE
 * function of pto2.h (PTO2__ABI_DEFINE turns the header's inline bodies into
 * ordinary exported definitions), plus helpers for foreign-function
 * interfaces, pto2_abort_run() and pto2_fail_run().
 */
#define PTO2__ABI_DEFINE 1
#include "pto2/pto2.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "runtime.h"

pto2_arg *pto2_arg_create(void) {
  pto2_arg *a = malloc(sizeof *a);
  if (a) pto2_arg_init(a);
  return a;
}

void pto2_arg_destroy(pto2_arg *a) { free(a); }

pto2_task_id pto2_task_id_invalid(void) { return PTO2_TASK_ID_INVALID; }

size_t pto2_abi_struct_size(const char *name) {
  static const struct {
    const char *name;
    size_t size;
  } sizes[] = {
      {"pto2_task_id", sizeof(pto2_task_id)},
      {"pto2_tensor", sizeof(pto2_tensor)},
      {"pto2_create_info", sizeof(pto2_create_info)},
      {"pto2_kernel_ctx", sizeof(pto2_kernel_ctx)},
      {"pto2_mixed_kernels", sizeof(pto2_mixed_kernels)},
      {"pto2_config", sizeof(pto2_config)},
      {"pto2_run_stats", sizeof(pto2_run_stats)},
      {"pto2_hazard", sizeof(pto2_hazard)},
      {"pto2_hazard_access", sizeof(pto2_hazard_access)},
      {"pto2_arg", sizeof(pto2_arg)},
  };
  if (!name) return 0;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    if (strcmp(sizes[i].name, name) == 0) return sizes[i].size;
  return 0;
}

int pto2_abort_run(pto2_runtime *rt, const char *message) {
  if (!rt) return PTO2_E_INVALID_ARGS;
  if (!rt->in_run)
    return pto2__host_fail(rt, PTO2_E_INVALID_ARGS,
                           "pto2_abort_run called outside pto2_run(): it fails the current run "
                           "from its orchestration function");
  pto2__fail(rt, PTO2_E_ABORTED, "%s", message && *message ? message : "run aborted");
  return atomic_load_explicit(&rt->error, memory_order_relaxed);
}

int pto2_fail_run(pto2_runtime *rt, int code, const char *message) {
  if (!rt) return PTO2_E_INVALID_ARGS;
  if (!rt->in_run)
    return pto2__host_fail(rt, PTO2_E_INVALID_ARGS,
                           "pto2_fail_run called outside pto2_run(): it fails the current run "
                           "from its orchestration function");
  if (code >= 0 || strcmp(pto2_err_name(code), "PTO2_E_UNKNOWN") == 0)
    pto2__fail(rt, PTO2_E_INVALID_ARGS, "pto2_fail_run: %d is not a PTO2_E_* error code (%s)",
               code, message && *message ? message : "no message");
  else
    pto2__fail(rt, code, "%s", message && *message ? message : pto2_strerror(code));
  /* Relaxed: only the code is read; after pto2__fail's CAS on this thread,
   * coherence makes it the run's first error, never 0. */
  return atomic_load_explicit(&rt->error, memory_order_relaxed);
}
