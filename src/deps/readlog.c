#include "deps/readlog.h"

#include <string.h>

#include "util/alloc.h"

int pto2__rlog_init(pto2__readlog *L, uint32_t bucket_count, const pto2_allocator *a,
                    pto2__rlog_retired_fn retired, void *ctx) {
  memset(L, 0, sizeof *L);
  L->mem = a;
  L->retired = retired;
  L->ctx = ctx;
  L->bucket_count = bucket_count;
  L->bucket_shift = 64u - (uint32_t)__builtin_ctz(bucket_count);
  L->sweep_at = PTO2__RLOG_SWEEP_MIN;
  L->buckets = pto2__zalloc(a, bucket_count * sizeof *L->buckets);
  return L->buckets ? 0 : PTO2_E_NO_MEMORY;
}

void pto2__rlog_clear(pto2__readlog *L) {
  for (uint32_t i = 0; L->buckets && i < L->bucket_count; i++) {
    for (pto2__rlog *r = L->buckets[i], *next; r; r = next) {
      next = r->next;
      pto2__free(L->mem, r->v);
      pto2__free(L->mem, r);
    }
    L->buckets[i] = 0;
  }
  L->records = 0;
  L->sweep_at = PTO2__RLOG_SWEEP_MIN;
}

void pto2__rlog_fini(pto2__readlog *L) {
  pto2__rlog_clear(L);
  pto2__free(L->mem, L->buckets);
  L->buckets = 0;
}

/* (L2) Drops the dead entries of r, keeping the order. */
static void compact(pto2__readlog *L, pto2__rlog *r) {
  uint32_t kept = 0;
  for (uint32_t i = 0; i < r->count; i++) {
    pto2__rlog_entry *e = &r->v[i];
    if (!e->t.ndims || L->retired(L->ctx, e->reader)) continue;
    if (kept != i) r->v[kept] = *e;
    kept++;
  }
  r->count = kept;
}

/* (L4) Frees the records left without live entries (indexed ones stay:
 * their flag routes reads to the reader map). */
static void sweep(pto2__readlog *L) {
  for (uint32_t i = 0; i < L->bucket_count; i++)
    for (pto2__rlog **p = &L->buckets[i]; *p;) {
      pto2__rlog *r = *p;
      compact(L, r);
      if (r->count || r->indexed) {
        p = &r->next;
        continue;
      }
      *p = r->next;
      pto2__free(L->mem, r->v);
      pto2__free(L->mem, r);
      L->records--;
    }
  L->sweep_at = 2 * L->records > PTO2__RLOG_SWEEP_MIN ? 2 * L->records : PTO2__RLOG_SWEEP_MIN;
}

int pto2__rlog_append_slow(pto2__readlog *L, pto2__rlog *r, const pto2_tensor *t,
                           pto2_task_id reader) {
  if (!r) {
    if (L->records >= L->sweep_at) sweep(L);
    r = pto2__zalloc(L->mem, sizeof *r);
    pto2__rlog_entry *v = pto2__alloc(L->mem, PTO2__RLOG_INITIAL * sizeof *v);
    if (!r || !v) {
      pto2__free(L->mem, r);
      pto2__free(L->mem, v);
      return PTO2_E_NO_MEMORY;
    }
    r->addr = t->addr;
    r->v = v;
    r->cap = PTO2__RLOG_INITIAL;
    uint32_t b = (uint32_t)(((uint64_t)(uintptr_t)t->addr * UINT64_C(0x9E3779B97F4A7C15)) >>
                            L->bucket_shift);
    r->next = L->buckets[b];
    L->buckets[b] = r;
    L->records++;
  }
  if (r->indexed) return 1;
  if (r->count == r->cap) {
    compact(L, r);
    if (r->count > r->cap / 2) { /* (L2) grow only when compaction freed too little */
      pto2__rlog_entry *v = pto2__realloc(L->mem, r->v, 2 * (size_t)r->cap * sizeof *v);
      if (!v) return PTO2_E_NO_MEMORY;
      r->v = v;
      r->cap *= 2;
    }
  }
  pto2__rlog_entry *e = &r->v[r->count++];
  e->reader = reader;
  e->t = *t;
  return 0;
}
