/*
 * Blocking element access from orchestration code.
 *
 * get waits until every producer of the tensor has finished: its creator
 * and every earlier task whose recorded write overlaps it.  set also waits
 * until those producers' consumers have finished, and then for every
 * earlier-submitted task that is still in flight and has a tensor argument
 * overlapping the element's tensor, so it never overwrites data an earlier
 * reader still needs, whatever happened to the writer (its map entry may
 * have been superseded, or it may have retired, leaving its readers
 * unlinked).  Held-back tasks of an enclosing GRAPH scope are not waited
 * for: they cannot start before that scope ends.
 */
#include <string.h>

#include "orch/orch_internal.h"

typedef struct access_wait {
  pto2__slot *p;
  bool consumers_too;
  bool scope_open; /* the producer's scope still holds a reference */
} access_wait;

static bool producer_done(pto2_runtime *rt, void *ctx) {
  (void)rt;
  access_wait *w = ctx;
  return pto2__slot_finished(w->p, w->consumers_too, w->scope_open);
}

static bool producer_finished(pto2_runtime *rt, pto2_task_id id, bool consumers_too,
                              access_wait *w) {
  pto2__ring *r = &rt->rings[pto2_task_id_ring(id)];
  uint64_t local = pto2_task_id_local(id);
  if (pto2__task_retired(r, local)) return true;
  w->p = pto2__ring_slot(r, local);
  w->consumers_too = consumers_too;
  w->scope_open = pto2__scope_is_open(&rt->orch, pto2__ring_meta(r, local));
  return producer_done(rt, w);
}

static int wait_producer(pto2_runtime *rt, pto2_task_id id, bool consumers_too) {
  access_wait w;
  if (producer_finished(rt, id, consumers_too, &w)) return 0;
  return pto2__orch_wait(rt, producer_done, &w, "a producer of a blocking data access");
}

/* The first overlapping writer in map `m` (the TensorMap) that has not
 * finished (with `consumers_too`, whose consumers have not all finished
 * either), or invalid.  The scan restarts after every wait (waiting
 * may retire tasks and change the map); a finished writer stays finished,
 * so the loop ends. */
static int next_writer(pto2_runtime *rt, pto2__tensormap *m, const pto2_tensor *t,
                       bool consumers_too, pto2_task_id *out) {
  *out = PTO2_TASK_ID_INVALID;
  pto2__tmap_alloc *al = pto2__tmap_find_alloc(m, t->addr);
  if (!al) return 0;
  pto2__region g;
  pto2__region_init(&g, t);
  int n = pto2__tmap_candidates(m, al, &g);
  if (n < 0)
    return pto2__fail(rt, PTO2_E_NO_MEMORY, "out of memory looking up the TensorMap (%llu entries)",
                      (unsigned long long)m->live);
  for (int i = 0; i < n; i++) {
    pto2__tmap_entry *e = m->hits[i];
    if (pto2__tmap_overlap(e, &g) == PTO2__NO_OVERLAP) continue;
    access_wait w;
    if (!producer_finished(rt, e->producer, consumers_too, &w)) {
      *out = e->producer;
      return 0;
    }
  }
  return 0;
}

static int wait_writers(pto2_runtime *rt, pto2__tensormap *m, const pto2_tensor *t,
                        bool consumers_too) {
  for (;;) {
    pto2_task_id id;
    int rc = next_writer(rt, m, t, consumers_too, &id);
    if (rc || !pto2_task_id_is_valid(id)) return rc;
    rc = wait_producer(rt, id, consumers_too);
    if (rc) return rc;
  }
}

/* Geometry of a task's tensor argument, in TensorMap-entry form so the
 * TensorMap's overlap test (T5) applies. */
static void entry_of(pto2__tmap_entry *e, const pto2_tensor *t) {
  pto2__region g;
  pto2__region_init(&g, t);
  e->addr = t->addr;
  e->version = t->version;
  e->dtype = t->dtype;
  e->ndims = t->ndims;
  memcpy(e->shapes, t->shapes, sizeof e->shapes);
  memcpy(e->offsets, t->offsets, sizeof e->offsets);
  memcpy(e->raw_shapes, t->raw_shapes, sizeof e->raw_shapes);
  e->raw_origin = g.raw_origin;
  e->lo = g.lo;
  e->hi = g.hi;
}

static bool accesses(const pto2__payload *pl, const pto2__region *g) {
  for (unsigned i = 0; i < pl->tensor_count; i++) {
    const pto2_tensor *a = &pl->tensors[i];
    if (a->addr != g->t->addr) continue;
    pto2__tmap_entry e;
    entry_of(&e, a);
    if (pto2__tmap_overlap(&e, g) != PTO2__NO_OVERLAP) return true;
  }
  return false;
}

