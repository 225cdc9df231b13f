/*
 * Use after destroy.  Calling pto2 with a destroyed runtime is undefined
 * behaviour (pto2.h); builds with PTO2_DEBUG_CHECKS catch it: each host
 * call on the handle logs a message naming the call and returns
 * PTO2_E_INVALID_ARGS (or does nothing, for the void ones) without
 * touching the freed memory.  This test is built against a library with
 * the checks on, so it runs in every configuration (under ASan a touch of
 * the freed runtime would be reported).
 */
#include <unistd.h>

#include "pto2/pto2.h"
#include "test.h"

static int noop(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

static void orch(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_arg a;
  pto2_arg_init(&a);
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, 0, &a)));
}

int main(void) {
#ifndef PTO2_DEBUG_CHECKS
  printf("test_use_after_destroy: needs PTO2_DEBUG_CHECKS, skipped\n");
  return TEST_SKIP_CODE;
#else
  pto2_config c = {0};
  c.block_dim = 2;
  c.worker_threads = 1;
  c.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt, *keep;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &keep), 0); /* another runtime stays usable */
  ASSERT_EQ_INT(pto2_kernel_register(keep, 0, PTO2_CORE_AIV, "noop", noop, 0), 0);
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 0, PTO2_CORE_AIV, "noop", noop, 0), 0);
  ASSERT_EQ_INT(pto2_run(rt, orch, 0, 0), 0);
  pto2_runtime_destroy(rt);

  /* Capture stderr: the messages are logged whatever the log level. */
  char path[] = "/tmp/pto2_uad_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_TRUE(fd >= 0);
  fflush(stderr);
  int saved = dup(STDERR_FILENO);
  ASSERT_TRUE(dup2(fd, STDERR_FILENO) >= 0);

  pto2_runtime_destroy(rt); /* twice */
  int run_rc = pto2_run(rt, orch, 0, 0);
  int reg_rc = pto2_kernel_register(rt, 1, PTO2_CORE_AIV, "noop", noop, 0);
  int trace_rc = pto2_trace_enable(rt, 16);
  pto2_config out = {0};
  pto2_runtime_get_config(rt, &out);

  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  char log[4096] = {0};
  ASSERT_TRUE(lseek(fd, 0, SEEK_SET) == 0);
  ssize_t n = read(fd, log, sizeof log - 1);
  ASSERT_TRUE(n > 0);
  close(fd);
  unlink(path);

  ASSERT_EQ_INT(run_rc, PTO2_E_INVALID_ARGS);
  ASSERT_EQ_INT(reg_rc, PTO2_E_INVALID_ARGS);
  ASSERT_EQ_INT(trace_rc, PTO2_E_INVALID_ARGS);
  ASSERT_EQ_U64(out.block_dim, 0); /* untouched */
  ASSERT_STR_CONTAINS(log, "pto2_runtime_destroy: runtime");
  ASSERT_STR_CONTAINS(log, "was destroyed");
  ASSERT_STR_CONTAINS(log, "pto2_run: runtime");
  ASSERT_STR_CONTAINS(log, "pto2_kernel_register: runtime");
  ASSERT_STR_CONTAINS(log, "pto2_trace_enable: runtime");
  ASSERT_STR_CONTAINS(log, "pto2_runtime_get_config: runtime");

  ASSERT_EQ_INT(pto2_run(keep, orch, 0, 0), 0);
  pto2_runtime_destroy(keep);
  TEST_PASS("test_use_after_destroy");
#endif
}
