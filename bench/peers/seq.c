/* The sequential loop: every task in submission (topological) order on the
 * calling thread; no runtime.  `total` = the loop. */
#include "graph.h"

static uint64_t round_seq(pg_graph *g, void *ctx) {
  (void)ctx;
  uint64_t t0 = pg_now_ns();
  for (uint64_t i = 0; i < g->tasks; i++) pg_kernel(g, i);
  return pg_now_ns() - t0;
}

int main(int argc, char **argv) {
  pg_options o;
  pg_graph g;
  if (pg_parse(argc, argv, &o, "seq") || pg_init(&g, &o)) return 2;
  o.threads = 1;
  int rc = pg_main("seq", &o, &g, round_seq, 0);
  pg_fini(&g);
  return rc;
}
