/*
 * pto2-tmap-bench: submit cost against the number of live TensorMap
 * entries on one allocation, and the tiled GEMM of the peer harnesses.
 *
 *   pto2-tmap-bench [--scene tiles|bgemm|all] [--n LIST] [--grid LIST]
 *                   [--probe N] [--k N] [--repeat N] [--warmup N]
 *                   [--lane auto,manual,graph|all] [--kernels noop|busy]
 *                   [--busy-us N] [--threads N] [--format table|json]
 *
 * tiles  A task creates a buffer of N + 1 rows of 16 floats; N tasks, each
 *        in an inner AUTO scope of its own, update (INOUT) rows 0 .. N-1,
 *        which leaves N live entries on the buffer (they live as long as
 *        the buffer's creator).  After as many updates of another buffer as
 *        there are probes (so the runtime is in the same steady state
 *        whatever N is), `probe` more tasks update row N the same way (each
 *        covers and replaces the previous one's entry, so every probe finds
 *        N + 1 live entries); their submits are timed: orch ns/task is
 *        the orchestrator's time per probe submit (scope begin and end
 *        included), x N=first that divided by the first N's.  --n gives the values of N (default
 *        0,1000,10000,30000,60000).
 * bgemm  A tiled matrix multiplication C += A x B on G x G tiles of 16x16
 *        floats with K-split: for every k, for every tile (m, n), a task
 *        reads A(m, k) and B(k, n) and accumulates into C(m, n) with INOUT,
 *        in this order (the shape of the upstream bgemm benchmark: all
 *        tiles of C are views of one allocation).  orch ns/task is the
 *        orchestration time per task (not the elapsed time per task that
 *        make bench-peers' ns/task is), x G=first that divided by the same
 *        lane's at the first G.  --grid gives the values of G
 *        (default 4,16,64), --k the steps (default 4).  --lane (default
 *        auto) says how the dependencies are declared:
 *          auto    an AUTO scope per k step: the TensorMap finds each
 *                  task's previous writer of its C tile;
 *          manual  a MANUAL scope per k step and row of C (A and B
 *                  manual_dep): no edge inside a scope, the previous
 *                  step's writer of the C tile is found from the TensorMap
 *                  at the scope boundary;
 *          graph   a GRAPH scope per k step and row of C:
 *                  pto2_add_dependency from the previous step's task on
 *                  the same tile, no TensorMap.
 *        Every lane must give the graph of bench/peers/bgemm_graph.h: K G^2
 *        tasks and (K - 1) G^2 edges as the runtime counts them, or the
 *        bench fails.
 *
 * Kernels are empty (--kernels busy: every kernel spins --busy-us
 * microseconds, default 2).  Every figure is the median of --repeat runs
 * (default 5; tiles: the values of N interleaved round by round after one
 * warm-up run; bgemm: after --warmup runs, default 0, per G and lane) on one
 * runtime, with the default configuration but for --threads N (worker
 * threads besides the caller; 0: none).  With --format json every bgemm
 * line carries the elapsed time (orchestration start to the last task's
 * completion) and the orchestration time, their median, min and max, the
 * way pto2-bench's lines do (bench/peers/run.sh reads them), and
 * orch_ns_per_task (the table's orch ns/task; a tiles line has only that).
 * A bad option or value prints one line naming it, then the usage, and
 * exits with status 2.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pto2/pto2.h"

enum { K_HUB = 0, K_UPDATE = 1, K_GEMM = 2, MAX_VALUES = 32, MAX_REPEAT = 101, ROW = 16 };

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int noop(const pto2_kernel_ctx *ctx) {
  (void)ctx;
  return 0;
}

typedef struct tiles_job {
  uint32_t n, probe;
  uint64_t probe_ns;
} tiles_job;

static void update_row(pto2_runtime *rt, const pto2_tensor *buf, uint32_t row) {
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
    pto2_tensor tile = pto2_tensor_view2(buf, 1, ROW, row, 0);
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_inout(&a, &tile);
    pto2_submit_aiv(rt, K_UPDATE, &a);
  }
}

static void orch_tiles(pto2_runtime *rt, void *arg) {
  tiles_job *j = arg;
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
    const uint32_t shape[2] = {j->n + 1, ROW};
    pto2_create_info ci = pto2_create_info_make(shape, 2, PTO2_FLOAT32);
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_output(&a, &ci);
    pto2_submit_aiv(rt, K_HUB, &a);
    pto2_tensor buf = a.outputs[0];
    const uint32_t wshape[2] = {1, ROW};
    pto2_create_info wci = pto2_create_info_make(wshape, 2, PTO2_FLOAT32);
    pto2_arg_init(&a);
    pto2_arg_add_output(&a, &wci);
    pto2_submit_aiv(rt, K_HUB, &a);
    pto2_tensor warm = a.outputs[0];
    for (uint32_t i = 0; i < j->n && !pto2_is_fatal(rt); i++) update_row(rt, &buf, i);
    /* the same steady state before the probe whatever N is */
    for (uint32_t i = 0; i < j->probe && !pto2_is_fatal(rt); i++) update_row(rt, &warm, 0);
    uint64_t t0 = now_ns();
    for (uint32_t i = 0; i < j->probe && !pto2_is_fatal(rt); i++) update_row(rt, &buf, j->n);
    j->probe_ns = now_ns() - t0;
  }
}

