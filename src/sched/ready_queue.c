#include "sched/ready_queue.h"

#include "util/alloc.h"

int pto2__rq_init(pto2__ready_queue *q, uint64_t capacity, const pto2_allocator *a) {
  if (capacity < 2 || (capacity & (capacity - 1))) return PTO2_E_INVALID_ARGS;
  q->cells = pto2__alloc64(a, capacity * sizeof *q->cells);
  if (!q->cells) return PTO2_E_NO_MEMORY;
  q->mask = capacity - 1;
  pto2__rq_reset(q);
  return 0;
}

void pto2__rq_fini(pto2__ready_queue *q, const pto2_allocator *a) {
  pto2__free64(a, q->cells);
  q->cells = 0;
}

void pto2__rq_reset(pto2__ready_queue *q) {
  for (uint64_t i = 0; i <= q->mask; i++) {
    atomic_store_explicit(&q->cells[i].seq, i, memory_order_relaxed);
    q->cells[i].item = 0;
  }
  atomic_store_explicit(&q->enqueue_pos, 0, memory_order_relaxed);
  atomic_store_explicit(&q->dequeue_pos, 0, memory_order_relaxed);
}
