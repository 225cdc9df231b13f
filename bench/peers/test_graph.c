/*
 * The peer harnesses' graphs and their verification (graph.h), without a
 * runtime: for paged attention (Case1, Case2) and bgemm (several G and K)
 *   - the numbering is topological, every task has at most PG_MAX_PREDS
 *     distinct predecessors, and they add up to the graph's edge count;
 *     bgemm's are the previous k step on the same tile of C;
 *   - running the tasks in their numbering, or in another valid order
 *     (chains last to first; bgemm tile by tile), verifies;
 *   - a task run before its predecessor, a task left out and a task run
 *     twice each fail pg_verify(), and pg_main() then exits 1;
 *   - the options parse --scene bgemm --grid --k and reject bad values.
 */
#include "graph.h"
#include "test.h"

static pg_graph make(pg_scene scene, const char *case_name, uint32_t grid, uint32_t k) {
  pg_options o = {scene, case_name, grid, k, 0, 2, 1, 0};
  pg_graph g;
  ASSERT_EQ_INT(pg_init(&g, &o), 0);
  return g;
}

static void check_structure(const pg_graph *g) {
  uint64_t edges = 0;
  for (uint64_t id = 0; id < g->tasks; id++) {
    uint64_t p[PG_MAX_PREDS];
    int n = pg_preds(g, id, p);
    ASSERT_TRUE(n >= 0 && n <= PG_MAX_PREDS);
    for (int i = 0; i < n; i++) {
      ASSERT_TRUE(p[i] < id);
      for (int j = 0; j < i; j++) ASSERT_TRUE(p[i] != p[j]);
      if (g->scene == PG_SCENE_BGEMM) {
        ASSERT_EQ_U64(p[i], id - g->bg.tiles); /* same tile, previous step */
      }
    }
    if (g->scene == PG_SCENE_BGEMM) ASSERT_EQ_INT(n, id >= g->bg.tiles);
    edges += (uint64_t)n;
  }
  ASSERT_EQ_U64(edges, g->edges);
}

/* Runs every task once in the numbering. */
static void run_in_order(pg_graph *g) {
  for (uint64_t id = 0; id < g->tasks; id++) pg_kernel(g, id);
}

/* Another valid order: paged attention chains last to first; bgemm tile by
 * tile, each tile's k steps in order. */
static void run_other_order(pg_graph *g) {
  if (g->scene == PG_SCENE_BGEMM) {
    for (uint64_t t = 0; t < g->bg.tiles; t++)
      for (uint64_t k = 0; k < g->bg.k; k++) pg_kernel(g, k * g->bg.tiles + t);
    return;
  }
  for (uint64_t c = g->pa.chains; c-- > 0;)
    for (uint64_t r = 0; r < g->pa.per_chain; r++) pg_kernel(g, c * g->pa.per_chain + r);
}

/* Runs the numbering, but `late` right after `early` (late < early: late
 * is moved behind a task it may depend on). */
static void run_swapped(pg_graph *g, uint64_t late, uint64_t early) {
  for (uint64_t id = 0; id < g->tasks; id++) {
    if (id == late) continue;
    pg_kernel(g, id);
    if (id == early) pg_kernel(g, late);
  }
}

static void check_verification(pg_graph *g) {
  pg_reset(g);
  run_in_order(g);
  ASSERT_EQ_INT(pg_verify(g, "in order"), 0);

  pg_reset(g);
  run_other_order(g);
  ASSERT_EQ_INT(pg_verify(g, "other order"), 0);

  /* the last task with a predecessor runs before that predecessor: the
   * predecessor runs late, so its successor finds it missing */
  uint64_t last = g->tasks - 1, p[PG_MAX_PREDS];
  while (pg_preds(g, last, p) == 0) last--;
  pg_reset(g);
  run_swapped(g, p[0], last);
  ASSERT_EQ_INT(pg_verify(g, "expected failure, wrong order"), -1);
  ASSERT_EQ_INT(g->bad[last], 1);

  /* a task left out (the last), and a task run twice (the first) */
  pg_reset(g);
  for (uint64_t id = 0; id + 1 < g->tasks; id++) pg_kernel(g, id);
  ASSERT_EQ_INT(pg_verify(g, "expected failure, missing task"), -1);
  pg_reset(g);
  run_in_order(g);
  pg_kernel(g, 0);
  ASSERT_EQ_INT(pg_verify(g, "expected failure, task twice"), -1);
}

static uint64_t round_good(pg_graph *g, void *ctx) {
  (void)ctx;
  run_in_order(g);
  return 1;
}

static uint64_t round_missing(pg_graph *g, void *ctx) {
  (void)ctx;
  for (uint64_t id = 1; id < g->tasks; id++) pg_kernel(g, id);
  return 1;
}

static int parse(const char *const *args, int n, pg_options *o) {
  char *argv[16];
  argv[0] = (char *)"test";
  for (int i = 0; i < n; i++) argv[i + 1] = (char *)args[i];
  return pg_parse(n + 1, argv, o, "test");
}

int main(void) {
  pg_graph graphs[] = {
      make(PG_SCENE_PA, "Case1", 0, 0),     make(PG_SCENE_PA, "Case2", 0, 0),
      make(PG_SCENE_BGEMM, 0, 1, 1),        make(PG_SCENE_BGEMM, 0, 3, 5),
      make(PG_SCENE_BGEMM, 0, 64, 4),
  };
  ASSERT_EQ_U64(graphs[0].tasks, 65792);
  ASSERT_EQ_U64(graphs[0].edges, 81920);
  ASSERT_EQ_U64(graphs[1].tasks, 32832);
  ASSERT_EQ_U64(graphs[1].edges, 40960);
  ASSERT_EQ_U64(graphs[4].tasks, 16384);
  ASSERT_EQ_U64(graphs[4].edges, 12288);
  ASSERT_STR_CONTAINS(graphs[3].label, "bgemm-G3-K5");
  for (size_t i = 0; i < sizeof graphs / sizeof graphs[0]; i++) {
    pg_graph *g = &graphs[i];
    check_structure(g);
    if (g->edges) check_verification(g);
    pg_options o = {g->scene, "Case1", 0, 0, 0, 2, 2, 1};
    ASSERT_EQ_INT(pg_main("test", &o, g, round_good, 0), 0);
    ASSERT_EQ_INT(pg_main("test", &o, g, round_missing, 0), 1);
  }
  for (size_t i = 0; i < sizeof graphs / sizeof graphs[0]; i++) pg_fini(&graphs[i]);

  pg_options o;
  const char *ok[] = {"--scene", "bgemm", "--grid", "7", "--k", "2", "--busy-us", "2"};
  ASSERT_EQ_INT(parse(ok, 8, &o), 0);
  ASSERT_TRUE(o.scene == PG_SCENE_BGEMM && o.grid == 7 && o.k == 2 && o.busy_ns == 2000);
  const char *bad[][2] = {{"--grid", "0"},  {"--grid", "1025"}, {"--k", "x"},
                          {"--scene", "gemm"}, {"--threads", "0"}, {"--rounds", "-1"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) ASSERT_EQ_INT(parse(bad[i], 2, &o), -1);
  const char *unknown_case[] = {"--case", "Case9"};
  ASSERT_EQ_INT(parse(unknown_case, 2, &o), 0);
  pg_graph g;
  ASSERT_EQ_INT(pg_init(&g, &o), -1);
  TEST_PASS("test_peer_graph");
}
