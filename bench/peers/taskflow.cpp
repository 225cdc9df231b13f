// Taskflow: one emplace per task, one precede per edge, executor.run().wait().
// The executor (--threads workers) is created once, outside the timing; the
// calling thread only waits.  `total` = building the tf::Taskflow, running
// it to completion and destroying it.
#include <taskflow/taskflow.hpp>

#include <vector>

#include "graph.h"

static uint64_t round_tf(pg_graph *g, void *ctx) {
  tf::Executor &ex = *static_cast<tf::Executor *>(ctx);
  uint64_t t0 = pg_now_ns();
  {
    tf::Taskflow flow;
    std::vector<tf::Task> tasks(g->tasks);
    for (uint64_t id = 0; id < g->tasks; id++) {
      tasks[id] = flow.emplace([g, id]() { pg_kernel(g, id); });
      uint64_t p[PG_MAX_PREDS];
      int n = pg_preds(g, id, p);
      for (int i = 0; i < n; i++) tasks[p[i]].precede(tasks[id]);
    }
    ex.run(flow).wait();
  }
  return pg_now_ns() - t0;
}

int main(int argc, char **argv) {
  pg_options o;
  pg_graph g;
  if (pg_parse(argc, argv, &o, "taskflow") || pg_init(&g, &o)) return 2;
  tf::Executor ex(o.threads);
  int rc = pg_main("taskflow", &o, &g, round_tf, &ex);
  pg_fini(&g);
  return rc;
}
