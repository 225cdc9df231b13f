/*
 * Lifetime holds: in a GRAPH scope with edges C -> W -> T, C creates a
 * buffer, W increments it and T copies it out.  T is ordered after C only
 * through W, yet C's buffer must stay alive until T has run: T holds its
 * creator.  Without the hold, C retires once the scope has ended and W has
 * finished, and the next outputs of the same ring (a 1 KiB heap) land on
 * C's bytes while T still waits (for a blocker L): out would read 0x7777.
 * The same program with a MANUAL scope (manual-local buffer) as well.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "pto2/pto2.h"
#include "test.h"

enum { N = 64, K_C = 1, K_W = 2, K_T = 3, K_L = 4, K_NOP = 5 };
static atomic_int release_l;
static int32_t out[N];

static int k_c(const pto2_kernel_ctx *k) {
  int32_t *b = k->tensors[0].data;
  for (int i = 0; i < N; i++) b[i] = i;
  return 0;
}
static int k_w(const pto2_kernel_ctx *k) {
  int32_t *b = k->tensors[0].data;
  for (int i = 0; i < N; i++) b[i] += 1;
  return 0;
}
static int k_t(const pto2_kernel_ctx *k) {
  const int32_t *b = k->tensors[0].data;
  int32_t *o = k->tensors[1].data;
  for (int i = 0; i < N; i++) o[i] = b[i];
  return 0;
}
static int k_l(const pto2_kernel_ctx *k) {
  (void)k;
  struct timespec ts = {0, 1000000};
  for (int i = 0; i < 5000 && !atomic_load(&release_l); i++) nanosleep(&ts, NULL);
  return 0;
}
static int k_nop(const pto2_kernel_ctx *k) { (void)k; return 0; }

static pto2_task_id submit(pto2_runtime *rt, bool manual, int32_t kernel, pto2_arg *a) {
  return manual ? pto2_submit_aiv_manual(rt, kernel, a) : pto2_submit_aiv(rt, kernel, a);
}

static void orch(pto2_runtime *rt, void *arg) {
  bool manual = *(bool *)arg;
  uint32_t shape[1] = {N};
  pto2_tensor ext = pto2_tensor_external(out, shape, 1, PTO2_INT32);
  PTO2_SCOPE(rt, manual ? PTO2_SCOPE_MANUAL : PTO2_SCOPE_GRAPH) { /* depth 1, ring 1 */
    pto2_create_info ci = pto2_create_info_make(shape, 1, PTO2_INT32);
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_output(&a, &ci);
    pto2_task_id c = submit(rt, manual, K_C, &a);
    pto2_tensor buf = *pto2_arg_output(&a, 0);
    pto2_arg_init(&a);
    pto2_arg_add_inout(&a, &buf);
    pto2_task_id w = submit(rt, manual, K_W, &a);
    pto2_arg_init(&a);
    pto2_task_id l = submit(rt, manual, K_L, &a);
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &buf);
    pto2_arg_add_output_existing(&a, &ext);
    pto2_task_id t = submit(rt, manual, K_T, &a);
    pto2_add_dependency(rt, c, w);
    pto2_add_dependency(rt, w, t);
    pto2_add_dependency(rt, l, t);
  }
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {                /* depth 1, ring 1 again */
    for (int i = 0; i < 4; i++) {                  /* 4 x 256 B: the 4th lands on C's buffer */
      pto2_create_info ci = pto2_create_info_make(shape, 1, PTO2_INT32);
      pto2_create_info_set_initial(&ci, 0x7777);
      pto2_arg a;
      pto2_arg_init(&a);
      pto2_arg_add_output(&a, &ci);
      pto2_submit_aiv(rt, K_NOP, &a);
    }
  }
  atomic_store(&release_l, 1);
}


int main(void) {
  pto2_config cfg = {0};
  cfg.heap_size = 1024;
  cfg.worker_threads = 1;
  cfg.log_level = PTO2_LOG_ERROR;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&cfg, &rt), 0);
  pto2_kernel_fn fns[] = {0, k_c, k_w, k_t, k_l, k_nop};
  for (int i = 1; i <= 5; i++)
    ASSERT_EQ_INT(pto2_kernel_register(rt, i, PTO2_CORE_AIV, "k", fns[i], NULL), 0);
  for (int manual = 0; manual < 2; manual++) {
    bool m = manual;
    memset(out, 0, sizeof out);
    atomic_store(&release_l, 0);
    pto2_run_stats st;
    ASSERT_EQ_INT(pto2_run(rt, orch, &m, &st), 0);
    ASSERT_EQ_U64(st.edges, 3); /* holds are not edges */
    for (int i = 0; i < N; i++) ASSERT_EQ_INT(out[i], i + 1);
  }
  pto2_runtime_destroy(rt);
  TEST_PASS("test_lifetime_hold");
}
