/*
 * What every peer harness shares: the task graph of the chosen scene, the
 * options, the kernel with its order check, the verification, the timing
 * and the JSON line run.sh reads.
 *
 * Scenes (--scene):
 *   paged_attention  pto2's graph lane of paged attention, --case Case1 or
 *                    Case2 (pa_graph.h)
 *   bgemm            the tiled matrix multiplication of pto2-tmap-bench,
 *                    --grid G tiles a side, --k K steps (bgemm_graph.h)
 * Tasks are numbered in pto2's submission order, so the numbering is a
 * topological order (every predecessor has a smaller number) and the
 * sequential loop simply runs 0, 1, 2, ...
 *
 * Every kernel checks that its predecessors have run exactly once and
 * counts its own run; pg_verify() then checks that every task ran once.
 * That check is a few loads and one store per task, on data the task owns.
 */
#ifndef PEERS_GRAPH_H
#define PEERS_GRAPH_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bgemm_graph.h"
#include "pa_graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pg_scene { PG_SCENE_PA, PG_SCENE_BGEMM } pg_scene;

enum { PG_MAX_PREDS = 3 };

typedef struct pg_graph {
  pg_scene scene;
  char label[32];           /* the case: "Case1", "Case2", "bgemm-G64-K4" */
  pa_shape pa;              /* PG_SCENE_PA */
  bg_shape bg;              /* PG_SCENE_BGEMM */
  uint64_t tasks, edges;
  uint64_t busy_ns;         /* 0: empty kernels */
  unsigned char *runs;      /* per task: how often it ran */
  unsigned char *bad;       /* per task: ran before a predecessor */
} pg_graph;

typedef struct pg_options {
  pg_scene scene;
  const char *case_name;    /* paged_attention */
  uint32_t grid, k;         /* bgemm */
  uint64_t busy_ns;
  unsigned threads;
  int rounds, warmup;
} pg_options;

static inline const char *pg_scene_name(pg_scene s) {
  return s == PG_SCENE_BGEMM ? "bgemm" : "paged_attention";
}

/* 0, or -1 with a message for an unknown case or an out-of-range grid. */
static inline int pg_init(pg_graph *g, const pg_options *o) {
  memset(g, 0, sizeof *g);
  g->scene = o->scene;
  if (o->scene == PG_SCENE_BGEMM) {
    if (bg_shape_init(&g->bg, o->grid, o->k)) {
      fprintf(stderr, "bgemm: --grid and --k must be 1 .. %d\n", BG_MAX_GRID);
      return -1;
    }
    snprintf(g->label, sizeof g->label, "bgemm-G%u-K%u", o->grid, o->k);
    g->tasks = bg_tasks(&g->bg);
    g->edges = bg_edges(&g->bg);
  } else {
    if (pa_shape_init(&g->pa, o->case_name)) {
      fprintf(stderr, "paged_attention: unknown case '%s' (Case1, Case2)\n", o->case_name);
      return -1;
    }
    snprintf(g->label, sizeof g->label, "%s", o->case_name);
    g->tasks = pa_tasks(&g->pa);
    g->edges = pa_edges(&g->pa);
  }
  g->busy_ns = o->busy_ns;
  g->runs = (unsigned char *)calloc(g->tasks, 1);
  g->bad = (unsigned char *)calloc(g->tasks, 1);
  if (g->runs && g->bad) return 0;
  fprintf(stderr, "out of memory\n");
  free(g->runs);
  free(g->bad);
  g->runs = g->bad = 0;
  return -1;
}

static inline void pg_fini(pg_graph *g) {
  free(g->runs);
  free(g->bad);
}

static inline void pg_reset(pg_graph *g) {
  memset(g->runs, 0, g->tasks);
  memset(g->bad, 0, g->tasks);
}

/* The predecessors of task `id` (at most PG_MAX_PREDS, all smaller than
 * `id`); returns their number. */
static inline int pg_preds(const pg_graph *g, uint64_t id, uint64_t p[PG_MAX_PREDS]) {
  return g->scene == PG_SCENE_BGEMM ? bg_preds(&g->bg, id, p) : pa_preds(&g->pa, id, p);
}

