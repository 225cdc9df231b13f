/* StarPU: one starpu_task per task (no data handles), its predecessors
 * declared with starpu_task_declare_deps_array, submitted in order from the
 * calling thread; starpu_task_wait_for_all.  --threads CPU workers; the
 * calling thread only submits and waits.  `total` = creating, declaring and
 * submitting the tasks, running them to wait_for_all's return, and
 * destroying the task structures.  starpu_init runs once, outside. */
#include <starpu.h>

#include "graph.h"

static pg_graph *graph;

static void cpu_fn(void *buffers[], void *arg) {
  (void)buffers;
  pg_kernel(graph, (uint64_t)(uintptr_t)arg);
}

static struct starpu_codelet cl = {
    .cpu_funcs = {cpu_fn},
    .nbuffers = 0,
    .name = "peer_task",
};

static uint64_t round_starpu(pg_graph *g, void *ctx) {
  struct starpu_task **t = ctx;
  uint64_t t0 = pg_now_ns();
  for (uint64_t id = 0; id < g->tasks; id++) {
    struct starpu_task *k = starpu_task_create();
    k->cl = &cl;
    k->cl_arg = (void *)(uintptr_t)id;
    k->destroy = 0;
    t[id] = k;
    uint64_t p[PG_MAX_PREDS];
    int n = pg_preds(g, id, p);
    struct starpu_task *deps[PG_MAX_PREDS];
    for (int i = 0; i < n; i++) deps[i] = t[p[i]];
    if (n) starpu_task_declare_deps_array(k, (unsigned)n, deps);
    if (starpu_task_submit(k) != 0) return 0;
  }
  starpu_task_wait_for_all();
  for (uint64_t id = 0; id < g->tasks; id++) starpu_task_destroy(t[id]);
  return pg_now_ns() - t0;
}

int main(int argc, char **argv) {
  pg_options o;
  pg_graph g;
  if (pg_parse(argc, argv, &o, "starpu") || pg_init(&g, &o)) return 2;
  graph = &g;
  setenv("STARPU_SILENT", "1", 0);
  struct starpu_conf conf;
  starpu_conf_init(&conf);
  conf.ncpus = (int)o.threads;
  conf.ncuda = 0;
  conf.nopencl = 0;
  if (starpu_init(&conf) != 0) {
    fprintf(stderr, "starpu: starpu_init failed\n");
    return 2;
  }
  struct starpu_task **t = calloc(g.tasks, sizeof *t);
  int rc = t ? pg_main("starpu", &o, &g, round_starpu, t) : 2;
  free(t);
  starpu_shutdown();
  pg_fini(&g);
  return rc;
}
