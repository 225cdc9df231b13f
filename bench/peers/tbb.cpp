// oneTBB flow graph: one continue_node per task, one make_edge per edge, a
// try_put into every task without predecessors, wait_for_all.  The calling
// thread joins the work in wait_for_all; max_allowed_parallelism caps the
// threads at --threads.  `total` = constructing the graph and its nodes and
// edges, running it to wait_for_all's return, and destroying it.
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/global_control.h>

#include <deque>

#include "graph.h"

using namespace oneapi::tbb;
using node_t = flow::continue_node<flow::continue_msg>;

static uint64_t round_tbb(pg_graph *g, void *) {
  uint64_t t0 = pg_now_ns();
  {
    flow::graph fg;
    std::deque<node_t> nodes;
    for (uint64_t id = 0; id < g->tasks; id++) {
      nodes.emplace_back(fg, [g, id](const flow::continue_msg &) { pg_kernel(g, id); });
      uint64_t p[PG_MAX_PREDS];
      int n = pg_preds(g, id, p);
      for (int i = 0; i < n; i++) flow::make_edge(nodes[p[i]], nodes[id]);
    }
    for (uint64_t id = 0; id < g->tasks; id++) {
      uint64_t p[PG_MAX_PREDS];
      if (pg_preds(g, id, p) == 0) nodes[id].try_put(flow::continue_msg());
    }
    fg.wait_for_all();
  }
  return pg_now_ns() - t0;
}

int main(int argc, char **argv) {
  pg_options o;
  pg_graph g;
  if (pg_parse(argc, argv, &o, "onetbb") || pg_init(&g, &o)) return 2;
  global_control gc(global_control::max_allowed_parallelism, o.threads);
  int rc = pg_main("onetbb", &o, &g, round_tbb, nullptr);
  pg_fini(&g);
  return rc;
}
