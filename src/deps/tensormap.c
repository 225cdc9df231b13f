#include "deps/tensormap.h"

#include <string.h>

#include "util/alloc.h"

struct pto2__tmap_chunk {
  pto2__tmap_chunk *next;
  uint32_t capacity;
  pto2__tmap_entry entries[];
};

enum { ALLOC_CHUNK = 256 };

struct pto2__tmap_alloc_chunk {
  pto2__tmap_alloc_chunk *next;
  pto2__tmap_alloc records[ALLOC_CHUNK];
};

static int add_chunk(pto2__tensormap *m, uint32_t capacity) {
  pto2__tmap_chunk *c = pto2__alloc(m->mem, sizeof *c + (size_t)capacity * sizeof(pto2__tmap_entry));
  if (!c) return PTO2_E_NO_MEMORY;
  c->capacity = capacity;
  c->next = m->chunks;
  m->chunks = c;
  m->chunk_used = 0;
  return 0;
}

int pto2__tmap_init(pto2__tensormap *m, uint32_t bucket_count, uint32_t initial_entries,
                    const pto2_allocator *a) {
  memset(m, 0, sizeof *m);
  m->mem = a;
  m->bucket_count = bucket_count;
  m->bucket_shift = 64u - (uint32_t)__builtin_ctz(bucket_count);
  m->rng = 0x9E3779B9u;
  m->buckets = pto2__zalloc(a, bucket_count * sizeof *m->buckets);
  m->hits = pto2__alloc(a, PTO2__TMAP_HITS_INITIAL * sizeof *m->hits);
  if (!m->buckets || !m->hits) return PTO2_E_NO_MEMORY;
  m->hits_cap = PTO2__TMAP_HITS_INITIAL;
  return add_chunk(m, initial_entries);
}

static void free_alloc_chunks(pto2__tensormap *m) {
  while (m->alloc_chunks) {
    pto2__tmap_alloc_chunk *next = m->alloc_chunks->next;
    pto2__free(m->mem, m->alloc_chunks);
    m->alloc_chunks = next;
  }
  m->alloc_free = 0;
}

void pto2__tmap_fini(pto2__tensormap *m) {
  while (m->chunks) {
    pto2__tmap_chunk *next = m->chunks->next;
    pto2__free(m->mem, m->chunks);
    m->chunks = next;
  }
  free_alloc_chunks(m);
  pto2__free(m->mem, m->buckets);
  pto2__free(m->mem, m->hits);
  m->buckets = 0;
  m->hits = 0;
}

void pto2__tmap_clear(pto2__tensormap *m) {
  /* Keep only the oldest (initial) chunk. */
  while (m->chunks && m->chunks->next) {
    pto2__tmap_chunk *next = m->chunks->next;
    pto2__free(m->mem, m->chunks);
    m->chunks = next;
  }
  free_alloc_chunks(m);
  m->empty_count = 0;
  memset(m->buckets, 0, m->bucket_count * sizeof *m->buckets);
  m->free_list = 0;
  m->chunk_used = 0;
  m->live = 0;
  m->caller_keys_in_heap = false;
  m->caller_key_seen = 0;
}

int pto2__tmap_hits_grow(pto2__tensormap *m) {
  pto2__tmap_entry **h = pto2__realloc(m->mem, m->hits, 2 * (size_t)m->hits_cap * sizeof *h);
  if (!h) return PTO2_E_NO_MEMORY;
  m->hits = h;
  m->hits_cap *= 2;
  return 0;
}

static pto2__tmap_entry *new_entry(pto2__tensormap *m) {
  pto2__tmap_entry *e = m->free_list;
  if (e) {
    m->free_list = e->next;
    return e;
  }
  if (m->chunk_used == m->chunks->capacity &&
      add_chunk(m, m->chunks->capacity) != 0) /* grow by the current size */
    return 0;
  return &m->chunks->entries[m->chunk_used++];
}

static void free_alloc(pto2__tensormap *m, pto2__tmap_alloc *a) {
  *a->bucket_pprev = a->bucket_next;
  if (a->bucket_next) a->bucket_next->bucket_pprev = a->bucket_pprev;
  a->bucket_next = m->alloc_free;
  m->alloc_free = a;
}

