/*
 * The slot protocol's verbs (sched/slot.h S1-S4): every transition of a
 * task slot goes through one of these.  Hot verbs are inline here; the
 * executor side (complete, release, consume, watermark advance) is in
 * sched/slot.c.
 *
 *   orchestrator                          executors
 *   pto2__slot_init       (submit)
 *   pto2__slot_link       (consumer -> producer edge, S3)
 *   pto2__slot_hold       (lifetime hold, S2)
 *   pto2__slot_publish    (drop the publish share, S1)
 *   pto2__slot_defer / pto2__slot_publish_deferred (held back to scope end)
 *   pto2__slot_link_late  (explicit edge to a held-back consumer)
 *   pto2__slot_link_held  (the same, from a creator it holds: the hold's
 *                          reference becomes the edge's)
 *                                         pto2__slot_claim_block / _block_done (SPMD)
 *                                         pto2__slot_complete (COMPLETED, fanout walk)
 *   pto2__slot_release    (scope end)     pto2__slot_release (consumer done)
 *                                         -> CONSUMED -> watermark advance (R2)
 */
#ifndef PTO2_SCHED_SLOT_INL_H
#define PTO2_SCHED_SLOT_INL_H

#include <stdatomic.h>
#include <stdbool.h>

#include "platform/spin.h"
#include "ring/ring.h"
#include "sched/slot.h"
#include "util/check.h"

struct pto2__executor;

/* ---- sched/slot.c ------------------------------------------------------ */

/* Drops one reference (S2): the scope's, a consumer's or a holder's.  The
 * last one after completion makes the task CONSUMED and may advance its
 * ring's watermark (R2). */
void pto2__slot_release(pto2_runtime *rt, pto2__slot *p);
/* The task has run: publishes COMPLETED (or CONSUMED), decrements each
 * consumer's fanin (S1), making ready those that reach zero, and releases
 * its producers and held creators. */
void pto2__slot_complete(pto2_runtime *rt, struct pto2__executor *ex, pto2__slot *s);

/* ---- submit ------------------------------------------------------------ */

/* A fresh task: one reference, its scope's (S2); PENDING. */
/* Adds consumer c to p's fanout list, with an entry from the
 * orchestrator's pool; the caller holds p's fanout lock or p is held back
 * (S3). */
static inline void pto2__fanout_push(pto2__slot *p, pto2__dep_pool *pool, pto2__slot *c) {
  pto2__dep_entry *e = pto2__dep_pool_take(pool);
  e->consumer = c;
  e->next = p->fanout_head;
  p->fanout_head = e;
}

static inline void pto2__slot_init(pto2__slot *s, uint8_t ring, uint8_t shape, uint8_t mask,
                                   uint16_t block_num) {
  atomic_store_explicit(&s->fanout_count, 1, memory_order_relaxed); /* the scope (S2) */
  atomic_store_explicit(&s->fanout_refcount, 0, memory_order_relaxed);
  s->fanout_head = 0;
  atomic_store_explicit(&s->state, PTO2__TASK_PENDING, memory_order_relaxed);
  s->ring = ring;
  s->deferred = false;
  s->late_fanin = 0;
  s->shape = shape;
  s->active_mask = mask;
  s->block_num = (int16_t)block_num;
  if (block_num > 1) {
    atomic_store_explicit(&s->next_block, 0, memory_order_relaxed);
    atomic_store_explicit(&s->subtasks_done, 0, memory_order_relaxed);
  }
}

/* The publish share of a task held back until its scope ends (S1): above
 * the producers explicit edges may add meanwhile (at most PTO2_MAX_FANIN
 * in all), so that no producer's decrement can reach zero before the
 * publish has added them. */
#define PTO2__HELD_SHARE (PTO2_MAX_FANIN + 1)
_Static_assert(PTO2_MAX_FANIN < 255, "late_fanin counts explicit producers in a uint8_t");

