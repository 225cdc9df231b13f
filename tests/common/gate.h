/*
 * A gate kernel for tests that need a task to stay live (running, not yet
 * retired) while the orchestration goes on: gate_kernel polls, every 0.1 ms,
 * until gate_open() is called.  One gate per test process; the orchestration
 * opens it once it has done what needs the task live.
 */
#ifndef PTO2_TEST_GATE_H
#define PTO2_TEST_GATE_H

#include <stdatomic.h>
#include <time.h>

#include "pto2/pto2.h"

static inline atomic_int *gate_flag(void) {
  static atomic_int open;
  return &open;
}

static inline void gate_open(void) { atomic_store(gate_flag(), 1); }

static inline int gate_kernel(const pto2_kernel_ctx *k) {
  (void)k;
  while (!atomic_load(gate_flag())) {
    struct timespec ts = {0, 100000};
    nanosleep(&ts, 0);
  }
  return 0;
}

#endif
