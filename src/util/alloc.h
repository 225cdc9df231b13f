/*
 * Memory: every allocation of the runtime goes through the allocator of its
 * pto2_config (libc by default), so out-of-memory paths can be tested and
 * embedders can supply their own.  64-byte-aligned blocks are carved from a
 * larger block, with the original pointer stored just before them.
 */
#ifndef PTO2_UTIL_ALLOC_H
#define PTO2_UTIL_ALLOC_H

#include <stdint.h>
#include <string.h>

#include "pto2/pto2.h"

/* libc malloc, realloc and free (the default). */
extern const pto2_allocator pto2__libc_allocator;

static inline void *pto2__alloc(const pto2_allocator *a, size_t n) {
  return a->malloc_fn(n ? n : 1, a->user);
}

static inline void *pto2__zalloc(const pto2_allocator *a, size_t n) {
  void *p = pto2__alloc(a, n);
  if (p) memset(p, 0, n);
  return p;
}

static inline void *pto2__realloc(const pto2_allocator *a, void *p, size_t n) {
  return a->realloc_fn(p, n ? n : 1, a->user);
}

static inline void pto2__free(const pto2_allocator *a, void *p) {
  if (p) a->free_fn(p, a->user);
}

/* n bytes at a 64-byte boundary; free with pto2__free64. */
static inline void *pto2__alloc64(const pto2_allocator *a, size_t n) {
  if (n > SIZE_MAX - 64 - sizeof(void *)) return 0;
  char *raw = pto2__alloc(a, n + 64 + sizeof(void *));
  if (!raw) return 0;
  uintptr_t p = ((uintptr_t)raw + sizeof(void *) + 63) & ~(uintptr_t)63;
  ((void **)p)[-1] = raw;
  return (void *)p;
}

static inline void *pto2__zalloc64(const pto2_allocator *a, size_t n) {
  void *p = pto2__alloc64(a, n);
  if (p) memset(p, 0, n);
  return p;
}

static inline void pto2__free64(const pto2_allocator *a, void *p) {
  if (p) pto2__free(a, ((void **)p)[-1]);
}

#endif
