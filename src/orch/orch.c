/*
 * The orchestrator: scopes and AUTO submit.
 *
 * Submit, in order (the slot protocol's verbs are in sched/slot_inl.h; what
 * differs between scope modes is in orch/policy.h):
 *   1. validate the kernels and arguments (nothing is allocated yet);
 *   2. allocate a slot and the output bytes from the current ring, waiting
 *      for retirement if the ring is full (ring/ring.c);
 *   3. initialise the slot and publish the ring head (ring/ring.h R1);
 *   4. find producers: each tensor's creator (or, where the mode's policy
 *      says so, a lifetime hold on it), and for INPUT/INOUT every
 *      overlapping TensorMap entry (an INOUT removes the entries it covers);
 *   5. record this task's INOUT/OUTPUT_EXISTING regions in the TensorMap;
 *   6. write the payload and materialise the outputs;
 *   7. set fanin_remaining, link into each unfinished producer's fanout
 *      list under its lock, then drop the publish share (S1), now or at
 *      the scope's end as the mode's policy says.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orch/orch_internal.h"
#include "platform/clock.h"
#include "platform/spin.h"
#include "util/alloc.h"
#include "util/log.h"

#define OUTPUT_ALIGN 64u
#define RLOG_BUCKETS 1024u /* reader-log records: one per caller allocation read in strict AUTO */

/* ------------------------------------------------------------------------ */
/* Errors and checks shared by every orchestration call                      */
/* ------------------------------------------------------------------------ */

int pto2__orch_refuse(pto2_runtime *rt, const char *api) {
  if (!rt) return PTO2_E_INVALID_ARGS;
  if (!rt->orch.active)
    return pto2__host_fail(rt, PTO2_E_INVALID_ARGS,
                           "%s called outside pto2_run(): orchestration calls are only valid "
                           "inside the orchestration function",
                           api);
  return atomic_load_explicit(&rt->error, memory_order_relaxed);
}

