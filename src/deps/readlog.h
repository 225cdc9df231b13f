/*
 * Reader log: the reads of caller-owned memory in strict AUTO scopes.
 *
 * A strict writer must wait for every earlier reader of an overlapping
 * region still in flight.  Most caller memory is only read (weights, key and
 * value caches, inputs), often by thousands of tasks in flight, so recording
 * a read must cost next to nothing; the cost belongs to the writers.
 *
 *  (L1) One record per allocation (keyed by base address, like the
 *       TensorMap) holds an append-only array of its reads: the reader's id
 *       and a copy of the tensor read.  Recording a read is a hash lookup and
 *       a copy: no index, no task chain, nothing to undo when the reader
 *       retires.  Only the orchestrator touches the log: no lock.
 *  (L2) An entry dies when its reader retires (the ring's watermark passes
 *       it: the `retired` callback) or when a writer covering its region
 *       removes it (as in the TensorMap, T4: later writers find that
 *       writer instead).  Dead entries are dropped lazily: a full array is
 *       compacted first (order kept) and only doubled when compaction
 *       leaves it more than half full, so it stays within twice the most
 *       live reads it held and compaction costs O(1) amortized per read;
 *       a writer's walk compacts the array it walks.
 *  (L3) A writer walks the whole array of its allocation (O(entries)).
 *       When a walk leaves more than PTO2__RLOG_INDEX_MIN live entries, the
 *       caller moves them to the reader map (an interval tree, deps/
 *       tensormap.h T1) and marks the record *indexed*: later reads of that
 *       allocation go to the reader map, so allocations both read and
 *       written in bulk keep logarithmic lookups.
 *  (L4) Records of allocations without live entries are freed by a sweep
 *       once the number of records doubles.
 */
#ifndef PTO2_DEPS_READLOG_H
#define PTO2_DEPS_READLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "deps/tensormap.h"
#include "pto2/pto2.h"

enum {
  PTO2__RLOG_INITIAL = 16,   /* entries of a new record's array */
  PTO2__RLOG_INDEX_MIN = 64, /* live entries after a writer's walk that index the record (L3) */
  PTO2__RLOG_SWEEP_MIN = 64, /* records before the first sweep (L4) */
};

typedef struct pto2__rlog_entry {
  pto2_task_id reader;
  pto2_tensor t; /* the region read; ndims 0 once a writer removed it (L2) */
} pto2__rlog_entry;

typedef struct pto2__rlog {
  void *addr;
  struct pto2__rlog *next; /* hash chain */
  pto2__rlog_entry *v;
  uint32_t count, cap;
  bool indexed; /* reads go to the reader map (L3) */
} pto2__rlog;

typedef bool (*pto2__rlog_retired_fn)(void *ctx, pto2_task_id reader);

typedef struct pto2__readlog {
  pto2__rlog **buckets;
  uint32_t bucket_shift; /* 64 - log2(bucket count) */
  uint32_t bucket_count;
  uint32_t records, sweep_at;
  const pto2_allocator *mem;
  pto2__rlog_retired_fn retired;
  void *ctx;
} pto2__readlog;

int pto2__rlog_init(pto2__readlog *L, uint32_t bucket_count, const pto2_allocator *a,
                    pto2__rlog_retired_fn retired, void *ctx);
void pto2__rlog_fini(pto2__readlog *L);
/* Drops every record. */
void pto2__rlog_clear(pto2__readlog *L);

static inline pto2__rlog *pto2__rlog_find(const pto2__readlog *L, const void *addr) {
  uint32_t b = (uint32_t)(((uint64_t)(uintptr_t)addr * UINT64_C(0x9E3779B97F4A7C15)) >> L->bucket_shift);
  pto2__rlog *r = L->buckets[b];
  while (r && r->addr != addr) r = r->next;
  return r;
}

/* Slow paths of pto2__rlog_append: a new record, a full array. */
int pto2__rlog_append_slow(pto2__readlog *L, pto2__rlog *r, const pto2_tensor *t,
                           pto2_task_id reader);

/* Records that `reader` reads `t` (caller memory).  Returns 0, 1 when the
 * allocation is indexed (the caller records the read in the reader map
 * instead, L3), or PTO2_E_NO_MEMORY. */
static inline int pto2__rlog_append(pto2__readlog *L, const pto2_tensor *t, pto2_task_id reader) {
  pto2__rlog *r = pto2__rlog_find(L, t->addr);
  if (!r || r->count == r->cap) return pto2__rlog_append_slow(L, r, t, reader);
  if (r->indexed) return 1;
  pto2__rlog_entry *e = &r->v[r->count++];
  e->reader = reader;
  e->t = *t;
  return 0;
}

/* An entry's region against an access `g` of the same allocation: the
 * TensorMap's test (deps/tensormap.h T5), the entry's geometry computed
 * here rather than at the read. */
static inline pto2__overlap pto2__rlog_overlap(const pto2_tensor *e, const pto2__region *g) {
  const pto2_tensor *t = g->t;
  uint64_t lo, hi;
  pto2__tensor_byte_range(e, &lo, &hi);
  if (!(lo < g->hi && g->lo < hi)) return PTO2__NO_OVERLAP;
  if (e->version != t->version || e->ndims != t->ndims || e->dtype != t->dtype ||
      pto2__tensor_raw_origin(e) != g->raw_origin)
    return PTO2__OVERLAP_OTHER;
  for (unsigned d = 0; d < e->ndims; d++)
    if (e->raw_shapes[d] != t->raw_shapes[d]) return PTO2__OVERLAP_OTHER;
  return pto2__box_overlap(e->ndims, e->offsets, e->shapes, t);
}

#endif