typedef enum lane { LANE_AUTO, LANE_MANUAL, LANE_GRAPH, LANE_COUNT } lane;

static const char *lane_name(lane l) {
  static const char *names[LANE_COUNT] = {"auto", "manual", "graph"};
  return names[l];
}

typedef struct bgemm_job {
  uint32_t grid, k;
  lane lane;
  pto2_tensor a, b, c;
  pto2_task_id *prev; /* graph lane: per tile of C, its task of the previous step */
} bgemm_job;

/* The tasks of row m of C at step k. */
static void bgemm_row(pto2_runtime *rt, bgemm_job *j, uint32_t k, uint32_t m) {
  for (uint32_t n = 0; n < j->grid; n++) {
    pto2_tensor at = pto2_tensor_view2(&j->a, ROW, ROW, m * ROW, k * ROW);
    pto2_tensor bt = pto2_tensor_view2(&j->b, ROW, ROW, k * ROW, n * ROW);
    pto2_tensor ct = pto2_tensor_view2(&j->c, ROW, ROW, m * ROW, n * ROW);
    /* a view does not inherit manual_dep; the manual lane leaves A and B
     * out of the TensorMap, as pto2-bench's manual lane does its inputs */
    at.manual_dep = bt.manual_dep = j->lane == LANE_MANUAL;
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &at);
    pto2_arg_add_input(&a, &bt);
    pto2_arg_add_inout(&a, &ct);
    if (j->lane == LANE_MANUAL) {
      pto2_submit_aiv_manual(rt, K_GEMM, &a);
    } else if (j->lane == LANE_GRAPH) {
      pto2_task_id id = pto2_submit_aiv(rt, K_GEMM, &a), *prev = &j->prev[m * j->grid + n];
      if (k) pto2_add_dependency(rt, *prev, id);
      *prev = id;
    } else {
      pto2_submit_aiv(rt, K_GEMM, &a);
    }
  }
}

/* auto: an AUTO scope per k step.  manual and graph: a MANUAL or GRAPH
 * scope per row of C and k step.  Such a scope holds its tasks back until
 * it ends, and they hold their producers of the previous step, so a scope
 * per step would need room for two steps (2 G^2 tasks) in the task ring
 * at once; a row needs 2 G. */
static void orch_bgemm(pto2_runtime *rt, void *arg) {
  bgemm_job *j = arg;
  for (uint32_t k = 0; k < j->k && !pto2_is_fatal(rt); k++) {
    if (j->lane == LANE_AUTO) {
      PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
        for (uint32_t m = 0; m < j->grid; m++) bgemm_row(rt, j, k, m);
      }
      continue;
    }
    pto2_scope_mode mode = j->lane == LANE_MANUAL ? PTO2_SCOPE_MANUAL : PTO2_SCOPE_GRAPH;
    for (uint32_t m = 0; m < j->grid; m++) {
      PTO2_SCOPE(rt, mode) { bgemm_row(rt, j, k, m); }
    }
  }
}

static void spin(uint64_t ns) {
  uint64_t start = now_ns();
  while (now_ns() - start < ns) {
  }
}