/* set: waits for every task in flight (all of them were submitted before
 * this call) with a tensor argument overlapping `t`.  Only the
 * orchestrator writes payloads and reuses slots, and it is here, so the
 * payload of a task that has not retired is stable while it is read; a
 * wait does not submit, so one pass over each ring's window suffices. */
static int wait_accessors(pto2_runtime *rt, const pto2_tensor *t) {
  pto2__region g;
  pto2__region_init(&g, t);
  for (unsigned ri = 0; ri < PTO2_RING_COUNT; ri++) {
    pto2__ring *r = &rt->rings[ri];
    for (uint64_t local = r->seen_alive; local < r->next_local; local++) {
      if (pto2__task_retired(r, local)) continue;
      pto2__slot *s = pto2__ring_slot(r, local);
      if (pto2__slot_is_deferred(s) || !accesses(s->payload, &g)) continue;
      int rc = wait_producer(rt, s->payload->id, false);
      if (rc) return rc;
    }
  }
  return 0;
}

/* Hazard checker (check/hazard.h): an access by the orchestrator. */
static int check_access(pto2_runtime *rt, const pto2_tensor *t, const uint32_t *idx, bool write) {
  uint32_t seqs[PTO2_MAX_SCOPE_DEPTH];
  for (uint32_t d = 0; d < rt->orch.depth; d++) seqs[d] = rt->orch.scopes[d].seq;
  if (pto2__hz_orch_access(rt->hz, t, idx, write, rt->orch.mode, rt->orch.depth - 1, seqs))
    return pto2__fail(rt, PTO2_E_NO_MEMORY, "hazard checker: out of memory recording an access");
  return 0;
}

static int access(pto2_runtime *rt, const pto2_tensor *t, const uint32_t *idx, bool write,
                  char **elem, const char *api) {
  const pto2__mode_policy *pol = pto2__policy(rt->orch.mode);
  if (!pol->blocking_access)
    return pto2__fail(rt, PTO2_E_INVALID_ARGS,
                      "blocking tensor data access is not supported inside PTO2_SCOPE(rt, "
                      "PTO2_SCOPE_%s); exit the %s scope first",
                      pol->name, rt->orch.mode == PTO2_SCOPE_MANUAL ? "manual" : "graph");
  if (!t) return pto2__fail(rt, PTO2_E_INVALID_ARGS, "%s: the tensor is NULL", api);
  if (!pto2__tensor_valid(t))
    return pto2__fail(rt, PTO2_E_INVALID_ARGS, "%s: not a valid tensor", api);
  if (!idx) return pto2__fail(rt, PTO2_E_INVALID_ARGS, "%s: indices must not be NULL", api);
  uint64_t flat = 0;
  for (unsigned d = 0; d < t->ndims; d++) {
    if (idx[d] >= t->shapes[d])
      return pto2__fail(rt, PTO2_E_INVALID_ARGS,
                        "%s: index %u of dimension %u is out of range (extent %u)", api, idx[d],
                        d, t->shapes[d]);
    flat += (uint64_t)idx[d] * pto2_tensor_stride(t, d);
  }
  int rc = pto2__check_owner(rt, t, 0, api);
  if (rc) return rc;
  if (PTO2_UNLIKELY(rt->hz) && (rc = check_access(rt, t, idx, write))) return rc;
  if (pto2_task_id_is_valid(t->owner) && (rc = wait_producer(rt, t->owner, write))) return rc;
  if ((rc = wait_writers(rt, &rt->tmap, t, write))) return rc;
  if (write && (rc = wait_accessors(rt, t))) return rc;
  *elem = (char *)t->data + flat * pto2__dtype_size(t->dtype);
  return 0;
}

int pto2_get_tensor_data(pto2_runtime *rt, const pto2_tensor *t, const uint32_t *indices,
                         uint64_t *bits) {
  if (!rt || !pto2__orch_ok(rt)) return pto2__orch_refuse(rt, "pto2_get_tensor_data");
  if (!bits)
    return pto2__fail(rt, PTO2_E_INVALID_ARGS,
                      "pto2_get_tensor_data: bits is NULL (the value has nowhere to go)");
  char *elem;
  int rc = access(rt, t, indices, false, &elem, "pto2_get_tensor_data");
  if (rc) return rc;
  uint64_t v = 0;
  memcpy(&v, elem, pto2__dtype_size(t->dtype));
  *bits = v;
  return 0;
}

int pto2_set_tensor_data(pto2_runtime *rt, const pto2_tensor *t, const uint32_t *indices,
                         uint64_t bits) {
  if (!rt || !pto2__orch_ok(rt)) return pto2__orch_refuse(rt, "pto2_set_tensor_data");
  char *elem;
  int rc = access(rt, t, indices, true, &elem, "pto2_set_tensor_data");
  if (rc) return rc;
  memcpy(elem, &bits, pto2__dtype_size(t->dtype));
  return 0;
}
