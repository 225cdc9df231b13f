/*
 * pto2-bench: paged attention through the three lanes, timed.
 *
 *   pto2-bench [--scene paged_attention|paged_attention_unroll|all]
 *              [--case Case1,Case2,Case3,Small1,Small2,VarSeq2,VarSeq4|all]
 *              [--lane auto,manual,graph|all] [--kernels real|noop|busy]
 *              [--busy-us N] [--rounds N] [--warmup N] [--check] [--expect-counts]
 *              [--format table|csv|json] [--trace FILE] [--graph FILE]
 *              [--summary] [--report FILE.html]
 *              [--block-dim N] [--threads N] [--seed N] [--quick] [--roofline]
 *              [--check-hazards] [--auto-strict]
 *
 * For each scene x case x lane it runs warm-up rounds, then measured rounds
 * on one runtime, each round on freshly zeroed output.  `elapsed` runs from
 * the start of the orchestration function to the completion of the last
 * task, `orch` is the time spent in the orchestration function; both come
 * from pto2_run_stats, as do the task and edge counts.  `--kernels busy`
 * replaces every kernel by a spin of --busy-us microseconds (default 2) to
 * measure scheduling efficiency against the ideal elapsed time, kernel
 * calls x duration / executor threads.  --check compares the
 * last round's output with the golden reference (and, with real kernels,
 * the lanes' outputs with each other, bit for bit).  --expect-counts fails
 * if the counts differ from pa_expected_tasks/edges().  --roofline measures
 * the machine's peaks first and prints per case the kernels alone and per
 * lane the elapsed time against the roofline bound (tools/roofline.h).
 * --check-hazards runs every round under the hazard checker (a hazard fails
 * the run and is printed); --auto-strict makes every AUTO scope order
 * write-after-read and write-after-write too (pto2_config.auto_strict).  The
 * exit status is non-zero when a run, a check or a count fails.  The table
 * ends with a legend of its columns (TABLE_LEGEND, also in --help).
 * --threads N sets the worker threads besides the calling thread (0: none,
 * the calling thread runs every task; default: the runtime's, CPUs - 1).
 *
 * --trace, --graph, --summary and --report record the last round of each
 * scene x case x lane and write its Chrome trace, dependency graph JSON,
 * statistics (stdout) and HTML report (bench_observe.c); with several
 * combinations the scene, case and lane go into each file name.  On a
 * terminal a progress line on stderr shows the scene, case, lane and round.
 */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_observe.h"
#include "pa_orch.h"
#include "roofline.h"

enum { MAX_ROUNDS = 10000, MAX_CASES = 16 };
/* The runtime's limits (pto2_config.block_dim, worker_threads). */
enum { MAX_BLOCK_DIM = 1024, MAX_THREADS = 256, MAX_BUSY_US = 1000000 };

typedef struct options {
  bool scenes[PA_SCENE_COUNT];
  const pa_case *cases[MAX_CASES];
  size_t ncases;
  bool lanes[PA_LANE_COUNT];
  bool noop;        /* kernels other than the real ones */
  uint32_t busy_us; /* --kernels busy: spin this long per kernel call */
  int rounds, warmup;
  bool check, expect_counts;
  bool roofline;    /* --roofline: peaks, kernels alone, ratio to the bound */
  bool check_hazards, auto_strict;
  uint64_t hazard_bytes; /* most memory the checker used in one run */
  enum { FMT_TABLE, FMT_CSV, FMT_JSON } format;
  bench_observe obs; /* --trace, --graph, --summary, --report, progress */
  uint32_t block_dim, threads;
  bool threads_set; /* --threads given (0 there: no worker thread) */
  uint64_t seed;
  uint32_t executors; /* worker threads + the caller, once the runtime exists */
} options;

typedef struct summary {
  double median, trimmed_avg, min, max;
} summary;

typedef struct result {
  pa_scene scene;
  const pa_case *pcase;
  pa_lane lane;
  int rc;
  uint64_t tasks, edges;
  int rounds;
  summary elapsed_us, orch_us;
  const char *check; /* "pass", "fail", "skipped" */
  double max_abs_err;
  int identical;     /* -1 unknown, 0/1 compared with the first lane */
  bool counts_ok;
  double cpu_us;     /* process CPU time per measured round (all threads) */
} result;

