/*
 * Explicit edges: pto2_add_dependency() in MANUAL and GRAPH scopes, the
 * cycle check at the end of a scope that received a backward edge, and the
 * search for the held-back task a stalled task waits for (diagnostics).
 *
 * The consumer must be unpublished (its publish share is still held, S1),
 * so counting one more producer cannot make it ready early.  The
 * producer may be running or finished (a MANUAL task with explicit
 * producers is published at submit; a GRAPH producer may come from an
 * earlier scope), so it is always registered under its fanout lock.
 *
 * Dependency-pool marks: the entry comes from the
 * consumer's ring and is charged to the newest task of that ring, whose
 * mark only grows.  That task retires after the consumer, hence after the
 * producer has walked its list, so the pool tail never passes a live entry.
 */
#include <stdio.h>
#include <stdlib.h>

#include "orch/orch_internal.h"
#include "util/alloc.h"

static const char *const ADD_DEP_MODE_MSG =
    "pto2_add_dependency is only valid inside PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) or "
    "PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH)";

/* The checks of pto2_add_dependency() on the ids, in order, for tasks
 * that are not both in the innermost scope (`local`). */
static int check_ids(pto2_runtime *rt, pto2_task_id producer, pto2_task_id consumer, bool local) {
  if (producer.raw == consumer.raw)
    return pto2__fail(rt, PTO2_E_INVALID_ARGS, "pto2_add_dependency does not allow self-dependency");
  if (local) return 0;
  if (pto2__policy(rt->orch.mode)->edges == PTO2__EDGES_CURRENT_SCOPE)
    return pto2__fail(rt, PTO2_E_INVALID_ARGS,
                      "pto2_add_dependency requires producer and consumer to belong to the "
                      "current manual scope");
  if (!pto2__ring_of(rt, producer) || !pto2__ring_of(rt, consumer))
    return pto2__fail(rt, PTO2_E_INVALID_ARGS,
                      "pto2_add_dependency: producer and consumer must be task ids this runtime "
                      "issued");
  return 0;
}

/* The consumer's slot if it is still held back (unpublished), else NULL.
 * A task of the innermost scope (`local`) has not retired: its scope holds
 * it. */
static pto2__slot *unpublished_consumer(pto2_runtime *rt, pto2_task_id consumer, bool local) {
  pto2__ring *r = &rt->rings[pto2_task_id_ring(consumer)];
  uint64_t clocal = pto2_task_id_local(consumer);
  if (!local && pto2__task_retired(r, clocal)) return 0;
  pto2__slot *s = pto2__ring_slot(r, clocal);
  return pto2__slot_is_deferred(s) ? s : 0;
}

static int overflow(pto2_runtime *rt, pto2_task_id consumer) {
  return pto2__fail(rt, PTO2_E_DEPENDENCY_OVERFLOW,
                    "FATAL: Dependency Overflow Detected! Task %u:%llu requires more than "
                    "PTO2_MAX_FANIN (%d) unique fanin dependencies (explicit add_dependency)",
                    pto2_task_id_ring(consumer), (unsigned long long)pto2_task_id_local(consumer),
                    PTO2_MAX_FANIN);
}

/* Only an edge to an earlier-submitted consumer can close a cycle (edges
 * to later tasks alone are acyclic).  The cycle cannot run before the
 * consumer is published, at the end of the consumer's own scope: that scope
 * end checks (the cost is paid only by programs with backward edges). */
static void note_order(pto2_runtime *rt, pto2__ring *pr, uint64_t plocal, pto2__ring *cr,
                       uint64_t clocal) {
  const pto2__task_meta *cm = pto2__ring_meta(cr, clocal);
  if (pto2__ring_meta(pr, plocal)->seq > cm->seq)
    rt->orch.scopes[cm->scope_depth].backward_edge = true;
}

/* Adds `producer` to the consumer's producer ids.  Returns 1 if it was
 * new, 0 for a duplicate edge, or the run's error. */
