/*
 * Rings too small for what a scope holds end the run with an error that
 * names the ring, what is full and what to raise — never a hang or exit()
 * (docs/semantics.md, "Rings and limits") — and the runtime runs a good program right after:
 * task window (scope deadlock), heap, dependency pool, a task larger than
 * the heap, and a task needing more dependency entries than the pool has.
 */
#include <stdatomic.h>
#include <time.h>

#include "pto2/pto2.h"
#include "test.h"

enum { K_NOOP = 0, K_SLOW = 1 };

static int noop_kernel(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

/* Keeps its task unfinished long enough for the orchestrator to submit. */
static int slow_kernel(const pto2_kernel_ctx *k) {
  (void)k;
  struct timespec ts = {0, 50 * 1000 * 1000};
  nanosleep(&ts, 0);
  return 0;
}

static float buf[4096];

/* Submits `n` tasks into one scope, each creating `bytes` of output. */
struct flood {
  int n;
  uint32_t elems;
};

static void flood_scope(pto2_runtime *rt, void *arg) {
  struct flood *f = arg;
  uint32_t shape[1] = {f->elems};
  pto2_create_info ci = pto2_create_info_make(shape, 1, PTO2_FLOAT32);
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
    for (int i = 0; i < f->n && !pto2_is_fatal(rt); i++) {
      pto2_arg a;
      pto2_arg_init(&a);
      pto2_arg_add_output(&a, &ci);
      pto2_submit_aiv(rt, K_NOOP, &a);
    }
  }
}

/* `n` tasks in the root scope. */
static void flood_root(pto2_runtime *rt, void *arg) {
  const int *n = arg;
  uint32_t shape[1] = {16};
  pto2_create_info ci = pto2_create_info_make(shape, 1, PTO2_FLOAT32);
  for (int i = 0; i < *n && !pto2_is_fatal(rt); i++) {
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_output(&a, &ci);
    pto2_submit_aiv(rt, K_NOOP, &a);
  }
}

/* One slow producer and `n` consumers of its output in the same scope:
 * every consumer holds a dependency entry until the scope ends. */
static void fan_out(pto2_runtime *rt, void *arg) {
  int n = *(int *)arg;
  uint32_t shape[1] = {16};
  pto2_create_info ci = pto2_create_info_make(shape, 1, PTO2_FLOAT32);
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_output(&a, &ci);
    pto2_submit_aiv(rt, K_SLOW, &a);
    pto2_tensor x = a.outputs[0];
    for (int i = 0; i < n && !pto2_is_fatal(rt); i++) {
      pto2_arg_init(&a);
      pto2_arg_add_input(&a, &x);
      pto2_submit_aiv(rt, K_NOOP, &a);
    }
  }
}

/* One task reading 12 distinct unfinished producers: needs 12 entries. */
static void wide_fanin(pto2_runtime *rt, void *arg) {
  (void)arg;
  uint32_t shape[1] = {16};
  pto2_create_info ci = pto2_create_info_make(shape, 1, PTO2_FLOAT32);
  pto2_tensor outs[12];
  for (int i = 0; i < 12; i++) {
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_output(&a, &ci);
    pto2_submit_aiv(rt, K_SLOW, &a);
    outs[i] = a.outputs[0];
  }
  pto2_arg a;
  pto2_arg_init(&a);
  for (int i = 0; i < 12; i++) pto2_arg_add_input(&a, &outs[i]);
  pto2_submit_aiv(rt, K_NOOP, &a);
}

static pto2_runtime *make_runtime(uint32_t window, uint64_t heap, uint32_t deps) {
  pto2_config c = {0};
  c.task_window = window;
  c.heap_size = heap;
  c.dep_pool = deps;
  c.worker_threads = 1;
  c.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_NOOP, PTO2_CORE_AIV, "noop", noop_kernel, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_SLOW, PTO2_CORE_AIV, "slow", slow_kernel, 0), 0);
  return rt;
}