/* Spins for the nanoseconds given at registration (--kernels busy). */
static int busy(const pto2_kernel_ctx *ctx) {
  spin((uint64_t)(uintptr_t)ctx->user);
  return 0;
}

/* The bgemm kernel checks the order the way the peer harnesses' kernels
 * do: task (k, m, n) finds its tile of C updated by exactly k earlier
 * tasks, and counts itself.  It reads k from its tile of A and (m, n) from
 * its tile of C (the views' origins), so the task carries nothing extra.
 * Tasks of one tile are ordered by their edges; no two tasks touch one
 * counter otherwise. */
typedef struct gemm_check {
  const float *a, *c;
  uint32_t kside, side, grid;
  uint32_t *steps;  /* per tile of C: the tasks that ran on it */
  uint8_t *bad;     /* per tile of C: a task found a wrong count */
  uint64_t busy_ns;
} gemm_check;

static int gemm_kernel(const pto2_kernel_ctx *ctx) {
  gemm_check *g = ctx->user;
  size_t ai = (size_t)((const float *)ctx->tensors[0].data - g->a);
  size_t ci = (size_t)((const float *)ctx->tensors[2].data - g->c);
  uint32_t k = (uint32_t)(ai % g->kside) / ROW;
  uint32_t tile = (uint32_t)(ci / g->side / ROW) * g->grid + (uint32_t)(ci % g->side) / ROW;
  if (g->steps[tile] != k) g->bad[tile] = 1;
  g->steps[tile]++;
  if (g->busy_ns) spin(g->busy_ns);
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Sorts v. */
static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int parse_list(const char *s, uint32_t *out, int *count) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", s);
  *count = 0;
  for (char *save = 0, *w = strtok_r(buf, ",", &save); w; w = strtok_r(0, ",", &save)) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(w, &end, 10);
    if (errno || *end || *w == '-' || v > 1000000 || *count == MAX_VALUES) return -1;
    out[(*count)++] = (uint32_t)v;
  }
  return *count ? 0 : -1;
}

static int parse_lanes(const char *s, bool lanes[LANE_COUNT]) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s", s);
  for (int l = 0; l < LANE_COUNT; l++) lanes[l] = false;
  int count = 0;
  for (char *save = 0, *w = strtok_r(buf, ",", &save); w; w = strtok_r(0, ",", &save), count++) {
    int l = 0;
    while (l < LANE_COUNT && strcmp(w, lane_name((lane)l))) l++;
    if (l < LANE_COUNT) lanes[l] = true;
    else if (!strcmp(w, "all")) lanes[LANE_AUTO] = lanes[LANE_MANUAL] = lanes[LANE_GRAPH] = true;
    else return -1;
  }
  return count ? 0 : -1;
}

static void usage(FILE *f) {
  fprintf(f, "usage: pto2-tmap-bench [--scene tiles|bgemm|all] [--n LIST] [--grid LIST]\n"
             "                       [--probe N] [--k N] [--repeat N] [--warmup N]\n"
             "                       [--lane auto,manual,graph|all] [--kernels noop|busy]\n"
             "                       [--busy-us N] [--threads N] [--format table|json] [--help]\n");
}

/* A bad option or value: one line naming it (and what is expected), then
 * the usage; exit status 2. */
static int fail_arg(const char *what, const char *value, const char *expected) {
  fprintf(stderr, "pto2-tmap-bench: invalid %s '%s'%s%s%s\n", what, value,
          expected ? " (expected " : "", expected ? expected : "", expected ? ")" : "");
  usage(stderr);
  return 2;
}

/* What the table's columns mean: under the tables and in --help. */
#define TABLE_LEGEND                                                                            \
  "columns: orch ns/task = the orchestrator's time per submit (tiles: per probe submit,\n"       \
  "  scope begin and end included; bgemm: orchestration time / tasks), not elapsed time per\n"   \
  "  task as in make bench-peers' ns/task; x N=first / x G=first = orch ns/task divided by\n"    \
  "  that of the first N / the first G (the same lane's); elapsed(us) = orchestration start\n"  \
  "  to the last task's completion\n"

typedef struct bgemm_opts {
  uint32_t k, repeat, warmup, workers;
  const char *kernels;
  bool json;
  gemm_check *check; /* the K_GEMM kernel's */
} bgemm_opts;