/* Frees every linked record without entries. */
static void sweep_empty(pto2__tensormap *m) {
  for (uint32_t i = 0; i < m->bucket_count; i++)
    for (pto2__tmap_alloc *a = m->buckets[i], *next; a; a = next) {
      next = a->bucket_next;
      if (!a->count) free_alloc(m, a);
    }
  m->empty_count = 0;
}

/* The record of `addr`, created (empty) when it has none. */
static pto2__tmap_alloc *get_alloc(pto2__tensormap *m, void *addr) {
  pto2__tmap_alloc **bucket = &m->buckets[pto2__tmap_bucket(m, addr)];
  for (pto2__tmap_alloc *a = *bucket; a; a = a->bucket_next)
    if (a->addr == addr) {
      m->empty_count -= a->count == 0; /* about to get an entry */
      return a;
    }
  if (!m->alloc_free) {
    pto2__tmap_alloc_chunk *c = pto2__alloc(m->mem, sizeof *c);
    if (!c) return 0;
    c->next = m->alloc_chunks;
    m->alloc_chunks = c;
    for (unsigned i = 0; i < ALLOC_CHUNK; i++) {
      c->records[i].bucket_next = m->alloc_free;
      m->alloc_free = &c->records[i];
    }
  }
  pto2__tmap_alloc *a = m->alloc_free;
  m->alloc_free = a->bucket_next;
  a->addr = addr;
  a->entries = 0;
  a->root = 0;
  a->dead = 0;
  a->count = 0;
  a->grid.ndims = 0;
  a->grid.nodes = 0;
  a->bucket_next = *bucket;
  a->bucket_pprev = bucket;
  if (*bucket) (*bucket)->bucket_pprev = &a->bucket_next;
  *bucket = a;
  return a;
}

/* ------------------------------------------------------------------------ */
/* Interval tree: a treap ordered by (klo, address), max_hi per subtree.     */
/* ------------------------------------------------------------------------ */

static bool before(const pto2__tmap_entry *a, const pto2__tmap_entry *b) {
  return a->klo < b->klo || (a->klo == b->klo && (uintptr_t)a < (uintptr_t)b);
}

static void fix(pto2__tmap_entry *n) {
  uint64_t h = n->khi;
  if (n->left && n->left->max_hi > h) h = n->left->max_hi;
  if (n->right && n->right->max_hi > h) h = n->right->max_hi;
  n->max_hi = h;
}

static pto2__tmap_entry *rotate_right(pto2__tmap_entry *n) {
  pto2__tmap_entry *l = n->left;
  n->left = l->right;
  fix(n);
  l->right = n;
  fix(l);
  return l;
}

static pto2__tmap_entry *rotate_left(pto2__tmap_entry *n) {
  pto2__tmap_entry *r = n->right;
  n->right = r->left;
  fix(n);
  r->left = n;
  fix(r);
  return r;
}

/* Inserts `e` (a leaf with max_hi = khi) below `root`.  A node that does not
 * rotate only needs its max_hi raised to e's khi. */
static pto2__tmap_entry *tree_insert(pto2__tmap_entry *root, pto2__tmap_entry *e) {
  if (!root) return e;
  if (e->khi > root->max_hi) root->max_hi = e->khi;
  if (before(e, root)) {
    root->left = tree_insert(root->left, e);
    if (root->left->prio > root->prio) root = rotate_right(root);
  } else {
    root->right = tree_insert(root->right, e);
    if (root->right->prio > root->prio) root = rotate_left(root);
  }
  return root;
}

/* Joins two treaps, every key of `a` before every key of `b`. */
static pto2__tmap_entry *merge(pto2__tmap_entry *a, pto2__tmap_entry *b) {
  if (!a) return b;
  if (!b) return a;
  if (a->prio > b->prio) {
    a->right = merge(a->right, b);
    fix(a);
    return a;
  }
  b->left = merge(a, b->left);
  fix(b);
  return b;
}

