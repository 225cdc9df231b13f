/*
 * TensorMap: theory of operation.
 *
 * Maps an allocation's base address to the regions most recently written in
 * it (by INOUT and OUTPUT_EXISTING arguments), each with its writer task, so
 * a later access finds the tasks it must wait for.  Only the orchestrator
 * touches the map, so it takes no lock.
 *
 *  (T1) Every view of one allocation hashes to one bucket (the key is the
 *       base address); a bucket chain is newest first.
 *  (T2) Lookups return every overlapping entry: there is no result limit.
 *       The caller enforces PTO2_MAX_FANIN with an explicit error.
 *  (T3) An entry whose writer has retired is still returned (the caller
 *       treats the writer as finished); entries are freed when the task
 *       they are chained to retires: the allocation's creator for a
 *       runtime-created buffer (the entries die with the buffer), the writer
 *       itself for caller-owned memory.  A slot's chain is emptied before
 *       the slot is reused, so a chain only ever holds entries of the task
 *       now in the slot.
 *  (T4) An INOUT access whose region COVERS an entry supersedes it: the
 *       entry is removed at once, which keeps chains of in-place
 *       accumulators short.
 *  (T5) Overlap is decided per dimension when both regions share the raw
 *       layout (rank, raw shapes and raw origin); otherwise from their
 *       bounding byte ranges, conservatively (never COVERED).
 */
#ifndef PTO2_DEPS_TENSORMAP_H
#define PTO2_DEPS_TENSORMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "deps/tensor.h"
#include "pto2/pto2.h"

typedef enum pto2__overlap {
  PTO2__NO_OVERLAP = 0,
  PTO2__OVERLAP_COVERED = 1, /* the access region contains the entry's region */
  PTO2__OVERLAP_OTHER = 2,
} pto2__overlap;

typedef struct pto2__tmap_entry {
  void *addr;
  struct pto2__tmap_entry *bucket_next, **bucket_pprev;
  pto2_task_id producer;
  int32_t version;
  uint8_t ndims;
  uint32_t shapes[PTO2_MAX_DIMS];
  uint32_t offsets[PTO2_MAX_DIMS];
  uint32_t raw_shapes[PTO2_MAX_DIMS];
  uint64_t raw_origin;
  uint64_t lo, hi; /* bounding byte range */
  struct pto2__tmap_entry *chain_next, **chain_pprev;
} pto2__tmap_entry;

/* Geometry of an access, computed once per lookup or insert. */
typedef struct pto2__region {
  const pto2_tensor *t;
  uint64_t raw_origin;
  uint64_t lo, hi;
} pto2__region;

typedef struct pto2__tmap_chunk pto2__tmap_chunk;

typedef struct pto2__tensormap {
  pto2__tmap_entry **buckets;
  uint32_t bucket_shift;   /* 64 - log2(bucket count) */
  uint32_t bucket_count;
  pto2__tmap_entry *free_list;
  pto2__tmap_chunk *chunks; /* newest first */
  uint32_t chunk_used;      /* entries handed out from chunks->entries */
  uint64_t live, high_water;
} pto2__tensormap;

int pto2__tmap_init(pto2__tensormap *m, uint32_t bucket_count, uint32_t initial_entries);
void pto2__tmap_fini(pto2__tensormap *m);
/* Drops every entry; the caller clears the chain heads it holds. */
void pto2__tmap_clear(pto2__tensormap *m);

static inline uint32_t pto2__tmap_bucket(const pto2__tensormap *m, const void *addr) {
  return (uint32_t)(((uint64_t)(uintptr_t)addr * UINT64_C(0x9E3779B97F4A7C15)) >> m->bucket_shift);
}

static inline void pto2__region_init(pto2__region *g, const pto2_tensor *t) {
  g->t = t;
  g->raw_origin = pto2__tensor_raw_origin(t);
  pto2__tensor_byte_range(t, &g->lo, &g->hi);
}

/* (T5) Classifies an access region against an entry of the same allocation. */
static inline pto2__overlap pto2__tmap_overlap(const pto2__tmap_entry *e, const pto2__region *g) {
  const pto2_tensor *t = g->t;
  bool intersect = e->lo < g->hi && g->lo < e->hi;
  if (e->version != t->version) return intersect ? PTO2__OVERLAP_OTHER : PTO2__NO_OVERLAP;
  bool same_layout = e->ndims == t->ndims && e->raw_origin == g->raw_origin;
  for (unsigned d = 0; same_layout && d < e->ndims; d++)
    same_layout = e->raw_shapes[d] == t->raw_shapes[d];
  if (!same_layout) return intersect ? PTO2__OVERLAP_OTHER : PTO2__NO_OVERLAP;
  if (!intersect) return PTO2__NO_OVERLAP;
  bool covered = true;
  for (unsigned d = 0; d < e->ndims; d++) {
    uint64_t eb = e->offsets[d], ee = eb + e->shapes[d];
    uint64_t ib = t->offsets[d], ie = ib + t->shapes[d];
    if (!(ee > ib && ie > eb)) return PTO2__NO_OVERLAP;
    covered = covered && ib <= eb && ee <= ie;
  }
  return covered ? PTO2__OVERLAP_COVERED : PTO2__OVERLAP_OTHER;
}

/* Adds an entry for `g` written by `producer` and links it into the chain
 * whose head is *chain.  Returns NULL when memory runs out. */
pto2__tmap_entry *pto2__tmap_insert(pto2__tensormap *m, const pto2__region *g,
                                    pto2_task_id producer, void **chain);
void pto2__tmap_remove(pto2__tensormap *m, pto2__tmap_entry *e);
/* Frees every entry of a task's chain and empties it. */
void pto2__tmap_free_chain(pto2__tensormap *m, void **chain);

#endif
