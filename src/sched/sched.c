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
  uint64_t w = b->mine;
  unsigned n = (unsigned)(w & 0xff);
  if (!n) return;
  uint64_t fresh = (w & ~(PTO2__BATCH_EPOCH - 1)) + PTO2__BATCH_EPOCH;
  b->mine = fresh;
  /* acq_rel: a taker's CAS either came first (TAKEN: it has the entries)
   * or fails on the new epoch. */
  uint64_t prev = atomic_exchange_explicit(&b->word, fresh, memory_order_acq_rel);
  if (prev & PTO2__BATCH_TAKEN) return;
  for (unsigned i = 0; i < n; i++)
    pto2__push_ready(rt, atomic_load_explicit(&b->slots[i], memory_order_relaxed));
}

bool pto2__ready_batch_take(pto2_runtime *rt, pto2__ready_batch *b) {
  /* Acquire: pairs with the orchestrator's publishing fetch_add, so the n
   * entries (and the tasks they name) are visible. */
  uint64_t w = atomic_load_explicit(&b->word, memory_order_acquire);
  unsigned n = (unsigned)(w & 0xff);
  if (!n || (w & PTO2__BATCH_TAKEN)) return false;
  pto2__slot *got[PTO2__READY_BATCH];
  for (unsigned i = 0; i < n; i++) got[i] = atomic_load_explicit(&b->slots[i], memory_order_relaxed);
  /* The copy is valid only if the word did not change meanwhile. */
  if (!atomic_compare_exchange_strong_explicit(&b->word, &w, w | PTO2__BATCH_TAKEN,
                                               memory_order_acq_rel, memory_order_relaxed))
    return false;
  for (unsigned i = 0; i < n; i++) pto2__push_ready(rt, got[i]);
  return true;
}
