/*
 * The tiled matrix multiplication of pto2-tmap-bench's bgemm scene, for the
 * peer harnesses (graph.h).
 *
 * C += A x B on G x G tiles of C with K steps: task (k, m, n) reads the
 * tiles A(m, k) and B(k, n) and accumulates into C(m, n).  Tasks are
 * numbered in pto2's submission order, k-major (one scope per k step):
 *   id = (k * G + m) * G + n
 * The K tasks of one C tile form a chain (task (k, m, n) after
 * (k - 1, m, n), the edge pto2's AUTO lane infers from the INOUT of the C
 * tile); tiles are independent, and A and B are only read.  G x G chains,
 * K G^2 tasks, (K - 1) G^2 edges.
 */
#ifndef PEERS_BGEMM_GRAPH_H
#define PEERS_BGEMM_GRAPH_H

#include <stdint.h>

typedef struct bg_shape {
  uint32_t grid, k;   /* G, K */
  uint64_t tiles;     /* G x G: the tasks of one k step */
} bg_shape;

enum { BG_MAX_GRID = 1024, BG_MAX_K = 1024 };

/* -1: G or K out of 1 .. 1024. */
static inline int bg_shape_init(bg_shape *s, uint32_t grid, uint32_t k) {
  if (grid < 1 || grid > BG_MAX_GRID || k < 1 || k > BG_MAX_K) return -1;
  s->grid = grid;
  s->k = k;
  s->tiles = (uint64_t)grid * grid;
  return 0;
}

static inline uint64_t bg_tasks(const bg_shape *s) { return s->tiles * s->k; }
static inline uint64_t bg_edges(const bg_shape *s) { return s->tiles * (s->k - 1); }

/* The predecessor of task `id`: the previous k step on the same C tile
 * (none for k = 0); returns their number. */
static inline int bg_preds(const bg_shape *s, uint64_t id, uint64_t p[1]) {
  if (id < s->tiles) return 0;
  p[0] = id - s->tiles;
  return 1;
}

#endif
