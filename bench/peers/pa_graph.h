/*
 * The paged-attention task graph of pto2's `graph` lane (Case1 and Case2,
 * non-unroll scene), for the peer harnesses.
 *
 * Per (batch, head tile) chain: a hub task, then for every key/value block
 * n the tasks QK, SF, PV, UP with the edges
 *   QK -> SF,  SF -> PV,  SF -> UP,  PV -> UP,  prev -> UP
 * where prev is the hub for n = 0 and the previous UP otherwise (five edges
 * per block, as pa_expected_edges() counts for the graph lane).  Tasks are
 * numbered in pto2's submission order, so the numbering is a topological
 * order and the sequential loop simply runs 0, 1, 2, ...
 *
 * Every kernel checks that its predecessors have run exactly once and
 * counts its own run; pg_verify() then checks that every task ran once.
 * That check is a few loads and one store per task, on data the task owns.
 */
#ifndef PEERS_PA_GRAPH_H
#define PEERS_PA_GRAPH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pg_graph {
  const char *case_name;
  uint32_t chains, steps;   /* chains of `steps` blocks each */
  uint32_t per_chain;       /* 1 + 4 * steps */
  uint64_t tasks, edges;
  uint64_t busy_ns;         /* 0: empty kernels */
  unsigned char *runs;      /* per task: how often it ran */
  unsigned char *bad;       /* per task: ran before a predecessor */
} pg_graph;

enum { PG_HUB = 0, PG_QK = 1, PG_SF = 2, PG_PV = 3, PG_UP = 4 };

/* Case1: 256 batches x 1 head tile x 64 blocks of 128; Case2: 64 x 1 x 128
 * blocks of 64 (context 8192 each, q_tile = num_heads). */
static inline int pg_init(pg_graph *g, const char *case_name, uint64_t busy_ns) {
  memset(g, 0, sizeof *g);
  if (!strcmp(case_name, "Case1")) g->chains = 256, g->steps = 8192 / 128;
  else if (!strcmp(case_name, "Case2")) g->chains = 64, g->steps = 8192 / 64;
  else return -1;
  g->case_name = case_name;
  g->per_chain = 1 + 4 * g->steps;
  g->tasks = (uint64_t)g->chains * g->per_chain;
  g->edges = (uint64_t)g->chains * 5 * g->steps;
  g->busy_ns = busy_ns;
  g->runs = (unsigned char *)calloc(g->tasks, 1);
  g->bad = (unsigned char *)calloc(g->tasks, 1);
  return g->runs && g->bad ? 0 : -1;
}

static inline void pg_fini(pg_graph *g) {
  free(g->runs);
  free(g->bad);
}

static inline void pg_reset(pg_graph *g) {
  memset(g->runs, 0, g->tasks);
  memset(g->bad, 0, g->tasks);
}

static inline int pg_kind(const pg_graph *g, uint64_t id) {
  uint32_t r = (uint32_t)(id % g->per_chain);
  return r == 0 ? PG_HUB : 1 + (int)((r - 1) % 4);
}

/* The predecessors of task `id` (at most 3); returns their number. */
static inline int pg_preds(const pg_graph *g, uint64_t id, uint64_t p[3]) {
  uint64_t base = id - id % g->per_chain;
  uint32_t r = (uint32_t)(id - base);
  switch (pg_kind(g, id)) {
  case PG_SF: p[0] = id - 1; return 1;            /* QK */
  case PG_PV: p[0] = id - 1; return 1;            /* SF */
  case PG_UP:
    p[0] = id - 2;                                /* SF */
    p[1] = id - 1;                                /* PV */
    p[2] = r == 4 ? base : id - 4;                /* the hub, or the previous UP */
    return 3;
  default: return 0;                              /* hub, QK */
  }
}

