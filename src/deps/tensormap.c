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
  a->bucket_next = *bucket;
  a->bucket_pprev = bucket;
  if (*bucket) (*bucket)->bucket_pprev = &a->bucket_next;
  *bucket = a;
  return a;
}

/* ------------------------------------------------------------------------ */
/* Interval tree: a treap ordered by (lo, address), max_hi per subtree.      */
/* ------------------------------------------------------------------------ */

static bool before(const pto2__tmap_entry *a, const pto2__tmap_entry *b) {
  return a->lo < b->lo || (a->lo == b->lo && (uintptr_t)a < (uintptr_t)b);
}

static void fix(pto2__tmap_entry *n) {
  uint64_t h = n->hi;
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

/* Inserts `e` (a leaf with max_hi = hi) below `root`.  A node that does not
 * rotate only needs its max_hi raised to e's hi. */
static pto2__tmap_entry *tree_insert(pto2__tmap_entry *root, pto2__tmap_entry *e) {
  if (!root) return e;
  if (e->hi > root->max_hi) root->max_hi = e->hi;
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

/* Removes `e` from below `root`.  Only nodes whose max_hi was e's hi can
 * have a smaller one afterwards. */
static pto2__tmap_entry *tree_remove(pto2__tmap_entry *root, pto2__tmap_entry *e) {
  if (root == e) return merge(e->left, e->right);
  if (before(e, root)) root->left = tree_remove(root->left, e);
  else root->right = tree_remove(root->right, e);
  if (root->max_hi == e->hi) fix(root);
  return root;
}

static void tree_add(pto2__tensormap *m, pto2__tmap_alloc *a, pto2__tmap_entry *e) {
  m->rng ^= m->rng << 13; /* xorshift32 */
  m->rng ^= m->rng >> 17;
  m->rng ^= m->rng << 5;
  e->prio = m->rng;
  e->dead = 0;
  e->left = e->right = 0;
  e->max_hi = e->hi;
  a->root = tree_insert(a->root, e);
}

/* Appends to m->hits the entries of the subtree `n` whose [lo, hi) meets
 * [lo, hi); returns the new count or -1. */
static int tree_query(pto2__tensormap *m, const pto2__tmap_entry *n, uint64_t lo, uint64_t hi,
                      int count) {
  while (n && n->max_hi > lo) {
    if (n->left && n->left->max_hi > lo) {
      count = tree_query(m, n->left, lo, hi, count);
      if (count < 0) return count;
    }
    if (n->lo >= hi) break; /* so does every entry to the right */
    if (n->hi > lo && !n->dead) {
      if ((uint32_t)count == m->hits_cap && pto2__tmap_hits_grow(m)) return -1;
      m->hits[count++] = (pto2__tmap_entry *)n;
    }
    n = n->right;
  }
  return count;
}

int pto2__tmap_tree_candidates(pto2__tensormap *m, const pto2__tmap_alloc *a,
                               const pto2__region *g) {
  return tree_query(m, a->root, g->lo, g->hi, 0);
}

/* ------------------------------------------------------------------------ */

pto2__tmap_entry *pto2__tmap_insert(pto2__tensormap *m, const pto2__region *g,
                                    pto2_task_id producer, void **chain) {
  const pto2_tensor *t = g->t;
  pto2__tmap_alloc *a = get_alloc(m, t->addr);
  if (!a) return 0;
  pto2__tmap_entry *e = a->dead;
  bool in_tree = e && e->lo == g->lo && e->hi == g->hi;
  if (in_tree) { /* takes the place of the entry it superseded: same key, same hi */
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
    tree_add(m, a, e);
  } else if (a->count + 1 >= PTO2__TMAP_TREE_MIN)
    for (pto2__tmap_entry *o = e; o; o = o->next) tree_add(m, a, o);
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
      keep = false;
    } else if (!keep) {
      a->root = tree_remove(a->root, e);
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
    a->root = tree_remove(a->root, a->dead);
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
