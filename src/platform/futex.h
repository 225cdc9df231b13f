/*
 * Parking: futex wait/wake and an event count built on them.
 *
 * Event count protocol (a waiter must not sleep through the event it waits
 * for):
 *   waiter:   key = ec_prepare(ec); if (condition) ec_cancel(ec);
 *             else ec_wait(ec, key, timeout);
 *   notifier: make the condition true; ec_notify(ec);
 * Both sides perform a seq_cst read-modify-write of `waiters` (the waiter's
 * increment, the notifier's fetch_add of 0), so one of them comes first in
 * its modification order.  If the notifier's comes first, the waiter's RMW
 * reads from it and synchronises with it: the waiter's condition test, made
 * after its RMW, sees the notifier's store.  Otherwise the notifier reads a
 * non-zero count and bumps `epoch`, which makes the futex wait return.
 * (No fences: ThreadSanitizer does not model them.)
 */
#ifndef PTO2_PLATFORM_FUTEX_H
#define PTO2_PLATFORM_FUTEX_H

#include <stdatomic.h>
#include <stdint.h>

/* Sleeps while *addr == expected, at most timeout_ns (0 = no limit). */
void pto2__futex_wait(atomic_uint *addr, uint32_t expected, uint64_t timeout_ns);
void pto2__futex_wake_all(atomic_uint *addr);

typedef struct pto2__eventcount {
  atomic_uint epoch;
  atomic_uint waiters;
} pto2__eventcount;

static inline uint32_t pto2__ec_prepare(pto2__eventcount *ec) {
  atomic_fetch_add_explicit(&ec->waiters, 1, memory_order_seq_cst);
  return atomic_load_explicit(&ec->epoch, memory_order_seq_cst);
}

static inline void pto2__ec_cancel(pto2__eventcount *ec) {
  /* Relaxed: only a notifier's decision to wake depends on it, and a stale
   * non-zero value costs one spurious wake. */
  atomic_fetch_sub_explicit(&ec->waiters, 1, memory_order_relaxed);
}

static inline void pto2__ec_wait(pto2__eventcount *ec, uint32_t key, uint64_t timeout_ns) {
  pto2__futex_wait(&ec->epoch, key, timeout_ns);
  pto2__ec_cancel(ec);
}

static inline void pto2__ec_wake(pto2__eventcount *ec) {
  atomic_fetch_add_explicit(&ec->epoch, 1, memory_order_seq_cst);
  pto2__futex_wake_all(&ec->epoch);
}

static inline void pto2__ec_notify(pto2__eventcount *ec) {
  if (atomic_fetch_add_explicit(&ec->waiters, 0, memory_order_seq_cst)) pto2__ec_wake(ec);
}

/* For a notifier whose store was a seq_cst read-modify-write (the ready
 * queue's enqueue CAS) and a waiter whose condition loads are seq_cst (the
 * queue's positions): all four operations are in the single seq_cst order,
 * so a load suffices here. */
static inline void pto2__ec_notify_after_seq_cst(pto2__eventcount *ec) {
  if (atomic_load_explicit(&ec->waiters, memory_order_seq_cst)) pto2__ec_wake(ec);
}

#endif