static void expect_failure(pto2_runtime *rt, pto2_orchestration_fn fn, void *arg, int code,
                           const char *msg1, const char *msg2) {
  ASSERT_EQ_INT(pto2_run(rt, fn, arg, 0), code);
  ASSERT_EQ_INT(pto2_error_code(rt), code);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), msg1);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), msg2);
  /* The same runtime runs a program that fits. */
  struct flood ok = {4, 16};
  pto2_run_stats st;
  ASSERT_EQ_INT(pto2_run(rt, flood_scope, &ok, &st), 0);
  ASSERT_EQ_U64(st.tasks, 4);
  ASSERT_EQ_INT(pto2_error_code(rt), 0);
}

int main(void) {
  (void)buf;
  pto2_runtime *rt = make_runtime(16, 4096, 8);

  struct flood too_many = {40, 16}; /* 40 tasks in one scope, window 16 */
  expect_failure(rt, flood_scope, &too_many, PTO2_E_SCOPE_DEADLOCK, "FATAL: Scope Deadlock Detected!",
                 "PTO2_RING_TASK_WINDOW");
  /* The advice: the window must exceed the scope's task count (no number
   * that would fail again), named as a config field and a variable; a
   * nested scope is split, the root scope's loop body gets an inner scope. */
  ASSERT_TRUE(pto2_run(rt, flood_scope, &too_many, 0) == PTO2_E_SCOPE_DEADLOCK);
  const char *msg = pto2_error_message(rt);
  printf("  %s\n", msg);
  ASSERT_STR_CONTAINS(msg, "AUTO scope #1 (depth 1) submits more than 16 tasks");
  ASSERT_STR_CONTAINS(msg, "larger than the number of tasks one scope submits");
  ASSERT_STR_CONTAINS(msg, "pto2_config.task_window");
  ASSERT_STR_CONTAINS(msg, "Runtime(task_window=...)");
  ASSERT_STR_CONTAINS(msg, "split the scope into smaller ones");
  ASSERT_TRUE(strstr(msg, "task_window_size") == NULL && strstr(msg, "=32") == NULL);
  int root_tasks = 40;
  expect_failure(rt, flood_root, &root_tasks, PTO2_E_SCOPE_DEADLOCK,
                 "FATAL: Scope Deadlock Detected! (ring 0) the AUTO scope #0 (depth 0) submits "
                 "more than 16 tasks",
                 "wrap the loop body in an inner scope (PTO2_SCOPE, Python with o.scope():)");
  ASSERT_TRUE(pto2_run(rt, flood_root, &root_tasks, 0) == PTO2_E_SCOPE_DEADLOCK);
  ASSERT_TRUE(strstr(pto2_error_message(rt), "split the scope") == NULL);

  struct flood too_big = {1, 4096}; /* 16 KiB output, heap 4 KiB */
  expect_failure(rt, flood_scope, &too_big, PTO2_E_HEAP_RING_DEADLOCK, "heap holds",
                 "PTO2_RING_HEAP=32768");

  struct flood heap_full = {12, 128}; /* 12 x 512 B live in one scope, heap 4 KiB */
  expect_failure(rt, flood_scope, &heap_full, PTO2_E_HEAP_RING_DEADLOCK, "Heap Exhausted",
                 "PTO2_RING_HEAP=8192");

  int consumers = 12; /* 12 entries live in one scope, pool 8 */
  expect_failure(rt, fan_out, &consumers, PTO2_E_DEP_POOL_OVERFLOW,
                 "Dependency Pool Deadlock Detected", "PTO2_RING_DEP_POOL=16");

  expect_failure(rt, wide_fanin, 0, PTO2_E_DEP_POOL_OVERFLOW, "Dependency Pool Overflow",
                 "needs 12 entries");
  pto2_runtime_destroy(rt);

  /* The same programs pass with rings that fit. */
  rt = make_runtime(64, 65536, 64);
  pto2_run_stats st;
  ASSERT_EQ_INT(pto2_run(rt, flood_scope, &too_many, &st), 0);
  ASSERT_EQ_U64(st.tasks, 40);
  ASSERT_EQ_INT(pto2_run(rt, fan_out, &consumers, &st), 0);
  ASSERT_EQ_U64(st.edges, 12);
  ASSERT_EQ_INT(pto2_run(rt, wide_fanin, 0, &st), 0);
  ASSERT_EQ_U64(st.edges, 12);
  pto2_runtime_destroy(rt);
  TEST_PASS("test_ring_limits");
}
