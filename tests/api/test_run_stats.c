/*
 * Run statistics beyond the counts: the time the orchestrator waited for
 * room in a ring is reported per ring and resource, with or without
 * recording, and recorded runs attribute it to the scope group that was
 * innermost (the summary and the graph JSON).  Scope labels group scopes in
 * the summary.
 *
 * The wait is forced, not timed: one worker thread; a kernel run by the
 * worker blocks until a kernel runs on the orchestrating thread, which only
 * runs kernels while it waits.  Eight one-task scopes on a 4-slot ring
 * therefore make the orchestrator wait for a task slot of ring 1.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "pto2/pto2.h"
#include "test.h"

static pthread_t orchestrator;
static atomic_int released;

static int kernel(const pto2_kernel_ctx *k) {
  (void)k;
  if (pthread_equal(pthread_self(), orchestrator)) {
    atomic_store(&released, 1); /* the orchestrator is inside a wait */
    return 0;
  }
  for (int i = 0; i < 20000 && !atomic_load(&released); i++) {
    struct timespec ts = {0, 500000};
    nanosleep(&ts, 0);
  }
  return atomic_load(&released) ? 0 : 1; /* 10 s without a wait: fail the run */
}

static void program(pto2_runtime *rt, void *arg) {
  (void)arg;
  for (int i = 0; i < 8; i++) {
    PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
      pto2_scope_label(rt, i < 4 ? "early" : "late");
      pto2_arg a;
      pto2_arg_init(&a);
      pto2_submit_aiv(rt, 0, &a);
    }
  }
}

static void run_once(pto2_runtime *rt, pto2_run_stats *st) {
  atomic_store(&released, 0);
  int rc = pto2_run(rt, program, 0, st);
  if (rc) TEST_FAIL("run failed: %s", pto2_error_message(rt));
  ASSERT_TRUE(st->orch_blocked_ns[1][0] > 0); /* ring 1, task slots */
  ASSERT_EQ_U64(st->orch_blocked_ns[1][1], 0); /* no output bytes */
  ASSERT_EQ_U64(st->orch_blocked_ns[0][0], 0);
}

int main(void) {
  orchestrator = pthread_self();
  pto2_config c = {0};
  c.block_dim = 2;
  c.worker_threads = 1;
  c.task_window = 4;
  c.log_level = PTO2_LOG_ERROR;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 0, PTO2_CORE_AIV, "blocker", kernel, 0), 0);
  pto2_run_stats st;
  run_once(rt, &st); /* not recording */
  ASSERT_EQ_U64(st.trace_dropped, 0);
  ASSERT_EQ_INT(pto2_scope_label(rt, "outside"), PTO2_E_INVALID_ARGS);

  ASSERT_EQ_INT(pto2_trace_enable_opts(rt, 0), 0);
  run_once(rt, &st);
  ASSERT_EQ_U64(st.tasks, 8);
  ASSERT_TRUE(st.busy_ns > 0);
  FILE *f = tmpfile();
  ASSERT_TRUE(f != NULL);
  ASSERT_EQ_INT(pto2_summary_print(rt, f), 0);
  char text[8192];
  rewind(f);
  text[fread(text, 1, sizeof text - 1, f)] = 0;
  fclose(f);
  /* Two label groups of four one-task scopes each; the wait happened in one. */
  ASSERT_STR_CONTAINS(text, "  early                           1        4         4");
  ASSERT_STR_CONTAINS(text, "  late                            1        4         4");
  ASSERT_STR_CONTAINS(text, "orchestrator blocked: ring 1 task slots ");
  ASSERT_STR_CONTAINS(text, "per kernel (invocations)");
  ASSERT_STR_CONTAINS(text, "  blocker                          8 ");
  /* Per core: AIVn.m=us labels on the next line (only AIV kernels ran). */
  ASSERT_STR_CONTAINS(text, "per core busy (us; AICn: cluster n's cube core, AIVn.m: its vector "
                            "core m; idle cores left out):\n  AIV");
  const char *cores = strstr(text, "core m; idle cores left out):\n");
  ASSERT_TRUE(cores != NULL && strstr(cores, "\ncritical path") != NULL);
  ASSERT_TRUE(strstr(cores, "AIV ") == NULL || strstr(cores, "AIV ") > strstr(cores, "\ncritical"));
  ASSERT_TRUE(strstr(cores, "=") != NULL && strstr(cores, "=") < strstr(cores, "\ncritical"));
  pto2_runtime_destroy(rt);
  TEST_PASS("test_run_stats");
}
