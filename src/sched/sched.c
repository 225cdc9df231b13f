/*
 * Where ready tasks go: the executor that made them ready, the ready
 * queues, and the orchestrator's ready batch (sched/sched.h).
 */
#include "sched/sched.h"

#include "runtime.h"
#include "sched/executor.h"

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

/* A task made ready by `ex`'s completion runs next on `ex` if it has no
 * successor lined up yet; others go to the shared queue for other
 * executors. */
void pto2__make_ready_local(pto2_runtime *rt, pto2__executor *ex, pto2__slot *s) {
  if (!ex->next && s->block_num == 1) ex->next = s;
  else pto2__push_ready(rt, s);
}