/* ------------------------------------------------------------------------ */
/* Command line                                                              */
/* ------------------------------------------------------------------------ */

/* What the table's columns mean: under the tables and in --help. */
#define TABLE_LEGEND                                                                         \
  "columns: x = elapsed or orch divided by the graph lane's (- without a graph lane);\n"      \
  "  ns/task = orch / tasks; check: pass = within the golden tolerance, pass== / pass!= =\n"   \
  "  also bit-identical / not to the first lane's output (!= fails), fail, or - = not\n"       \
  "  checked (no --check, or --kernels noop|busy; max_err is - then too)\n"

static void usage(FILE *f) {
  fprintf(f,
          "usage: pto2-bench [--scene paged_attention|paged_attention_unroll|all]\n"
          "                  [--case Case1,Case2,Case3,Small1,Small2,VarSeq2,VarSeq4|all]\n"
          "                  [--lane auto,manual,graph|all] [--kernels real|noop|busy]\n"
          "                  [--busy-us N] [--rounds N] [--warmup N] [--check] [--expect-counts]\n"
          "                  [--format table|csv|json] [--trace FILE] [--graph FILE]\n"
          "                  [--summary] [--report FILE.html]\n"
          "                  [--block-dim N] [--threads N] [--seed N] [--quick] [--roofline]\n"
          "                  [--check-hazards] [--auto-strict]\n");
}

/* The defaults and ranges, for --help. */
static void usage_defaults(FILE *f) {
  fprintf(f,
          "defaults and ranges:\n"
          "  --scene paged_attention  --case Case1  --lane all  --kernels real  --format table\n"
          "  --busy-us 2 (with --kernels busy; 1..%u)  --rounds 10 (1..%d)  --warmup 2 (0..%d)\n"
          "  --block-dim 24 (the runtime's default; 1..%u)\n"
          "  --threads: the runtime's default, CPUs - 1 at least 1, or PTO2_WORKERS (0..%u;\n"
          "    0 = no worker thread; at most block-dim - 1 are used)\n"
          "  --seed 0x%llx  --quick = --scene all --case Small1,Small2,VarSeq2,VarSeq4\n"
          "    --rounds 2 --warmup 1 --check --expect-counts\n",
          (unsigned)MAX_BUSY_US, MAX_ROUNDS, MAX_ROUNDS, (unsigned)MAX_BLOCK_DIM,
          (unsigned)MAX_THREADS, (unsigned long long)PA_SEED_DEFAULT);
}

/* One line naming the bad argument, then where the options are listed. */
static __attribute__((format(printf, 1, 2))) int fail_msg(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "pto2-bench: ");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(pto2-bench --help lists the options and their defaults)\n");
  return 2;
}

/* An out-of-range or malformed number: names the range. */
static int fail_range(const char *what, const char *value, const char *range) {
  return fail_msg("invalid %s '%s' (expected %s)", what, value, range);
}

static bool parse_uint(const char *s, uint64_t max, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || *end || !*s || *s == '-' || v > max) return false;
  *out = v;
  return true;
}

/* Calls `each` for every comma-separated word of `list`. */
static int for_words(const char *list, int (*each)(options *, const char *), options *o) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", list);
  for (char *save = 0, *w = strtok_r(buf, ",", &save); w; w = strtok_r(0, ",", &save)) {
    int rc = each(o, w);
    if (rc) return rc;
  }
  return 0;
}

static int add_scene(options *o, const char *w) {
  for (int s = 0; s < PA_SCENE_COUNT; s++)
    if (!strcmp(w, "all") || !strcmp(w, pa_scene_name((pa_scene)s))) o->scenes[s] = true;
  return strcmp(w, "all") && strcmp(w, pa_scene_name(PA_SCENE_BASE)) &&
                 strcmp(w, pa_scene_name(PA_SCENE_UNROLL))
             ? fail_range("scene", w, "paged_attention, paged_attention_unroll or all")
             : 0;
}

static int add_case(options *o, const char *w) {
  size_t n;
  const pa_case *all = pa_case_all(&n);
  if (!strcmp(w, "all")) {
    for (size_t i = 0; i < n && o->ncases < MAX_CASES; i++) o->cases[o->ncases++] = &all[i];
    return 0;
  }
  const pa_case *c = pa_case_find(w);
  if (!c) return fail_range("case", w, "Case1, Case2, Case3, Small1, Small2, VarSeq2, VarSeq4 or all");
  if (o->ncases < MAX_CASES) o->cases[o->ncases++] = c;
  return 0;
}