/* 0 when every task ran once, after its predecessor on the tile. */
static int gemm_verify(const gemm_check *g, uint32_t ksteps, lane l) {
  for (uint32_t t = 0; t < g->grid * g->grid; t++)
    if (g->steps[t] != ksteps || g->bad[t]) {
      fprintf(stderr, "pto2-tmap-bench: bgemm G=%u %s: tile %u ran %u of %u steps%s\n", g->grid,
              lane_name(l), t, g->steps[t], ksteps, g->bad[t] ? ", out of order" : "");
      return -1;
    }
  return 0;
}

/* One G on one lane: warm-up and measured runs, the counts checked, one
 * line.  *first: the lane's ns/task at the first G (0: this is it). */
static int bgemm_measure(pto2_runtime *rt, const bgemm_opts *o, uint32_t g, lane l, double *first) {
  uint32_t side = g * ROW, kside = o->k * ROW;
  float *a = calloc((size_t)side * kside, sizeof *a), *b = calloc((size_t)kside * side, sizeof *b),
        *c = calloc((size_t)side * side, sizeof *c);
  pto2_task_id *prev = calloc((size_t)g * g, sizeof *prev);
  gemm_check *chk = o->check;
  chk->steps = calloc((size_t)g * g, sizeof *chk->steps);
  chk->bad = calloc((size_t)g * g, 1);
  int status = 0;
  if (!a || !b || !c || !prev || !chk->steps || !chk->bad) {
    fprintf(stderr, "pto2-tmap-bench: out of memory\n");
    status = 1;
    goto out;
  }
  const uint32_t sa[2] = {side, kside}, sb[2] = {kside, side}, sc[2] = {side, side};
  bgemm_job j = {g, o->k, l, pto2_tensor_external(a, sa, 2, PTO2_FLOAT32),
                 pto2_tensor_external(b, sb, 2, PTO2_FLOAT32),
                 pto2_tensor_external(c, sc, 2, PTO2_FLOAT32), prev};
  chk->a = a, chk->c = c, chk->kside = kside, chk->side = side, chk->grid = g;
  const uint64_t tasks = (uint64_t)o->k * g * g, edges = (uint64_t)(o->k - 1) * g * g;
  double orch[MAX_REPEAT], el[MAX_REPEAT];
  uint64_t recorded = 0; /* the runtime's edge count of the last run */
  for (uint32_t r = 0; r < o->warmup + o->repeat; r++) {
    pto2_run_stats st;
    memset(chk->steps, 0, (size_t)g * g * sizeof *chk->steps);
    memset(chk->bad, 0, (size_t)g * g);
    if (pto2_run(rt, orch_bgemm, &j, &st)) {
      fprintf(stderr, "pto2-tmap-bench: bgemm G=%u %s: %s\n", g, lane_name(l), pto2_error_message(rt));
      status = 1;
      goto out;
    }
    /* The graph lane records every edge it declares; auto and manual
     * record none to a producer already retired when the consumer is
     * submitted (its k step's scope ended and it finished), so they may
     * count fewer. */
    if (gemm_verify(chk, o->k, l) || st.tasks != tasks ||
        (l == LANE_GRAPH ? st.edges != edges : st.edges > edges)) {
      fprintf(stderr, "pto2-tmap-bench: bgemm G=%u K=%u %s: %llu tasks and %llu edges (expected %llu and %s%llu)\n",
              g, o->k, lane_name(l), (unsigned long long)st.tasks, (unsigned long long)st.edges,
              (unsigned long long)tasks, l == LANE_GRAPH ? "" : "at most ", (unsigned long long)edges);
      status = 1;
      goto out;
    }
    recorded = st.edges;
    if (r >= o->warmup) {
      orch[r - o->warmup] = st.orch_ns / 1e3;
      el[r - o->warmup] = st.elapsed_ns / 1e3;
    }
  }
  int n = (int)o->repeat;
  double om = median(orch, n), em = median(el, n), ns = om * 1e3 / (double)tasks;
  if (*first == 0) *first = ns;
  if (o->json)
    printf("{\"scene\":\"bgemm\",\"grid\":%u,\"k\":%u,\"lane\":\"%s\",\"kernels\":\"%s\","
           "\"workers\":%u,\"tasks\":%llu,\"edges\":%llu,\"rounds\":%u,"
           "\"elapsed_us\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f},"
           "\"orch_us\":{\"median\":%.3f,\"min\":%.3f,\"max\":%.3f},\"orch_ns_per_task\":%.1f}\n",
           g, o->k, lane_name(l), o->kernels, o->workers, (unsigned long long)tasks,
           (unsigned long long)recorded, o->repeat, em, el[0], el[n - 1], om, orch[0], orch[n - 1], ns);
  else
    printf("  %8u %-7s %8llu %12.1f %10.2f %14.1f\n", g, lane_name(l), (unsigned long long)tasks, ns,
           ns / *first, em);
out:
  free(a), free(b), free(c), free(prev), free(chk->steps), free(chk->bad);
  chk->steps = 0;
  chk->bad = 0;
  return status;
}

