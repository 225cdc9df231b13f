/*
 * The tutorial of docs/tutorial.md: one computation written three ways —
 * AUTO, MANUAL and GRAPH scopes — with the same result.
 *
 * For each block of ROWS_PER_BLOCK rows:
 *   SCALE: t = 2 * x[block]         (t: a buffer the runtime creates)
 *   ADD:   y[block] = t + x[block]  (y: caller memory)
 * and at the end one SUM task: total = sum of y.
 *
 *   AUTO    every dependency is found from the tensors: ADD reads t, so it
 *           waits for t's creator SCALE; SUM reads y, so it waits for every
 *           ADD that wrote part of y.
 *   MANUAL  SCALE -> ADD is declared with pto2_add_dependency (the TensorMap
 *           is skipped inside the scope); y is caller memory from outside the
 *           scope, so ADD's write of it is still recorded and SUM finds it.
 *   GRAPH   no dependency is found at all: SCALE -> ADD is declared, and SUM
 *           names the ADD tasks as explicit producers (pto2_arg_add_dep).
 *
 * Usage: scopes [auto|manual|graph|all]   (default all)
 */
#include <stdio.h>
#include <string.h>

#include "pto2/pto2.h"

enum { ROWS = 64, COLS = 16, ROWS_PER_BLOCK = 16, BLOCKS = ROWS / ROWS_PER_BLOCK };
enum { K_SCALE = 0, K_ADD = 1, K_SUM = 2 };

/* tensors: x (in), t (out) */
static int scale_kernel(const pto2_kernel_ctx *k) {
  const pto2_tensor *x = &k->tensors[0], *t = &k->tensors[1];
  for (uint32_t r = 0; r < x->shapes[0]; r++)
    for (uint32_t c = 0; c < x->shapes[1]; c++)
      ((float *)t->data)[r * pto2_tensor_stride(t, 0) + c] =
          2.0f * ((const float *)x->data)[r * pto2_tensor_stride(x, 0) + c];
  return 0;
}

/* tensors: t (in), x (in), y (out) */
static int add_kernel(const pto2_kernel_ctx *k) {
  const pto2_tensor *t = &k->tensors[0], *x = &k->tensors[1], *y = &k->tensors[2];
  for (uint32_t r = 0; r < y->shapes[0]; r++)
    for (uint32_t c = 0; c < y->shapes[1]; c++)
      ((float *)y->data)[r * pto2_tensor_stride(y, 0) + c] =
          ((const float *)t->data)[r * pto2_tensor_stride(t, 0) + c] +
          ((const float *)x->data)[r * pto2_tensor_stride(x, 0) + c];
  return 0;
}

/* tensors: y (in), total (out, one float) */
static int sum_kernel(const pto2_kernel_ctx *k) {
  const pto2_tensor *y = &k->tensors[0];
  double s = 0;
  for (uint64_t i = 0; i < pto2_tensor_numel(y); i++) s += ((const float *)y->data)[i];
  *(float *)k->tensors[1].data = (float)s;
  return 0;
}

struct job {
  pto2_scope_mode mode;
  float *x, *y, *total;
};