static int add_lane(options *o, const char *w) {
  bool any = false;
  for (int l = 0; l < PA_LANE_COUNT; l++)
    if (!strcmp(w, "all") || !strcmp(w, pa_lane_name((pa_lane)l))) o->lanes[l] = any = true;
  return any ? 0 : fail_range("lane", w, "auto, manual, graph or all");
}

static int parse_options(int argc, char **argv, options *o) {
  memset(o, 0, sizeof *o);
  o->rounds = 10;
  o->warmup = 2;
  o->seed = PA_SEED_DEFAULT;
  const char *scene = "paged_attention", *cases = "Case1", *lanes = "all";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : 0;
    uint64_t n;
    int took;
    static const char *const flags[] = {"--check",         "--quick",       "--expect-counts",
                                        "--help",          "--roofline",    "--check-hazards",
                                        "--auto-strict",   "--summary"};
    static const char *const valued[] = {"--scene",  "--case",      "--lane",    "--kernels",
                                         "--busy-us", "--rounds",   "--warmup",  "--format",
                                         "--block-dim", "--threads", "--seed",   "--trace",
                                         "--graph",   "--report"};
    bool flag = false, takes_value = false;
    for (size_t f = 0; f < sizeof flags / sizeof *flags; f++) flag |= !strcmp(a, flags[f]);
    for (size_t f = 0; f < sizeof valued / sizeof *valued; f++) takes_value |= !strcmp(a, valued[f]);
    if (!flag && !takes_value) return fail_msg("unknown option '%s'", a);
    if (takes_value && !v) return fail_msg("option '%s' needs a value", a);
    if (!strcmp(a, "--help")) {
      usage(stdout);
      usage_defaults(stdout);
      printf("\n%s", TABLE_LEGEND);
      exit(0);
    }
    else if (!strcmp(a, "--check")) o->check = true;
    else if (!strcmp(a, "--expect-counts")) o->expect_counts = true;
    else if (!strcmp(a, "--roofline")) o->roofline = true;
    else if (!strcmp(a, "--check-hazards")) o->check_hazards = true;
    else if (!strcmp(a, "--auto-strict")) o->auto_strict = true;
    else if (!strcmp(a, "--quick")) {
      cases = "Small1,Small2,VarSeq2,VarSeq4";
      scene = "all";
      o->rounds = 2;
      o->warmup = 1;
      o->check = o->expect_counts = true;
    } else if (!strcmp(a, "--scene")) scene = v, i++;
    else if (!strcmp(a, "--case")) cases = v, i++;
    else if (!strcmp(a, "--lane")) lanes = v, i++;
    else if (!strcmp(a, "--kernels")) {
      if (strcmp(v, "real") && strcmp(v, "noop") && strcmp(v, "busy"))
        return fail_range("kernels", v, "real, noop or busy");
      o->noop = strcmp(v, "real") != 0;
      if (!strcmp(v, "busy") && !o->busy_us) o->busy_us = 2;
      i++;
    } else if (!strcmp(a, "--busy-us")) {
      if (!parse_uint(v, MAX_BUSY_US, &n) || n == 0) return fail_range("busy-us", v, "1..1000000");
      o->busy_us = (uint32_t)n, i++;
    } else if (!strcmp(a, "--rounds")) {
      if (!parse_uint(v, MAX_ROUNDS, &n) || n == 0) return fail_range("rounds", v, "1..10000");
      o->rounds = (int)n, i++;
    } else if (!strcmp(a, "--warmup")) {
      if (!parse_uint(v, MAX_ROUNDS, &n)) return fail_range("warmup", v, "0..10000");
      o->warmup = (int)n, i++;
    } else if (!strcmp(a, "--format")) {
      if (!strcmp(v, "table")) o->format = FMT_TABLE;
      else if (!strcmp(v, "csv")) o->format = FMT_CSV;
      else if (!strcmp(v, "json")) o->format = FMT_JSON;
      else return fail_range("format", v, "table, csv or json");
      i++;
    } else if ((took = bench_observe_parse(&o->obs, a, v)) > 0) i += took - 1;
    else if (!strcmp(a, "--block-dim")) {
      if (!parse_uint(v, MAX_BLOCK_DIM, &n) || n == 0) return fail_range("block-dim", v, "1..1024");
      o->block_dim = (uint32_t)n, i++;
    } else if (!strcmp(a, "--threads")) {
      if (!parse_uint(v, MAX_THREADS, &n)) return fail_range("threads", v, "0..256");
      o->threads = (uint32_t)n, o->threads_set = true, i++;
    } else if (!strcmp(a, "--seed")) {
      if (!parse_uint(v, UINT64_MAX, &n)) return fail_range("seed", v, "0..2^64-1");
      o->seed = n, i++;
    } else return fail_msg("unknown option '%s'", a);
  }
  int rc;
  if ((rc = for_words(scene, add_scene, o)) || (rc = for_words(cases, add_case, o)) ||
      (rc = for_words(lanes, add_lane, o)))
    return rc;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Statistics                                                                */
