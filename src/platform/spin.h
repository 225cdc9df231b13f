/*
 * Spin hint and the per-task test-and-test-and-set lock.
 *
 * The lock is held for a handful of instructions (a counter and a list
 * head), by the orchestrator wiring a consumer or by an executor completing
 * or consuming the task, so spinning is cheaper than parking.
 */
#ifndef PTO2_PLATFORM_SPIN_H
#define PTO2_PLATFORM_SPIN_H

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

static inline void pto2__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* One poll's pause of a thread waiting for work that another thread makes
 * (an idle executor, the orchestrator waiting for a task): the first
 * PTO2__POLL_SPINS polls spin `relax` pause instructions, later ones give
 * the CPU away with sched_yield().  On an idle machine a yield returns at
 * once; when the thread that makes the work shares this CPU (threads
 * pinned together, or more runnable threads than CPUs) it runs now instead
 * of after the poller's time slice, which is what made run times differ by
 * several times from one process to the next. */
#define PTO2__POLL_SPINS 8u

static inline void pto2__poll_pause(uint32_t *polls, int relax) {
  if (*polls < PTO2__POLL_SPINS) {
    ++*polls;
    for (int i = 0; i < relax; i++) pto2__cpu_relax();
  } else {
    sched_yield();
  }
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