int main(int argc, char **argv) {
  uint32_t ns[MAX_VALUES], grids[MAX_VALUES], probe = 1000, busy_us = 0, threads = 0;
  bgemm_opts bo = {.k = 4, .repeat = 5, .warmup = 0, .kernels = "noop"};
  int nn, ng;
  bool tiles = true, bgemm = true, threads_set = false, lanes[LANE_COUNT] = {true, false, false};
  parse_list("0,1000,10000,30000,60000", ns, &nn);
  parse_list("4,16,64", grids, &ng);
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i];
    if (!strcmp(o, "--help")) {
      usage(stdout);
      printf("\n%s", TABLE_LEGEND);
      return 0;
    }
    const char *v = i + 1 < argc ? argv[++i] : 0;
    uint32_t one[MAX_VALUES];
    int cnt;
    bool known = !strcmp(o, "--scene") || !strcmp(o, "--n") || !strcmp(o, "--grid") ||
                 !strcmp(o, "--lane") || !strcmp(o, "--kernels") || !strcmp(o, "--probe") ||
                 !strcmp(o, "--k") || !strcmp(o, "--repeat") || !strcmp(o, "--busy-us") ||
                 !strcmp(o, "--warmup") || !strcmp(o, "--threads") || !strcmp(o, "--format");
    if (!known) return fail_arg("option", o, 0);
    if (!v) return fail_arg("option (missing value)", o, 0);
    if (!strcmp(o, "--scene")) {
      tiles = !strcmp(v, "tiles") || !strcmp(v, "all");
      bgemm = !strcmp(v, "bgemm") || !strcmp(v, "all");
      if (!tiles && !bgemm) return fail_arg("scene", v, "tiles, bgemm or all");
    } else if (!strcmp(o, "--n")) {
      if (parse_list(v, ns, &nn))
        return fail_arg("n", v, "a comma-separated list of 0..1000000, at most 32");
    } else if (!strcmp(o, "--grid")) {
      bool bad = parse_list(v, grids, &ng) != 0;
      for (int g = 0; g < ng && !bad; g++) bad = grids[g] == 0 || grids[g] > 1024;
      if (bad) return fail_arg("grid", v, "a comma-separated list of 1..1024, at most 32");
    } else if (!strcmp(o, "--lane")) {
      if (parse_lanes(v, lanes)) return fail_arg("lane", v, "auto, manual, graph, a list, or all");
    } else if (!strcmp(o, "--kernels")) {
      if (strcmp(v, "noop") && strcmp(v, "busy")) return fail_arg("kernels", v, "noop or busy");
      bo.kernels = !strcmp(v, "busy") ? "busy" : "noop";
    } else if (!strcmp(o, "--probe") || !strcmp(o, "--k") || !strcmp(o, "--repeat") ||
               !strcmp(o, "--busy-us")) {
      uint32_t max = !strcmp(o, "--k") ? 1024 : !strcmp(o, "--repeat") ? MAX_REPEAT : 1000000;
      if (parse_list(v, one, &cnt) || cnt != 1 || one[0] == 0 || one[0] > max) {
        char range[32];
        snprintf(range, sizeof range, "1..%u", max);
        return fail_arg(o + 2, v, range);
      }
      if (!strcmp(o, "--probe")) probe = one[0];
      else if (!strcmp(o, "--k")) bo.k = one[0];
      else if (!strcmp(o, "--busy-us")) busy_us = one[0];
      else bo.repeat = one[0];
    } else if (!strcmp(o, "--warmup") || !strcmp(o, "--threads")) {
      if (parse_list(v, one, &cnt) || cnt != 1 || one[0] > 256) return fail_arg(o + 2, v, "0..256");
      if (!strcmp(o, "--warmup")) bo.warmup = one[0];
      else threads = one[0], threads_set = true;
    } else {
      if (strcmp(v, "table") && strcmp(v, "json")) return fail_arg("format", v, "table or json");
      bo.json = !strcmp(v, "json");
    }
  }
  if (!strcmp(bo.kernels, "busy") && !busy_us) busy_us = 2;
  if (busy_us && strcmp(bo.kernels, "busy")) { /* --busy-us without busy kernels */
    fprintf(stderr, "pto2-tmap-bench: --busy-us needs --kernels busy\n");
    usage(stderr);
    return 2;
  }

  pto2_config cfg = {0};
  cfg.worker_threads = !threads_set ? 0 /* the default */ : threads ? threads : PTO2_WORKERS_NONE;
  pto2_kernel_fn fn = busy_us ? busy : noop;
  void *user = (void *)(uintptr_t)(busy_us * UINT64_C(1000));
  static gemm_check check;
  check.busy_ns = busy_us * UINT64_C(1000);
  bo.check = &check;
  pto2_runtime *rt;
  if (pto2_runtime_create(&cfg, &rt) ||
      pto2_kernel_register(rt, K_HUB, PTO2_CORE_AIV, "hub", fn, user) ||
      pto2_kernel_register(rt, K_UPDATE, PTO2_CORE_AIV, "update", fn, user) ||
      pto2_kernel_register(rt, K_GEMM, PTO2_CORE_AIV, "gemm", gemm_kernel, &check)) {
    fprintf(stderr, "pto2-tmap-bench: runtime setup failed\n");
    return 1;
  }
  pto2_config eff;
  pto2_runtime_get_config(rt, &eff);
  bo.workers = eff.worker_threads;
  const uint32_t repeat = bo.repeat;
  const bool json = bo.json;
  int status = 0;
  if (tiles) {
    if (!json) printf("tiles: %u probe submits after N live entries on one buffer (median of %u)\n"
                      "  %8s %12s %10s\n", probe, repeat, "N", "orch ns/task", "x N=first");
    static double tv[MAX_VALUES][MAX_REPEAT];
    /* one warm-up run, then the values of N interleaved round by round */
    for (uint32_t r = 0; r <= repeat; r++)
      for (int i = 0; i < nn; i++) {
        tiles_job j = {ns[i], probe, 0};
        if (pto2_run(rt, orch_tiles, &j, NULL)) {
          fprintf(stderr, "pto2-tmap-bench: tiles N=%u: %s\n", ns[i], pto2_error_message(rt));
          status = 1;
          goto out;
        }
        if (r) tv[i][r - 1] = (double)j.probe_ns / probe;
        else break;
      }
    double first = 0;
    for (int i = 0; i < nn; i++) {
      double m = median(tv[i], (int)repeat);
      if (i == 0) first = m;
      if (json)
        printf("{\"scene\":\"tiles\",\"live_entries\":%u,\"probe\":%u,\"orch_ns_per_task\":%.1f}\n",
               ns[i], probe, m);
      else printf("  %8u %12.1f %10.2f\n", ns[i], m, m / first);
    }
  }
  if (bgemm) {
    if (!json)
      printf("bgemm: G x G tiles of C, %u K step%s, INOUT accumulation, %s kernels, %u worker%s "
             "(median of %u)\n  %8s %-7s %8s %12s %10s %14s\n",
             bo.k, bo.k == 1 ? "" : "s", bo.kernels, bo.workers, bo.workers == 1 ? "" : "s", repeat, "G", "lane", "tasks", "orch ns/task", "x G=first",
             "elapsed(us)");
    double first[LANE_COUNT] = {0};
    for (int i = 0; i < ng && !status; i++)
      for (int l = 0; l < LANE_COUNT && !status; l++)
        if (lanes[l]) status = bgemm_measure(rt, &bo, grids[i], (lane)l, &first[l]);
  }
  if (!json && !status) printf("%s", TABLE_LEGEND);
out:
  pto2_runtime_destroy(rt);
  return status;
}
