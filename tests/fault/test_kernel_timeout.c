/*
 * Kernel timeouts, whichever thread runs the kernel, and stuck workers.
 *
 *  1. A kernel over kernel_timeout_ms on the thread that called pto2_run()
 *     fails the run with PTO2_E_TIMEOUT (the worker is kept busy by a hog
 *     kernel, so the caller runs the slow kernel itself); pto2_run()
 *     returns once the kernel does.
 *  2. workers_only: a kernel that does not return fails the run within
 *     the limit plus a small bound (well under twice the limit); the next
 *     run completes on a replacement worker, with the right result, while
 *     the stuck kernel still runs; a second stuck worker is handled the
 *     same way; destroy returns while both kernels are still stuck.  When the stuck kernels finally return, they write
 *     their output buffers (memory the runtime handed over to them, so
 *     AddressSanitizer sees no use after free) and their threads exit.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pto2/pto2.h"
#include "test.h"

enum { K_NOOP, K_HOG, K_SLOW, K_STUCK, K_INC };

static pthread_t main_thread;
static atomic_int hog_started, slow_started, slow_on_main, gate, stuck_returned;

static void nap_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, 0);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int noop(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

/* Holds the worker until the slow kernel has started (at most 10 s). */
static int hog(const pto2_kernel_ctx *k) {
  (void)k;
  atomic_store(&hog_started, 1);
  for (int i = 0; i < 100000 && !atomic_load(&slow_started); i++) nap_us(100);
  return 0;
}

static int slow(const pto2_kernel_ctx *k) {
  (void)k;
  atomic_store(&slow_on_main, pthread_equal(pthread_self(), main_thread));
  atomic_store(&slow_started, 1);
  nap_us(1500 * 1000);
  return 0;
}

/* Never returns before the test opens the gate; then writes its output. */
static int stuck(const pto2_kernel_ctx *k) {
  while (!atomic_load(&gate)) nap_us(1000);
  float *out = k->tensors[0].data;
  for (int i = 0; i < 1024; i++) out[i] = 1.0f;
  atomic_fetch_add(&stuck_returned, 1);
  return 0;
}

static int inc(const pto2_kernel_ctx *k) {
  float *x = k->tensors[0].data;
  for (int i = 0; i < 64; i++) x[i] += 1.0f;
  return 0;
}

static void slow_on_caller(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_submit_aiv(rt, K_HOG, &a);
  /* The worker takes the hog (this thread is not waiting in pto2). */
  for (int i = 0; i < 100000 && !atomic_load(&hog_started); i++) nap_us(100);
  ASSERT_TRUE(atomic_load(&hog_started));
  pto2_arg_init(&a);
  pto2_submit_aiv(rt, K_SLOW, &a); /* run by this thread while it waits */
}

static void stuck_program(pto2_runtime *rt, void *arg) {
  (void)arg;
  uint32_t shape[1] = {1024};
  pto2_create_info ci = pto2_create_info_make(shape, 1, PTO2_FLOAT32);
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_output(&a, &ci);
  pto2_submit_aiv(rt, K_STUCK, &a);
}

static float data[64];

static void good_program(pto2_runtime *rt, void *arg) {
  (void)arg;
  uint32_t shape[1] = {64};
  pto2_tensor x = pto2_tensor_external(data, shape, 1, PTO2_FLOAT32);
  for (int i = 0; i < 100; i++) {
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_inout(&a, &x);
    pto2_submit_aiv(rt, K_INC, &a);
  }
}

static pto2_runtime *make(bool workers_only, uint32_t workers, uint32_t limit_ms) {
  pto2_config c = {0};
  c.workers_only = workers_only;
  c.worker_threads = workers;
  c.kernel_timeout_ms = limit_ms;
  c.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  pto2_kernel_fn fns[] = {noop, hog, slow, stuck, inc};
  const char *names[] = {"noop", "hog", "slow", "stuck", "inc"};
  for (int i = 0; i < 5; i++)
    ASSERT_EQ_INT(pto2_kernel_register(rt, i, PTO2_CORE_AIV, names[i], fns[i], 0), 0);
  return rt;
}

static void good_run(pto2_runtime *rt, uint32_t limit_ms) {
  memset(data, 0, sizeof data);
  uint64_t t0 = now_ms();
  int rc = pto2_run(rt, good_program, 0, 0);
  uint64_t took = now_ms() - t0;
  if (rc) TEST_FAIL("good run: rc %d (%s)", rc, pto2_error_message(rt));
  for (int i = 0; i < 64; i++) ASSERT_TRUE(data[i] == 100.0f);
  /* It completed while the stuck kernel still runs: it did not wait for it.
   * The time is printed, not asserted (loaded machines). */
  printf("good run after a stuck worker: %llu ms (limit %u ms)\n", (unsigned long long)took,
         limit_ms);
}

int main(void) {
  main_thread = pthread_self();

  /* 1: the caller's own kernel. */
  pto2_runtime *rt = make(false, 1, 300);
  int rc = pto2_run(rt, slow_on_caller, 0, 0);
  printf("slow kernel on the caller: rc %d: %s\n", rc, pto2_error_message(rt));
  ASSERT_TRUE(atomic_load(&slow_on_main));
  ASSERT_EQ_INT(rc, PTO2_E_TIMEOUT);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "kernel 'slow' (id 2)");
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "the thread that called pto2_run");
  memset(data, 0, sizeof data);
  ASSERT_EQ_INT(pto2_run(rt, good_program, 0, 0), 0);
  pto2_runtime_destroy(rt);

  /* 2: stuck workers with workers_only. */
  const uint32_t limit = 1000;
  rt = make(true, 2, limit);
  for (int round = 0; round < 2; round++) {
    uint64_t t0 = now_ms();
    rc = pto2_run(rt, stuck_program, 0, 0);
    uint64_t took = now_ms() - t0;
    printf("stuck kernel: rc %d after %llu ms: %s\n", rc, (unsigned long long)took,
           pto2_error_message(rt));
    ASSERT_EQ_INT(rc, PTO2_E_TIMEOUT);
    ASSERT_STR_CONTAINS(pto2_error_message(rt), "kernel 'stuck' (id 3)");
    ASSERT_STR_CONTAINS(pto2_error_message(rt), "a worker thread");
    ASSERT_TRUE(took < 2 * limit); /* within the limit plus a small bound */
    good_run(rt, limit);
  }
  uint64_t t0 = now_ms();
  pto2_runtime_destroy(rt);
  uint64_t took = now_ms() - t0;
  /* Returned while both kernels are still stuck: it waited for neither. */
  printf("destroy with two stuck kernels: %llu ms\n", (unsigned long long)took);
  atomic_store(&gate, 1);
  for (int i = 0; i < 10000 && atomic_load(&stuck_returned) < 2; i++) nap_us(1000);
  ASSERT_EQ_INT(atomic_load(&stuck_returned), 2);
  nap_us(20000); /* the threads exit on their own; nothing left to join */
  TEST_PASS("test_kernel_timeout");
}
