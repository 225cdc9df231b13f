/*
 * pto2-tmap-bench: submit cost against the number of live TensorMap
 * entries on one allocation.
 *
 *   pto2-tmap-bench [--scene tiles|bgemm|all] [--n LIST] [--grid LIST]
 *                   [--probe N] [--k N] [--repeat N] [--format table|json]
 *
 * tiles  A task creates a buffer of N + 1 rows of 16 floats; N tasks, each
 *        in an inner AUTO scope of its own, update (INOUT) rows 0 .. N-1,
 *        which leaves N live entries on the buffer (they live as long as
 *        the buffer's creator).  After as many updates of another buffer as
 *        there are probes (so the runtime is in the same steady state
 *        whatever N is), `probe` more tasks update row N the same way (each
 *        covers and replaces the previous one's entry, so every probe finds
 *        N + 1 live entries); their submits are timed: ns/task is the
 *        orchestrator's time per probe submit (scope begin and end
 *        included).  --n gives the values of N (default
 *        0,1000,10000,30000,60000).
 * bgemm  A tiled matrix multiplication C += A x B on G x G tiles of 16x16
 *        floats with K-split: for every k, for every tile (m, n), a task
 *        reads A(m, k) and B(k, n) and accumulates into C(m, n) with INOUT,
 *        one AUTO scope per k step (the shape of the upstream bgemm
 *        benchmark: all tiles of C are views of one allocation).  ns/task
 *        is the orchestration time per task.  --grid gives the values of G
 *        (default 4,16,64), --k the steps (default 4).
 *
 * Kernels are empty; every figure is the median of --repeat runs (default
 * 5, the values of N interleaved round by round after one warm-up run) on
 * one runtime with the default configuration.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pto2/pto2.h"

enum { K_HUB = 0, K_UPDATE = 1, MAX_VALUES = 32, MAX_REPEAT = 101, ROW = 16 };

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

typedef struct bgemm_job {
  uint32_t grid, k;
  pto2_tensor a, b, c;
} bgemm_job;

static void orch_bgemm(pto2_runtime *rt, void *arg) {
  const bgemm_job *j = arg;
  for (uint32_t k = 0; k < j->k && !pto2_is_fatal(rt); k++) {
    PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
      for (uint32_t m = 0; m < j->grid; m++)
        for (uint32_t n = 0; n < j->grid; n++) {
          pto2_tensor at = pto2_tensor_view2(&j->a, ROW, ROW, m * ROW, k * ROW);
          pto2_tensor bt = pto2_tensor_view2(&j->b, ROW, ROW, k * ROW, n * ROW);
          pto2_tensor ct = pto2_tensor_view2(&j->c, ROW, ROW, m * ROW, n * ROW);
          pto2_arg a;
          pto2_arg_init(&a);
          pto2_arg_add_input(&a, &at);
          pto2_arg_add_input(&a, &bt);
          pto2_arg_add_inout(&a, &ct);
          pto2_submit_aiv(rt, K_UPDATE, &a);
        }
    }
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

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

static int usage(void) {
  fprintf(stderr, "usage: pto2-tmap-bench [--scene tiles|bgemm|all] [--n LIST] [--grid LIST]\n"
                  "                       [--probe N] [--k N] [--repeat N] [--format table|json]\n");
  return 2;
}

int main(int argc, char **argv) {
  uint32_t ns[MAX_VALUES], grids[MAX_VALUES], probe = 1000, ksteps = 4, repeat = 5;
  int nn, ng;
  bool tiles = true, bgemm = true, json = false;
  parse_list("0,1000,10000,30000,60000", ns, &nn);
  parse_list("4,16,64", grids, &ng);
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i], *v = i + 1 < argc ? argv[++i] : 0;
    uint32_t one[MAX_VALUES];
    int cnt;
    if (!v) return usage();
    if (!strcmp(o, "--scene")) {
      tiles = !strcmp(v, "tiles") || !strcmp(v, "all");
      bgemm = !strcmp(v, "bgemm") || !strcmp(v, "all");
      if (!tiles && !bgemm) return usage();
    } else if (!strcmp(o, "--n")) {
      if (parse_list(v, ns, &nn)) return usage();
    } else if (!strcmp(o, "--grid")) {
      if (parse_list(v, grids, &ng)) return usage();
      for (int g = 0; g < ng; g++)
        if (grids[g] == 0 || grids[g] > 1024) return usage();
    } else if (!strcmp(o, "--probe") || !strcmp(o, "--k") || !strcmp(o, "--repeat")) {
      if (parse_list(v, one, &cnt) || cnt != 1 || one[0] == 0) return usage();
      if (!strcmp(o, "--probe")) probe = one[0];
      else if (!strcmp(o, "--k")) ksteps = one[0];
      else if (one[0] > MAX_REPEAT) return usage();
      else repeat = one[0];
    } else if (!strcmp(o, "--format")) {
      if (strcmp(v, "table") && strcmp(v, "json")) return usage();
      json = !strcmp(v, "json");
    } else return usage();
  }

  pto2_runtime *rt;
  if (pto2_runtime_create(NULL, &rt) ||
      pto2_kernel_register(rt, K_HUB, PTO2_CORE_AIV, "hub", noop, 0) ||
      pto2_kernel_register(rt, K_UPDATE, PTO2_CORE_AIV, "update", noop, 0)) {
    fprintf(stderr, "pto2-tmap-bench: runtime setup failed\n");
    return 1;
  }
  int status = 0;
  double v[MAX_REPEAT];
  if (tiles) {
    if (!json) printf("tiles: %u probe submits after N live entries on one buffer (median of %u)\n"
                      "  %8s %12s %10s\n", probe, repeat, "N", "ns/task", "x N=first");
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
        printf("{\"scene\":\"tiles\",\"live_entries\":%u,\"probe\":%u,\"ns_per_task\":%.1f}\n",
               ns[i], probe, m);
      else printf("  %8u %12.1f %10.2f\n", ns[i], m, m / first);
    }
  }
  if (bgemm) {
    if (!json) printf("bgemm: G x G tiles of C, %u K steps, INOUT accumulation (median of %u)\n"
                      "  %8s %8s %12s %10s\n", ksteps, repeat, "G", "tasks", "ns/task", "x G=first");
    double first = 0;
    for (int i = 0; i < ng; i++) {
      uint32_t g = grids[i], side = g * ROW, kside = ksteps * ROW;
      float *a = calloc((size_t)side * kside, sizeof *a), *b = calloc((size_t)kside * side, sizeof *b),
            *c = calloc((size_t)side * side, sizeof *c);
      if (!a || !b || !c) {
        fprintf(stderr, "pto2-tmap-bench: out of memory\n");
        free(a), free(b), free(c);
        status = 1;
        goto out;
      }
      const uint32_t sa[2] = {side, kside}, sb[2] = {kside, side}, sc[2] = {side, side};
      bgemm_job j = {g, ksteps, pto2_tensor_external(a, sa, 2, PTO2_FLOAT32),
                     pto2_tensor_external(b, sb, 2, PTO2_FLOAT32),
                     pto2_tensor_external(c, sc, 2, PTO2_FLOAT32)};
      uint64_t tasks = 0;
      for (uint32_t r = 0; r < repeat && !status; r++) {
        pto2_run_stats st;
        if (pto2_run(rt, orch_bgemm, &j, &st)) {
          fprintf(stderr, "pto2-tmap-bench: bgemm G=%u: %s\n", g, pto2_error_message(rt));
          status = 1;
        }
        v[r] = (double)st.orch_ns / (double)st.tasks;
        tasks = st.tasks;
      }
      free(a), free(b), free(c);
      if (status) goto out;
      double m = median(v, (int)repeat);
      if (i == 0) first = m;
      if (json)
        printf("{\"scene\":\"bgemm\",\"grid\":%u,\"k\":%u,\"tasks\":%llu,\"ns_per_task\":%.1f}\n",
               g, ksteps, (unsigned long long)tasks, m);
      else printf("  %8u %8llu %12.1f %10.2f\n", g, (unsigned long long)tasks, m, m / first);
    }
  }
out:
  pto2_runtime_destroy(rt);
  return status;
}
