/*
 * Errors that end a run, and recovery: a failing kernel, a kernel past its
 * time budget (wall clock), a busy kernel that is not a
 * stall, unbalanced scopes, a created tensor used after its scope ended,
 * orchestration calls outside a run, and pto2_run from
 * inside a run.  After each, the same runtime completes a good run.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "pto2/pto2.h"
#include "test.h"

enum { K_NOOP = 0, K_FAIL = 1, K_SLEEP = 2 };

static pthread_t main_thread;
static atomic_int slept_on_worker;
static int sleep_ms;

static int noop_kernel(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

static int fail_kernel(const pto2_kernel_ctx *k) {
  (void)k;
  return 42;
}

/* Sleeps only on a worker thread: kernels run by the caller of pto2_run
 * are not watched while they run (the caller is the watchdog). */
static int sleep_kernel(const pto2_kernel_ctx *k) {
  (void)k;
  if (pthread_equal(pthread_self(), main_thread)) return 0;
  atomic_store(&slept_on_worker, 1);
  struct timespec ts = {sleep_ms / 1000, (long)(sleep_ms % 1000) * 1000000L};
  nanosleep(&ts, 0);
  return 0;
}

static void one_task(pto2_runtime *rt, void *arg) {
  int kernel = *(int *)arg;
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_submit_aiv(rt, kernel, &a);
  /* Give a parked worker time to wake and take a sleeper. */
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  do clock_gettime(CLOCK_MONOTONIC, &now);
  while (kernel == K_SLEEP && !atomic_load(&slept_on_worker) &&
         (now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) < 20000000L);
}

static void good_run(pto2_runtime *rt) {
  int k = K_NOOP;
  pto2_run_stats st;
  ASSERT_EQ_INT(pto2_run(rt, one_task, &k, &st), 0);
  ASSERT_EQ_U64(st.tasks, 1);
  ASSERT_EQ_INT(pto2_error_code(rt), 0);
}

static void left_open(pto2_runtime *rt, void *arg) {
  (void)arg;
  ASSERT_EQ_INT(pto2_scope_begin(rt, PTO2_SCOPE_AUTO), 0);
}

static void extra_end(pto2_runtime *rt, void *arg) {
  (void)arg;
  ASSERT_EQ_INT(pto2_scope_end(rt), PTO2_E_INVALID_ARGS);
  /* Sticky: later calls return the same code and do nothing. */
  pto2_arg a;
  pto2_arg_init(&a);
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(rt, K_NOOP, &a)));
  ASSERT_TRUE(pto2_is_fatal(rt));
}

static void use_after_scope(pto2_runtime *rt, void *arg) {
  (void)arg;
  uint32_t shape[1] = {8};
  pto2_create_info ci = pto2_create_info_make(shape, 1, PTO2_FLOAT32);
  pto2_tensor x;
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_output(&a, &ci);
    pto2_submit_aiv(rt, K_NOOP, &a);
    x = a.outputs[0];
  }
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_input(&a, &x);
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(rt, K_NOOP, &a)));
}

static pto2_runtime *nested_rt;
static void nested(pto2_runtime *rt, void *arg) {
  (void)arg;
  int k = K_NOOP;
  ASSERT_EQ_INT(pto2_run(rt, one_task, &k, 0), PTO2_E_BUSY);
  nested_rt = rt;
}

int main(void) {
  main_thread = pthread_self();
  pto2_config c = {0};
  c.worker_threads = 1;
  c.kernel_timeout_ms = 100;
  c.stall_timeout_ms = 100;
  c.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_NOOP, PTO2_CORE_AIV, "noop", noop_kernel, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_FAIL, PTO2_CORE_AIV, "failing", fail_kernel, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_SLEEP, PTO2_CORE_AIV, "sleeper", sleep_kernel, 0), 0);

  int k = K_FAIL;
  ASSERT_EQ_INT(pto2_run(rt, one_task, &k, 0), PTO2_E_KERNEL_FAILED);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "kernel 'failing' (id 1) returned 42");
  good_run(rt);

  /* A running kernel is progress, not a stall: a 250 ms kernel with a
   * 100 ms stall budget succeeds.  Its own runtime has a kernel timeout far
   * above the kernel, so a slow (loaded) machine cannot turn the sleep into
   * a kernel timeout; a longer sleep only makes the check stronger. */
  {
    pto2_config lc = c;
    lc.kernel_timeout_ms = 60000;
    lc.workers_only = true; /* the worker sleeps (the caller would skip it) */
    pto2_runtime *lrt;
    ASSERT_EQ_INT(pto2_runtime_create(&lc, &lrt), 0);
    ASSERT_EQ_INT(pto2_kernel_register(lrt, K_SLEEP, PTO2_CORE_AIV, "sleeper", sleep_kernel, 0), 0);
    sleep_ms = 250;
    k = K_SLEEP;
    atomic_store(&slept_on_worker, 0);
    for (int i = 0; i < 2; i++) ASSERT_EQ_INT(pto2_run(lrt, one_task, &k, 0), 0);
    ASSERT_TRUE(atomic_load(&slept_on_worker));
    pto2_runtime_destroy(lrt);
  }

  /* 400 ms kernel, 100 ms budget: the run ends early with a timeout.  The
   * kernel must land on the worker thread; retry if the caller took it. */
  sleep_ms = 400;
  atomic_store(&slept_on_worker, 0);
  int rc = 0;
  for (int i = 0; i < 50 && !atomic_load(&slept_on_worker); i++) rc = pto2_run(rt, one_task, &k, 0);
  ASSERT_TRUE(atomic_load(&slept_on_worker));
  ASSERT_EQ_INT(rc, PTO2_E_TIMEOUT);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "kernel 'sleeper' (id 2)");
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "kernel_timeout_ms");
  struct timespec ts = {0, 500 * 1000 * 1000};
  nanosleep(&ts, 0); /* let the kernel return */
  good_run(rt);

  ASSERT_EQ_INT(pto2_run(rt, left_open, 0, 0), PTO2_E_INVALID_ARGS);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "1 scope(s) left open");
  good_run(rt);

  ASSERT_EQ_INT(pto2_run(rt, extra_end, 0, 0), PTO2_E_INVALID_ARGS);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "pto2_scope_end without a matching");
  good_run(rt);

  ASSERT_EQ_INT(pto2_run(rt, use_after_scope, 0, 0), PTO2_E_INVALID_ARGS);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "in a scope that has ended");
  good_run(rt);

  /* Outside a run: refused, nothing recorded for the next run. */
  pto2_arg a;
  pto2_arg_init(&a);
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(rt, K_NOOP, &a)));
  ASSERT_EQ_INT(pto2_scope_begin(rt, PTO2_SCOPE_AUTO), PTO2_E_INVALID_ARGS);
  good_run(rt);

  /* A host call inside a run fails that run, with a message. */
  ASSERT_EQ_INT(pto2_run(rt, nested, 0, 0), PTO2_E_BUSY);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "pto2_run called from inside a run");
  ASSERT_TRUE(nested_rt == rt);
  good_run(rt);

  pto2_runtime_destroy(rt);
  TEST_PASS("test_run_errors");
}