int pto2__check_created(pto2_runtime *rt, const pto2_tensor *t, unsigned argi, const char *api) {
  pto2__ring *r = pto2__ring_of(rt, t->owner);
  if (!r)
    return pto2__fail(rt, PTO2_E_INVALID_ARGS,
                      "%s: tensor arg %u names a creator task this runtime never issued", api,
                      argi);
  uint64_t local = pto2_task_id_local(t->owner);
  if (pto2__task_retired(r, local) || !pto2__scope_is_open(&rt->orch, &r->meta[local & r->mask]))
    return pto2__fail(rt, PTO2_E_INVALID_ARGS,
                      "%s: tensor arg %u was created by task %u:%llu in a scope that has ended, "
                      "so its memory may already be reused; use a created tensor only inside the "
                      "scope that created it (or a scope nested in it)",
                      api, argi, r->id, (unsigned long long)local);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Scopes                                                                    */
/* ------------------------------------------------------------------------ */

static uint8_t ring_of_depth(uint32_t depth) {
  return (uint8_t)(depth - 1 < PTO2_RING_COUNT - 1 ? depth - 1 : PTO2_RING_COUNT - 1);
}

static void open_scope(pto2_runtime *rt, pto2__orch *o, pto2_scope_mode mode) {
  pto2__scope *sc = &o->scopes[o->depth++];
  sc->begin = o->scope_task_count;
  sc->seq = o->next_scope_seq++;
  sc->mode = (uint8_t)mode;
  sc->backward_edge = false;
  o->ring = sc->ring = ring_of_depth(o->depth);
  o->mode = (uint8_t)mode;
  sc->first_local = rt->rings[o->ring].next_local;
}

/* Publishes a task held back until its scope's end (S1: the publish
 * increment). */
static void publish_deferred(pto2_runtime *rt, pto2__slot *s) {
  if (pto2__slot_publish_deferred(rt, s)) pto2__orch_ready(rt, s);
}

/* Drops the scope's reference on each of its tasks (S2), publishing the
 * held-back tasks of a MANUAL or GRAPH scope first, then pops the scope. */
static void close_scope(pto2_runtime *rt, pto2__orch *o) {
  pto2__scope *sc = &o->scopes[o->depth - 1];
  if (pto2__policy(sc->mode)->publish != PTO2__PUBLISH_NOW) {
    for (uint32_t i = sc->begin; i < o->scope_task_count; i++)
      if (pto2__slot_is_deferred(o->scope_tasks[i])) publish_deferred(rt, o->scope_tasks[i]);
  }
  for (uint32_t i = sc->begin; i < o->scope_task_count; i++)
    pto2__slot_release(rt, o->scope_tasks[i]);
  o->scope_task_count = sc->begin;
  o->depth--;
  if (PTO2_UNLIKELY(rt->tracing)) pto2__rec_scope_close(rt);
  if (o->depth) {
    o->ring = ring_of_depth(o->depth);
    o->mode = o->scopes[o->depth - 1].mode;
  }
}

int pto2_scope_begin(pto2_runtime *rt, pto2_scope_mode mode) {
  if (!rt || !pto2__orch_ok(rt)) return pto2__orch_refuse(rt, "pto2_scope_begin");
  pto2__orch *o = &rt->orch;
  if (mode != PTO2_SCOPE_AUTO && mode != PTO2_SCOPE_MANUAL && mode != PTO2_SCOPE_GRAPH &&
      mode != PTO2_SCOPE_AUTO_STRICT)
    return pto2__fail(rt, PTO2_E_INVALID_ARGS, "pto2_scope_begin: unknown scope mode %d",
                      (int)mode);
  if (!pto2__policy(o->mode)->nests_other_modes && mode != (pto2_scope_mode)o->mode)
    return pto2__fail(rt, PTO2_E_INVALID_ARGS,
                      "pto2_scope_begin: only a MANUAL scope may be opened inside "
                      "PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL); an AUTO or GRAPH scope inside a manual "
                      "scope is not supported");
  if (o->depth >= PTO2_MAX_SCOPE_DEPTH)
    return pto2__fail(rt, PTO2_E_INVALID_ARGS,
                      "pto2_scope_begin: scopes nested deeper than PTO2_MAX_SCOPE_DEPTH (%d)",
                      PTO2_MAX_SCOPE_DEPTH);
  /* AUTO is strict when configured so or inside a strict scope. */
  if (mode == PTO2_SCOPE_AUTO && (rt->cfg.auto_strict || pto2__policy(o->mode)->strict))
    mode = PTO2_SCOPE_AUTO_STRICT;
  open_scope(rt, o, mode);
  if (PTO2_UNLIKELY(rt->tracing)) pto2__rec_scope_open(rt, (uint8_t)mode, o->ring, o->depth);
  return 0;
}

int pto2_scope_end(pto2_runtime *rt) {
  if (!rt || !pto2__orch_ok(rt)) return pto2__orch_refuse(rt, "pto2_scope_end");
  pto2__orch *o = &rt->orch;
  if (o->depth <= 1)
    return pto2__fail(rt, PTO2_E_INVALID_ARGS,
                      "pto2_scope_end without a matching pto2_scope_begin");
  if (o->scopes[o->depth - 1].backward_edge) {
    int rc = pto2__check_cycles(rt);
    if (rc) return rc;
  }
  close_scope(rt, o);
  /* Tasks this made ready stay in the ready batch: an idle executor takes
   * it within TAKE_AFTER_NS and a parked one is woken by the publish
   * (sched/sched.h), so nothing waits on the orchestrator's next call.
   * Pushing the batch here instead would hand executors every few tasks
   * when scopes are small, and they would complete tasks on the lines the
   * orchestrator is writing. */
  return 0;
}

pto2__scope_guard pto2__scope_guard_enter(pto2_runtime *rt, pto2_scope_mode mode) {
  pto2__scope_guard g = {rt, pto2_scope_begin(rt, mode) == 0};
  return g;
}

void pto2__scope_guard_leave(pto2__scope_guard *g) {
  if (!g->open) return;
  g->open = 0;
  (void)pto2_scope_end(g->rt);
}

/* ------------------------------------------------------------------------ */
/* Submit                                                                    */
/* ------------------------------------------------------------------------ */

/* Producers of the task being submitted. */
typedef struct found {
  uint32_t count;                       /* distinct producers: the edges */
  uint32_t live;                        /* those that may not have finished */
  uint32_t holds;                       /* MANUAL/GRAPH: creators held, not waited for */
  uint32_t lookup_limit;                /* strict AUTO: producers lookups may add */
  pto2_task_id ids[PTO2_MAX_FANIN];
  uint8_t why[PTO2_MAX_FANIN];          /* pto2_edge_reason bits of each */
  pto2__slot *slots[PTO2_MAX_FANIN];
  pto2__task_meta *metas[PTO2_MAX_FANIN]; /* of the live ones */
  pto2_task_id held_ids[PTO2_MAX_TENSOR_ARGS];
  uint32_t held_outer;                  /* bit i: held_ids[i] is not of the innermost scope */
  uint32_t record;                      /* step 5: bit i when tensor arg i is recorded */
  /* Plain AUTO (T7): bit i set when INOUT arg i covers an entry with its
   * exact region, reuse[i], which step 5 takes over instead of inserting. */
  uint32_t reuse_mask;
  pto2__tmap_entry *reuse[PTO2_MAX_TENSOR_ARGS];
} found;

/* Validated form of the kernels of one submit. */
typedef struct lanes {
  int8_t kernel[PTO2__LANE_COUNT];
  uint8_t mask;
  uint8_t shape;
} lanes;

static int check_lane(pto2_runtime *rt, int32_t id, unsigned lane, const char *api) {
  static const char *lane_names[] = {"aic", "aiv0", "aiv1"};
  pto2_core_type want = lane == PTO2__LANE_AIC ? PTO2_CORE_AIC : PTO2_CORE_AIV;
  if (id < 0 || id >= PTO2_MAX_KERNELS || !rt->kernels[id].fn)
    return pto2__fail(rt, PTO2_E_UNKNOWN_KERNEL, "%s: kernel id %d (lane %s) is not registered",
                      api, (int)id, lane_names[lane]);
  if (rt->kernels[id].type != want)
    return pto2__fail(rt, PTO2_E_UNKNOWN_KERNEL,
                      "%s: kernel '%s' (id %d) is registered for %s cores but submitted on lane %s",
                      api, rt->kernels[id].name, (int)id,
                      rt->kernels[id].type == PTO2_CORE_AIC ? "AIC" : "AIV", lane_names[lane]);
  return 0;
}

/* A task's kernel per lane; a lone AIV1 runs as AIV0. */
static inline void lane_ids(pto2_mixed_kernels mk, int32_t ids[PTO2__LANE_COUNT]) {
  ids[PTO2__LANE_AIC] = mk.aic;
  ids[PTO2__LANE_AIV0] = mk.aiv0;
  ids[PTO2__LANE_AIV1] = mk.aiv1;
  if (ids[PTO2__LANE_AIV0] == PTO2_NO_KERNEL && ids[PTO2__LANE_AIC] == PTO2_NO_KERNEL) {
    ids[PTO2__LANE_AIV0] = ids[PTO2__LANE_AIV1];
    ids[PTO2__LANE_AIV1] = PTO2_NO_KERNEL;
  }
}

/* The checks of resolve_lanes() one by one, for the error message. */
static __attribute__((noinline, cold)) int resolve_lanes_slow(pto2_runtime *rt,
                                                              pto2_mixed_kernels mk, lanes *l,
                                                              const char *api) {
  int32_t ids[PTO2__LANE_COUNT];
  lane_ids(mk, ids);
  l->mask = 0;
  for (unsigned lane = 0; lane < PTO2__LANE_COUNT; lane++) {
    l->kernel[lane] = -1;
    if (ids[lane] == PTO2_NO_KERNEL) continue;
    int rc = check_lane(rt, ids[lane], lane, api);
    if (rc) return rc;
    l->kernel[lane] = (int8_t)ids[lane];
    l->mask |= (uint8_t)(1u << lane);
  }
  if (!l->mask)
    return pto2__fail(rt, PTO2_E_INVALID_ARGS, "%s: the task has no kernel on any lane", api);
  l->shape = pto2__lane_count(l->mask) >= 2 ? PTO2__SHAPE_MIX
             : (l->mask & 1u)                 ? PTO2__SHAPE_AIC
                                              : PTO2__SHAPE_AIV;
  return 0;
}

/* Step 1 for the kernels: each used lane's id registered for its core type
 * (one bit test per lane, rt->lane_kernels); the slow path says what is
 * wrong. */
static inline __attribute__((always_inline)) int resolve_lanes(pto2_runtime *rt,
                                                               pto2_mixed_kernels mk, lanes *l,
                                                               const char *api) {
  int32_t ids[PTO2__LANE_COUNT];
  lane_ids(mk, ids);
  unsigned mask = 0, bad = 0;
  for (unsigned lane = 0; lane < PTO2__LANE_COUNT; lane++) {
    uint32_t id = (uint32_t)ids[lane];
    l->kernel[lane] = (int8_t)ids[lane]; /* PTO2_NO_KERNEL is -1 */
    if (ids[lane] == PTO2_NO_KERNEL) continue;
    mask |= 1u << lane;
    bad |= id >= PTO2_MAX_KERNELS || !((rt->lane_kernels[lane] >> (id & 63u)) & 1u);
  }
  if (PTO2_UNLIKELY(bad || !mask)) return resolve_lanes_slow(rt, mk, l, api);
  l->mask = (uint8_t)mask;
  l->shape = mask & (mask - 1) ? PTO2__SHAPE_MIX : mask & 1u ? PTO2__SHAPE_AIC : PTO2__SHAPE_AIV;
  return 0;
}

/* An output's buffer: the tensor's own size (check_args()), rounded up so
 * the next output starts aligned. */
static uint64_t output_bytes(uint64_t size) {
  return (size + OUTPUT_ALIGN - 1) & ~(uint64_t)(OUTPUT_ALIGN - 1);
}

_Static_assert(PTO2_MAX_KERNELS <= 64, "rt->lane_kernels holds one bit per kernel id");

static const char *arg_kind_name(unsigned kind) {
  static const char *names[] = {"INPUT", "OUTPUT", "INOUT", "OUTPUT_EXISTING", "NO_DEP"};
  return kind < 5 ? names[kind] : "?";
}

/* What step 1 learnt about the tensor arguments, one bit per argument, for
 * steps 4-7: no later step reads a creator again to classify it. */
typedef struct arg_class {
  uint32_t local;   /* created by a task of the innermost scope */
  uint32_t owned;   /* created by a task (not caller memory) */
  uint32_t deps;    /* not OUTPUT, and created or in the TensorMap (not manual_dep) */
} arg_class;

/* Step 1 for the arguments: every tensor usable, every create-info sane,
 * every creator alive (O1 decides a creator of the innermost scope without
 * reading it; pto2__check_owner() any other).  Returns the total output
 * bytes, each output's size (sizes[i] for OUTPUT arg i, reused by
 * write_payload()) and the arguments' classes, or fails the run. */
static inline __attribute__((always_inline)) int check_args(pto2_runtime *rt, const pto2_arg *a,
                                                            const char *api, uint64_t *bytes,
                                                            uint64_t *sizes, arg_class *c) {
  uint64_t total = 0;
  pto2__scope_window w = pto2__current_window(rt);
  uint32_t local = 0, owned = 0, deps = 0;
  for (unsigned i = 0; i < a->tensor_count; i++) {
    if (a->kinds[i] == PTO2_ARG_OUTPUT) {
      const pto2_create_info *ci = a->refs[i].create;
      /* 0 for a bad dtype (size 0), no dimension, or 2^48 bytes or more. */
      uint64_t size = ci && ci->ndims && ci->ndims <= PTO2_MAX_DIMS
                          ? pto2__extent_bytes(ci->shapes, ci->ndims, pto2__dtype_size(ci->dtype))
                          : 0;
      if (!size)
        return pto2__fail(rt, PTO2_E_INVALID_ARGS,
                          "%s: OUTPUT arg %u has an invalid create-info (use "
                          "pto2_create_info_make with 1..%d non-zero dimensions and fewer "
                          "than 2^48 bytes)",
                          api, i, PTO2_MAX_DIMS);
      sizes[i] = size;
      total += output_bytes(size);
      continue;
    }
    const pto2_tensor *t = a->refs[i].tensor;
    if (!pto2__tensor_valid(t))
      return pto2__fail(rt, PTO2_E_INVALID_ARGS,
                        "%s: %s arg %u is not a valid tensor (a failed view or reshape, or "
                        "not built with the pto2_tensor functions)",
                        api, arg_kind_name(a->kinds[i]), i);
    uint32_t bit = 1u << i;
    if (pto2__in_window(&w, t->owner) && PTO2_LIKELY(w.exact)) { /* (O1) */
      PTO2_CHECK(rt, "O1",
                 pto2__creator_alive(rt, pto2_task_id_ring(t->owner), pto2_task_id_local(t->owner)));
      local |= bit;
      owned |= bit;
      deps |= bit;
      continue;
    }
    int rc = pto2__check_owner(rt, t, i, api);
    if (rc) return rc;
    if (pto2_task_id_is_valid(t->owner)) {
      owned |= bit;
      deps |= bit;
      if (PTO2_UNLIKELY(!w.exact) && pto2__in_current_scope(rt, t->owner)) local |= bit;
    } else if (!t->manual_dep) {
      deps |= bit;
    }
  }
  *bytes = total;
  c->local = local;
  c->owned = owned;
  c->deps = deps;
  return 0;
}

static int overflow(pto2_runtime *rt, pto2_task_id self, unsigned argi, unsigned kind,
                    const char *reason) {
  return pto2__fail(rt, PTO2_E_DEPENDENCY_OVERFLOW,
                    "FATAL: Dependency Overflow Detected! Task %u:%llu requires more than "
                    "PTO2_MAX_FANIN (%d) unique fanin dependencies (arg %u, %s, found by %s)",
                    pto2_task_id_ring(self), (unsigned long long)pto2_task_id_local(self),
                    PTO2_MAX_FANIN, argi, arg_kind_name(kind), reason);
}

/* Adds a producer once.  Retired producers count as edges but need no
 * wiring: their slot may already hold another task.  Inline: two to five
 * calls per task, and the call cost as much as the work. */
static inline __attribute__((always_inline)) int add_producer(pto2_runtime *rt, found *f,
                                                              pto2_task_id id, pto2_task_id self,
                                                              unsigned argi, unsigned kind,
                                                              uint8_t why, const char *reason) {
  for (uint32_t i = 0; i < f->count; i++)
    if (f->ids[i].raw == id.raw) {
      f->why[i] |= why;
      return 0;
    }
  if (f->count == PTO2_MAX_FANIN) return overflow(rt, self, argi, kind, reason);
  f->why[f->count] = why;
  f->ids[f->count++] = id;
  pto2__ring *r = &rt->rings[pto2_task_id_ring(id)];
  uint64_t local = pto2_task_id_local(id);
  if (!pto2__task_retired(r, local)) {
    pto2__slot *p = pto2__ring_slot(r, local);
    __builtin_prefetch(p, 1); /* its line is locked in step 7: start the transfer now */
    f->metas[f->live] = pto2__ring_meta(r, local);
    f->slots[f->live++] = p;
  }
  return 0;
}

static bool has_producer(const found *f, pto2_task_id id) {
  for (uint32_t i = 0; i < f->count; i++)
    if (f->ids[i].raw == id.raw) return true;
  return false;
}

/* True once the task has finished (or retired). */
static bool task_finished(pto2_runtime *rt, pto2_task_id id) {
  pto2__ring *r = &rt->rings[pto2_task_id_ring(id)];
  uint64_t local = pto2_task_id_local(id);
  if (pto2__task_retired(r, local)) return true;
  /* Acquire: pairs with the COMPLETED release of task completion, so the
   * task's writes are visible to what runs after this wait. */
  return atomic_load_explicit(&pto2__ring_slot(r, local)->state, memory_order_acquire) >=
         PTO2__TASK_COMPLETED;
}

static bool finished_done(pto2_runtime *rt, void *ctx) {
  return task_finished(rt, *(const pto2_task_id *)ctx);
}

/* Step 4, TensorMap part: every writer (or, from the reader map of strict
 * AUTO scopes, reader) whose region overlaps `t` (T2).  A writing access
 * removes the entries it covers (T4): later accesses find it instead.
 * wait_if_full (strict AUTO): beyond f->lookup_limit producers, wait until
 * the others have finished instead of failing. */
static int lookup_map(pto2_runtime *rt, pto2__tensormap *m, found *f, const pto2_tensor *t,
                      bool remove_covered, bool wait_if_full, unsigned kind, pto2_task_id self,
                      unsigned argi) {
  pto2__region g;
  pto2__region_init(&g, t);
restart:;
  /* Found again after a wait: retirement may free records (T1, T3). */
  pto2__tmap_alloc *al = pto2__tmap_find_alloc(m, t->addr);
  if (!al || !al->count) return 0;
  int n = pto2__tmap_candidates(m, al, &g);
  if (n < 0)
    return pto2__fail(rt, PTO2_E_NO_MEMORY, "out of memory looking up the TensorMap (%llu entries)",
                      (unsigned long long)m->live);
  pto2__tmap_entry **hits = m->hits; /* removing one leaves the others valid */
  for (int i = 0; i < n; i++) {
    pto2__tmap_entry *e = hits[i];
    pto2__overlap ov = pto2__tmap_overlap(e, &g);
    if (ov == PTO2__NO_OVERLAP) continue;
    if (wait_if_full && f->count >= f->lookup_limit && !has_producer(f, e->producer)) {
      if (!task_finished(rt, e->producer)) {
        pto2_task_id id = e->producer;
        int rc = pto2__orch_wait(rt, finished_done, &id, "an earlier access (strict AUTO)");
        if (rc) return rc;
        goto restart;
      }
    } else {
      int rc = add_producer(rt, f, e->producer, self, argi, kind, PTO2_EDGE_TENSORMAP, "overlap lookup");
      if (rc) return rc;
    }
    if (remove_covered && ov == PTO2__OVERLAP_COVERED) pto2__tmap_remove(m, e); /* (T4) */
  }
  return 0;
}

/* True if an earlier INOUT argument of this submit took `e` over (T7). */
static bool reuse_claimed(const found *f, const pto2__tmap_entry *e) {
  for (uint32_t m = f->reuse_mask; m; m &= m - 1)
    if (f->reuse[__builtin_ctz(m)] == e) return true;
  return false;
}

/* An INOUT access that covers `e`.  (T7) reuse: an entry with the access's
 * exact region is left in place for step 5 to take over; an entry taken
 * over by an earlier argument stays too (step 5 replaces its writer with
 * this task, as the removal and insert would).  Otherwise it is
 * superseded (T4). */
static inline __attribute__((always_inline)) void cover_entry(pto2_runtime *rt, found *f,
                                                             pto2__tmap_entry *e,
                                                             const pto2__region *g,
                                                             unsigned argi, bool reuse,
                                                             bool exact) {
  if (reuse) {
    if (PTO2_UNLIKELY(f->reuse_mask) && reuse_claimed(f, e)) return;
    if (exact && !(f->reuse_mask >> argi & 1u)) {
      f->reuse_mask |= 1u << argi;
      f->reuse[argi] = e;
      return;
    }
  }
  pto2__tmap_supersede(&rt->tmap, e, g); /* (T4) */
}

static inline __attribute__((always_inline)) int visit_writer(pto2_runtime *rt, found *f,
                                                              pto2__tmap_entry *e,
                                                              const pto2__region *g, bool inout,
                                                              pto2_task_id self, unsigned argi,
                                                              unsigned kind, bool traced,
                                                              bool reuse, bool exact_first) {
  /* (T7) exact_first (a short list, usually the accumulator's one entry):
   * the exact region is COVERED without the overlap test.  In a tree's
   * result most candidates are other tiles of the row band: test exactness
   * only for the COVERED ones. */
  bool exact = reuse && inout && exact_first && pto2__tmap_same_region(e, g);
  pto2__overlap ov = exact ? PTO2__OVERLAP_COVERED : pto2__tmap_overlap(e, g);
  if (ov == PTO2__NO_OVERLAP) return 0;
  if (traced) pto2__rec_overlap_add(rt, e, g->t);
  int rc = add_producer(rt, f, e->producer, self, argi, kind, PTO2_EDGE_TENSORMAP,
                        "overlap lookup");
  if (rc) return rc;
  if (inout && ov == PTO2__OVERLAP_COVERED) {
    if (reuse && !exact_first) exact = pto2__tmap_same_region(e, g);
    cover_entry(rt, f, e, g, argi, reuse, exact);
  }
  return 0;
}

/* (T6) True if `t` is a runtime-created buffer with no TensorMap entry: its
 * creator's chain is empty.  Entries on a created buffer are chained to
 * its creator (T3), which is alive (check_args), so an empty chain means
 * none; the lookup, and its probe of a hash bucket that a fresh buffer
 * address makes a cache miss, can be skipped.  Caller memory keyed inside
 * a ring heap (caller_keys_in_heap) could share a created buffer's key:
 * then every access looks up. */
static inline bool created_unwritten(pto2_runtime *rt, const pto2_tensor *t) {
  if (!pto2_task_id_is_valid(t->owner) || rt->tmap.caller_keys_in_heap) return false;
  pto2__ring *r = &rt->rings[pto2_task_id_ring(t->owner)];
  return !pto2__ring_meta(r, pto2_task_id_local(t->owner))->tmap_chain;
}

/* Marks the map when caller memory is keyed inside a ring heap (T6).  The
 * heaps only move in a recovery, which clears the map, so a key checked
 * once needs no second check. */
static void note_caller_key(pto2_runtime *rt, pto2__tensormap *m, const void *addr) {
  uintptr_t p = (uintptr_t)addr;
  m->caller_key_seen = addr;
  for (unsigned i = 0; i < PTO2_RING_COUNT; i++) {
    const pto2__heap *h = &rt->rings[i].heap;
    if (h->base && p >= (uintptr_t)h->base && p - (uintptr_t)h->base < h->size)
      m->caller_keys_in_heap = true;
  }
}

/* Plain scopes: every writer whose region overlaps `t` (T2).  reuse: INOUT
 * entries may be taken over in step 5 (T7); only where nothing can remove
 * an entry before then (no waits: not strict AUTO) and nothing counts the
 * map's updates (not recorded). */
static int lookup_writers_in(pto2_runtime *rt, found *f, pto2__tmap_alloc *al,
                             const pto2_tensor *t, bool inout, pto2_task_id self, unsigned argi,
                             bool traced, bool reuse) {
  pto2__tensormap *m = &rt->tmap;
  pto2__region g;
  pto2__region_init(&g, t);
  unsigned kind = inout ? PTO2_ARG_INOUT : PTO2_ARG_INPUT;
  if (!al->root) { /* a short list: walk it (removing e keeps `next` valid) */
    uint32_t walked = 0; /* for the recorder */
    for (pto2__tmap_entry *e = al->entries, *next; e; e = next) {
      next = e->next;
      walked++;
      int rc = visit_writer(rt, f, e, &g, inout, self, argi, kind, traced, reuse, true);
      if (rc) return rc;
    }
    if (traced) pto2__rec_lookup(rt, walked, walked);
    return 0;
  }
  int n = pto2__tmap_candidates(m, al, &g);
  if (n < 0)
    return pto2__fail(rt, PTO2_E_NO_MEMORY, "out of memory looking up the TensorMap (%llu entries)",
                      (unsigned long long)m->live);
  pto2__tmap_entry **hits = m->hits; /* removing one leaves the others valid */
  for (int i = 0; i < n; i++) {
    int rc = visit_writer(rt, f, hits[i], &g, inout, self, argi, kind, traced, reuse, false);
    if (rc) return rc;
  }
  if (traced) pto2__rec_lookup(rt, (uint32_t)n, (uint32_t)n);
  return 0;
}

/* The bucket probe inline: most accesses find no record (caller memory
 * nobody writes). */
static inline __attribute__((always_inline)) int lookup_writers(pto2_runtime *rt, found *f,
                                                                const pto2_tensor *t, bool inout,
                                                                pto2_task_id self, unsigned argi,
                                                                bool traced, bool reuse) {
  pto2__tmap_alloc *al = pto2__tmap_find_alloc(&rt->tmap, t->addr);
  if (!al || !al->count) {
    if (traced) pto2__rec_lookup(rt, 0, 0);
    return 0;
  }
  return lookup_writers_in(rt, f, al, t, inout, self, argi, traced, reuse);
}

/* The reader list of the task `local` of ring r (empty if the slot's list
 * belongs to an earlier task). */
static pto2__reader_list *reader_list(pto2__ring *r, uint64_t local) {
  pto2__reader_list *l = &r->readers[local & r->mask];
  if (l->tag != local + 1) {
    l->tag = local + 1;
    l->count = 0;
  }
  return l;
}

_Static_assert(PTO2__LISTED_READERS == PTO2__HZ_LISTED_READERS,
               "the hazard checker replays the reader lists of strict AUTO");

/* Adds an earlier reader in a strict scope, or, beyond the lookup limit,
 * waits until it has finished. */
static int add_reader(pto2_runtime *rt, found *f, pto2_task_id id, pto2_task_id self,
                      unsigned argi, unsigned kind) {
  if (id.raw == self.raw || has_producer(f, id)) return 0;
  if (f->count < f->lookup_limit) return add_producer(rt, f, id, self, argi, kind, PTO2_EDGE_TENSORMAP, "reader list");
  return task_finished(rt, id)
             ? 0
             : pto2__orch_wait(rt, finished_done, &id, "an earlier reader (strict AUTO)");
}

/* The reader log's test of a dead entry (deps/readlog.h L2). */
static bool log_reader_retired(void *ctx, pto2_task_id id) {
  pto2_runtime *rt = ctx;
  /* pto2__task_retired() without the slot check: the log holds only ids
   * issued here, and a slot is reused only once its ring's watermark has
   * passed the task in it. */
  return pto2_task_id_local(id) < rt->rings[pto2_task_id_ring(id)].seen_alive;
}

/* (L3) Moves the live entries of a reader log to the reader map, chained
 * to their readers (T3), and sends later reads there. */
static int index_reader_log(pto2_runtime *rt, pto2__rlog *r) {
  for (uint32_t i = 0; i < r->count; i++) {
    pto2__rlog_entry *e = &r->v[i];
    if (log_reader_retired(rt, e->reader)) continue; /* a wait in the walk retired it */
    pto2__ring *ring = &rt->rings[pto2_task_id_ring(e->reader)];
    pto2__task_meta *m = pto2__ring_meta(ring, pto2_task_id_local(e->reader));
    pto2__region g;
    pto2__region_init(&g, &e->t);
    /* On failure the entries moved so far are in both: found twice, same edge. */
    if (!pto2__tmap_insert(&rt->rmap, &g, e->reader, &m->rmap_chain))
      return pto2__fail(rt, PTO2_E_NO_MEMORY, "out of memory growing the reader map (%llu entries)",
                        (unsigned long long)rt->rmap.live);
  }
  r->count = 0;
  r->indexed = true;
  return 0;
}

/* Strict AUTO, a writing access to caller memory: every earlier reader in
 * its allocation's reader log with an overlapping region (deps/readlog.h).
 * One walk that also compacts the array (L2): entries of retired readers
 * are dropped, and those the access covers are removed, as lookup_map()
 * removes covered reader-map entries (the access orders later writers
 * after them).  Many live entries left: the allocation is indexed (L3). */
static int lookup_reader_log(pto2_runtime *rt, found *f, const pto2_tensor *t, unsigned kind,
                             pto2_task_id self, unsigned argi) {
  pto2__rlog *r = pto2__rlog_find(&rt->rlog, t->addr);
  if (!r || !r->count) return 0;
  pto2__region g;
  pto2__region_init(&g, t);
  uint32_t i = 0, kept = 0;
  int rc = 0;
  /* A wait in add_reader() runs tasks and retires others, but appends
   * nothing: r and its array stay as they are. */
  for (; i < r->count && !rc; i++) {
    pto2__rlog_entry *e = &r->v[i];
    if (!e->t.ndims || log_reader_retired(rt, e->reader)) continue;
    pto2__overlap ov = pto2__rlog_overlap(&e->t, &g);
    if (ov != PTO2__NO_OVERLAP) {
      rc = add_reader(rt, f, e->reader, self, argi, kind);
      if (!rc && ov == PTO2__OVERLAP_COVERED) continue; /* removed */
    }
    if (kept != i) r->v[kept] = *e;
    kept++;
  }
  for (; i < r->count; i++) r->v[kept++] = r->v[i]; /* not walked: a failure */
  r->count = kept;
  if (!rc && kept > PTO2__RLOG_INDEX_MIN) rc = index_reader_log(rt, r);
  return rc;
}

/* Strict AUTO, a writing access: it also waits for earlier readers (those
 * listed with the buffer's creator, any region, those in the reader log of
 * caller memory and those in the reader map), and OUTPUT_EXISTING for
 * earlier writers. */
static int lookup_strict(pto2_runtime *rt, found *f, const pto2_tensor *t, unsigned kind,
                         pto2_task_id self, unsigned argi) {
  bool in_map = true;
  if (pto2_task_id_is_valid(t->owner)) {
    pto2__ring *r = &rt->rings[pto2_task_id_ring(t->owner)];
    const pto2__reader_list *l = reader_list(r, pto2_task_id_local(t->owner));
    unsigned n = l->count < PTO2__LISTED_READERS ? l->count : PTO2__LISTED_READERS;
    for (unsigned i = 0; i < n; i++) {
      int rc = add_reader(rt, f, l->ids[i], self, argi, kind);
      if (rc) return rc;
    }
    in_map = l->count > PTO2__LISTED_READERS;
  } else {
    int rc = lookup_reader_log(rt, f, t, kind, self, argi);
    if (rc) return rc;
  }
  int rc = in_map ? lookup_map(rt, &rt->rmap, f, t, true, true, kind, self, argi) : 0;
  if (!rc && kind == PTO2_ARG_OUTPUT_EXISTING)
    rc = lookup_map(rt, &rt->tmap, f, t, true, true, kind, self, argi);
  return rc;
}

/* Strict AUTO, INPUT and INOUT: the writers, by the plain scopes' lookup
 * when the allocation's entries cannot take the task past its lookup limit
 * (the common case), else by lookup_map(), which waits beyond the limit.
 * Not traced: strict lookups are not in the TensorMap statistics. */
static int lookup_writers_strict(pto2_runtime *rt, found *f, const pto2_tensor *t, bool inout,
                                 pto2_task_id self, unsigned argi) {
  pto2__tmap_alloc *al = pto2__tmap_find_alloc(&rt->tmap, t->addr);
  if (!al || !al->count) return 0;
  if (f->count + al->count <= f->lookup_limit)
    return lookup_writers_in(rt, f, al, t, inout, self, argi, false, false);
  return lookup_map(rt, &rt->tmap, f, t, inout, true, inout ? PTO2_ARG_INOUT : PTO2_ARG_INPUT,
                    self, argi);
}

/* The tensor arguments whose creators the task keeps alive (a lifetime
 * hold) instead of waiting for, and which it leaves out of the TensorMap:
 * the mode orders such tasks by explicit edges (orch/policy.h). */
static inline uint32_t held_args(const pto2__mode_policy *pol, const arg_class *c) {
  return pol->hold == PTO2__HOLD_ALL ? c->owned : pol->hold == PTO2__HOLD_LOCAL ? c->local : 0;
}

static int add_explicit(pto2_runtime *rt, const pto2_arg *a, pto2_task_id self, found *f) {
  for (unsigned i = 0; i < a->dep_count; i++) {
    if (!pto2__ring_of(rt, a->deps[i]))
      return pto2__fail(rt, PTO2_E_INVALID_ARGS,
                        "explicit producer %u of task %u:%llu is not a task id this runtime "
                        "issued%s",
                        i, pto2_task_id_ring(self), (unsigned long long)pto2_task_id_local(self),
                        a->deps[i].raw == 0 ? " (it is zero: an id variable never assigned?)"
                                            : "");
    if (a->deps[i].raw == self.raw)
      return pto2__fail(rt, PTO2_E_INVALID_ARGS,
                        "explicit producer %u of task %u:%llu is the task itself: a task cannot "
                        "depend on itself",
                        i, pto2_task_id_ring(self), (unsigned long long)pto2_task_id_local(self));
    int rc = add_producer(rt, f, a->deps[i], self, i, PTO2_ARG_INPUT, PTO2_EDGE_SUBMIT_DEP,
                          "explicit dependency");
    if (rc) return rc;
  }
  return 0;
}

/* MANUAL (manual-local tensors) and GRAPH: the task does not wait for the
 * tensor's creator (explicit edges order it), but it must keep the
 * creator's buffer alive until it completes, even if it is ordered after
 * the creator only through other tasks: a lifetime hold (see
 * hold_creators()).  Creators are deduplicated; a creator that is also a
 * producer needs no hold. */
static inline void add_hold(found *f, pto2_task_id creator, bool outer) {
  for (uint32_t i = 0; i < f->holds; i++)
    if (f->held_ids[i].raw == creator.raw) return;
  f->held_outer |= (uint32_t)outer << f->holds;
  f->held_ids[f->holds++] = creator; /* at most one per tensor argument */
}

/* Drops holds on creators that became producers (explicit deps at submit). */
static void drop_held_producers(found *f) {
  uint32_t kept = 0, outer = 0;
  for (uint32_t i = 0; i < f->holds; i++) {
    bool producer = false;
    for (uint32_t j = 0; j < f->count && !producer; j++) producer = f->ids[j].raw == f->held_ids[i].raw;
    if (producer) continue;
    outer |= (f->held_outer >> i & 1u) << kept;
    f->held_ids[kept++] = f->held_ids[i];
  }
  f->holds = kept;
  f->held_outer = outer;
}

/* Step 4.  pol is a compile-time constant in each caller.  Walks only the
 * arguments that step 1 classified as having something to do in this
 * mode: the held creators, then the other created or TensorMap-visible
 * tensors; notes those step 5 records (f->record). */
static inline __attribute__((always_inline)) int find_producers(pto2_runtime *rt,
                                                                const pto2_arg *a,
                                                                const arg_class *c,
                                                                pto2_task_id self, found *f,
                                                                const pto2__mode_policy *pol,
                                                                bool traced) {
  f->count = f->live = f->holds = f->reuse_mask = f->held_outer = f->record = 0;
  if (pol->strict) {
    /* Room for every creator and explicit producer; lookups wait beyond. */
    uint32_t reserve = a->dep_count + (uint32_t)__builtin_popcount(c->owned);
    f->lookup_limit = reserve < PTO2_MAX_FANIN ? PTO2_MAX_FANIN - reserve : 0;
  }
  uint32_t held = held_args(pol, c);
  for (uint32_t m = held; m; m &= m - 1) {
    unsigned i = (unsigned)__builtin_ctz(m);
    add_hold(f, a->refs[i].tensor->owner, !(c->local >> i & 1u));
  }
  /* GRAPH holds every creator and has no TensorMap: nothing else to do. */
  uint32_t rest = pol->hold == PTO2__HOLD_ALL ? 0 : c->deps & ~held;
  for (; rest; rest &= rest - 1) {
    unsigned i = (unsigned)__builtin_ctz(rest);
    unsigned kind = a->kinds[i];
    const pto2_tensor *t = a->refs[i].tensor;
    if (c->owned >> i & 1u) {
      int rc = add_producer(rt, f, t->owner, self, i, kind, PTO2_EDGE_CREATOR,
                            "creator retention");
      if (rc) return rc;
    }
    if (!pol->tensormap || t->manual_dep) continue;
    if (kind == PTO2_ARG_INPUT || kind == PTO2_ARG_INOUT) {
      bool inout = kind == PTO2_ARG_INOUT;
      int rc;
      if (pol->strict) {
        rc = lookup_writers_strict(rt, f, t, inout, self, i);
      } else if (created_unwritten(rt, t)) {
        if (traced) pto2__rec_lookup(rt, 0, 0);
        rc = 0;
      } else {
        /* (T7) in plain AUTO scopes, as the TensorMap documents it */
        rc = lookup_writers(rt, f, t, inout, self, i, traced,
                            !traced && pol->hold == PTO2__HOLD_NONE);
      }
      if (rc) return rc;
    }
    if (pol->strict && (kind == PTO2_ARG_INOUT || kind == PTO2_ARG_OUTPUT_EXISTING)) {
      int rc = lookup_strict(rt, f, t, kind, self, i);
      if (rc) return rc;
    }
    if (kind == PTO2_ARG_INOUT || kind == PTO2_ARG_OUTPUT_EXISTING ||
        (pol->strict && kind == PTO2_ARG_INPUT))
      f->record |= 1u << i;
  }
  int rc = PTO2_UNLIKELY(a->dep_count) ? add_explicit(rt, a, self, f) : 0;
  if (pol->hold != PTO2__HOLD_NONE && f->holds && f->count) drop_held_producers(f);
  return rc;
}

/* Step 5: the regions this task writes (and, in strict AUTO, reads) become
 * visible to later lookups: the arguments step 4 noted in f->record.  Entries on a created buffer are chained to
 * its creator, others to this task (T3).  Strict AUTO lists the first
 * readers of a created buffer with its creator instead (lookup_strict). */
static inline __attribute__((always_inline)) int record_writes(pto2_runtime *rt,
                                                               const pto2_arg *a,
                                                               pto2_task_id self,
                                                               pto2__task_meta *self_meta,
                                                               const found *f,
                                                               const pto2__mode_policy *pol) {
  for (uint32_t todo = pol->tensormap ? f->record : 0; todo; todo &= todo - 1) {
    unsigned i = (unsigned)__builtin_ctz(todo);
    bool reader = pol->strict && a->kinds[i] == PTO2_ARG_INPUT;
    const pto2_tensor *t = a->refs[i].tensor;
    pto2__task_meta *chained = self_meta;
    if (pto2_task_id_is_valid(t->owner)) {
      pto2__ring *r = &rt->rings[pto2_task_id_ring(t->owner)];
      /* (T3) the creator is alive (check_args), so its chain is its own. */
      PTO2_CHECK(rt, "T3", !pto2__task_retired(r, pto2_task_id_local(t->owner)));
      chained = pto2__ring_meta(r, pto2_task_id_local(t->owner));
      if (reader) {
        pto2__reader_list *l = reader_list(r, pto2_task_id_local(t->owner));
        if (l->count < PTO2__LISTED_READERS) {
          l->ids[l->count++] = self; /* listed with its creator */
          continue;
        }
        l->count = PTO2__LISTED_READERS + 1; /* the rest: the reader map */
      }
    } else if (reader) { /* caller memory: the reader log, unless indexed */
      int rc = pto2__rlog_append(&rt->rlog, t, self);
      if (rc == 0) continue;
      if (rc < 0)
        return pto2__fail(rt, PTO2_E_NO_MEMORY, "out of memory growing the reader log of %p",
                          t->addr);
    }
    pto2__tensormap *map = reader ? &rt->rmap : &rt->tmap;
    if (!pto2_task_id_is_valid(t->owner) && t->addr != map->caller_key_seen)
      note_caller_key(rt, map, t->addr);
    void **chain = reader ? &chained->rmap_chain : &chained->tmap_chain;
    if (f->reuse_mask >> i & 1u) { /* (T7) the entry with this region, found in step 4 */
      pto2__tmap_reuse(map, f->reuse[i], self, chain);
      continue;
    }
    pto2__region g;
    pto2__region_init(&g, t);
    if (!pto2__tmap_insert(map, &g, self, chain))
      return pto2__fail(rt, PTO2_E_NO_MEMORY, "out of memory growing the TensorMap (%llu entries)",
                        (unsigned long long)map->live);
  }
  return 0;
}

static void fill_initial(char *buf, uint64_t numel, size_t esz, uint64_t bits) {
  if (!numel) return;
  memcpy(buf, &bits, esz); /* little-endian: the low bytes hold the element */
  uint64_t done = 1;
  while (done < numel) {
    uint64_t n = done < numel - done ? done : numel - done;
    memcpy(buf + done * esz, buf, n * esz);
    done += n;
  }
}

/* `size`: the tensor's own bytes (from check_args()). */
static void materialize(pto2_tensor *t, const pto2_create_info *ci, char *buf, pto2_task_id owner,
                        uint64_t size) {
  memset(t, 0, sizeof *t);
  t->addr = t->data = buf;
  t->nbytes = size; /* what the tensor spans, not the aligned allocation */
  t->owner = owner;
  t->ndims = ci->ndims;
  t->dtype = ci->dtype;
  t->manual_dep = ci->manual_dep;
  for (unsigned d = 0; d < ci->ndims; d++) t->shapes[d] = t->raw_shapes[d] = ci->shapes[d];
  if (PTO2_UNLIKELY(ci->has_initial_value)) {
    size_t esz = pto2__dtype_size(ci->dtype);
    fill_initial(buf, size / esz, esz, ci->initial_value);
  }
}

/* Step 6. */
static void write_payload(pto2__payload *pl, pto2_arg *a, char *heap_buf, pto2_task_id self,
                          const uint64_t *sizes) {
  uint64_t offset = 0;
  unsigned out = 0;
  for (unsigned i = 0; i < a->tensor_count; i++) {
    if (a->kinds[i] != PTO2_ARG_OUTPUT) {
      pl->tensors[i] = *a->refs[i].tensor;
      continue;
    }
    const pto2_create_info *ci = a->refs[i].create;
    materialize(&pl->tensors[i], ci, heap_buf + offset, self, sizes[i]);
    offset += output_bytes(sizes[i]);
    a->outputs[out++] = pl->tensors[i];
  }
  /* A few scalars at most, as a rule: a loop beats the call to memcpy. */
  for (unsigned i = 0; i < a->scalar_count; i++) pl->scalars[i] = a->scalars[i];
  pl->tensor_count = (uint8_t)a->tensor_count;
  pl->scalar_count = (uint8_t)a->scalar_count;
}

/* Lifetime holds (see add_hold).  The creator's scope is open
 * (pto2__check_owner), so it is not CONSUMED; pto2__slot_hold checks
 * anyway. */
static inline __attribute__((always_inline)) unsigned hold_creators(pto2_runtime *rt,
                                                                   const found *f,
                                                                   pto2__payload *pl,
                                                                   unsigned recorded,
                                                                   bool deferred) {
  uint32_t mask = 0;
  for (uint32_t i = 0; i < f->holds; i++) {
    pto2_task_id id = f->held_ids[i];
    pto2__ring *cr = &rt->rings[pto2_task_id_ring(id)];
    uint64_t local = pto2_task_id_local(id);
    pto2__slot *p = pto2__ring_slot(cr, local);
    if (pto2__slot_hold(p)) {
      mask |= 1u << recorded;
      pl->fanin[recorded++] = p;
    }
    /* A creator of the innermost scope is pinned by that scope already. */
    if (deferred && (f->held_outer >> i & 1u))
      pto2__mark_held(&rt->orch, pto2__ring_meta(cr, local));
  }
  pl->hold_mask = mask;
  return recorded;
}

/* Step 7.  A deferred task keeps its publish share until its scope ends
 * (close_scope). */
static inline __attribute__((always_inline)) int wire_and_publish(pto2_runtime *rt,
                                                                  pto2__ring *r, pto2__slot *s,
                                                                  pto2__task_meta *m,
                                                                  const found *f, bool deferred) {
  if (pto2__dep_pool_free(&r->deps) < f->live) {
    int rc = pto2__ring_wait_deps(rt, r, f->live);
    if (rc) return rc;
  }
  pto2__payload *pl = s->payload;
  pto2__slot_arm(s, f->live, deferred);
  pl->hold_mask = 0;
  uint32_t satisfied = 0; /* producers that had finished: they will not decrement */
  bool linked = false;
  unsigned recorded = 0;
  for (uint32_t i = 0; i < f->live; i++) {
    pto2__slot *p = f->slots[i];
    int finished = pto2__slot_link(p, s, &r->deps);
    if (finished >= 0) pl->fanin[recorded++] = p; /* released when s completes */
    if (finished != 0) satisfied++;
    else linked = true;
  }
  if (PTO2_UNLIKELY(f->holds)) recorded = hold_creators(rt, f, pl, recorded, deferred);
  pl->fanin_count = (uint8_t)recorded;
  m->dep_mark = r->deps.top;
  if (PTO2_UNLIKELY(deferred)) {
    for (uint32_t i = 0; i < f->live; i++) pto2__mark_held(&rt->orch, f->metas[i]);
    m->producer_count = (uint8_t)f->count;
    memcpy(r->producer_ids[pto2_task_id_local(pl->id) & r->mask], f->ids,
           f->count * sizeof f->ids[0]);
    /* Keep the publish share: publish_deferred() drops it. */
    pto2__slot_defer(s, linked, satisfied);
    return 0;
  }
  if (pto2__slot_publish(rt, s, linked, satisfied)) pto2__orch_ready(rt, s);
  return 0;
}

/* Hazard checker (check/hazard.h): the task's accesses and the edges found
 * or given at submit.  Explicit edges made later are reported by
 * pto2_add_dependency. */
static __attribute__((noinline, cold)) int check_submit(pto2_runtime *rt, const pto2__payload *pl,
                                                        const pto2_arg *a, const found *f) {
  const pto2__orch *o = &rt->orch;
  int rc = pto2__hz_task(rt->hz, pl->id, pl->kernel, o->mode, o->depth - 1,
                         o->scopes[o->depth - 1].seq, a->kinds, pl->tensors, a->tensor_count);
  for (uint32_t i = 0; i < f->count && !rc; i++) rc = pto2__hz_edge(rt->hz, f->ids[i], pl->id);
  return rc ? pto2__fail(rt, rc, "hazard checker: out of memory recording a task") : 0;
}

static int push_scope_task(pto2_runtime *rt, pto2__orch *o, pto2__slot *s) {
  if (PTO2_UNLIKELY(o->scope_task_count == o->scope_task_cap)) {
    uint32_t cap = o->scope_task_cap * 2;
    pto2__slot **grown = pto2__realloc(&rt->cfg.allocator, o->scope_tasks, cap * sizeof *grown);
    if (!grown)
      return pto2__fail(rt, PTO2_E_NO_MEMORY, "Failed to grow scope task buffer to %u entries",
                        cap);
    o->scope_tasks = grown;
    o->scope_task_cap = cap;
  }
  o->scope_tasks[o->scope_task_count++] = s;
  return 0;
}

/* Steps 2-3: a slot for the new task, initialised and published. */
static int claim_slot(pto2_runtime *rt, pto2__ring *r, const lanes *l, const pto2_arg *a,
                      uint64_t bytes, pto2__slot **out, char **buf) {
  pto2__orch *o = &rt->orch;
  int rc = pto2__ring_alloc(rt, r, bytes, buf);
  if (rc) return rc;
  uint64_t local = r->next_local;
  pto2__slot *s = pto2__ring_slot(r, local);
  pto2__task_meta *m = pto2__ring_meta(r, local);
  s->payload = pto2__ring_next_payload(r); /* (R4) published with the task */
  if (m->tmap_chain) pto2__tmap_free_chain(&rt->tmap, &m->tmap_chain); /* (T3) */
  if (m->rmap_chain) pto2__tmap_free_chain(&rt->rmap, &m->rmap_chain);
  m->local = local;
  m->seq = o->tasks; /* backward edges trigger the cycle check */
  m->heap_end = r->heap.top;
  m->scope_depth = (uint16_t)(o->depth - 1);
  m->scope_seq = o->scopes[o->depth - 1].seq;
  m->held_depth = 0;
  pto2__slot_init(s, r->id, l->shape, l->mask, a->block_num);
  pto2__payload *pl = s->payload;
  pl->id.raw = ((uint64_t)(r->id + 1) << 56) | local; /* no issued id is zero */
  for (unsigned lane = 0; lane < PTO2__LANE_COUNT; lane++) pl->kernel[lane] = l->kernel[lane];
  rc = push_scope_task(rt, o, s);
  if (rc) return rc;
  PTO2_CHECK(rt, "R1", atomic_load_explicit(&r->head, memory_order_relaxed) == local);
  pto2__ring_publish_head(r, local);
  *out = s;
  return 0;
}

/* The next submit into this ring writes this slot and payload: fetch them
 * (for writing) while the orchestration code builds the next arguments. */
static void prefetch_next_slot(pto2__ring *r) {
  pto2__slot *s = pto2__ring_slot(r, r->next_local);
  __builtin_prefetch(s, 1);
  const char *pl = (const char *)pto2__ring_next_payload(r);
  for (unsigned off = 0; off < 1024; off += 64) __builtin_prefetch(pl + off, 1);
}

/* The submit path, specialised per scope mode and recording: `mode` and
 * `traced` are constants in every caller, so its policy (orch/policy.h)
 * folds at compile time, the AUTO path carries no manual or graph work and
 * the unrecorded path no recording. */
static inline __attribute__((always_inline)) pto2_task_id
submit(pto2_runtime *rt, pto2_mixed_kernels mk, pto2_arg *a, const char *api,
       pto2_scope_mode mode, bool traced) {
  pto2__orch *o = &rt->orch;
  const pto2__mode_policy *pol = pto2__policy(mode);
  uint64_t t0 = traced ? pto2__now_ns() : 0;
  if (PTO2_UNLIKELY(a->error)) {
    pto2__fail(rt, PTO2_E_INVALID_ARGS,
               "FATAL: Invalid Arg Detected! Error: %s (%s, %u tensors, %u scalars). This is a "
               "bug in the orchestration code.",
               a->error, api, a->tensor_count, a->scalar_count);
    return PTO2_TASK_ID_INVALID;
  }
  /* 1..32767 (pto2_arg_set_block_num); 0 is a zeroed, uninitialised arg. */
  if (PTO2_UNLIKELY((unsigned)a->block_num - 1u >= (unsigned)INT16_MAX)) {
    pto2__fail(rt, PTO2_E_INVALID_ARGS,
               "%s: block_num is %u, outside 1..32767: initialise the pto2_arg with "
               "pto2_arg_init() (a zeroed pto2_arg has block_num 0) and set it with "
               "pto2_arg_set_block_num()",
               api, (unsigned)a->block_num);
    return PTO2_TASK_ID_INVALID;
  }
  lanes l = {{-1, -1, -1}, 0, 0};
  uint64_t bytes = 0;
  uint64_t sizes[PTO2_MAX_TENSOR_ARGS]; /* of the OUTPUT args */
  arg_class c = {0, 0, 0};
  if (resolve_lanes(rt, mk, &l, api) || check_args(rt, a, api, &bytes, sizes, &c))
    return PTO2_TASK_ID_INVALID;
  pto2__ring *r = &rt->rings[o->ring];
  uint32_t in_scope = o->scope_task_count - o->scopes[o->depth - 1].begin;
  if (PTO2_UNLIKELY(in_scope >= r->mask + 1)) {
    /* The scope named as the hazard texts name it; the window must exceed
     * the scope's whole task count, which is not known yet: no number. */
    unsigned depth = o->depth - 1;
    unsigned mode = o->scopes[depth].mode;
    pto2__fail(rt, PTO2_E_SCOPE_DEADLOCK,
               "FATAL: Scope Deadlock Detected! (ring %u) the %s scope #%u (depth %u) submits "
               "more than %llu tasks, the task window of its ring: a scope's tasks cannot retire "
               "before it ends, so the window must be a power of two larger than the number of "
               "tasks one scope submits (pto2_config.task_window, Python "
               "Runtime(task_window=...), or the environment's PTO2_RING_TASK_WINDOW, which "
               "overrides both)%s",
               r->id,
               mode == PTO2_SCOPE_MANUAL        ? "MANUAL"
               : mode == PTO2_SCOPE_GRAPH       ? "GRAPH"
               : mode == PTO2_SCOPE_AUTO_STRICT ? "AUTO_STRICT"
                                                : "AUTO",
               o->scopes[depth].seq, depth, (unsigned long long)r->mask + 1,
               depth == 0 ? "; or wrap the loop body in an inner scope (PTO2_SCOPE, Python "
                            "with o.scope():) so each iteration's tasks retire at its end."
                          : "; or split the scope into smaller ones (an inner PTO2_SCOPE, Python "
                            "with o.scope():, per loop iteration).");
    return PTO2_TASK_ID_INVALID;
  }
  pto2__slot *s;
  char *buf;
  if (claim_slot(rt, r, &l, a, bytes, &s, &buf)) return PTO2_TASK_ID_INVALID;
  pto2__payload *pl = s->payload;
  pto2__task_meta *m = pto2__ring_meta(r, pto2_task_id_local(pl->id));
  found f;
  if (find_producers(rt, a, &c, pl->id, &f, pol, traced) ||
      record_writes(rt, a, pl->id, m, &f, pol))
    return PTO2_TASK_ID_INVALID;
  if (traced)
    s->rec = pto2__rec_task_add(rt, pl->id.raw, l.kernel, a->block_num, r->id, (uint8_t)mode,
                                 t0, f.ids, f.why, f.count, f.held_ids, f.holds);
  write_payload(pl, a, buf, pl->id, sizes);
  if (PTO2_UNLIKELY(rt->hz) && check_submit(rt, pl, a, &f)) return PTO2_TASK_ID_INVALID;
  bool deferred = pto2__policy_defers(pol, a->explicit_deps);
  /* Read before the publish below: after it the task may run and retire. */
  uint32_t rec = traced ? s->rec : 0;
  if (wire_and_publish(rt, r, s, m, &f, deferred)) return PTO2_TASK_ID_INVALID;
  o->tasks++;
  o->edges += f.count;
  if (traced) pto2__rec_submit_end(rt, rec, pto2__now_ns());
  prefetch_next_slot(r);
  return pl->id;
}

/* The recorded submit, kept out of line so that the unrecorded callers
 * stay as they were. */
static __attribute__((noinline)) pto2_task_id submit_traced(pto2_runtime *rt,
                                                            pto2_mixed_kernels mk, pto2_arg *a,
                                                            const char *api,
                                                            pto2_scope_mode mode) {
  if (mode == PTO2_SCOPE_AUTO) return submit(rt, mk, a, api, PTO2_SCOPE_AUTO, true);
  if (mode == PTO2_SCOPE_AUTO_STRICT) return submit(rt, mk, a, api, PTO2_SCOPE_AUTO_STRICT, true);
  if (mode == PTO2_SCOPE_MANUAL) return submit(rt, mk, a, api, PTO2_SCOPE_MANUAL, true);
  return submit(rt, mk, a, api, PTO2_SCOPE_GRAPH, true);
}

static pto2_task_id refuse_submit(pto2_runtime *rt, const char *api) {
  pto2__orch_refuse(rt, api);
  return PTO2_TASK_ID_INVALID;
}

/* A plain submit outside a plain AUTO scope: strict AUTO and GRAPH scopes
 * take it, MANUAL scopes require the manual submits. */
static pto2_task_id submit_not_auto(pto2_runtime *rt, pto2_mixed_kernels mk, pto2_arg *a,
                                    const char *api) {
  if (rt->orch.mode == PTO2_SCOPE_AUTO_STRICT) {
    if (PTO2_UNLIKELY(rt->tracing)) return submit_traced(rt, mk, a, api, PTO2_SCOPE_AUTO_STRICT);
    return submit(rt, mk, a, api, PTO2_SCOPE_AUTO_STRICT, false);
  }
  if (pto2__policy(rt->orch.mode)->plain_submit) {
    if (PTO2_UNLIKELY(rt->tracing)) return submit_traced(rt, mk, a, api, PTO2_SCOPE_GRAPH);
    return submit(rt, mk, a, api, PTO2_SCOPE_GRAPH, false);
  }
  pto2__fail(rt, PTO2_E_INVALID_ARGS,
             "%s: PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) requires pto2_submit_*_manual task APIs",
             api);
  return PTO2_TASK_ID_INVALID;
}

/* A NULL argument list fails the run like any other bad argument. */
static pto2_task_id null_args(pto2_runtime *rt, const char *api) {
  pto2__fail(rt, PTO2_E_INVALID_ARGS, "%s: the argument list (pto2_arg *) is NULL", api);
  return PTO2_TASK_ID_INVALID;
}

static pto2_task_id submit_plain(pto2_runtime *rt, pto2_mixed_kernels mk, pto2_arg *a,
                                 const char *api) {
  if (PTO2_UNLIKELY(!rt || !pto2__orch_ok(rt))) return refuse_submit(rt, api);
  if (PTO2_UNLIKELY(!a)) return null_args(rt, api);
  if (PTO2_UNLIKELY(rt->orch.mode != PTO2_SCOPE_AUTO)) return submit_not_auto(rt, mk, a, api);
  if (PTO2_UNLIKELY(rt->tracing)) return submit_traced(rt, mk, a, api, PTO2_SCOPE_AUTO);
  return submit(rt, mk, a, api, PTO2_SCOPE_AUTO, false);
}

static pto2_task_id submit_manual(pto2_runtime *rt, pto2_mixed_kernels mk, pto2_arg *a,
                                  const char *api) {
  if (PTO2_UNLIKELY(!rt || !pto2__orch_ok(rt))) return refuse_submit(rt, api);
  if (PTO2_UNLIKELY(!a)) return null_args(rt, api);
  if (PTO2_UNLIKELY(!pto2__policy(rt->orch.mode)->manual_submit)) {
    pto2__fail(rt, PTO2_E_INVALID_ARGS,
               "%s: manual submit APIs require PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL)", api);
    return PTO2_TASK_ID_INVALID;
  }
  if (PTO2_UNLIKELY(rt->tracing)) return submit_traced(rt, mk, a, api, PTO2_SCOPE_MANUAL);
  return submit(rt, mk, a, api, PTO2_SCOPE_MANUAL, false);
}

pto2_task_id pto2_submit_task(pto2_runtime *rt, pto2_mixed_kernels mk, pto2_arg *a) {
  return submit_plain(rt, mk, a, "pto2_submit_task");
}

pto2_task_id pto2_submit_aic(pto2_runtime *rt, int32_t kernel_id, pto2_arg *a) {
  pto2_mixed_kernels mk = {kernel_id, PTO2_NO_KERNEL, PTO2_NO_KERNEL};
  return submit_plain(rt, mk, a, "pto2_submit_aic");
}

pto2_task_id pto2_submit_aiv(pto2_runtime *rt, int32_t kernel_id, pto2_arg *a) {
  pto2_mixed_kernels mk = {PTO2_NO_KERNEL, kernel_id, PTO2_NO_KERNEL};
  return submit_plain(rt, mk, a, "pto2_submit_aiv");
}

pto2_task_id pto2_submit_task_manual(pto2_runtime *rt, pto2_mixed_kernels mk, pto2_arg *a) {
  return submit_manual(rt, mk, a, "pto2_submit_task_manual");
}

pto2_task_id pto2_submit_aic_manual(pto2_runtime *rt, int32_t kernel_id, pto2_arg *a) {
  pto2_mixed_kernels mk = {kernel_id, PTO2_NO_KERNEL, PTO2_NO_KERNEL};
  return submit_manual(rt, mk, a, "pto2_submit_aic_manual");
}

pto2_task_id pto2_submit_aiv_manual(pto2_runtime *rt, int32_t kernel_id, pto2_arg *a) {
  pto2_mixed_kernels mk = {PTO2_NO_KERNEL, kernel_id, PTO2_NO_KERNEL};
  return submit_manual(rt, mk, a, "pto2_submit_aiv_manual");
}

bool pto2_is_fatal(const pto2_runtime *rt) {
  if (!rt) return true;
  return atomic_load_explicit(&((pto2_runtime *)rt)->error, memory_order_relaxed) != 0;
}

/* ------------------------------------------------------------------------ */
/* Run lifecycle                                                             */
/* ------------------------------------------------------------------------ */

int pto2__orch_init(pto2_runtime *rt) {
  pto2__orch *o = &rt->orch;
  o->scope_task_cap = 1024;
  o->scope_tasks = pto2__alloc(&rt->cfg.allocator, o->scope_task_cap * sizeof *o->scope_tasks);
  if (!o->scope_tasks) return PTO2_E_NO_MEMORY;
  return pto2__rlog_init(&rt->rlog, RLOG_BUCKETS, &rt->cfg.allocator, log_reader_retired, rt);
}

void pto2__orch_fini(pto2_runtime *rt) {
  pto2__rlog_fini(&rt->rlog);
  pto2__free(&rt->cfg.allocator, rt->orch.scope_tasks);
  rt->orch.scope_tasks = 0;
}

void pto2__orch_run_begin(pto2_runtime *rt) {
  pto2__orch *o = &rt->orch;
  o->tasks = o->edges = 0;
  memset(o->blocked_ns, 0, sizeof o->blocked_ns);
  o->depth = 0;
  o->scope_task_count = 0;
  o->next_scope_seq = 0; /* scopes are numbered per run, the root scope 0 */
  for (unsigned i = 0; i < PTO2_RING_COUNT; i++) pto2__ring_run_begin(&rt->rings[i]);
  pto2_scope_mode root = rt->cfg.auto_strict ? PTO2_SCOPE_AUTO_STRICT : PTO2_SCOPE_AUTO;
  open_scope(rt, o, root); /* the root scope */
  if (PTO2_UNLIKELY(rt->tracing)) pto2__rec_scope_open(rt, root, o->ring, o->depth);
  o->active = true;
}

static bool all_retired(pto2_runtime *rt, void *ctx) {
  (void)ctx;
  bool done = true;
  for (unsigned i = 0; i < PTO2_RING_COUNT; i++) {
    pto2__ring *r = &rt->rings[i];
    pto2__ring_observe(rt, r);
    done = done && r->seen_alive == r->next_local;
  }
  return done;
}

int pto2__orch_run_end(pto2_runtime *rt) {
  pto2__orch *o = &rt->orch;
  if (!atomic_load_explicit(&rt->error, memory_order_relaxed)) {
    if (o->depth > 1)
      pto2__fail(rt, PTO2_E_INVALID_ARGS,
                 "%u scope(s) left open when the orchestration function returned: every "
                 "pto2_scope_begin needs a pto2_scope_end",
                 o->depth - 1);
    else
      close_scope(rt, o);
  }
  o->active = false;
  if (!atomic_load_explicit(&rt->error, memory_order_relaxed))
    pto2__orch_wait(rt, all_retired, 0, "the last tasks to finish");
  /* A kernel may have failed while the last tasks ran. */
  return atomic_load_explicit(&rt->error, memory_order_acquire);
}

void pto2__orch_reset(pto2_runtime *rt) {
  pto2__ready_batch_clear(&rt->batch);
  pto2__rlog_clear(&rt->rlog);
  rt->orch.depth = 0;
  rt->orch.scope_task_count = 0;
}

void pto2__orch_flush_ready(pto2_runtime *rt) {
  pto2__ready_batch_flush(rt, &rt->batch);
  /* A successor lined up on this thread by its last completion would wait
   * until the next wait: hand it to the executors. */
  pto2__executor *self = &rt->executors[0];
  if (self->next) {
    pto2__push_ready(rt, self->next);
    self->next = 0;
  }
}
