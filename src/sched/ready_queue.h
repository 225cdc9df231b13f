/*
 * Ready queue: a bounded multi-producer multi-consumer FIFO of slot pointers
 * (Vyukov's array queue), one per resource shape.
 *
 * Theory of operation.  Cell i starts with seq = i.  A producer that owns
 * position p (claimed by CAS on enqueue_pos) writes the item and publishes
 * it with seq = p + 1 (release).  A consumer owning position p (CAS on
 * dequeue_pos) reads it once it sees seq == p + 1 (acquire) and recycles the
 * cell with seq = p + capacity (release).
 *  (Q1) The queue never fills: capacity >= every task that can be in flight
 *       at once (checked at init), and a task is in the queue at most once.
 *  (Q2) The enqueue CAS is seq_cst so that a pusher's check for parked
 *       executors is ordered after it (see platform/futex.h).
 */
#ifndef PTO2_SCHED_READY_QUEUE_H
#define PTO2_SCHED_READY_QUEUE_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "platform/spin.h"
#include "sched/slot.h"

typedef struct pto2__rq_cell {
  atomic_uint_fast64_t seq;
  pto2__slot *item;
} pto2__rq_cell;

typedef struct pto2__ready_queue {
  alignas(64) atomic_uint_fast64_t enqueue_pos;
  alignas(64) atomic_uint_fast64_t dequeue_pos;
  alignas(64) pto2__rq_cell *cells;
  uint64_t mask;
} pto2__ready_queue;

int pto2__rq_init(pto2__ready_queue *q, uint64_t capacity, const pto2_allocator *a);
void pto2__rq_fini(pto2__ready_queue *q, const pto2_allocator *a);
/* Empties the queue; no other thread may use it meanwhile. */
void pto2__rq_reset(pto2__ready_queue *q);

/* Multi-producer push.  Returns false only if the queue is full, which (Q1)
 * rules out; callers treat it as an internal error. */
static inline bool pto2__rq_push_mp(pto2__ready_queue *q, pto2__slot *s) {
  uint64_t pos = atomic_load_explicit(&q->enqueue_pos, memory_order_relaxed);
  for (;;) {
    pto2__rq_cell *c = &q->cells[pos & q->mask];
    /* Acquire: pairs with the consumer's release that recycled the cell. */
    uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
    int64_t diff = (int64_t)(seq - pos);
    if (diff == 0) {
      /* seq_cst: (Q2).  On failure pos is reloaded. */
      if (atomic_compare_exchange_weak_explicit(&q->enqueue_pos, &pos, pos + 1,
                                                memory_order_seq_cst, memory_order_relaxed)) {
        c->item = s;
        /* Release: publishes the item to the consumer's acquire of seq. */
        atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
        return true;
      }
    } else if (diff < 0) {
      return false;
    } else {
      pos = atomic_load_explicit(&q->enqueue_pos, memory_order_relaxed);
    }
  }
}

/* Multi-consumer pop; NULL when empty (or when the next item is still being
 * published, which the caller treats as empty and retries later). */
static inline pto2__slot *pto2__rq_pop_mc(pto2__ready_queue *q) {
  uint64_t pos = atomic_load_explicit(&q->dequeue_pos, memory_order_relaxed);
  for (;;) {
    pto2__rq_cell *c = &q->cells[pos & q->mask];
    /* Acquire: pairs with the producer's release of seq; the item is then
     * visible. */
    uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
    int64_t diff = (int64_t)(seq - (pos + 1));
    if (diff == 0) {
      if (atomic_compare_exchange_weak_explicit(&q->dequeue_pos, &pos, pos + 1,
                                                memory_order_relaxed, memory_order_relaxed)) {
        pto2__slot *s = c->item;
        /* Release: the producer that reuses this cell must see our read done. */
        atomic_store_explicit(&c->seq, pos + q->mask + 1, memory_order_release);
        return s;
      }
    } else if (diff < 0) {
      return 0;
    } else {
      pos = atomic_load_explicit(&q->dequeue_pos, memory_order_relaxed);
    }
  }
}

/* True if some push has claimed a position no pop has taken yet.  seq_cst
 * so that a parking executor's check is ordered after its ec_prepare(). */
static inline bool pto2__rq_nonempty(pto2__ready_queue *q) {
  return atomic_load_explicit(&q->enqueue_pos, memory_order_seq_cst) !=
         atomic_load_explicit(&q->dequeue_pos, memory_order_seq_cst);
}

#endif