static inline uint64_t pg_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The kernel of every task: the order check, then `busy_ns` of spinning
 * (the same spin as pto2-bench's --kernels busy). */
static inline void pg_kernel(pg_graph *g, uint64_t id) {
  uint64_t p[PG_MAX_PREDS];
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

/* 0 when every task ran once, after its predecessors; otherwise -1 and
 * the first task that did not, on stderr. */
static inline int pg_verify(const pg_graph *g, const char *who) {
  for (uint64_t i = 0; i < g->tasks; i++)
    if (g->runs[i] != 1 || g->bad[i]) {
      fprintf(stderr, "%s: %s task %llu ran %u times%s\n", who, g->label, (unsigned long long)i,
              g->runs[i], g->bad[i] ? ", before a predecessor" : "");
      return -1;
    }
  return 0;
}

/* A whole decimal number in [lo, hi], or -1. */
static inline int pg_parse_uint(const char *s, unsigned long lo, unsigned long hi,
                                unsigned long *out) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || end == s || *end || *s == '-' || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

static inline int pg_parse(int argc, char **argv, pg_options *o, const char *who) {
  o->scene = PG_SCENE_PA;
  o->case_name = "Case1";
  o->grid = 64;
  o->k = 4;
  o->busy_ns = 0;
  o->threads = 2;
  o->rounds = 5;
  o->warmup = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : 0;
    unsigned long n;
    if (!v) goto bad;
    if (!strcmp(a, "--scene")) {
      if (!strcmp(v, "paged_attention")) o->scene = PG_SCENE_PA;
      else if (!strcmp(v, "bgemm")) o->scene = PG_SCENE_BGEMM;
      else goto bad;
    } else if (!strcmp(a, "--case")) o->case_name = v;
    else if (!strcmp(a, "--grid") && !pg_parse_uint(v, 1, BG_MAX_GRID, &n)) o->grid = (uint32_t)n;
    else if (!strcmp(a, "--k") && !pg_parse_uint(v, 1, BG_MAX_K, &n)) o->k = (uint32_t)n;
    else if (!strcmp(a, "--busy-us") && !pg_parse_uint(v, 0, 1000000, &n)) o->busy_ns = n * 1000u;
    else if (!strcmp(a, "--threads") && !pg_parse_uint(v, 1, 1024, &n)) o->threads = (unsigned)n;
    else if (!strcmp(a, "--rounds") && !pg_parse_uint(v, 1, 1000, &n)) o->rounds = (int)n;
    else if (!strcmp(a, "--warmup") && !pg_parse_uint(v, 0, 1000, &n)) o->warmup = (int)n;
    else goto bad;
    i++;
  }
  return 0;
bad:
  fprintf(stderr,
          "usage: %s [--scene paged_attention|bgemm] [--case Case1|Case2] [--grid G] [--k K]\n"
          "          [--busy-us N (0: empty kernels)] [--threads N] [--rounds N] [--warmup N]\n"
          "  paged_attention: --case (default Case1); bgemm: G x G tiles, K steps\n"
          "  (default 64 and 4, each 1 .. %d)\n",
          who, BG_MAX_GRID);
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
  printf("{\"runtime\":\"%s\",\"scene\":\"%s\",\"case\":\"%s\",\"kernels\":\"%s\",\"threads\":%u,"
         "\"tasks\":%llu,\"edges\":%llu,\"rounds\":%d,\"elapsed_us\":{\"median\":%.3f,"
         "\"min\":%.3f,\"max\":%.3f},\"ns_per_task\":%.2f,\"verified\":true}\n",
         who, pg_scene_name(g->scene), g->label, g->busy_ns ? "busy" : "noop", o->threads,
         (unsigned long long)g->tasks, (unsigned long long)g->edges, o->rounds, med / 1e3,
         ns[0] / 1e3, ns[o->rounds - 1] / 1e3, (double)med / (double)g->tasks);
  return 0;
}

#ifdef __cplusplus
}
#endif

#endif
