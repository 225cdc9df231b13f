/*
 * Where ready tasks go: the executor that made them ready, the ready
 * queues, and the orchestrator's ready batch (sched/sched.h).
 */
#include "sched/sched.h"

#include "runtime.h"

static pto2__ready_queue *queue_of(pto2_runtime *rt, const pto2__slot *s) {
  return &rt->queues[s->shape];
}

void pto2__push_ready(pto2_runtime *rt, pto2__slot *s) {
  if (PTO2_UNLIKELY(!pto2__rq_push_mp(queue_of(rt, s), s))) {
    /* (Q1) makes this impossible: a pto2 bug, not a user error. */
    pto2__fail(rt, PTO2_E_INTERNAL, "internal error: ready queue full (capacity %llu) (Q1)",
               (unsigned long long)queue_of(rt, s)->mask + 1);
    return;
  }
  pto2__ec_notify_after_seq_cst(&rt->work_ec);
}

void pto2__ready_batch_flush(pto2_runtime *rt, pto2__ready_batch *b) {
  for (uint32_t i = 0; i < b->count; i++) pto2__push_ready(rt, b->slots[i]);
  b->count = 0;
}
