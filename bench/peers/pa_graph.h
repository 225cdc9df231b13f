/*
 * The paged-attention task graph of pto2's `graph` lane (Case1 and Case2,
 * non-unroll scene), for the peer harnesses (graph.h).
 *
 * Per (batch, head tile) chain: a hub task, then for every key/value block
 * n the tasks QK, SF, PV, UP with the edges
 *   QK -> SF,  SF -> PV,  SF -> UP,  PV -> UP,  prev -> UP
 * where prev is the hub for n = 0 and the previous UP otherwise (five edges
 * per block, as pa_expected_edges() counts for the graph lane).  Tasks are
 * numbered in pto2's submission order, so the numbering is a topological
 * order.
 */
#ifndef PEERS_PA_GRAPH_H
#define PEERS_PA_GRAPH_H

#include <stdint.h>
#include <string.h>

typedef struct pa_shape {
  uint32_t chains, steps;   /* chains of `steps` blocks each */
  uint32_t per_chain;       /* 1 + 4 * steps */
} pa_shape;

enum { PA_HUB = 0, PA_QK = 1, PA_SF = 2, PA_PV = 3, PA_UP = 4 };

/* Case1: 256 batches x 1 head tile x 64 blocks of 128; Case2: 64 x 1 x 128
 * blocks of 64 (context 8192 each, q_tile = num_heads).  -1: unknown case. */
static inline int pa_shape_init(pa_shape *s, const char *case_name) {
  if (!strcmp(case_name, "Case1")) s->chains = 256, s->steps = 8192 / 128;
  else if (!strcmp(case_name, "Case2")) s->chains = 64, s->steps = 8192 / 64;
  else return -1;
  s->per_chain = 1 + 4 * s->steps;
  return 0;
}

static inline uint64_t pa_tasks(const pa_shape *s) { return (uint64_t)s->chains * s->per_chain; }
static inline uint64_t pa_edges(const pa_shape *s) { return (uint64_t)s->chains * 5 * s->steps; }

static inline int pa_kind(const pa_shape *s, uint64_t id) {
  uint32_t r = (uint32_t)(id % s->per_chain);
  return r == 0 ? PA_HUB : 1 + (int)((r - 1) % 4);
}

/* The predecessors of task `id` (at most 3); returns their number. */
static inline int pa_preds(const pa_shape *s, uint64_t id, uint64_t p[3]) {
  uint64_t base = id - id % s->per_chain;
  uint32_t r = (uint32_t)(id - base);
  switch (pa_kind(s, id)) {
  case PA_SF: p[0] = id - 1; return 1;            /* QK */
  case PA_PV: p[0] = id - 1; return 1;            /* SF */
  case PA_UP:
    p[0] = id - 2;                                /* SF */
    p[1] = id - 1;                                /* PV */
    p[2] = r == 4 ? base : id - 4;                /* the hub, or the previous UP */
    return 3;
  default: return 0;                              /* hub, QK */
  }
}

#endif