static inline uint64_t pg_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The kernel of every task: the order check, then `busy_ns` of spinning
 * (the same spin as pto2-bench's --kernels busy). */
static inline void pg_kernel(pg_graph *g, uint64_t id) {
  uint64_t p[3];
  int n = pg_preds(g, id, p);
  for (int i = 0; i < n; i++)
    if (g->runs[p[i]] != 1) g->bad[id] = 1;
  g->runs[id]++;
  if (g->busy_ns) {
    uint64_t start = pg_now_ns();
    while (pg_now_ns() - start < g->busy_ns) {
    }
  }
}

/* 0 when every task ran once, after its predecessors. */
static inline int pg_verify(const pg_graph *g, const char *who) {
  for (uint64_t i = 0; i < g->tasks; i++)
    if (g->runs[i] != 1 || g->bad[i]) {
      fprintf(stderr, "%s: task %llu ran %u times%s\n", who, (unsigned long long)i,
              g->runs[i], g->bad[i] ? ", before a predecessor" : "");
      return -1;
    }
  return 0;
}

typedef struct pg_options {
  const char *case_name;
  uint64_t busy_ns;
  unsigned threads;
  int rounds, warmup;
} pg_options;

static inline int pg_parse(int argc, char **argv, pg_options *o, const char *who) {
  o->case_name = "Case1";
  o->busy_ns = 0;
  o->threads = 2;
  o->rounds = 5;
  o->warmup = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : 0;
    if (!v) goto bad;
    if (!strcmp(a, "--case")) o->case_name = v;
    else if (!strcmp(a, "--busy-us")) o->busy_ns = strtoull(v, 0, 10) * 1000u;
    else if (!strcmp(a, "--threads")) o->threads = (unsigned)strtoul(v, 0, 10);
    else if (!strcmp(a, "--rounds")) o->rounds = atoi(v);
    else if (!strcmp(a, "--warmup")) o->warmup = atoi(v);
    else goto bad;
    i++;
  }
  if (o->threads >= 1 && o->rounds >= 1 && o->rounds <= 1000 && o->warmup >= 0) return 0;
bad:
  fprintf(stderr,
          "usage: %s [--case Case1|Case2] [--busy-us N (0: empty kernels)] [--threads N]\n"
          "          [--rounds N] [--warmup N]\n",
          who);
  return -1;
}

static int pg_cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Runs warm-up and measured rounds of `round` (which returns the elapsed
 * nanoseconds of one build + run, or 0 on failure), verifies every round
 * and prints one JSON line with the median.  Returns the exit status. */
static inline int pg_main(const char *who, const pg_options *o, pg_graph *g,
                          uint64_t (*round)(pg_graph *, void *), void *ctx) {
  uint64_t ns[1000];
  for (int i = 0; i < o->warmup + o->rounds; i++) {
    pg_reset(g);
    uint64_t t = round(g, ctx);
    if (!t || pg_verify(g, who)) return 1;
    if (i >= o->warmup) ns[i - o->warmup] = t;
  }
  qsort(ns, (size_t)o->rounds, sizeof ns[0], pg_cmp_u64);
  uint64_t med = o->rounds % 2 ? ns[o->rounds / 2] : (ns[o->rounds / 2 - 1] + ns[o->rounds / 2]) / 2;
  printf("{\"runtime\":\"%s\",\"case\":\"%s\",\"kernels\":\"%s\",\"threads\":%u,"
         "\"tasks\":%llu,\"edges\":%llu,\"rounds\":%d,\"elapsed_us\":{\"median\":%.3f,"
         "\"min\":%.3f,\"max\":%.3f},\"ns_per_task\":%.2f,\"verified\":true}\n",
         who, g->case_name, g->busy_ns ? "busy" : "noop", o->threads,
         (unsigned long long)g->tasks, (unsigned long long)g->edges, o->rounds, med / 1e3,
         ns[0] / 1e3, ns[o->rounds - 1] / 1e3, (double)med / (double)g->tasks);
  return 0;
}

#ifdef __cplusplus
}
#endif

#endif