static int record_producer(pto2_runtime *rt, pto2__ring *cr, pto2_task_id consumer,
                           pto2_task_id producer) {
  uint64_t local = pto2_task_id_local(consumer);
  pto2__task_meta *m = pto2__ring_meta(cr, local);
  pto2_task_id *ids = cr->producer_ids[local & cr->mask];
  for (unsigned i = 0; i < m->producer_count; i++)
    if (ids[i].raw == producer.raw) return 0;
  if (m->producer_count == PTO2_MAX_FANIN) return overflow(rt, consumer);
  ids[m->producer_count++] = producer;
  rt->orch.edges++;
  if (PTO2_UNLIKELY(rt->tracing))
    pto2__rec_edge_add(rt, producer.raw, consumer.raw, PTO2_EDGE_ADD_DEPENDENCY);
  return 1;
}

/* Links a live producer to an unpublished consumer. */
/* record_producer() bounds the producers to PTO2_MAX_FANIN, so the release
 * list (producers and creator holds) has room. */
static int wire(pto2_runtime *rt, pto2__slot *p, pto2__slot *c, pto2__ring *cr) {
  pto2__payload *cpl = c->payload;
  if (pto2__dep_pool_free(&cr->deps) < 1) {
    int rc = pto2__ring_wait_deps(rt, cr, 1);
    if (rc) return rc;
  }
  /* GRAPH and MANUAL tasks hold the creators of their tensors, which are
   * mostly their producers too: the hold's reference becomes the edge's
   * (one reference, one release at completion instead of two). */
  for (uint32_t holds = cpl->hold_mask; holds; holds &= holds - 1) {
    unsigned i = (unsigned)__builtin_ctz(holds);
    if (cpl->fanin[i] != p) continue;
    pto2__slot_link_held(rt, p, c, &cr->deps);
    cpl->hold_mask &= ~(1u << i); /* a producer now: the cycle check follows it */
    pto2__ring_meta(cr, cr->next_local - 1)->dep_mark = cr->deps.top;
    return 0;
  }
  int finished = pto2__slot_link_late(rt, p, c, &cr->deps);
  if (finished >= 0) cpl->fanin[cpl->fanin_count++] = p;
  pto2__ring_meta(cr, cr->next_local - 1)->dep_mark = cr->deps.top;
  return 0;
}

int pto2_add_dependency(pto2_runtime *rt, pto2_task_id producer, pto2_task_id consumer) {
  if (!rt || !pto2__orch_ok(rt)) return pto2__orch_refuse(rt, "pto2_add_dependency");
  if (pto2__policy(rt->orch.mode)->edges == PTO2__EDGES_NONE)
    return pto2__fail(rt, PTO2_E_INVALID_ARGS, "%s", ADD_DEP_MODE_MSG);
  /* The common case: both tasks in the innermost scope, hence issued and
   * alive, on one ring (its order is the submission order) and pinned by
   * that scope. */
  pto2__scope_window w = pto2__current_window(rt);
  bool local = PTO2_LIKELY(w.exact)
                   ? pto2__in_window(&w, producer) && pto2__in_window(&w, consumer)
                   : pto2__in_current_scope(rt, producer) && pto2__in_current_scope(rt, consumer);
  int rc = check_ids(rt, producer, consumer, local);
  if (rc) return rc;
  pto2__slot *c = unpublished_consumer(rt, consumer, local);
  if (!c)
    return pto2__fail(rt, PTO2_E_INVALID_ARGS,
                      "pto2_add_dependency: consumer task %u:%llu is already published (it was "
                      "submitted with explicit producers, or its scope has ended); give its "
                      "producers with pto2_arg_add_dep before submitting it",
                      pto2_task_id_ring(consumer),
                      (unsigned long long)pto2_task_id_local(consumer));
  pto2__ring *pr = &rt->rings[pto2_task_id_ring(producer)];
  pto2__ring *cr = &rt->rings[pto2_task_id_ring(consumer)];
  uint64_t plocal = pto2_task_id_local(producer), clocal = pto2_task_id_local(consumer);
  rc = record_producer(rt, cr, consumer, producer);
  if (rc <= 0) return rc;
  if (PTO2_UNLIKELY(rt->hz) && pto2__hz_edge(rt->hz, producer, consumer))
    return pto2__fail(rt, PTO2_E_NO_MEMORY, "hazard checker: out of memory recording an edge");
  if (local) {
    /* One ring: local order is submission order (note_order()).  The
     * producer's own scope is the consumer's, so no pin is needed. */
    if (plocal > clocal) rt->orch.scopes[rt->orch.depth - 1].backward_edge = true;
    return wire(rt, pto2__ring_slot(pr, plocal), c, cr);
  }
  if (pto2__task_retired(pr, plocal)) return 0; /* finished long ago: nothing to wait for */
  note_order(rt, pr, plocal, cr, clocal);
  /* The pin lasts as long as the consumer is held back: until the end of
   * the consumer's own scope, which may be an outer GRAPH scope. */
  const pto2__task_meta *cm = pto2__ring_meta(cr, clocal);
  pto2__mark_held_at(&rt->orch, pto2__ring_meta(pr, plocal), cm->scope_depth, cm->scope_seq);
  return wire(rt, pto2__ring_slot(pr, plocal), c, cr);
}

