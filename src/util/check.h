/*
 * Internal invariant checks.  In PTO2_DEBUG_CHECKS builds a violated rule
 * of docs/concurrency.md (S1-S4, R1-R3, T1-T4, Q1-Q2) or docs/design.md
 * (O1) fails the run with PTO2_E_INTERNAL, naming the rule and the place;
 * in other builds the condition is not evaluated.  These report pto2 bugs,
 * never misuse: user errors keep their own codes.
 */
#ifndef PTO2_UTIL_CHECK_H
#define PTO2_UTIL_CHECK_H

#include "pto2/pto2.h"
#include "util/compiler.h"

/* Fails the run with PTO2_E_INTERNAL (defined in runtime.c). */
int pto2__internal_error(pto2_runtime *rt, const char *rule, const char *what, const char *file,
                         int line);

#define PTO2_CHECK(rt, rule, cond)                                                   \
  do {                                                                               \
    if (pto2__debug_checks_enabled && PTO2_UNLIKELY(!(cond)))                        \
      pto2__internal_error((rt), (rule), #cond, __FILE__, __LINE__);                 \
  } while (0)

#endif
