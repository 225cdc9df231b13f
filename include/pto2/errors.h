/*
 * pto2 error codes.
 *
 * One list, with fixed numbers, generates the enum, pto2_strerror() and
 * pto2_err_name().  Codes 1..7 keep the numbering of the reference runtime's
 * orch_error_code (negated); the rest are pto2's own.
 */
#ifndef PTO2_ERRORS_H
#define PTO2_ERRORS_H

#include "pto2/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PTO2_ERRNO_MAP(XX)                                                          \
  XX(SCOPE_DEADLOCK, -1, "scope holds more tasks than its ring's task window")      \
  XX(HEAP_RING_DEADLOCK, -2, "ring heap exhausted by tasks that cannot retire")     \
  XX(FLOW_CONTROL_DEADLOCK, -3, "task window full of tasks that cannot retire")     \
  XX(DEP_POOL_OVERFLOW, -4, "dependency-entry pool exhausted")                      \
  XX(INVALID_ARGS, -5, "invalid arguments or API misuse")                           \
  XX(DEPENDENCY_OVERFLOW, -6, "task has more producers than PTO2_MAX_FANIN")        \
  XX(NO_MEMORY, -7, "out of memory")                                                \
  XX(INVALID_CONFIG, -8, "invalid configuration")                                   \
  XX(KERNEL_FAILED, -9, "a kernel returned a non-zero status")                      \
  XX(TIMEOUT, -10, "no progress within the configured time")                        \
  XX(BUSY, -11, "runtime is busy or unusable")                                      \
  XX(UNKNOWN_KERNEL, -12, "kernel id not registered or of the wrong core type")     \
  XX(SYSTEM, -13, "operating-system call failed")                                   \
  XX(INTERNAL, -14, "internal invariant violated (a pto2 bug)")                     \
  XX(ABORTED, -15, "the orchestration aborted the run (pto2_abort_run or an exception)") \
  XX(HAZARD, -16, "conflicting accesses not ordered by any dependency")

typedef enum pto2_errno {
  PTO2_OK = 0,
#define PTO2__ERR_ENUM(name, value, text) PTO2_E_##name = (value),
  PTO2_ERRNO_MAP(PTO2__ERR_ENUM)
#undef PTO2__ERR_ENUM
} pto2_errno;

/* Human-readable description of an error code ("unknown error" if none). */
PTO2_API const char *pto2_strerror(int err);
/* Symbolic name of an error code, e.g. "PTO2_E_INVALID_ARGS". */
PTO2_API const char *pto2_err_name(int err);

#ifdef __cplusplus
}
#endif

#endif /* PTO2_ERRORS_H */
