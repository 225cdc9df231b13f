/*
 * Scheduling (sched/sched.c): where ready tasks go.
 *
 * A task made ready by an executor's completion runs next on that executor
 * if it has nothing lined up; others go to the ready queue of their shape.
 * Tasks the orchestrator finds ready are collected in a ready batch and
 * pushed together, so that executors trail the orchestrator by a batch
 * instead of contending for the lines it is writing.  The batch is pushed
 * when it is full, when an executor is parked, and before the orchestrator
 * waits; and an executor that has been idle for TAKE_AFTER_NS takes the
 * whole batch itself, so a ready task is never withheld from an idle
 * executor for long, even while the orchestrator runs user code.
 *
 * Batch protocol: `word` holds the number of entries published (bits 0-7),
 * a TAKEN bit (bit 8) and an epoch (bits 9..).  The orchestrator writes
 * slots[n], then publishes n + 1 with a seq_cst fetch_add; if that finds
 * TAKEN, an executor took entries 0..n-1 and the orchestrator restarts the
 * batch with this entry in a new epoch.  A taker reads `word` (acquire),
 * copies the n entries and claims them with a CAS that sets TAKEN; the CAS
 * fails if the orchestrator published more or started a new epoch, so a
 * successful taker copied exactly the entries of that word.  A flush
 * exchanges `word` for a new epoch and pushes the entries unless they were
 * taken.  Parking: the executor's prepare and the orchestrator's publish
 * are seq_cst RMWs and both then load seq_cst (the batch word, the waiter
 * count), so either the parking executor sees the entry or the orchestrator
 * sees the waiter and flushes (platform/futex.h).
 */
#ifndef PTO2_SCHED_SCHED_H
#define PTO2_SCHED_SCHED_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "platform/futex.h"
#include "sched/slot.h"
#include "util/compiler.h"

#define PTO2__READY_BATCH 32
#define PTO2__BATCH_TAKEN (UINT64_C(1) << 8)
#define PTO2__BATCH_EPOCH (UINT64_C(1) << 9)

typedef struct pto2__ready_batch {
  alignas(64) atomic_uint_fast64_t word; /* count | TAKEN | epoch */
  uint64_t mine;                         /* orchestrator: its last word */
  _Atomic(pto2__slot *) slots[PTO2__READY_BATCH];
} pto2__ready_batch;

/* Pushes a ready task to its shape's queue and wakes a parked executor. */
void pto2__push_ready(pto2_runtime *rt, pto2__slot *s);

/* Orchestrator: pushes every task of the batch not taken and empties it. */
void pto2__ready_batch_flush(pto2_runtime *rt, pto2__ready_batch *b);

/* Executor: takes the batch's tasks and pushes them; false if none. */
bool pto2__ready_batch_take(pto2_runtime *rt, pto2__ready_batch *b);

/* True if the batch holds tasks an executor could take (seq_cst: see the
 * parking argument above). */
static inline bool pto2__ready_batch_pending(pto2__ready_batch *b) {
  uint64_t w = atomic_load_explicit(&b->word, memory_order_seq_cst);
  return (w & 0xff) && !(w & PTO2__BATCH_TAKEN);
}

/* Orchestrator: adds a ready task to the batch and pushes the batch when it
 * is full or an executor is parked (it would otherwise idle). */
static inline void pto2__ready_batch_add(pto2_runtime *rt, pto2__ready_batch *b,
                                         pto2__eventcount *work_ec, pto2__slot *s) {
  uint64_t w = b->mine;
  unsigned n = (unsigned)(w & 0xff);
  atomic_store_explicit(&b->slots[n], s, memory_order_relaxed);
  /* seq_cst: releases the entry to a taker, and orders the publication
   * before the waiter check below (parking argument). */
  uint64_t prev = atomic_fetch_add_explicit(&b->word, 1, memory_order_seq_cst);
  if (PTO2_UNLIKELY(prev & PTO2__BATCH_TAKEN)) {
    /* Entries 0..n-1 were taken: restart with this one in a new epoch. */
    uint64_t fresh = ((prev & ~(PTO2__BATCH_EPOCH - 1)) + PTO2__BATCH_EPOCH) | 1u;
    atomic_store_explicit(&b->slots[0], s, memory_order_relaxed);
    atomic_store_explicit(&b->word, fresh, memory_order_seq_cst);
    b->mine = fresh;
    n = 0;
  } else {
    b->mine = w + 1;
  }
  if (PTO2_UNLIKELY(n + 1 == PTO2__READY_BATCH ||
                    atomic_load_explicit(&work_ec->waiters, memory_order_seq_cst)))
    pto2__ready_batch_flush(rt, b);
}

/* Forgets the batch's tasks (after an error, when every task is dropped,
 * with no executor running). */
static inline void pto2__ready_batch_clear(pto2__ready_batch *b) {
  b->mine = (b->mine & ~(PTO2__BATCH_EPOCH - 1)) + PTO2__BATCH_EPOCH;
  atomic_store_explicit(&b->word, b->mine, memory_order_relaxed);
}

#endif
