/*
 * Out of memory, everywhere: with an allocator (pto2_config.allocator) that
 * fails the n-th allocation, for every n until a whole create / trace /
 * run / destroy sequence meets no failure.  Every failure is a clean
 * PTO2_E_NO_MEMORY from the call that needed the memory; the runtime, where
 * it exists, then runs the program correctly; and after destroy no block is
 * left (counted here, and by LeakSanitizer in the ASan build).
 *
 * The program makes a run allocate too: 1100 tasks in one scope (the scope's
 * task list grows), a GRAPH scope with a backward edge (the cycle check
 * allocates its search stack), and a strict AUTO scope with many readers of
 * caller memory and of a created buffer before writers (the reader log and
 * the reader map grow).  The sequence runs three times: as is, with the
 * hazard checker on (it records every access and builds its graph at the
 * end of the run), and with every AUTO scope strict (auto_strict).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pto2/pto2.h"
#include "pto2/observe.h"
#include "test.h"

static atomic_long calls, live, fail_at;
static atomic_int failed;

static bool should_fail(void) {
  long n = atomic_fetch_add(&calls, 1) + 1;
  if (n == atomic_load(&fail_at)) {
    atomic_store(&failed, 1);
    return true;
  }
  return false;
}

static void *t_malloc(size_t n, void *user) {
  ASSERT_TRUE(user == &calls);
  if (should_fail()) return NULL;
  void *p = malloc(n);
  if (p) atomic_fetch_add(&live, 1);
  return p;
}

static void *t_realloc(void *p, size_t n, void *user) {
  ASSERT_TRUE(user == &calls);
  if (should_fail()) return NULL;
  void *q = realloc(p, n);
  if (q && !p) atomic_fetch_add(&live, 1);
  return q;
}

static void t_free(void *p, void *user) {
  ASSERT_TRUE(user == &calls);
  if (p) atomic_fetch_sub(&live, 1);
  free(p);
}

static int add1(const pto2_kernel_ctx *k) {
  float *x = k->tensors[0].data;
  x[0] += 1.0f;
  return 0;
}

static int read1(const pto2_kernel_ctx *k) {
  volatile const float *x = k->tensors[0].data;
  (void)x[0];
  return 0;
}

#define TASKS 1100
#define READERS 160
static float data[3];

static void program(pto2_runtime *rt, void *arg) {
  (void)arg;
  uint32_t shape[1] = {1};
  pto2_tensor x = pto2_tensor_external(&data[0], shape, 1, PTO2_FLOAT32);
  pto2_tensor y = pto2_tensor_external(&data[1], shape, 1, PTO2_FLOAT32);
  for (int i = 0; i < TASKS && !pto2_is_fatal(rt); i++) {
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_inout(&a, &x);
    pto2_submit_aiv(rt, 0, &a);
  }
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
    pto2_task_id t[2];
    for (int i = 0; i < 2; i++) {
      pto2_arg a;
      pto2_arg_init(&a);
      pto2_arg_add_inout(&a, &y);
      t[i] = pto2_submit_aiv(rt, 0, &a);
    }
    pto2_add_dependency(rt, t[1], t[0]); /* backward: the cycle check runs */
  }
  /* Readers, then a writer that waits for them all: of caller memory and
   * of a buffer created in the scope; data[2] ends as 1 + 1. */
  pto2_tensor z = pto2_tensor_external(&data[2], shape, 1, PTO2_FLOAT32);
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO_STRICT) {
    pto2_create_info ci = pto2_create_info_make(shape, 1, PTO2_FLOAT32);
    pto2_create_info_set_initial(&ci, 0);
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_output(&a, &ci);
    pto2_submit_aiv(rt, 0, &a); /* creates b: the initial 0, plus 1 */
    pto2_tensor b = a.outputs[0];
    for (int i = 0; i < READERS && !pto2_is_fatal(rt); i++) {
      pto2_arg_init(&a);
      pto2_arg_add_input(&a, i % 2 ? &z : &b);
      pto2_submit_aiv(rt, 1, &a);
    }
    for (int i = 0; i < 2; i++) {
      pto2_arg_init(&a);
      pto2_arg_add_inout(&a, i ? &z : &b);
      pto2_submit_aiv(rt, 0, &a);
    }
    pto2_arg_init(&a);
    pto2_arg_add_inout(&a, &z); /* z += 1 after b's writer */
    pto2_arg_add_input(&a, &b);
    pto2_submit_aiv(rt, 0, &a);
  }
}