/* Removes `e` from below `root`.  Only nodes whose max_hi was e's khi can
 * have a smaller one afterwards. */
static pto2__tmap_entry *tree_remove(pto2__tmap_entry *root, pto2__tmap_entry *e) {
  if (root == e) return merge(e->left, e->right);
  if (before(e, root)) root->left = tree_remove(root->left, e);
  else root->right = tree_remove(root->right, e);
  if (root->max_hi == e->khi) fix(root);
  return root;
}

static void tree_add(pto2__tensormap *m, pto2__tmap_alloc *a, pto2__tmap_entry *e) {
  a->grid.nodes += e->klo >= PTO2__TMAP_CELL_KEY;
  m->rng ^= m->rng << 13; /* xorshift32 */
  m->rng ^= m->rng >> 17;
  m->rng ^= m->rng << 5;
  e->prio = m->rng;
  e->dead = 0;
  e->left = e->right = 0;
  e->max_hi = e->khi;
  a->root = tree_insert(a->root, e);
}

static void tree_del(pto2__tmap_alloc *a, pto2__tmap_entry *e) {
  a->grid.nodes -= e->klo >= PTO2__TMAP_CELL_KEY;
  a->root = tree_remove(a->root, e);
}

/* Appends to m->hits the entries of the subtree `n` whose key [klo, khi)
 * meets [lo, hi); returns the new count or -1. */
static int tree_query(pto2__tensormap *m, const pto2__tmap_entry *n, uint64_t lo, uint64_t hi,
                      int count) {
  while (n && n->max_hi > lo) {
    if (n->left && n->left->max_hi > lo) {
      count = tree_query(m, n->left, lo, hi, count);
      if (count < 0) return count;
    }
    if (n->klo >= hi) break; /* so does every entry to the right */
    if (n->khi > lo && !n->dead) {
      if ((uint32_t)count == m->hits_cap && pto2__tmap_hits_grow(m)) return -1;
      m->hits[count++] = (pto2__tmap_entry *)n;
    }
    n = n->right;
  }
  return count;
}

/* ------------------------------------------------------------------------ */
/* (T8) The grid: tiles keyed by cell.                                        */
/* ------------------------------------------------------------------------ */

/* The layout and box of a region, from an entry or an access. */
typedef struct view {
  unsigned ndims, dtype;
  int32_t version;
  uint64_t raw_origin;
  const uint32_t *raw_shapes, *shapes, *offsets;
} view;

static view view_of_entry(const pto2__tmap_entry *e) {
  return (view){e->ndims, e->dtype, e->version, e->raw_origin, e->raw_shapes, e->shapes,
                e->offsets};
}

static view view_of_region(const pto2_tensor *t, const pto2__region *g) {
  return (view){t->ndims, t->dtype, t->version, g->raw_origin, t->raw_shapes, t->shapes,
                t->offsets};
}

/* Makes v's layout and shape the grid if v is a tile of rank 2 or more (its
 * offsets multiples of its shape, inside the raw layout) and every figure
 * the lookups derive fits; else leaves the grid as it is. */
static void grid_adopt(pto2__tmap_grid *gr, view v) {
  uint64_t esz = pto2__dtype_size(v.dtype), numel = 1, ncells = 1;
  if (v.ndims < 2 || v.ndims > PTO2_MAX_DIMS || !esz) return;
  for (unsigned d = 0; d < v.ndims; d++) {
    uint64_t tile = v.shapes[d], raw = v.raw_shapes[d];
    if (!tile || v.offsets[d] % tile || v.offsets[d] + tile > raw) return;
    if (__builtin_mul_overflow(numel, raw, &numel) || numel >> 48) return;
    if (__builtin_mul_overflow(ncells, (raw + tile - 1) / tile, &ncells) || ncells >> 48) return;
  }
  uint64_t base, span;
  if (__builtin_mul_overflow(v.raw_origin, esz, &base) || base >> 60) return;
  span = numel * esz + esz; /* < 2^49: see grid_candidates() for the extra element */
  gr->ndims = (uint8_t)v.ndims;
  gr->dtype = (uint8_t)v.dtype;
  gr->version = v.version;
  gr->raw_origin = v.raw_origin;
  gr->row_elems = numel / v.raw_shapes[0];
  gr->base = base;
  gr->span = span;
  uint64_t stride = 1;
  for (unsigned d = v.ndims; d-- > 0;) {
    gr->raw_shapes[d] = v.raw_shapes[d];
    gr->tile[d] = v.shapes[d];
    gr->cells[d] = (uint32_t)(((uint64_t)v.raw_shapes[d] + v.shapes[d] - 1) / v.shapes[d]);
    gr->cstride[d] = stride;
    stride *= gr->cells[d];
  }
}