/* ------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median, min, max, and the average without the 10% fastest and slowest
 * rounds (the plain average below 10 rounds). */
static summary summarize(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  summary s = {n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, 0, v[0], v[n - 1]};
  int drop = n >= 10 ? n / 10 : 0;
  for (int i = drop; i < n - drop; i++) s.trimmed_avg += v[i];
  s.trimmed_avg /= n - 2 * drop;
  return s;
}

/* ------------------------------------------------------------------------ */
/* Running                                                                   */
/* ------------------------------------------------------------------------ */

static double process_cpu_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static void run_lane(options *o, pto2_runtime *rt, pa_inputs *in, result *r) {
  double elapsed[MAX_ROUNDS], orch[MAX_ROUNDS], cpu = 0.0;
  pa_job job = {in, r->scene, r->lane, 0};
  for (int i = 0; i < o->warmup + o->rounds; i++) {
    bench_progress(&o->obs, pa_scene_name(r->scene), r->pcase->name, pa_lane_name(r->lane), i + 1,
                   o->warmup + o->rounds);
    pa_inputs_clear_out(in);
    double cpu0 = process_cpu_us();
    pto2_run_stats st;
    r->rc = pto2_run(rt, pa_orchestrate, &job, &st);
    if (r->rc) {
      fprintf(stderr, "pto2-bench: %s %s %s: run failed: %s\n", pa_scene_name(r->scene),
              r->pcase->name, pa_lane_name(r->lane), pto2_error_message(rt));
      for (uint32_t h = 1; h < pto2_hazard_count(rt) && h < 10; h++) {
        char msg[1024];
        pto2_hazard_format(pto2_hazard_get(rt, h), msg, sizeof msg);
        fprintf(stderr, "pto2-bench: hazard %u: %s\n", h + 1, msg);
      }
      return;
    }
    if (st.hazard_check_bytes > o->hazard_bytes) o->hazard_bytes = st.hazard_check_bytes;
    r->tasks = st.tasks;
    r->edges = st.edges;
    if (i < o->warmup) continue;
    cpu += process_cpu_us() - cpu0;
    elapsed[i - o->warmup] = (double)st.elapsed_ns / 1000.0;
    orch[i - o->warmup] = (double)st.orch_ns / 1000.0;
  }
  r->rounds = o->rounds;
  r->cpu_us = cpu / o->rounds;
  r->elapsed_us = summarize(elapsed, o->rounds);
  r->orch_us = summarize(orch, o->rounds);
  r->counts_ok = r->tasks == pa_expected_tasks(r->pcase, r->scene) &&
                 r->edges == pa_expected_edges(r->pcase, r->scene, r->lane);
}

static void check_output(const options *o, const pa_inputs *in, const float *golden,
                         const float *first, result *r) {
  r->check = "skipped";
  r->identical = -1;
  if (!o->check || o->noop || r->rc) return;
  size_t n = pa_inputs_out_count(in);
  pa_compare_result cmp = pa_compare(in->out, golden, n, r->pcase->rtol, r->pcase->atol);
  r->check = cmp.pass ? "pass" : "fail";
  r->max_abs_err = cmp.max_abs_err;
  if (first) r->identical = memcmp(first, in->out, n * sizeof *first) == 0;
}

