/* Branch hints shared by every module. */
#ifndef PTO2_UTIL_COMPILER_H
#define PTO2_UTIL_COMPILER_H

#define PTO2_LIKELY(x) __builtin_expect(!!(x), 1)
#define PTO2_UNLIKELY(x) __builtin_expect(!!(x), 0)

#ifdef PTO2_DEBUG_CHECKS
enum { pto2__debug_checks_enabled = 1 };
#else
enum { pto2__debug_checks_enabled = 0 };
#endif

#endif