/* True if v has the grid's layout: rank, dtype, version, raw origin and
 * shapes (any box). */
static bool grid_layout(const pto2__tmap_grid *gr, const view *v) {
  if (v->ndims != gr->ndims || v->dtype != gr->dtype || v->version != gr->version ||
      v->raw_origin != gr->raw_origin)
    return false;
  unsigned diff = 0;
  for (unsigned d = 0; d < v->ndims; d++) diff |= v->raw_shapes[d] ^ gr->raw_shapes[d];
  return diff == 0;
}

/* The tree key of a region with layout and box v and byte range [lo, hi):
 * its cell if it is a tile of the grid, else its byte range (kept below
 * the cells' keys). */
static void entry_key(const pto2__tmap_grid *gr, const view *v, uint64_t lo, uint64_t hi,
                      uint64_t *klo, uint64_t *khi) {
  if (gr->ndims && v->ndims == gr->ndims && v->dtype == gr->dtype &&
      v->version == gr->version && v->raw_origin == gr->raw_origin) {
    uint64_t cell = PTO2__TMAP_CELL_KEY;
    unsigned d = 0;
    for (; d < v->ndims; d++) { /* grid_layout() and the tile test in one pass */
      uint32_t tile = gr->tile[d], off = v->offsets[d], c = off / tile;
      if (v->raw_shapes[d] != gr->raw_shapes[d] || v->shapes[d] != tile || c * tile != off ||
          (uint64_t)off + tile > gr->raw_shapes[d])
        break;
      cell += c * gr->cstride[d];
    }
    if (d == v->ndims) {
      *klo = cell;
      *khi = cell + 1;
      return;
    }
  }
  *klo = lo < PTO2__TMAP_CELL_KEY ? lo : PTO2__TMAP_CELL_KEY - 1;
  *khi = hi < PTO2__TMAP_CELL_KEY ? hi : PTO2__TMAP_CELL_KEY;
}

/* The key of the access g's entry, in an allocation with a tree.  With no
 * live entry keyed by cell, the grid is chosen again: g's, if g is a tile.
 * (A parked entry keyed by cell stays where it is: lookups skip it, and an
 * insert takes its node only with the same key.) */
static void region_key(pto2__tmap_alloc *a, const pto2_tensor *t, const pto2__region *g,
                       uint64_t *klo, uint64_t *khi) {
  view v = view_of_region(t, g);
  uint32_t used = a->grid.nodes;
  if (used == 1 && a->dead && a->dead->klo >= PTO2__TMAP_CELL_KEY) used = 0;
  if (!used) grid_adopt(&a->grid, v);
  entry_key(&a->grid, &v, g->lo, g->hi, klo, khi);
}

/* Appends to m->hits the entries of the subtree `n` keyed by a cell in
 * [lo, hi) (lo >= PTO2__TMAP_CELL_KEY); returns the new count or -1.  A
 * cell's key is [cell, cell + 1) and a byte range's lies below lo, so this
 * is tree_query() for such a range, searching by klo alone. */
