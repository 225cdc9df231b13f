/* OpenMP tasks with `depend` (gcc's libgomp): the runtime infers the
 * graph's edges from addresses, the way pto2's auto lane infers them from
 * tensors.  paged_attention: each task writes a token of its own (depend
 * out) and reads its predecessors' tokens (depend in).  bgemm: each task
 * names the tiles it touches, as a user would: depend(in) on a byte per
 * tile of A and of B, depend(inout) on a byte per tile of C, so libgomp
 * matches three addresses per task and finds the chain of each C tile
 * (reads of A and B order nothing).  One thread creates the tasks
 * inside `single`; the team (--threads) runs them.  `total` = the parallel
 * region: task creation, dependency matching and execution, up to the
 * region's closing barrier.  The thread team persists between rounds. */
#include <omp.h>

#include "graph.h"

/* bgemm: tok holds G x K tokens for A, K x G for B, then G x G for C. */
static uint64_t round_bgemm(pg_graph *g, char *tok) {
  const uint64_t grid = g->bg.grid, ksteps = g->bg.k;
  char *a = tok, *b = tok + grid * ksteps, *c = b + ksteps * grid;
  (void)a, (void)b, (void)c; /* gcc 12 does not count uses in depend clauses */
  unsigned threads = (unsigned)omp_get_max_threads();
  uint64_t t0 = pg_now_ns();
#pragma omp parallel num_threads(threads)
#pragma omp single
  for (uint64_t k = 0, id = 0; k < ksteps; k++)
    for (uint64_t m = 0; m < grid; m++)
      for (uint64_t n = 0; n < grid; n++, id++) {
#pragma omp task firstprivate(id) depend(in : a[m * ksteps + k], b[k * grid + n]) \
    depend(inout : c[m * grid + n])
        pg_kernel(g, id);
      }
  return pg_now_ns() - t0;
}

static uint64_t round_omp(pg_graph *g, void *ctx) {
  char *tok = ctx;
  (void)tok; /* gcc 12 does not count uses in depend clauses */
  if (g->scene == PG_SCENE_BGEMM) return round_bgemm(g, tok);
  unsigned threads = (unsigned)omp_get_max_threads();
  uint64_t t0 = pg_now_ns();
#pragma omp parallel num_threads(threads)
#pragma omp single
  for (uint64_t id = 0; id < g->tasks; id++) {
    uint64_t p[PG_MAX_PREDS];
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
  if (pg_parse(argc, argv, &o, "openmp") || pg_init(&g, &o)) return 2;
  omp_set_num_threads((int)o.threads);
  /* a token per task, or per tile of A, B and C */
  char *tok = calloc(g.tasks + 2 * (uint64_t)o.grid * o.k + (uint64_t)o.grid * o.grid, 1);
  if (!tok) return 2;
  int rc = pg_main("openmp", &o, &g, round_omp, tok);
  free(tok);
  pg_fini(&g);
  return rc;
}