/* Before any link: the task waits for `producers` plus the publish share,
 * PTO2__HELD_SHARE if it will be held back (S1).  Relaxed: producers see it
 * through their fanout lock, or, if they are held back too, through their
 * own publish (S1, S3). */
static inline void pto2__slot_arm(pto2__slot *s, uint32_t producers, bool held) {
  atomic_store_explicit(&s->fanin_remaining, (int)producers + (held ? PTO2__HELD_SHARE : 1),
                        memory_order_relaxed);
}

/* Pushes `s` on the fanout list of the held-back task `p` (S3): p cannot
 * run before the orchestrator publishes it, so no executor reads the list,
 * changes p's state or takes its lock meanwhile (an executor dropping a
 * reference on p, a lifetime holder, takes the lock only for the last
 * one, and p's scope still holds its own).  The plain writes and the
 * relaxed fanout_count store (the orchestrator is its only writer, S2)
 * reach the executor that completes p as the payload does: p's publish is
 * an acq_rel read-modify-write of p's fanin_remaining, and that executor
 * acquired the decrement that made p ready (S1). */
static inline void pto2__slot_link_held_back(pto2__slot *p, pto2__slot *s, pto2__dep_pool *pool) {
  int count = atomic_load_explicit(&p->fanout_count, memory_order_relaxed);
  atomic_store_explicit(&p->fanout_count, count + 1, memory_order_relaxed);
  pto2__fanout_push(p, pool, s);
}

/* Registers `s` as a consumer of `p` (S3), taking an entry from `pool` if p
 * has not finished.  Returns 1 if p had finished, 0 if s was linked into
 * p's fanout list, -1 if p was already CONSUMED (no reference taken). */
static inline int pto2__slot_link(pto2__slot *p, pto2__slot *s, pto2__dep_pool *pool) {
  if (p->deferred) { /* held back: PENDING, and no lock needed (S3) */
    pto2__slot_link_held_back(p, s, pool);
    return 0;
  }
  pto2__spin_lock(&p->fanout_lock);
  uint8_t st = atomic_load_explicit(&p->state, memory_order_relaxed);
  int finished = -1;
  if (st != PTO2__TASK_CONSUMED) {
    int count = atomic_load_explicit(&p->fanout_count, memory_order_relaxed);
    atomic_store_explicit(&p->fanout_count, count + 1, memory_order_relaxed);
    finished = st == PTO2__TASK_COMPLETED;
    if (!finished) {
      pto2__fanout_push(p, pool, s);
    }
  }
  pto2__spin_unlock(&p->fanout_lock);
  return finished;
}

/* A lifetime hold: one more reference on `p`, dropped when the holder
 * completes; no fanout link, nothing to wait for.  False if p was already
 * CONSUMED (no reference taken). */
static inline bool pto2__slot_hold(pto2__slot *p) {
  if (p->deferred) { /* held back: not CONSUMED, and no lock needed (S3) */
    int count = atomic_load_explicit(&p->fanout_count, memory_order_relaxed);
    atomic_store_explicit(&p->fanout_count, count + 1, memory_order_relaxed);
    return true;
  }
  pto2__spin_lock(&p->fanout_lock);
  bool alive = atomic_load_explicit(&p->state, memory_order_relaxed) != PTO2__TASK_CONSUMED;
  if (alive) {
    int count = atomic_load_explicit(&p->fanout_count, memory_order_relaxed);
    atomic_store_explicit(&p->fanout_count, count + 1, memory_order_relaxed);
  }
  pto2__spin_unlock(&p->fanout_lock);
  return alive;
}

/* Drops the publish share and the shares of the `satisfied` producers
 * that had finished when linked (S1).  `linked`: some producer may still
 * decrement.  Returns true if the task is ready now (the caller pushes it). */
