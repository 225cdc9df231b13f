/*
 * TensorMap: theory of operation.
 *
 * Maps an allocation's base address to the regions most recently written in
 * it (by INOUT and OUTPUT_EXISTING arguments), each with its writer task, so
 * a later access finds the tasks it must wait for.  Only the orchestrator
 * touches the map, so it takes no lock.
 *
 *  (T1) Entries are grouped by allocation (the key is the base address): a
 *       hash bucket chains the allocations' records, a record lists its
 *       entries newest first.  A record with TMAP_TREE_MIN or more entries
 *       also indexes them in an interval tree over their bounding byte
 *       ranges (a treap keyed by the range's start, each node holding the
 *       largest end in its subtree), so a lookup visits only entries whose
 *       byte range meets the access's, plus O(log n) tree nodes: its cost
 *       does not grow with the number of disjoint regions written in one
 *       allocation.  The tree is dropped again below TMAP_TREE_MIN / 4
 *       entries.  A record that loses its last entry stays linked for the
 *       insert that usually follows (an INOUT replacing the entry it
 *       covers); once more than PTO2__TMAP_EMPTY_SWEEP records are empty,
 *       a sweep of the buckets frees them all.
 *  (T8) The tree's key is the byte range for most entries; but when an
 *       allocation with a tree has a *grid* (the rank, dtype, version, raw
 *       layout and shape of one of its views of rank 2 or more, chosen
 *       when the tree is built, and again whenever no entry uses it), an
 *       entry of exactly that layout and shape whose offsets are multiples
 *       of the shape (a tile of a regular tiling) is keyed by its tile's
 *       row-major cell index instead, in a key range of its own (from
 *       PTO2__TMAP_CELL_KEY on).  Tiles of one row band have intersecting
 *       byte ranges but distinct cells: an access with the grid's layout
 *       (rank, dtype, version, raw layout; any shape and offsets) queries
 *       the cells its box meets per dimension, so it visits only the tiles
 *       it overlaps, plus O(log n) tree nodes per run of consecutive
 *       cells; any other access queries every cell of the tile rows its
 *       byte range meets (a superset: the byte ranges of other tiles).
 *       Entries not on the grid are found by byte range as before.
 *  (T2) Lookups return every overlapping entry, in no particular order:
 *       there is no result limit.
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
 *       accumulators short.  In an allocation with a tree, a superseded
 *       entry with the same byte range as the access stays in the tree,
 *       dead (lookups skip it), until the access's own insert takes its
 *       place (the common accumulator case: no tree update at all) or
 *       another entry is parked; one per allocation.
 *  (T5) Overlap is decided per dimension when both regions share the raw
 *       layout (rank, dtype, raw shapes and raw origin); otherwise from their
 *       bounding byte ranges, conservatively (never COVERED).
 *  (T6) By T3 a runtime-created buffer whose creator's chain is empty has
 *       no entry, so the orchestrator skips its lookup without probing a
 *       bucket; unless caller memory was ever keyed inside a ring heap
 *       (caller_keys_in_heap), where it could share the buffer's key.
 *  (T7) An INOUT access in a plain AUTO scope that covers an entry with
 *       exactly its region (same layout, offsets and shapes) keeps the
 *       entry and takes it over (pto2__tmap_reuse) when it records its
 *       write: the writer becomes the access's task, the entry moves to
 *       the front of its allocation's list and into the chain T3 names,
 *       and its region, byte range and tree position stay as they are.
 *       Same result as removing it and inserting the access's entry.
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

enum {
  PTO2__TMAP_TREE_MIN = 16,  /* entries on one allocation that get an interval tree */
  PTO2__TMAP_HITS_INITIAL = 64,
  PTO2__TMAP_EMPTY_SWEEP = 1024, /* linked records without entries that trigger a sweep */
  PTO2__TMAP_CELL_RUNS = 32, /* (T8) most runs of cells one lookup queries separately */
};

/* (T8) Tree keys from here on are grid cells; byte ranges stay below
 * (a view's bytes lie below 2^48: pto2__extent_bytes). */
#define PTO2__TMAP_CELL_KEY (UINT64_C(1) << 62)

struct pto2__tmap_alloc;

typedef struct pto2__tmap_entry {
  /* What a tree walk reads, in the first cache line. */
  struct pto2__tmap_entry *left, *right; /* the allocation's interval tree, if any */
  uint64_t klo, khi;                     /* tree key: byte range or grid cell (T8) */
  uint64_t max_hi;                       /* largest khi in this tree node's subtree */
  uint32_t prio;                         /* treap priority: a parent's is >= its children's */
  uint8_t dead;                          /* superseded, parked in the tree (T4) */
  uint8_t dtype;
  uint64_t lo, hi;                       /* bounding byte range */
  void *addr;
  struct pto2__tmap_alloc *alloc;
  struct pto2__tmap_entry *next, **pprev; /* the allocation's list, newest first */
  pto2_task_id producer;
  int32_t version;
  uint8_t ndims;
  uint32_t shapes[PTO2_MAX_DIMS];
  uint32_t offsets[PTO2_MAX_DIMS];
  uint32_t raw_shapes[PTO2_MAX_DIMS];
  uint64_t raw_origin;
  struct pto2__tmap_entry *chain_next, **chain_pprev;
} pto2__tmap_entry;

