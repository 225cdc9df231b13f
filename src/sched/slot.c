/*
 * The executor side of the slot protocol (sched/slot.h S1-S4): completion,
 * release, consumption and the ring watermark (ring/ring.h R2).  The
 * orchestrator side is inline in sched/slot_inl.h.
 */
#include "sched/slot_inl.h"

#include "runtime.h"
#include "sched/executor.h"

/* Advances ring r's watermark over CONSUMED slots (R2). */
static void advance_ring(pto2_runtime *rt, pto2__ring *r) {
  bool moved = false;
  for (;;) {
    /* seq_cst: ordered with the CONSUMED store and watermark load in
     * on_consumed(), so a consumer that loses this try-lock is seen by the
     * holder's re-check below. */
    if (atomic_exchange_explicit(&r->advance_lock, 1, memory_order_seq_cst)) break;
    uint64_t la = atomic_load_explicit(&r->last_alive, memory_order_relaxed);
    uint64_t start = la;
    for (;;) {
      /* Acquire: pairs with the orchestrator's release of head (R1), so the
       * slots below head show their current occupant's state.  The value
       * is cached under the lock: the orchestrator's line is re-read only
       * when the scan reaches it. */
      if (la == r->head_seen)
        r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
      if (la == r->head_seen ||
          atomic_load_explicit(&pto2__ring_slot(r, la)->state, memory_order_acquire) !=
              PTO2__TASK_CONSUMED)
        break;
      la++;
    }
    PTO2_CHECK(rt, "R2", la >= start && la <= r->head_seen);
    if (la != start) {
      /* seq_cst: pairs with on_consumed()'s watermark load.  Also a release:
       * the orchestrator's acquire of last_alive then sees every executor
       * write to the retired slots (they precede the CONSUMED stores read
       * above), so it may reuse them. */
      atomic_store_explicit(&r->last_alive, la, memory_order_seq_cst);
      moved = true;
    }
    uint64_t head = r->head_seen;
    atomic_store_explicit(&r->advance_lock, 0, memory_order_seq_cst);
    /* Re-check (R2).  If the scan stopped at the cached head, a task
     * published since then may already be CONSUMED: reload head. */
    if (la == head) head = atomic_load_explicit(&r->head, memory_order_acquire);
    if (!(la < head && atomic_load_explicit(&pto2__ring_slot(r, la)->state,
                                            memory_order_seq_cst) == PTO2__TASK_CONSUMED))
      break;
  }
  if (moved) pto2__ec_notify(&rt->progress_ec);
}

/* Called after a task's CONSUMED store (seq_cst).  Only the thread that
 * consumes the task at the watermark needs to advance it; a task above the
 * watermark is passed over by whoever consumes the one at it. */
static void on_consumed(pto2_runtime *rt, uint8_t ring, uint64_t local) {
  pto2__ring *r = &rt->rings[ring];
  if (atomic_load_explicit(&r->last_alive, memory_order_seq_cst) == local) advance_ring(rt, r);
}

void pto2__slot_release(pto2_runtime *rt, pto2__slot *p) {
  /* acq_rel: the releases of one task form a chain, so the thread that
   * drops the last reference sees every registration (S2). */
  int refs = atomic_fetch_add_explicit(&p->fanout_refcount, 1, memory_order_acq_rel) + 1;
  /* From here on the slot may no longer be this task's: unless this was the
   * last reference, the others may be dropped meanwhile, the task consumed,
   * retired and its slot reused (S4), and the load below may then read the
   * next occupant's fanout_count (it is an atomic: no race, only a value
   * that says nothing about this task).  So refs > count is not an error
   * here; the check is made under the lock, on a COMPLETED occupant.
   * Relaxed: fanout_count only grows while the task lives, and every
   * registration whose reference has been dropped is visible through the
   * chain above. */
  int count = atomic_load_explicit(&p->fanout_count, memory_order_relaxed);
  if (refs < count) return;
  pto2__spin_lock(&p->fanout_lock);
  /* Under the lock every count is the current occupant's.  A COMPLETED
   * occupant was seen through its completer's unlock, which had seen the
   * registrations made while it was held back; later ones are made under
   * this lock.  A dropped reference read here was registered before this
   * critical section, so refcount <= count is sound (S2). */
  bool completed = atomic_load_explicit(&p->state, memory_order_relaxed) == PTO2__TASK_COMPLETED;
  int now_refs = atomic_load_explicit(&p->fanout_refcount, memory_order_relaxed);
  int now_count = atomic_load_explicit(&p->fanout_count, memory_order_relaxed);
  PTO2_CHECK(rt, "S2", !completed || now_refs <= now_count);
  bool consume = completed && now_refs == now_count;
  uint8_t ring = 0;
  uint64_t local = 0;
  if (consume) {
    /* Read only when consuming: the occupant cannot be retired before its
     * CONSUMED store, whereas a slot already consumed may be being
     * re-initialised by the orchestrator, outside this lock (S4). */
    ring = p->ring;
    local = pto2_task_id_local(p->payload->id);
    atomic_store_explicit(&p->state, PTO2__TASK_CONSUMED, memory_order_seq_cst);
  }
  pto2__spin_unlock(&p->fanout_lock);
  if (consume) on_consumed(rt, ring, local);
}