static inline bool pto2__slot_publish(pto2_runtime *rt, pto2__slot *s, bool linked,
                                      uint32_t satisfied) {
  if (!linked) {
    /* No producer can reach the slot: it is ready now. */
    atomic_store_explicit(&s->fanin_remaining, 0, memory_order_relaxed);
    return true;
  }
  /* acq_rel: releases the payload to the executor whose decrement makes
   * the task ready (S1). */
  int drop = (int)satisfied + 1; /* and the publish share */
  int before = atomic_fetch_sub_explicit(&s->fanin_remaining, drop, memory_order_acq_rel);
  PTO2_CHECK(rt, "S1", before >= drop);
  return before == drop;
}

/* Holds the task back until its scope ends (armed with `held`): drops only
 * the shares of the producers that had finished, keeping the publish share
 * (S1). */
static inline void pto2__slot_defer(pto2__slot *s, bool linked, uint32_t satisfied) {
  s->deferred = true;
  if (!linked) atomic_store_explicit(&s->fanin_remaining, PTO2__HELD_SHARE, memory_order_relaxed);
  else if (satisfied)
    atomic_fetch_sub_explicit(&s->fanin_remaining, (int)satisfied, memory_order_relaxed);
}

/* True while the task is held back (orchestrator only). */
static inline bool pto2__slot_is_deferred(const pto2__slot *s) { return s->deferred; }

/* Publishes a held-back task at its scope's end: drops the held share and
 * adds the producers its explicit edges linked meanwhile (S1), in one
 * subtraction.  True if it is ready. */
static inline bool pto2__slot_publish_deferred(pto2_runtime *rt, pto2__slot *s) {
  s->deferred = false;
  int drop = PTO2__HELD_SHARE - (int)s->late_fanin;
  /* acq_rel: releases the payload, the explicit wiring and the fanout
   * entries registered on the task while it was held back (S3) to the
   * executor whose decrement makes the task ready (S1). */
  int before = atomic_fetch_sub_explicit(&s->fanin_remaining, drop, memory_order_acq_rel);
  PTO2_CHECK(rt, "S1", before >= drop);
  return before == drop;
}

/* An explicit edge from `p` to the held-back consumer `c`.  The producer is
 * counted in c's late_fanin, which only the orchestrator touches: c's held
 * share keeps fanin_remaining above zero whatever the linked producers
 * decrement before the publish adds them (S1).  Returns what
 * pto2__slot_link returns. */
static inline int pto2__slot_link_late(pto2_runtime *rt, pto2__slot *p, pto2__slot *c,
                                       pto2__dep_pool *pool) {
  PTO2_CHECK(rt, "S1", c->deferred && c->late_fanin < PTO2_MAX_FANIN);
  int finished = pto2__slot_link(p, c, pool);
  if (finished == 0) c->late_fanin++;
  return finished;
}

/* An explicit edge from `p` to the held-back consumer `c` that already
 * holds `p` (a lifetime hold, S2): the hold's reference becomes the edge's,
 * so fanout_count does not change; only the fanout entry is added (S3).
 * The hold keeps p from CONSUMED until c completes.  Counts the producer
 * like pto2__slot_link_late (S1).  Returns 1 if p had finished (nothing
 * linked), 0 if linked. */
static inline int pto2__slot_link_held(pto2_runtime *rt, pto2__slot *p, pto2__slot *c,
                                       pto2__dep_pool *pool) {
  PTO2_CHECK(rt, "S1", c->deferred && c->late_fanin < PTO2_MAX_FANIN);
  int finished = 0;
  if (p->deferred) { /* held back: PENDING, and no lock needed (S3) */
    pto2__fanout_push(p, pool, c);
  } else {
    pto2__spin_lock(&p->fanout_lock);
    uint8_t st = atomic_load_explicit(&p->state, memory_order_relaxed);
    finished = st != PTO2__TASK_PENDING;
    if (!finished) {
      pto2__fanout_push(p, pool, c);
    }
    pto2__spin_unlock(&p->fanout_lock);
    PTO2_CHECK(rt, "S2", st != PTO2__TASK_CONSUMED);
  }
  if (!finished) c->late_fanin++;
  return finished;
}