static void orchestrate(pto2_runtime *rt, void *arg) {
  struct job *job = arg;
  const uint32_t shape[2] = {ROWS, COLS}, one[1] = {1};
  const uint32_t block_shape[2] = {ROWS_PER_BLOCK, COLS};
  pto2_tensor x = pto2_tensor_external(job->x, shape, 2, PTO2_FLOAT32);
  pto2_tensor y = pto2_tensor_external(job->y, shape, 2, PTO2_FLOAT32);
  pto2_tensor total = pto2_tensor_external(job->total, one, 1, PTO2_FLOAT32);
  pto2_create_info t_info = pto2_create_info_make(block_shape, 2, PTO2_FLOAT32);
  pto2_task_id adds[BLOCKS];

  for (uint32_t b = 0; b < BLOCKS; b++) {
    pto2_tensor xb = pto2_tensor_view2(&x, ROWS_PER_BLOCK, COLS, b * ROWS_PER_BLOCK, 0);
    pto2_tensor yb = pto2_tensor_view2(&y, ROWS_PER_BLOCK, COLS, b * ROWS_PER_BLOCK, 0);
    PTO2_SCOPE(rt, job->mode) {
      /* SCALE: x block in, t created by the runtime. */
      pto2_arg sa;
      pto2_arg_init(&sa);
      pto2_arg_add_input(&sa, &xb);
      pto2_arg_add_output(&sa, &t_info);
      pto2_task_id scale = job->mode == PTO2_SCOPE_MANUAL
                               ? pto2_submit_aiv_manual(rt, K_SCALE, &sa)
                               : pto2_submit_aiv(rt, K_SCALE, &sa);
      if (!pto2_task_id_is_valid(scale)) break; /* the run has failed */
      const pto2_tensor *t = pto2_arg_output(&sa, 0);

      /* ADD: t and x block in, y block written. */
      pto2_arg aa;
      pto2_arg_init(&aa);
      pto2_arg_add_input(&aa, t);
      pto2_arg_add_input(&aa, &xb);
      pto2_arg_add_output_existing(&aa, &yb);
      adds[b] = job->mode == PTO2_SCOPE_MANUAL ? pto2_submit_aiv_manual(rt, K_ADD, &aa)
                                                : pto2_submit_aiv(rt, K_ADD, &aa);
      /* AUTO found SCALE -> ADD from t; MANUAL and GRAPH are told. */
      if (job->mode != PTO2_SCOPE_AUTO) pto2_add_dependency(rt, scale, adds[b]);
    } /* MANUAL and GRAPH tasks are published here, at the end of the scope */
  }

  /* SUM, in the run's root (AUTO) scope. */
  pto2_arg s;
  pto2_arg_init(&s);
  pto2_arg_add_input(&s, &y);
  pto2_arg_add_output_existing(&s, &total);
  if (job->mode == PTO2_SCOPE_GRAPH) /* GRAPH tasks left no trace in the TensorMap */
    for (uint32_t b = 0; b < BLOCKS; b++) pto2_arg_add_dep(&s, adds[b]);
  pto2_submit_aiv(rt, K_SUM, &s);
}

static const char *mode_name(pto2_scope_mode m) {
  return m == PTO2_SCOPE_AUTO ? "auto" : m == PTO2_SCOPE_MANUAL ? "manual" : "graph";
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "all";
  pto2_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.block_dim = 2;
  cfg.worker_threads = 2;
  pto2_runtime *rt;
  if (pto2_runtime_create(&cfg, &rt) != 0) return 1;
  if (pto2_kernel_register(rt, K_SCALE, PTO2_CORE_AIV, "scale", scale_kernel, NULL) ||
      pto2_kernel_register(rt, K_ADD, PTO2_CORE_AIV, "add", add_kernel, NULL) ||
      pto2_kernel_register(rt, K_SUM, PTO2_CORE_AIV, "sum", sum_kernel, NULL))
    return 1;

  static float x[ROWS * COLS], y[ROWS * COLS];
  double want = 0;
  for (int i = 0; i < ROWS * COLS; i++) {
    x[i] = (float)(i % 10);
    want += 3.0 * x[i];
  }
  int failed = 0, ran = 0;
  const pto2_scope_mode modes[3] = {PTO2_SCOPE_AUTO, PTO2_SCOPE_MANUAL, PTO2_SCOPE_GRAPH};
  for (int m = 0; m < 3; m++) {
    if (strcmp(which, "all") != 0 && strcmp(which, mode_name(modes[m])) != 0) continue;
    ran++;
    memset(y, 0, sizeof y);
    float total = 0;
    struct job job = {modes[m], x, y, &total};
    pto2_run_stats st;
    int rc = pto2_run(rt, orchestrate, &job, &st);
    if (rc) {
      printf("%-6s run failed: %s\n", mode_name(modes[m]), pto2_error_message(rt));
      failed = 1;
      continue;
    }
    int ok = total == (float)want;
    for (int i = 0; i < ROWS * COLS; i++) ok = ok && y[i] == 3.0f * x[i];
    printf("%-6s tasks %llu  edges %llu  total %.0f (expected %.0f)  %s\n", mode_name(modes[m]),
           (unsigned long long)st.tasks, (unsigned long long)st.edges, (double)total, want,
           ok ? "ok" : "WRONG");
    failed |= !ok;
  }
  pto2_runtime_destroy(rt);
  if (!ran) fprintf(stderr, "usage: scopes [auto|manual|graph|all]\n");
  return failed || !ran;
}