/* ------------------------------------------------------------------------ */
/* Busy kernels                                                              */
/* ------------------------------------------------------------------------ */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Spins for the number of nanoseconds given at registration. */
static int busy_kernel(const pto2_kernel_ctx *ctx) {
  uint64_t ns = (uint64_t)(uintptr_t)ctx->user, start = now_ns();
  while (now_ns() - start < ns) {
  }
  return 0;
}

static int register_busy(pto2_runtime *rt, uint32_t us) {
  const pa_kernel_info *k = pa_kernel_table();
  for (int i = 0; i < PA_KERNEL_COUNT; i++) {
    int rc = pto2_kernel_register(rt, k[i].id, k[i].core, k[i].name, busy_kernel,
                                  (void *)(uintptr_t)(us * UINT64_C(1000)));
    if (rc) return rc;
  }
  return 0;
}

static const char *kernels_name(const options *o) {
  return o->busy_us ? "busy" : o->noop ? "noop" : "real";
}

/* ------------------------------------------------------------------------ */
/* Output                                                                    */
/* ------------------------------------------------------------------------ */

static void print_json(const options *o, const result *r) {
  printf("{\"scene\":\"%s\",\"case\":\"%s\",\"lane\":\"%s\",\"kernels\":\"%s\","
         "\"tasks\":%llu,\"edges\":%llu,\"rounds\":%d,"
         "\"elapsed_us\":{\"median\":%.3f,\"trimmed_avg\":%.3f,\"min\":%.3f,\"max\":%.3f},"
         "\"orch_us\":{\"median\":%.3f,\"trimmed_avg\":%.3f,\"min\":%.3f,\"max\":%.3f},"
         "\"check\":\"%s\",\"max_abs_err\":",
         pa_scene_name(r->scene), r->pcase->name, pa_lane_name(r->lane),
         kernels_name(o), (unsigned long long)r->tasks, (unsigned long long)r->edges,
         r->rounds, r->elapsed_us.median, r->elapsed_us.trimmed_avg, r->elapsed_us.min,
         r->elapsed_us.max, r->orch_us.median, r->orch_us.trimmed_avg, r->orch_us.min,
         r->orch_us.max, r->check);
  if (strcmp(r->check, "skipped")) printf("%.3g}\n", r->max_abs_err);
  else printf("null}\n");
}

static void print_csv(const options *o, const result *r, bool header) {
  if (header)
    printf("scene,case,lane,kernels,tasks,edges,rounds,elapsed_median_us,elapsed_trimmed_avg_us,"
           "elapsed_min_us,elapsed_max_us,orch_median_us,orch_trimmed_avg_us,orch_min_us,"
           "orch_max_us,check,max_abs_err\n");
  printf("%s,%s,%s,%s,%llu,%llu,%d,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%s,",
         pa_scene_name(r->scene), r->pcase->name, pa_lane_name(r->lane), kernels_name(o),
         (unsigned long long)r->tasks, (unsigned long long)r->edges, r->rounds,
         r->elapsed_us.median, r->elapsed_us.trimmed_avg, r->elapsed_us.min, r->elapsed_us.max,
         r->orch_us.median, r->orch_us.trimmed_avg, r->orch_us.min, r->orch_us.max, r->check);
  /* An empty field when no check ran (JSON: null), not an error of 0. */
  if (strcmp(r->check, "skipped")) printf("%.3g\n", r->max_abs_err);
  else printf("\n");
}

/* One block per scene and case: the lanes side by side, ratios against the
 * graph lane (the explicit-graph baseline). */
