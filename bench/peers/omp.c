/* OpenMP tasks with `depend` (gcc's libgomp).  Each task writes a token of
 * its own (depend out) and reads its predecessors' tokens (depend in), so
 * the runtime infers exactly the graph's edges from addresses, the way
 * pto2's auto lane infers them from tensors.  One thread creates the tasks
 * inside `single`; the team (--threads) runs them.  `total` = the parallel
 * region: task creation, dependency matching and execution, up to the
 * region's closing barrier.  The thread team persists between rounds. */
#include <omp.h>

#include "pa_graph.h"

static uint64_t round_omp(pg_graph *g, void *ctx) {
  char *tok = ctx;
  (void)tok; /* gcc 12 does not count uses in depend clauses */
  unsigned threads = (unsigned)omp_get_max_threads();
  uint64_t t0 = pg_now_ns();
#pragma omp parallel num_threads(threads)
#pragma omp single
  for (uint64_t id = 0; id < g->tasks; id++) {
    uint64_t p[3];
    int n = pg_preds(g, id, p);
    if (n == 0) {
#pragma omp task firstprivate(id) depend(out : tok[id])
      pg_kernel(g, id);
    } else if (n == 1) {
#pragma omp task firstprivate(id) depend(out : tok[id]) depend(in : tok[p[0]])
      pg_kernel(g, id);
    } else {
#pragma omp task firstprivate(id) depend(out : tok[id]) depend(in : tok[p[0]], tok[p[1]], tok[p[2]])
      pg_kernel(g, id);
    }
  }
  return pg_now_ns() - t0;
}

int main(int argc, char **argv) {
  pg_options o;
  pg_graph g;
  if (pg_parse(argc, argv, &o, "openmp") || pg_init(&g, o.case_name, o.busy_ns)) return 2;
  omp_set_num_threads((int)o.threads);
  char *tok = calloc(g.tasks, 1);
  if (!tok) return 2;
  int rc = pg_main("openmp", &o, &g, round_omp, tok);
  free(tok);
  pg_fini(&g);
  return rc;
}