/* ------------------------------------------------------------------------ */
/* Cycle check and held-back diagnostics                                     */
/* ------------------------------------------------------------------------ */

/* Walking producers.  Only the orchestrator runs these, so no slot is
 * reused meanwhile.  A task that has not completed keeps a reference on
 * each producer in its fanin list (S2), so the walk from an unfinished task
 * reaches its real producers; lifetime holds (hold_mask) are not waits.
 * A producer seen COMPLETED (acquire) has finished and ends the path; an
 * old PENDING value only lengthens the walk: the edges themselves decide
 * whether there is a cycle. */
static bool unfinished(pto2__slot *s) {
  return atomic_load_explicit(&s->state, memory_order_acquire) == PTO2__TASK_PENDING;
}

static pto2__task_meta *meta_of(pto2_runtime *rt, pto2__slot *s) {
  pto2__ring *r = &rt->rings[s->ring];
  return &r->meta[(size_t)(s - r->slots)];
}

static pto2_task_id id_of(pto2_runtime *rt, pto2__slot *s) {
  pto2__ring *r = &rt->rings[s->ring];
  return (pto2_task_id){((uint64_t)(r->id + 1) << 56) | meta_of(rt, s)->local};
}

typedef struct walk_frame {
  pto2__slot *s;
  unsigned next; /* next fanin entry to follow */
} walk_frame;

static walk_frame *walk_stack(pto2_runtime *rt, size_t *cap) {
  size_t n = 0;
  for (unsigned i = 0; i < PTO2_RING_COUNT; i++) n += rt->rings[i].next_local - rt->rings[i].seen_alive;
  *cap = n + 1;
  return pto2__alloc(&rt->cfg.allocator, *cap * sizeof(walk_frame));
}

/* Depth-first search over unfinished producers from the held-back tasks of
 * the innermost scope; a producer already on the path closes a cycle. */