static void print_table(const options *o, const result *rs, int n) {
  const result *graph = 0;
  for (int i = 0; i < n; i++)
    if (rs[i].lane == PA_LANE_GRAPH && !rs[i].rc) graph = &rs[i];
  printf("\n%s  %s  kernels=%s  rounds=%d (median; x = ratio to graph)\n",
         pa_scene_name(rs[0].scene), rs[0].pcase->name, kernels_name(o), o->rounds);
  if (o->busy_us)
    printf("  each kernel call spins %u us; ideal = calls x %u us / %u executor threads\n",
           o->busy_us, o->busy_us, o->executors);
  printf("  %-7s %8s %8s %13s %8s %13s %8s %9s  %-7s %9s\n", "lane", "tasks", "edges",
         "elapsed(us)", "x", "orch(us)", "x", "ns/task", "check", "max_err");
  for (int i = 0; i < n; i++) {
    const result *r = &rs[i];
    if (r->rc) {
      printf("  %-7s  run failed: %s\n", pa_lane_name(r->lane), pto2_err_name(r->rc));
      continue;
    }
    char ex[16] = "-", ox[16] = "-";
    if (graph) {
      snprintf(ex, sizeof ex, "%.3f", r->elapsed_us.median / graph->elapsed_us.median);
      snprintf(ox, sizeof ox, "%.3f", r->orch_us.median / graph->orch_us.median);
    }
    /* No check ran: "-" in both columns, not "skipped" and an error of 0. */
    bool checked = strcmp(r->check, "skipped") != 0;
    char check[24], err[24] = "-";
    snprintf(check, sizeof check, "%s%s", checked ? r->check : "-",
             r->identical == 0 ? "!=" : r->identical == 1 ? "==" : "");
    if (checked) snprintf(err, sizeof err, "%.2g", r->max_abs_err);
    printf("  %-7s %8llu %8llu %13.1f %8s %13.1f %8s %9.1f  %-7s %9s%s\n", pa_lane_name(r->lane),
           (unsigned long long)r->tasks, (unsigned long long)r->edges, r->elapsed_us.median, ex,
           r->orch_us.median, ox, r->orch_us.median * 1000.0 / (double)r->tasks, check, err,
           r->counts_ok ? "" : "  (counts differ from the expected ones)");
    if (o->busy_us) {
      /* Every paged-attention task has one lane and one block: one call. */
      double ideal = (double)r->tasks * o->busy_us / o->executors;
      printf("  %-7s ideal %.1f us; elapsed / ideal = %.3f\n", "", ideal,
             r->elapsed_us.median / ideal);
    }
  }
}

/* ------------------------------------------------------------------------ */
/* Main                                                                      */
/* ------------------------------------------------------------------------ */

static bool failed(const options *o, const result *r) {
  return r->rc || !strcmp(r->check, "fail") || r->identical == 0 ||
         (o->expect_counts && !r->counts_ok);
}

static roofline_peaks peaks; /* --roofline */

static int run_case(options *o, pto2_runtime *rt, const pa_case *c, bool *header,
                    int combos) {
  pa_inputs *in;
  int rc = pa_inputs_create(c, o->seed, &in);
  if (rc) {
    fprintf(stderr, "pto2-bench: %s: cannot create inputs (%s)\n", c->name, pto2_strerror(rc));
    return 1;
  }
  size_t n = pa_inputs_out_count(in);
  float *golden = o->check && !o->noop ? malloc(n * sizeof *golden) : 0;
  float *first = golden ? malloc(n * sizeof *first) : 0;
  if (golden && (!first || pa_golden_compute(in, golden))) {
    fprintf(stderr, "pto2-bench: %s: cannot compute the golden reference\n", c->name);
    return 1;
  }
  int bad = 0;
  FILE *rf = o->format == FMT_TABLE ? stdout : stderr;
  if (o->roofline && !o->noop) {
    fprintf(rf, "\n%s\n", c->name);
    if (roofline_print_kernels(rf, &peaks, in)) fprintf(stderr, "pto2-bench: %s: a kernel failed\n", c->name);
  }
  for (int s = 0; s < PA_SCENE_COUNT; s++) {
    if (!o->scenes[s]) continue;
    result rs[PA_LANE_COUNT];
    int nr = 0;
    for (int l = 0; l < PA_LANE_COUNT; l++) {
      if (!o->lanes[l]) continue;
      result *r = &rs[nr++];
      memset(r, 0, sizeof *r);
      r->scene = (pa_scene)s, r->pcase = c, r->lane = (pa_lane)l;
      run_lane(o, rt, in, r);
      check_output(o, in, golden, nr > 1 ? first : 0, r);
      if (golden && nr == 1) memcpy(first, in->out, n * sizeof *first);
      bench_progress_done(&o->obs);
      if (bench_observe_wanted(&o->obs) && !r->rc) {
        char tag[128];
        snprintf(tag, sizeof tag, "%s-%s-%s", pa_scene_name(r->scene), c->name, pa_lane_name(r->lane));
        bad += bench_observe_write(&o->obs, rt, tag, combos == 1, o->format == FMT_TABLE);
      }
      bad += failed(o, r);
      if (o->format == FMT_JSON) print_json(o, r);
      else if (o->format == FMT_CSV) print_csv(o, r, !*header), *header = true;
      fflush(stdout);
    }
    if (o->format == FMT_TABLE && nr) print_table(o, rs, nr);
    if (o->roofline && nr) {
      pa_lane lanes[PA_LANE_COUNT];
      double el[PA_LANE_COUNT], cpu[PA_LANE_COUNT];
      for (int i = 0; i < nr; i++)
        lanes[i] = rs[i].lane, el[i] = rs[i].elapsed_us.median, cpu[i] = rs[i].cpu_us;
      fprintf(rf, "%s", o->format == FMT_TABLE ? "" : "\n");
      roofline_print_rows(rf, &peaks, c, lanes, el, cpu, nr);
    }
  }
  free(golden);
  free(first);
  pa_inputs_destroy(in);
  return bad;
}

