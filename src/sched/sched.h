/*
 * Scheduling (sched/sched.c): where ready tasks go.
 *
 * A task made ready by an executor's completion runs next on that executor
 * if it has nothing lined up; others go to the ready queue of their shape.
 * Tasks the orchestrator finds ready are collected in a ready batch and
 * pushed together (and always before the orchestrator waits), so that
 * executors trail the orchestrator by a batch instead of contending for
 * the lines it is writing.
 */
#ifndef PTO2_SCHED_SCHED_H
#define PTO2_SCHED_SCHED_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "platform/futex.h"
#include "sched/slot.h"
#include "util/compiler.h"

#define PTO2__READY_BATCH 32

typedef struct pto2__ready_batch {
  uint32_t count;
  pto2__slot *slots[PTO2__READY_BATCH];
} pto2__ready_batch;

/* Pushes a ready task to its shape's queue and wakes a parked executor. */
void pto2__push_ready(pto2_runtime *rt, pto2__slot *s);

/* Pushes every task of the batch and empties it. */
void pto2__ready_batch_flush(pto2_runtime *rt, pto2__ready_batch *b);

/* Adds a ready task to the batch and pushes the batch when it is full or an
 * executor is parked (it would otherwise idle). */
static inline void pto2__ready_batch_add(pto2_runtime *rt, pto2__ready_batch *b,
                                         pto2__eventcount *work_ec, pto2__slot *s) {
  b->slots[b->count++] = s;
  /* Relaxed: a hint; a missed sleeper is woken by the next flush, which
   * every wait of the orchestrator performs first. */
  if (PTO2_UNLIKELY(b->count == PTO2__READY_BATCH ||
                    atomic_load_explicit(&work_ec->waiters, memory_order_relaxed)))
    pto2__ready_batch_flush(rt, b);
}

/* Forgets the batch's tasks (after an error, when every task is dropped). */
static inline void pto2__ready_batch_clear(pto2__ready_batch *b) { b->count = 0; }

#endif
