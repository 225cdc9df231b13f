/* Helpers shared by the orchestrator's files. */
#ifndef PTO2_ORCH_INTERNAL_H
#define PTO2_ORCH_INTERNAL_H

#include "orch/orch.h"
#include "orch/policy.h"
#include "runtime.h"
#include "sched/slot_inl.h"
#include "util/check.h"

/* Fails the run, naming the tasks, if a held-back task of the innermost
 * scope waits on itself through explicit edges (it would never run). */
int pto2__check_cycles(pto2_runtime *rt);
/* Diagnostics: describes the held-back task that `s` waits for, if any
 * (" it waits for task ... held back ..."); returns the length written. */
size_t pto2__describe_held_back(pto2_runtime *rt, pto2__slot *s, char *buf, size_t len);

/* A task the orchestrator found ready: batched (sched/sched.h). */
static inline void pto2__orch_ready(pto2_runtime *rt, pto2__slot *s) {
  if (PTO2_UNLIKELY(rt->tracing)) pto2__rec_ready(rt, s->rec);
  pto2__ready_batch_add(rt, &rt->batch, &rt->work_ec, s);
}

/* True while orchestration calls may act: inside pto2_run() and no error. */
static inline bool pto2__orch_ok(pto2_runtime *rt) {
  /* Relaxed: the error is sticky; seeing it one call late is harmless. */
  return PTO2_LIKELY(rt->orch.active) &&
         PTO2_LIKELY(!atomic_load_explicit(&rt->error, memory_order_relaxed));
}

/* The code an orchestration call returns when pto2__orch_ok() is false. */
int pto2__orch_refuse(pto2_runtime *rt, const char *api);

static inline bool pto2__scope_is_open(const pto2__orch *o, const pto2__task_meta *m) {
  return m->scope_depth < o->depth && o->scopes[m->scope_depth].seq == m->scope_seq;
}

/* True if the task cannot retire before an open scope ends: its own scope,
 * or the scope of a held-back consumer that references it. */
static inline bool pto2__pinned_by_open_scope(const pto2__orch *o, const pto2__task_meta *m) {
  if (pto2__scope_is_open(o, m)) return true;
  return m->held_depth && m->held_depth - 1u < o->depth &&
         o->scopes[m->held_depth - 1].seq == m->held_seq;
}

/* Records that a consumer held back until the end of the open scope at
 * `depth` (0 = root) with sequence number `seq` references the task in `m`.
 * The mark keeps the outermost such scope that is still open: it ends
 * last, and every scope nested in it ends before it. */
static inline void pto2__mark_held_at(const pto2__orch *o, pto2__task_meta *m, uint32_t depth,
                                      uint32_t seq) {
  if (m->held_depth && m->held_depth - 1u <= depth && m->held_depth - 1u < o->depth &&
      o->scopes[m->held_depth - 1].seq == m->held_seq)
    return;
  m->held_depth = (uint16_t)(depth + 1);
  m->held_seq = seq;
}

/* A held-back consumer of the innermost scope (the task being submitted). */
static inline void pto2__mark_held(const pto2__orch *o, pto2__task_meta *m) {
  pto2__mark_held_at(o, m, o->depth - 1, o->scopes[o->depth - 1].seq);
}

/* The innermost scope's tasks as one range of raw task ids: an id is in it
 * if its ring is the scope's ring (o->ring) and it was issued since the
 * scope opened (from first_local on; an invalid id never names that ring:
 * its ring number is >= PTO2_RING_COUNT).  exact (O1): the scope's ring
 * serves no nested scope (depth 1..PTO2_RING_COUNT - 1), and sibling
 * scopes follow one another, so every id in the range is a task of the
 * scope, which holds it (S2): alive, its scope open.  The last ring also
 * serves the scopes nested deeper: there the task's recorded scope
 * decides.  Valid until a scope opens or closes; a submit takes it once. */
typedef struct pto2__scope_window {
  uint64_t first; /* raw id of the scope's first task */
  uint64_t count; /* ids its ring issued since the scope opened */
  bool exact;
} pto2__scope_window;

static inline pto2__scope_window pto2__current_window(const pto2_runtime *rt) {
  const pto2__orch *o = &rt->orch;
  const pto2__scope *sc = &o->scopes[o->depth - 1];
  pto2__scope_window w;
  w.first = ((uint64_t)(o->ring + 1) << 56) | sc->first_local; /* as claim_slot() numbers */
  w.count = rt->rings[o->ring].next_local - sc->first_local;
  w.exact = o->ring < PTO2_RING_COUNT - 1;
  return w;
}

static inline bool pto2__in_window(const pto2__scope_window *w, pto2_task_id id) {
  return id.raw - w->first < w->count; /* unsigned: ids below `first` wrap high */
}

/* True if `id` is a task of the innermost scope.  Exact, needs no slot
 * contents (the slot may hold a later task), and is valid before the task
 * submitted now is even allocated (pto2__scope_window). */
static inline bool pto2__in_current_scope(pto2_runtime *rt, pto2_task_id id) {
  pto2__scope_window w = pto2__current_window(rt);
  if (!pto2__in_window(&w, id)) return false;
  if (PTO2_LIKELY(w.exact)) return true;
  const pto2__orch *o = &rt->orch;
  const pto2__ring *r = &rt->rings[o->ring];
  uint64_t local = pto2_task_id_local(id);
  const pto2__task_meta *m = &r->meta[local & r->mask];
  return m->local == local && m->scope_depth == o->depth - 1 &&
         m->scope_seq == o->scopes[o->depth - 1].seq;
}

/* Ring of a task id, or NULL for an id this runtime never issued. */
static inline pto2__ring *pto2__ring_of(pto2_runtime *rt, pto2_task_id id) {
  unsigned ring = pto2_task_id_ring(id);
  if (ring >= PTO2_RING_COUNT) return 0;
  pto2__ring *r = &rt->rings[ring];
  return pto2_task_id_local(id) < r->next_local ? r : 0;
}

/* True if the task has retired: its slot may hold another task by now. */
static inline bool pto2__task_retired(const pto2__ring *r, uint64_t local) {
  return local < r->seen_alive || r->meta[local & r->mask].local != local;
}

/* Checks that a tensor argument's creator is still alive (its scope is
 * open), so its memory cannot have been reused.  Fails the run if not. */
int pto2__check_created(pto2_runtime *rt, const pto2_tensor *t, unsigned argi, const char *api);

/* The liveness test of pto2__check_owner(): an issued, unretired creator
 * whose scope is open. */
static inline bool pto2__creator_alive(const pto2_runtime *rt, unsigned ring, uint64_t local) {
  const pto2__ring *r = &rt->rings[ring];
  const pto2__task_meta *m = &r->meta[local & r->mask];
  return local < r->next_local && local >= r->seen_alive && m->local == local &&
         pto2__scope_is_open(&rt->orch, m);
}

static inline int pto2__check_owner(pto2_runtime *rt, const pto2_tensor *t, unsigned argi,
                                    const char *api) {
  if (!pto2_task_id_is_valid(t->owner)) return 0;
  /* The common case inline: an issued, unretired creator in an open scope;
   * pto2__check_created() repeats the checks and words the failure. */
  unsigned ring = pto2_task_id_ring(t->owner);
  if (PTO2_LIKELY(ring < PTO2_RING_COUNT) &&
      PTO2_LIKELY(pto2__creator_alive(rt, ring, pto2_task_id_local(t->owner))))
    return 0;
  return pto2__check_created(rt, t, argi, api);
}

#endif