int main(int argc, char **argv) {
  options o;
  int rc = parse_options(argc, argv, &o);
  if (rc || (rc = bench_observe_check_paths(&o.obs)) != 0) return rc;
  char isa_msg[160];
  if (pa_isa_init_from_env(isa_msg, sizeof isa_msg) != 0) {
    fprintf(stderr, "pto2-bench: %s\n", isa_msg);
    return 2;
  }
  pto2_config cfg = {0};
  cfg.block_dim = o.block_dim;
  cfg.worker_threads = !o.threads_set ? 0 /* the default */
                       : o.threads   ? o.threads
                                     : PTO2_WORKERS_NONE;
  cfg.log_level = PTO2_LOG_ERROR;
  cfg.hazard_check = o.check_hazards ? PTO2_HAZARD_CHECK_FAIL : PTO2_HAZARD_CHECK_DEFAULT;
  cfg.auto_strict = o.auto_strict;
  pto2_runtime *rt;
  if ((rc = pto2_runtime_create(&cfg, &rt)) != 0) {
    fprintf(stderr, "pto2-bench: cannot create the runtime: %s\n", pto2_strerror(rc));
    return 1;
  }
  pto2_config eff;
  pto2_runtime_get_config(rt, &eff);
  o.executors = eff.worker_threads + 1;
  o.obs.progress = isatty(2);
  if ((rc = o.busy_us ? register_busy(rt, o.busy_us) : pa_kernels_register(rt, o.noop)) != 0 ||
      (bench_observe_wanted(&o.obs) && (rc = pto2_trace_enable_opts(rt, 0)) != 0)) {
    fprintf(stderr, "pto2-bench: setup failed: %s\n", pto2_strerror(rc));
    return 1;
  }
  if (o.roofline) {
    if ((rc = roofline_measure(o.executors, &peaks)) != 0) {
      fprintf(stderr, "pto2-bench: cannot measure the peaks: %s\n", pto2_strerror(rc));
      return 1;
    }
    roofline_print_peaks(o.format == FMT_TABLE ? stdout : stderr, &peaks);
  }
  int combos = 0, bad = 0;
  for (int s = 0; s < PA_SCENE_COUNT; s++)
    for (int l = 0; l < PA_LANE_COUNT; l++) combos += o.scenes[s] && o.lanes[l];
  combos *= (int)o.ncases;
  bool header = false;
  for (size_t i = 0; i < o.ncases; i++) bad += run_case(&o, rt, o.cases[i], &header, combos);
  pto2_runtime_destroy(rt);
  if (o.format == FMT_TABLE) {
    printf("\n%s", TABLE_LEGEND);
    if ((o.check && !o.noop) || o.expect_counts || o.check_hazards || bad)
      printf("\n%s: %d of %d run%s failed a check%s\n", bad ? "FAILED" : "ok", bad, combos,
             combos == 1 ? "" : "s",
             o.check && !o.noop ? " (golden allclose; == / != lanes bit-identical)" : "");
    else
      printf("\nok: %d run%s completed; no result check asked for (--check)\n", combos,
             combos == 1 ? "" : "s");
    if (eff.hazard_check != PTO2_HAZARD_CHECK_OFF)
      printf("hazard checker: %s; at most %.1f MiB of checker records in one run\n",
             bad ? "see the failures above" : "no hazard in any run",
             (double)o.hazard_bytes / (1 << 20));
  }
  return bad ? 1 : 0;
}