int pto2__check_cycles(pto2_runtime *rt) {
  pto2__orch *o = &rt->orch;
  size_t cap;
  walk_frame *st = walk_stack(rt, &cap);
  if (!st)
    return pto2__fail(rt, PTO2_E_NO_MEMORY, "out of memory checking explicit edges for cycles");
  uint32_t visit = ++o->visit;
  int rc = 0;
  for (uint32_t i = o->scopes[o->depth - 1].begin; i < o->scope_task_count && !rc; i++) {
    pto2__slot *root = o->scope_tasks[i];
    pto2__task_meta *rm = meta_of(rt, root);
    if (!pto2__slot_is_deferred(root) || rm->visit == visit) continue;
    size_t top = 0;
    st[top++] = (walk_frame){root, 0};
    rm->visit = visit;
    rm->on_path = 1;
    while (top && !rc) {
      walk_frame *f = &st[top - 1];
      const pto2__payload *pl = f->s->payload;
      if (f->next == pl->fanin_count) {
        meta_of(rt, f->s)->on_path = 0;
        top--;
        continue;
      }
      unsigned j = f->next++;
      pto2__slot *p = pl->fanin[j];
      if ((pl->hold_mask >> j) & 1u || !unfinished(p)) continue;
      pto2__task_meta *pm = meta_of(rt, p);
      if (pm->on_path) {
        /* The path from p to the top waits on itself: name its tasks. */
        char msg[512];
        size_t n = 0, from = 0;
        while (st[from].s != p) from++;
        for (size_t k = from; k < top && n < sizeof msg - 64; k++) {
          pto2_task_id id = id_of(rt, st[k].s);
          n += (size_t)snprintf(msg + n, sizeof msg - n, "%s%u:%llu", k == from ? "" : " waits for ",
                                pto2_task_id_ring(id), (unsigned long long)pto2_task_id_local(id));
        }
        pto2_task_id id = id_of(rt, p);
        snprintf(msg + n, sizeof msg - n, " waits for %u:%llu", pto2_task_id_ring(id),
                 (unsigned long long)pto2_task_id_local(id));
        rc = pto2__fail(rt, PTO2_E_INVALID_ARGS,
                        "explicit dependencies form a cycle, so these tasks could never run: "
                        "task %s; remove one of these "
                        "pto2_add_dependency / pto2_arg_add_dep edges",
                        msg);
        break;
      }
      if (pm->visit == visit) continue; /* explored: no cycle through it */
      pm->visit = visit;
      pm->on_path = 1;
      st[top++] = (walk_frame){p, 0};
    }
    /* Clear the path marks left by a failed search. */
    for (size_t k = 0; k < top; k++) meta_of(rt, st[k].s)->on_path = 0;
  }
  pto2__free(&rt->cfg.allocator, st);
  return rc;
}

/* Diagnostics: the first held-back task that `s` waits for, directly or
 * through unfinished producers (breadth first, bounded); NULL if none. */
static pto2__slot *held_back_producer(pto2_runtime *rt, pto2__slot *s) {
  enum { LIMIT = 4096 };
  pto2__slot **queue = pto2__alloc(&rt->cfg.allocator, LIMIT * sizeof *queue);
  if (!queue) return 0;
  uint32_t visit = ++rt->orch.visit;
  size_t head = 0, tail = 0;
  queue[tail++] = s;
  meta_of(rt, s)->visit = visit;
  pto2__slot *found = 0;
  while (head < tail && !found) {
    pto2__slot *t = queue[head++];
    if (pto2__slot_is_deferred(t)) {
      found = t;
      break;
    }
    const pto2__payload *pl = t->payload;
    for (unsigned j = 0; j < pl->fanin_count && tail < LIMIT; j++) {
      pto2__slot *p = pl->fanin[j];
      if ((pl->hold_mask >> j) & 1u || !unfinished(p) || meta_of(rt, p)->visit == visit) continue;
      meta_of(rt, p)->visit = visit;
      queue[tail++] = p;
    }
  }
  pto2__free(&rt->cfg.allocator, queue);
  return found;
}

size_t pto2__describe_held_back(pto2_runtime *rt, pto2__slot *s, char *buf, size_t len) {
  if (!unfinished(s)) return 0;
  pto2__slot *h = held_back_producer(rt, s);
  if (!h) return 0;
  const pto2__task_meta *m = meta_of(rt, h);
  pto2_task_id id = id_of(rt, h);
  unsigned mode = rt->orch.scopes[m->scope_depth].mode;
  char who[64] = "it is";
  if (h != s)
    snprintf(who, sizeof who, "it waits for task %u:%llu, which is", pto2_task_id_ring(id),
             (unsigned long long)pto2_task_id_local(id));
  int n = snprintf(buf, len,
                   " %s held back until its %s scope (depth %u) ends: end that scope before "
                   "waiting for this ring%s;",
                   who, pto2__policy(mode)->name, (unsigned)m->scope_depth,
                   mode == PTO2_SCOPE_MANUAL ? " (or give the task its producers with "
                                               "pto2_arg_add_dep so it is published at submit)"
                                             : " (or raise the task window, heap or pool)");
  return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}