static int cell_query(pto2__tensormap *m, const pto2__tmap_entry *n, uint64_t lo, uint64_t hi,
                      int count) {
  while (n && n->max_hi > lo) { /* else every key below n is below lo (khi > klo) */
    if (n->klo < lo) {
      n = n->right; /* and every key on its left is smaller still */
    } else if (n->klo >= hi) {
      n = n->left;
    } else {
      if (n->left) {
        count = cell_query(m, n->left, lo, hi, count);
        if (count < 0) return count;
      }
      if (!n->dead) {
        if ((uint32_t)count == m->hits_cap && pto2__tmap_hits_grow(m)) return -1;
        m->hits[count++] = (pto2__tmap_entry *)n;
      }
      n = n->right;
    }
  }
  return count;
}

/* Appends the tiles keyed by cell that may overlap g (T8), but for an
 * access that is itself a tile of the grid (tile_candidates()). */
static __attribute__((noinline)) int grid_candidates(pto2__tensormap *m, const pto2__tmap_alloc *a, const pto2__region *g,
                           int count) {
  const pto2__tmap_grid *gr = &a->grid;
  view v = view_of_region(g->t, g);
  uint32_t clo[PTO2_MAX_DIMS] = {0}, chi[PTO2_MAX_DIMS] = {0};
  unsigned n = gr->ndims, d;
  if (grid_layout(gr, &v)) {
    /* Any box: tile c meets it in dimension d iff c * tile < end and
     * offset < (c + 1) * tile. */
    for (d = 0; d < n; d++) {
      uint64_t off = v.offsets[d], end = off + v.shapes[d], tile = gr->tile[d];
      if (!v.shapes[d]) break; /* not a view: by bytes */
      if (off / tile >= gr->cells[d]) return count; /* past every tile */
      clo[d] = (uint32_t)(off / tile);
      chi[d] = (uint32_t)((end - 1) / tile < gr->cells[d] ? (end - 1) / tile : gr->cells[d] - 1u);
    }
    if (d == n) {
      unsigned j = n - 1; /* dimensions after j: every cell */
      while (j > 0 && clo[j] == 0 && chi[j] == gr->cells[j] - 1u) j--;
      uint64_t runs = 1;
      for (d = 0; d < j; d++) runs *= (uint64_t)(chi[d] - clo[d] + 1u);
      if (runs > PTO2__TMAP_CELL_RUNS) { /* one run from the first cell to the last: a superset */
        uint64_t lo = 0, hi = 0;
        for (d = 0; d < n; d++) {
          lo += clo[d] * gr->cstride[d];
          hi += chi[d] * gr->cstride[d];
        }
        return cell_query(m, a->root, PTO2__TMAP_CELL_KEY + lo, PTO2__TMAP_CELL_KEY + hi + 1,
                          count);
      }
      uint32_t c[PTO2_MAX_DIMS];
      for (d = 0; d < j; d++) c[d] = clo[d];
      for (;;) {
        uint64_t at = PTO2__TMAP_CELL_KEY;
        for (d = 0; d < j; d++) at += c[d] * gr->cstride[d];
        count = cell_query(m, a->root, at + clo[j] * gr->cstride[j],
                           at + (chi[j] + 1ull) * gr->cstride[j], count);
        if (count < 0) return count;
        for (d = j; d-- > 0;) { /* next run: an odometer over dimensions 0 .. j-1 */
          if (c[d] < chi[d]) {
            c[d]++;
            break;
          }
          c[d] = clo[d];
        }
        if (d >= j) return count; /* every digit wrapped (d ran past 0 and wrapped too) */
      }
    }
  }
  /* Another layout: a tile can overlap g only if their byte ranges meet
   * (pto2__tmap_overlap).  A tile of the cells' band r lies in bytes
   * [base + r * band, base + (r + 1) * band), shifted up by less than an
   * element if the view's data pointer is not on an element boundary
   * (the extra element of span, and lo moved down by one). */
  uint64_t esz = pto2__dtype_size(gr->dtype);
  if (g->hi <= gr->base || g->lo >= gr->base + gr->span || g->lo >= g->hi) return count;
  uint64_t lo = g->lo > gr->base + esz ? g->lo - esz - gr->base : 0;
  uint64_t hi = g->hi - gr->base < gr->span ? g->hi - gr->base : gr->span;
  uint64_t band = (uint64_t)gr->tile[0] * gr->row_elems * esz;
  uint64_t r0 = lo / band, r1 = (hi - 1) / band;
  if (r1 >= gr->cells[0]) r1 = gr->cells[0] - 1u;
  if (r0 > r1) return count;
  return cell_query(m, a->root, PTO2__TMAP_CELL_KEY + r0 * gr->cstride[0],
                    PTO2__TMAP_CELL_KEY + (r1 + 1) * gr->cstride[0], count);
}

