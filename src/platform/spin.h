/*
 * Spin hint and the per-task test-and-test-and-set lock.
 *
 * The lock is held for a handful of instructions (a counter and a list
 * head), by the orchestrator wiring a consumer or by an executor completing
 * or consuming the task, so spinning is cheaper than parking.
 */
#ifndef PTO2_PLATFORM_SPIN_H
#define PTO2_PLATFORM_SPIN_H

#include <stdatomic.h>

static inline void pto2__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static inline void pto2__spin_lock(atomic_int *lock) {
  for (;;) {
    /* Acquire: the protected fields written by the previous holder before
     * its release store in pto2__spin_unlock() are visible after this. */
    if (!atomic_exchange_explicit(lock, 1, memory_order_acquire)) return;
    while (atomic_load_explicit(lock, memory_order_relaxed)) pto2__cpu_relax();
  }
}

static inline void pto2__spin_unlock(atomic_int *lock) {
  atomic_store_explicit(lock, 0, memory_order_release);
}

#endif
