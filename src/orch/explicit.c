/*
 * Explicit edges: pto2_add_dependency() in MANUAL and GRAPH scopes, and
 * the debug-build cycle check at the end of such a scope.
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
#include <stdlib.h>

#include "orch/orch_internal.h"

static const char *const ADD_DEP_MODE_MSG =
    "pto2_add_dependency is only valid inside PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) or "
    "PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH)";

static int check_ids(pto2_runtime *rt, pto2_task_id producer, pto2_task_id consumer) {
  if (producer.raw == consumer.raw)
    return pto2__fail(rt, PTO2_E_INVALID_ARGS, "pto2_add_dependency does not allow self-dependency");
  if (pto2__policy(rt->orch.mode)->edges == PTO2__EDGES_CURRENT_SCOPE) {
    if (!pto2__in_current_scope(rt, producer) || !pto2__in_current_scope(rt, consumer))
      return pto2__fail(rt, PTO2_E_INVALID_ARGS,
                        "pto2_add_dependency requires producer and consumer to belong to the "
                        "current manual scope");
    return 0;
  }
  if (!pto2__ring_of(rt, producer) || !pto2__ring_of(rt, consumer))
    return pto2__fail(rt, PTO2_E_INVALID_ARGS,
                      "pto2_add_dependency: producer and consumer must be task ids this runtime "
                      "issued");
  return 0;
}

static pto2__slot *unpublished_consumer(pto2_runtime *rt, pto2_task_id consumer) {
  pto2__ring *r = &rt->rings[pto2_task_id_ring(consumer)];
  uint64_t local = pto2_task_id_local(consumer);
  if (pto2__task_retired(r, local)) return 0;
  pto2__slot *s = pto2__ring_slot(r, local);
  return pto2__slot_is_deferred(s) ? s : 0;
}

static int overflow(pto2_runtime *rt, pto2_task_id consumer) {
  return pto2__fail(rt, PTO2_E_DEPENDENCY_OVERFLOW,
                    "FATAL: Dependency Overflow Detected! Task %u:%llu requires more than "
                    "PTO2_MAX_FANIN (%d) unique fanin dependencies (explicit add_dependency)",
                    pto2_task_id_ring(consumer), (unsigned long long)pto2_task_id_local(consumer),
                    PTO2_MAX_FANIN);
}

static void note_order(pto2_runtime *rt, pto2__ring *pr, uint64_t plocal, pto2__ring *cr,
                       uint64_t clocal) {
  if (pto2__ring_meta(pr, plocal)->seq > pto2__ring_meta(cr, clocal)->seq)
    rt->orch.scopes[rt->orch.depth - 1].backward_edge = true;
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
  int finished = pto2__slot_link_late(rt, p, c, &cr->deps);
  if (finished >= 0) cpl->fanin[cpl->fanin_count++] = p;
  pto2__ring_meta(cr, cr->next_local - 1)->dep_mark = cr->deps.top;
  return 0;
}

int pto2_add_dependency(pto2_runtime *rt, pto2_task_id producer, pto2_task_id consumer) {
  if (!rt || !pto2__orch_ok(rt)) return pto2__orch_refuse(rt, "pto2_add_dependency");
  if (pto2__policy(rt->orch.mode)->edges == PTO2__EDGES_NONE)
    return pto2__fail(rt, PTO2_E_INVALID_ARGS, "%s", ADD_DEP_MODE_MSG);
  int rc = check_ids(rt, producer, consumer);
  if (rc) return rc;
  pto2__slot *c = unpublished_consumer(rt, consumer);
  if (!c)
    return pto2__fail(rt, PTO2_E_INVALID_ARGS,
                      "pto2_add_dependency: consumer task %u:%llu is already published (it was "
                      "submitted with explicit producers, or its scope has ended); give its "
                      "producers with pto2_arg_add_dep before submitting it",
                      pto2_task_id_ring(consumer),
                      (unsigned long long)pto2_task_id_local(consumer));
  pto2__ring *pr = &rt->rings[pto2_task_id_ring(producer)];
  pto2__ring *cr = &rt->rings[pto2_task_id_ring(consumer)];
  uint64_t plocal = pto2_task_id_local(producer);
  rc = record_producer(rt, cr, consumer, producer);
  if (rc <= 0) return rc;
  if (pto2__task_retired(pr, plocal)) return 0; /* finished long ago: nothing to wait for */
  if (pto2__debug_checks_enabled)
    note_order(rt, pr, plocal, cr, pto2_task_id_local(consumer));
  pto2__mark_held(&rt->orch, pto2__ring_meta(pr, plocal));
  return wire(rt, pto2__ring_slot(pr, plocal), c, cr);
}

/* ------------------------------------------------------------------------ */
/* Cycle check (debug builds)                                                */
/* ------------------------------------------------------------------------ */

static int cmp_slot(const void *a, const void *b) {
  const pto2__slot *x = *(pto2__slot *const *)a, *y = *(pto2__slot *const *)b;
  return x < y ? -1 : x > y;
}

static long index_of(pto2__slot **sorted, size_t n, pto2__slot *s) {
  pto2__slot **hit = bsearch(&s, sorted, n, sizeof *sorted, cmp_slot);
  return hit ? (long)(hit - sorted) : -1;
}

/* Kahn's algorithm over the scope's tasks and the edges among them. */
int pto2__check_cycles(pto2_runtime *rt) {
  pto2__orch *o = &rt->orch;
  size_t begin = o->scopes[o->depth - 1].begin, n = o->scope_task_count - begin;
  pto2__slot **sorted = malloc(n * sizeof *sorted);
  uint32_t *indeg = calloc(n, sizeof *indeg);
  size_t *stack = malloc(n * sizeof *stack);
  int rc = 0;
  if (!sorted || !indeg || !stack) goto done;
  for (size_t i = 0; i < n; i++) sorted[i] = o->scope_tasks[begin + i];
  qsort(sorted, n, sizeof *sorted, cmp_slot);
  for (size_t i = 0; i < n; i++)
    for (unsigned j = 0; j < sorted[i]->payload->fanin_count; j++)
      if (index_of(sorted, n, sorted[i]->payload->fanin[j]) >= 0) indeg[i]++;
  size_t top = 0, seen = 0;
  for (size_t i = 0; i < n; i++)
    if (!indeg[i]) stack[top++] = i;
  while (top) {
    pto2__slot *p = sorted[stack[--top]];
    seen++;
    for (size_t i = 0; i < n; i++)
      for (unsigned j = 0; j < sorted[i]->payload->fanin_count; j++)
        if (sorted[i]->payload->fanin[j] == p && --indeg[i] == 0) stack[top++] = i;
  }
  if (seen < n)
    rc = pto2__fail(rt, PTO2_E_INVALID_ARGS,
                    "explicit dependencies in the scope ending now form a cycle: %zu of its %zu "
                    "tasks could never run",
                    n - seen, n);
done:
  free(sorted);
  free(indeg);
  free(stack);
  return rc;
}