/* (T8) The tiles keyed by cell that may overlap g: when g is itself a tile
 * of the grid (the common case), those of its cell. */
static inline int tile_candidates(pto2__tensormap *m, const pto2__tmap_alloc *a,
                                  const pto2__region *g, int count) {
  const pto2__tmap_grid *gr = &a->grid;
  const pto2_tensor *t = g->t;
  unsigned n = gr->ndims, d;
  if (t->ndims == n && t->dtype == gr->dtype && t->version == gr->version &&
      g->raw_origin == gr->raw_origin) {
    uint64_t cell = PTO2__TMAP_CELL_KEY;
    for (d = 0; d < n; d++) { /* grid_layout() and the tile test in one pass */
      uint32_t tile = gr->tile[d], off = t->offsets[d], c = off / tile;
      if (t->raw_shapes[d] != gr->raw_shapes[d] || t->shapes[d] != tile || c * tile != off ||
          c >= gr->cells[d])
        break;
      cell += c * gr->cstride[d];
    }
    if (d == n) return cell_query(m, a->root, cell, cell + 1, count);
  }
  return grid_candidates(m, a, g, count);
}

int pto2__tmap_tree_candidates(pto2__tensormap *m, const pto2__tmap_alloc *a,
                               const pto2__region *g) {
  int count = 0;
  /* entries keyed by byte range: those not keyed by cell */
  if (a->count + (a->dead != 0) > a->grid.nodes) {
    uint64_t lo = g->lo < PTO2__TMAP_CELL_KEY ? g->lo : PTO2__TMAP_CELL_KEY - 1;
    uint64_t hi = g->hi < PTO2__TMAP_CELL_KEY ? g->hi : PTO2__TMAP_CELL_KEY;
    count = tree_query(m, a->root, lo, hi, 0);
  }
  if (a->grid.nodes && count >= 0) count = tile_candidates(m, a, g, count);
  return count;
}

/* ------------------------------------------------------------------------ */

pto2__tmap_entry *pto2__tmap_insert(pto2__tensormap *m, const pto2__region *g,
                                    pto2_task_id producer, void **chain) {
  const pto2_tensor *t = g->t;
  pto2__tmap_alloc *a = get_alloc(m, t->addr);
  if (!a) return 0;
  uint64_t klo = 0, khi = 0;
  if (a->root) region_key(a, t, g, &klo, &khi);
  pto2__tmap_entry *e = a->dead;
  bool in_tree = e && e->klo == klo && e->khi == khi;
  if (in_tree) { /* takes the place of the entry it superseded: same key */
    a->dead = 0;
    e->dead = 0;
  } else {
    e = new_entry(m);
  }
  if (!e) {
    if (!a->count) free_alloc(m, a); /* created, or counted as not empty, for this entry */
    return 0;
  }
  e->addr = t->addr;
  e->alloc = a;
  e->producer = producer;
  e->version = t->version;
  e->ndims = t->ndims;
  e->dtype = t->dtype;
  memcpy(e->shapes, t->shapes, sizeof e->shapes);
  memcpy(e->offsets, t->offsets, sizeof e->offsets);
  memcpy(e->raw_shapes, t->raw_shapes, sizeof e->raw_shapes);
  e->raw_origin = g->raw_origin;
  e->lo = g->lo;
  e->hi = g->hi;
  /* (T1) newest first; the tree from TMAP_TREE_MIN entries on */
  e->next = a->entries;
  e->pprev = &a->entries;
  if (a->entries) a->entries->pprev = &e->next;
  a->entries = e;
  if (in_tree) {
  } else if (a->root) {
    e->klo = klo;
    e->khi = khi;
    tree_add(m, a, e);
  } else if (a->count + 1 >= PTO2__TMAP_TREE_MIN) {
    /* (T8) the newest entry's tiling, if it is a tile */
    grid_adopt(&a->grid, view_of_entry(e));
    for (pto2__tmap_entry *o = e; o; o = o->next) {
      view v = view_of_entry(o);
      entry_key(&a->grid, &v, o->lo, o->hi, &o->klo, &o->khi);
      tree_add(m, a, o);
    }
  }
  a->count++;
  pto2__tmap_entry **head = (pto2__tmap_entry **)chain;
  e->chain_next = *head;
  e->chain_pprev = head;
  if (*head) (*head)->chain_pprev = &e->chain_next;
  *head = e;
  if (++m->live > m->high_water) m->high_water = m->live;
  return e;
}