/* Geometry of an access, computed once per lookup or insert. */
typedef struct pto2__region {
  const pto2_tensor *t;
  uint64_t raw_origin;
  uint64_t lo, hi;
} pto2__region;

/* (T8) The tiling of an allocation whose tiles its tree keys by cell. */
typedef struct pto2__tmap_grid {
  uint8_t ndims; /* 0: no grid */
  uint8_t dtype;
  int32_t version;
  uint32_t nodes;           /* tree nodes keyed by cell, the parked one included */
  uint64_t raw_origin;      /* in elements, as pto2__tensor_raw_origin() */
  uint64_t row_elems;       /* raw elements per index of dimension 0 */
  uint64_t base, span;      /* the raw layout's bytes: [base, base + span) */
  uint32_t raw_shapes[PTO2_MAX_DIMS];
  uint32_t tile[PTO2_MAX_DIMS];   /* the tiles' shapes */
  uint32_t cells[PTO2_MAX_DIMS];  /* tiles per dimension */
  uint64_t cstride[PTO2_MAX_DIMS]; /* cell-index stride of each dimension */
} pto2__tmap_grid;

/* The entries of one allocation (T1). */
typedef struct pto2__tmap_alloc {
  void *addr;
  struct pto2__tmap_alloc *bucket_next, **bucket_pprev;
  pto2__tmap_entry *entries; /* newest first */
  pto2__tmap_entry *root;    /* interval tree over the entries, or NULL */
  pto2__tmap_entry *dead;    /* a superseded entry parked in the tree, or NULL (T4) */
  uint32_t count;
  pto2__tmap_grid grid;      /* (T8) with a tree only */
} pto2__tmap_alloc;

typedef struct pto2__tmap_chunk pto2__tmap_chunk;
typedef struct pto2__tmap_alloc_chunk pto2__tmap_alloc_chunk;

typedef struct pto2__tensormap {
  pto2__tmap_alloc **buckets;
  uint32_t bucket_shift;   /* 64 - log2(bucket count) */
  uint32_t bucket_count;
  pto2__tmap_entry *free_list;
  pto2__tmap_chunk *chunks; /* newest first */
  const pto2_allocator *mem; /* the runtime's (pto2_config.allocator) */
  uint32_t chunk_used;      /* entries handed out from chunks->entries */
  pto2__tmap_alloc *alloc_free;
  uint32_t empty_count;      /* linked records without entries (T1) */
  pto2__tmap_alloc_chunk *alloc_chunks;
  pto2__tmap_entry **hits;  /* pto2__tmap_candidates()'s result */
  uint32_t hits_cap;
  uint32_t rng;             /* treap priorities */
  uint64_t live, high_water;
  /* Set by the orchestrator when caller memory is keyed inside a ring
   * heap, where it could share a created buffer's key (T6); cleared with
   * the map. */
  bool caller_keys_in_heap;
  const void *caller_key_seen; /* the last caller key checked for that */
} pto2__tensormap;

int pto2__tmap_init(pto2__tensormap *m, uint32_t bucket_count, uint32_t initial_entries,
                    const pto2_allocator *a);
void pto2__tmap_fini(pto2__tensormap *m);
/* Drops every entry; the caller clears the chain heads it holds. */
void pto2__tmap_clear(pto2__tensormap *m);

static inline uint32_t pto2__tmap_bucket(const pto2__tensormap *m, const void *addr) {
  return (uint32_t)(((uint64_t)(uintptr_t)addr * UINT64_C(0x9E3779B97F4A7C15)) >> m->bucket_shift);
}

/* The record of `addr`'s entries, or NULL (it may have none: count 0). */
static inline pto2__tmap_alloc *pto2__tmap_find_alloc(const pto2__tensormap *m, const void *addr) {
  pto2__tmap_alloc *a = m->buckets[pto2__tmap_bucket(m, addr)];
  while (a && a->addr != addr) a = a->bucket_next;
  return a;
}

static inline void pto2__region_init(pto2__region *g, const pto2_tensor *t) {
  g->t = t;
  g->raw_origin = pto2__tensor_raw_origin(t);
  pto2__tensor_byte_range(t, &g->lo, &g->hi);
}

/* Two views of one layout, dimension by dimension: disjoint, or the view
 * (offsets, shapes) inside `t` (covered), or overlapping otherwise. */