void pto2__slot_complete(pto2_runtime *rt, struct pto2__executor *ex, pto2__slot *s) {
  /* Everything needed from the slot is read before COMPLETED is published:
   * after that, consumers may finish and release it, and it may be reused
   * (S4). */
  pto2__payload *pl = s->payload;
  pto2__slot *producers[PTO2__MAX_RELEASES];
  unsigned nprod = pl->fanin_count;
  /* One entry at a time, each with a request for the producer's line (its
   * release below is a read-modify-write of fanout_refcount, usually on a
   * line another core wrote last; the request overlaps the transfer with
   * the walk).  The per-entry body also keeps the compiler from turning
   * the copy into `rep movsq`: after a kernel, that microcoded instruction
   * took ~300 extra cycles here (docs/performance.md, "Completion"). */
  for (unsigned i = 0; i < nprod; i++) {
    pto2__slot *p = pl->fanin[i];
    pto2__prefetch_write(&p->fanout_refcount);
    producers[i] = p;
  }
  uint8_t ring = s->ring;
  uint64_t local = pto2_task_id_local(pl->id);

  pto2__spin_lock(&s->fanout_lock);
  PTO2_CHECK(rt, "S3",
             atomic_load_explicit(&s->state, memory_order_relaxed) == PTO2__TASK_PENDING);
  pto2__dep_entry *e = s->fanout_head;
  /* Consumers cannot have released a task that had not completed, so equal
   * counts here mean: scope ended, no consumers (S2). */
  int refs = atomic_load_explicit(&s->fanout_refcount, memory_order_relaxed);
  int count = atomic_load_explicit(&s->fanout_count, memory_order_relaxed);
  PTO2_CHECK(rt, "S2", refs <= count);
  bool consumed = refs == count;
  /* Release: the kernel's writes happen before any reader that acquires the
   * state (blocking data access).  seq_cst for CONSUMED: see on_consumed(). */
  if (consumed) atomic_store_explicit(&s->state, PTO2__TASK_CONSUMED, memory_order_seq_cst);
  else atomic_store_explicit(&s->state, PTO2__TASK_COMPLETED, memory_order_release);
  pto2__spin_unlock(&s->fanout_lock);

  while (e) {
    /* Read next first: once released, the consumer may finish and its
     * ring may reclaim the entries allocated for it, this one included. */
    pto2__dep_entry *next = e->next;
    pto2__slot *c = e->consumer;
    /* acq_rel: (S1) exactly one decrement reaches zero; the one that does
     * must see the payload, released by the orchestrator's publish. */
    int before = atomic_fetch_sub_explicit(&c->fanin_remaining, 1, memory_order_acq_rel);
    PTO2_CHECK(rt, "S1", before >= 1);
    if (before == 1) {
      if (PTO2_UNLIKELY(rt->tracing)) pto2__rec_ready(rt, c->rec);
      pto2__make_ready_local(rt, ex, c);
    }
    e = next;
  }
  for (unsigned i = 0; i < nprod; i++) pto2__slot_release(rt, producers[i]);
  if (consumed) on_consumed(rt, ring, local);
}