void pto2__tmap_reuse(pto2__tensormap *m, pto2__tmap_entry *e, pto2_task_id producer,
                      void **chain) {
  (void)m;
  e->producer = producer;
  pto2__tmap_alloc *a = e->alloc;
  if (a->entries != e) { /* (T1) newest first */
    *e->pprev = e->next;
    if (e->next) e->next->pprev = e->pprev;
    e->next = a->entries;
    e->pprev = &a->entries;
    a->entries->pprev = &e->next;
    a->entries = e;
  }
  pto2__tmap_entry **head = (pto2__tmap_entry **)chain;
  if (*head != e) {
    *e->chain_pprev = e->chain_next;
    if (e->chain_next) e->chain_next->chain_pprev = e->chain_pprev;
    e->chain_next = *head;
    e->chain_pprev = head;
    if (*head) (*head)->chain_pprev = &e->chain_next;
    *head = e;
  }
}

static void free_entry(pto2__tensormap *m, pto2__tmap_entry *e) {
  e->next = m->free_list;
  m->free_list = e;
}

/* Takes `e` out of its allocation's list and its task chain.  `keep`: it
 * stays in the tree, marked dead (parked, T4). */
static void unlink_entry(pto2__tensormap *m, pto2__tmap_entry *e, bool keep) {
  pto2__tmap_alloc *a = e->alloc;
  *e->pprev = e->next;
  if (e->next) e->next->pprev = e->pprev;
  if (a->root) {
    if (a->count - 1 < PTO2__TMAP_TREE_MIN / 4) {
      /* below a quarter of TMAP_TREE_MIN the list is enough again */
      a->root = 0;
      if (a->dead) free_entry(m, a->dead);
      a->dead = 0;
      a->grid.ndims = 0; /* (T8) chosen again with the next tree */
      a->grid.nodes = 0;
      keep = false;
    } else if (!keep) {
      tree_del(a, e);
    }
  }
  /* INOUTs that replace the last entry of an allocation insert on it again
   * in the same submit: a record without entries stays linked until a sweep
   * (T1).  A record without entries has no tree (dropped above). */
  if (--a->count == 0 && ++m->empty_count > PTO2__TMAP_EMPTY_SWEEP) sweep_empty(m);
  *e->chain_pprev = e->chain_next;
  if (e->chain_next) e->chain_next->chain_pprev = e->chain_pprev;
  m->live--;
  if (!keep) {
    free_entry(m, e);
    return;
  }
  if (a->dead) { /* one parked entry per allocation */
    tree_del(a, a->dead);
    free_entry(m, a->dead);
  }
  e->dead = 1;
  a->dead = e;
}

void pto2__tmap_remove(pto2__tensormap *m, pto2__tmap_entry *e) { unlink_entry(m, e, false); }

void pto2__tmap_supersede(pto2__tensormap *m, pto2__tmap_entry *e, const pto2__region *g) {
  unlink_entry(m, e, e->alloc->root && e->lo == g->lo && e->hi == g->hi);
}

void pto2__tmap_free_chain(pto2__tensormap *m, void **chain) {
  pto2__tmap_entry **head = (pto2__tmap_entry **)chain;
  while (*head) pto2__tmap_remove(m, *head);
}