static inline pto2__overlap pto2__box_overlap(unsigned ndims, const uint32_t *offsets,
                                              const uint32_t *shapes, const pto2_tensor *t) {
  bool covered = true;
  for (unsigned d = 0; d < ndims; d++) {
    uint64_t eb = offsets[d], ee = eb + shapes[d];
    uint64_t ib = t->offsets[d], ie = ib + t->shapes[d];
    if (!(ee > ib && ie > eb)) return PTO2__NO_OVERLAP;
    covered = covered && ib <= eb && ee <= ie;
  }
  return covered ? PTO2__OVERLAP_COVERED : PTO2__OVERLAP_OTHER;
}

/* (T5) Classifies an access region against an entry of the same allocation. */
static inline pto2__overlap pto2__tmap_overlap(const pto2__tmap_entry *e, const pto2__region *g) {
  const pto2_tensor *t = g->t;
  bool intersect = e->lo < g->hi && g->lo < e->hi;
  if (e->version != t->version) return intersect ? PTO2__OVERLAP_OTHER : PTO2__NO_OVERLAP;
  /* Element indices compare only under one dtype: a float16 row and a
   * float32 row of the same raw shape are different bytes. */
  bool same_layout = e->ndims == t->ndims && e->dtype == t->dtype && e->raw_origin == g->raw_origin;
  for (unsigned d = 0; same_layout && d < e->ndims; d++)
    same_layout = e->raw_shapes[d] == t->raw_shapes[d];
  if (!same_layout) return intersect ? PTO2__OVERLAP_OTHER : PTO2__NO_OVERLAP;
  if (!intersect) return PTO2__NO_OVERLAP;
  return pto2__box_overlap(e->ndims, e->offsets, e->shapes, t);
}

/* (T7) True if entry `e` holds exactly the region of `g`: same byte range,
 * version and layout (T5), same offsets and shapes; then
 * pto2__tmap_overlap() would classify it COVERED.  Cheaper than that test
 * for the in-place accumulator, and rejects most other entries at the
 * byte range. */
static inline bool pto2__tmap_same_region(const pto2__tmap_entry *e, const pto2__region *g) {
  const pto2_tensor *t = g->t;
  if (e->lo != g->lo || e->hi != g->hi || e->version != t->version || e->ndims != t->ndims ||
      e->raw_origin != g->raw_origin)
    return false;
  unsigned diff = 0;
  for (unsigned d = 0; d < t->ndims; d++)
    diff |= (e->offsets[d] ^ t->offsets[d]) | (e->shapes[d] ^ t->shapes[d]) |
            (e->raw_shapes[d] ^ t->raw_shapes[d]);
  return diff == 0;
}

/* (T7) Makes `producer` the writer of the live entry `e` and moves it to
 * the front of its allocation's list and of the chain whose head is
 * *chain, as if it had been removed and inserted again. */
void pto2__tmap_reuse(pto2__tensormap *m, pto2__tmap_entry *e, pto2_task_id producer,
                      void **chain);

/* Adds an entry for `g` written by `producer` and links it into the chain
 * whose head is *chain.  Returns NULL when memory runs out. */
pto2__tmap_entry *pto2__tmap_insert(pto2__tensormap *m, const pto2__region *g,
                                    pto2_task_id producer, void **chain);
/* Removes `e` from the map and its chain.  May free records without
 * entries (T1), never one with entries. */
void pto2__tmap_remove(pto2__tensormap *m, pto2__tmap_entry *e);

/* (T4) Removes `e`, which the access `g` covers, as pto2__tmap_remove()
 * does; but when g has e's byte range, e may stay parked in the tree for
 * g's insert. */
void pto2__tmap_supersede(pto2__tensormap *m, pto2__tmap_entry *e, const pto2__region *g);

int pto2__tmap_tree_candidates(pto2__tensormap *m, const pto2__tmap_alloc *a,
                               const pto2__region *g);
int pto2__tmap_hits_grow(pto2__tensormap *m);

/* Stores in m->hits, each once, a superset of the entries of `a` (the
 * record of g's allocation) that pto2__tmap_overlap() does not classify
 * NO_OVERLAP: without a tree every entry whose bounding byte range meets
 * g's (overlap needs intersecting byte ranges); with one, also leaving out
 * grid tiles whose box misses g's (T8).  Returns their number, or -1 when
 * memory runs out.  The result stays valid while no entry is inserted or removed,
 * except that removing an entry of the result leaves the others valid. */
static inline int pto2__tmap_candidates(pto2__tensormap *m, const pto2__tmap_alloc *a,
                                        const pto2__region *g) {
  if (a->root) return pto2__tmap_tree_candidates(m, a, g);
  uint32_t n = 0;
  for (pto2__tmap_entry *e = a->entries; e; e = e->next) {
    if (!(e->lo < g->hi && g->lo < e->hi)) continue;
    if (n == m->hits_cap && pto2__tmap_hits_grow(m)) return -1;
    m->hits[n++] = e;
  }
  return (int)n;
}
/* Frees every entry of a task's chain and empties it. */
void pto2__tmap_free_chain(pto2__tensormap *m, void **chain);

#endif