static int run_checked(pto2_runtime *rt) {
  memset(data, 0, sizeof data);
  int rc = pto2_run(rt, program, 0, 0);
  if (!rc && (data[0] != (float)TASKS || data[1] != 2.0f || data[2] != 2.0f))
    TEST_FAIL("wrong result: %f %f %f", (double)data[0], (double)data[1], (double)data[2]);
  return rc;
}

static void sequence(const char *name, bool check, bool strict) {
  pto2_config c = {0};
  c.block_dim = 4;
  c.worker_threads = 1;
  c.task_window = 2048;
  c.heap_size = 4096;
  c.dep_pool = 4096;
  c.log_level = PTO2_LOG_SILENT;
  c.hazard_check = check ? PTO2_HAZARD_CHECK_FAIL : PTO2_HAZARD_CHECK_OFF;
  c.auto_strict = strict;
  c.allocator = (pto2_allocator){t_malloc, t_realloc, t_free, &calls};
  long n;
  unsigned create_fails = 0, trace_fails = 0, run_fails = 0;
  for (n = 1; n < 100000; n++) {
    atomic_store(&calls, 0);
    atomic_store(&failed, 0);
    atomic_store(&fail_at, n);
    pto2_runtime *rt = 0;
    int rc = pto2_runtime_create(&c, &rt);
    if (rc) {
      if (rc != PTO2_E_NO_MEMORY) TEST_FAIL("%s, n=%ld: create returned %d", name, n, rc);
      ASSERT_TRUE(atomic_load(&failed));
      ASSERT_TRUE(rt == NULL);
      if (atomic_load(&live) != 0)
        TEST_FAIL("%s, n=%ld: %ld blocks leaked by a failed create", name, n, atomic_load(&live));
      create_fails++;
      continue;
    }
    ASSERT_EQ_INT(pto2_kernel_register(rt, 0, PTO2_CORE_AIV, "add1", add1, 0), 0);
    ASSERT_EQ_INT(pto2_kernel_register(rt, 1, PTO2_CORE_AIV, "read1", read1, 0), 0);
    rc = pto2_trace_enable(rt, 16);
    bool traced = rc == 0;
    if (rc) {
      if (rc != PTO2_E_NO_MEMORY) TEST_FAIL("%s, n=%ld: trace_enable returned %d", name, n, rc);
      trace_fails++;
    }
    rc = run_checked(rt);
    if (rc) {
      if (rc != PTO2_E_NO_MEMORY)
        TEST_FAIL("%s, n=%ld: run returned %d (%s)", name, n, rc, pto2_error_message(rt));
      run_fails++;
    }
    if (!rc && traced) { /* the writers of the recorded run allocate too */
      FILE *f = fopen("/dev/null", "w");
      ASSERT_TRUE(f != NULL);
      int wr[3] = {pto2_summary_print(rt, f), pto2_graph_write(rt, "/dev/null"),
                   pto2_trace_write(rt, "/dev/null")};
      fclose(f);
      for (int i = 0; i < 3; i++)
        if (wr[i] && wr[i] != PTO2_E_NO_MEMORY)
          TEST_FAIL("%s, n=%ld: writer %d returned %d", name, n, i, wr[i]);
    }
    bool any = atomic_load(&failed);
    atomic_store(&fail_at, 0);
    rc = run_checked(rt); /* the runtime still works */
    if (rc)
      TEST_FAIL("%s, n=%ld: run after the failure returned %d (%s)", name, n, rc,
                pto2_error_message(rt));
    if (check) ASSERT_EQ_U64(pto2_hazard_count(rt), 0);
    pto2_runtime_destroy(rt);
    if (atomic_load(&live) != 0)
      TEST_FAIL("%s, n=%ld: %ld blocks left after destroy", name, n, atomic_load(&live));
    if (!any) break; /* every allocation of the sequence has been failed once */
  }
  printf("%s: failed each of %ld allocations once: %u in create, %u in trace_enable, %u in a "
         "run\n",
         name, n - 1, create_fails, trace_fails, run_fails);
  ASSERT_TRUE(create_fails > 10 && run_fails >= 2);
}

int main(void) {
  sequence("plain", false, false);
  sequence("hazard_check", true, false);
  sequence("auto_strict", false, true);
  TEST_PASS("test_out_of_memory");
}