/* ---- executors --------------------------------------------------------- */

/* A hint that this thread will soon write the line at `p` (x86 PREFETCHW,
 * which CPUs without it execute as a no-op).  Not a memory access in the
 * C model: it reads no value, so it cannot race, and `p` may be a slot
 * that is no longer the task's (S4). */
static inline void pto2__prefetch_write(const void *p) {
#if defined(__x86_64__) || defined(__i386__)
  __asm__ __volatile__("prefetchw %0" : : "m"(*(const char *)p));
#else
  __builtin_prefetch(p, 1, 3);
#endif
}

/* Executor, before the kernel of `s` runs: asks for the payload lines its
 * completion reads (the fanin list; the payload is not 64-byte aligned, so
 * the list often starts on the line after the header), so that their
 * transfer from the orchestrator's core overlaps the kernel.  The payload
 * is the executor's while the task runs (S4). */
static inline void pto2__slot_prefetch_fanin(const pto2__slot *s) {
  const pto2__payload *pl = s->payload;
  unsigned n = pl->fanin_count;
  if (n) {
    __builtin_prefetch(&pl->fanin[0], 0, 3);
    __builtin_prefetch(&pl->fanin[n - 1], 0, 3);
  }
}

/* SPMD: claims the next block of the task (relaxed: a counter only). */
static inline int pto2__slot_claim_block(pto2__slot *s) {
  return atomic_fetch_add_explicit(&s->next_block, 1, memory_order_relaxed);
}

/* SPMD: counts one finished block; true for the last one, whose executor
 * completes the task. */
static inline bool pto2__slot_block_done(pto2__slot *s) {
  /* Read before the increment: once the last block is counted, the task may
   * complete, retire and its slot be reused (S4). */
  /* int: up to 32767 blocks x 3 lanes, beyond 16 bits. */
  int lanes = pto2__lane_count(s->active_mask), total = (int)s->block_num * lanes;
  /* acq_rel: the completing executor sees every block's kernel writes. */
  return atomic_fetch_add_explicit(&s->subtasks_done, lanes, memory_order_acq_rel) + lanes ==
         total;
}

/* ---- observation ------------------------------------------------------- */

/* Blocking data access: true once the task has finished and, if
 * `consumers_too`, its consumers have too (`scope_open`: the scope still
 * holds its reference). */
static inline bool pto2__slot_finished(const pto2__slot *p, bool consumers_too,
                                       bool scope_open) {
  pto2__slot *s = (pto2__slot *)p;
  /* Acquire: pairs with the COMPLETED/CONSUMED release in
   * pto2__slot_complete(), so the kernel's writes are visible. */
  uint8_t st = atomic_load_explicit(&s->state, memory_order_acquire);
  if (st == PTO2__TASK_CONSUMED) return true;
  if (st != PTO2__TASK_COMPLETED) return false;
  if (!consumers_too) return true;
  int refs = atomic_load_explicit(&s->fanout_refcount, memory_order_acquire);
  int count = atomic_load_explicit(&s->fanout_count, memory_order_relaxed);
  return refs >= count - (scope_open ? 1 : 0);
}

/* Diagnostics only (relaxed): the state and the count still awaited. */
/* Orchestrator only (it reads the held-back task's late_fanin): the count
 * as if the held share were one publish share and the late producers were
 * in it. */
static inline void pto2__slot_peek(const pto2__slot *p, int *state, int *waiting) {
  pto2__slot *s = (pto2__slot *)p;
  *state = atomic_load_explicit(&s->state, memory_order_relaxed);
  *waiting = atomic_load_explicit(&s->fanin_remaining, memory_order_relaxed);
  if (s->deferred) *waiting -= PTO2__HELD_SHARE - 1 - (int)s->late_fanin;
}

#endif
