#include "deps/tensormap.h"

#include <stdlib.h>
#include <string.h>

struct pto2__tmap_chunk {
  pto2__tmap_chunk *next;
  uint32_t capacity;
  pto2__tmap_entry entries[];
};

static int add_chunk(pto2__tensormap *m, uint32_t capacity) {
  pto2__tmap_chunk *c = malloc(sizeof *c + (size_t)capacity * sizeof(pto2__tmap_entry));
  if (!c) return PTO2_E_NO_MEMORY;
  c->capacity = capacity;
  c->next = m->chunks;
  m->chunks = c;
  m->chunk_used = 0;
  return 0;
}

int pto2__tmap_init(pto2__tensormap *m, uint32_t bucket_count, uint32_t initial_entries) {
  memset(m, 0, sizeof *m);
  m->bucket_count = bucket_count;
  m->bucket_shift = 64u - (uint32_t)__builtin_ctz(bucket_count);
  m->buckets = calloc(bucket_count, sizeof *m->buckets);
  if (!m->buckets) return PTO2_E_NO_MEMORY;
  return add_chunk(m, initial_entries);
}

void pto2__tmap_fini(pto2__tensormap *m) {
  while (m->chunks) {
    pto2__tmap_chunk *next = m->chunks->next;
    free(m->chunks);
    m->chunks = next;
  }
  free(m->buckets);
  m->buckets = 0;
}

void pto2__tmap_clear(pto2__tensormap *m) {
  /* Keep only the oldest (initial) chunk. */
  while (m->chunks && m->chunks->next) {
    pto2__tmap_chunk *next = m->chunks->next;
    free(m->chunks);
    m->chunks = next;
  }
  memset(m->buckets, 0, m->bucket_count * sizeof *m->buckets);
  m->free_list = 0;
  m->chunk_used = 0;
  m->live = 0;
}

static pto2__tmap_entry *new_entry(pto2__tensormap *m) {
  pto2__tmap_entry *e = m->free_list;
  if (e) {
    m->free_list = e->bucket_next;
    return e;
  }
  if (m->chunk_used == m->chunks->capacity &&
      add_chunk(m, m->chunks->capacity) != 0) /* grow by the current size */
    return 0;
  return &m->chunks->entries[m->chunk_used++];
}

pto2__tmap_entry *pto2__tmap_insert(pto2__tensormap *m, const pto2__region *g,
                                    pto2_task_id producer, void **chain) {
  pto2__tmap_entry *e = new_entry(m);
  if (!e) return 0;
  const pto2_tensor *t = g->t;
  e->addr = t->addr;
  e->producer = producer;
  e->version = t->version;
  e->ndims = t->ndims;
  memcpy(e->shapes, t->shapes, sizeof e->shapes);
  memcpy(e->offsets, t->offsets, sizeof e->offsets);
  memcpy(e->raw_shapes, t->raw_shapes, sizeof e->raw_shapes);
  e->raw_origin = g->raw_origin;
  e->lo = g->lo;
  e->hi = g->hi;
  /* (T1) newest first */
  pto2__tmap_entry **bucket = &m->buckets[pto2__tmap_bucket(m, t->addr)];
  e->bucket_next = *bucket;
  e->bucket_pprev = bucket;
  if (*bucket) (*bucket)->bucket_pprev = &e->bucket_next;
  *bucket = e;
  pto2__tmap_entry **head = (pto2__tmap_entry **)chain;
  e->chain_next = *head;
  e->chain_pprev = head;
  if (*head) (*head)->chain_pprev = &e->chain_next;
  *head = e;
  if (++m->live > m->high_water) m->high_water = m->live;
  return e;
}

void pto2__tmap_remove(pto2__tensormap *m, pto2__tmap_entry *e) {
  *e->bucket_pprev = e->bucket_next;
  if (e->bucket_next) e->bucket_next->bucket_pprev = e->bucket_pprev;
  *e->chain_pprev = e->chain_next;
  if (e->chain_next) e->chain_next->chain_pprev = e->chain_pprev;
  e->bucket_next = m->free_list;
  m->free_list = e;
  m->live--;
}

void pto2__tmap_free_chain(pto2__tensormap *m, void **chain) {
  pto2__tmap_entry **head = (pto2__tmap_entry **)chain;
  while (*head) pto2__tmap_remove(m, *head);
}
