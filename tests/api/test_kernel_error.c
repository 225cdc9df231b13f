/*
 * pto2_kernel_set_error(): a failing kernel's message ends the run's error
 * message after the kernel, task and block; it belongs to the invocation
 * that set it (a kernel that sets one and then succeeds leaves nothing for a
 * later failure, nor for a later run); a message longer than 255 bytes is
 * cut; NULL arguments are ignored.  block_dim 1: every kernel runs on the
 * caller's thread, so a stale message would be seen by the later failure.
 */
#include <string.h>

#include "pto2/pto2.h"
#include "test.h"

enum { SAY_AND_FAIL = 0, SAY_AND_SUCCEED = 1, FAIL_SILENTLY = 2, SAY_LONG = 3 };

static int say_and_fail(const pto2_kernel_ctx *k) {
  pto2_kernel_set_error(k, "input row 7 is NaN");
  return 3;
}

static int say_and_succeed(const pto2_kernel_ctx *k) {
  pto2_kernel_set_error(k, "a message nobody should see");
  pto2_kernel_set_error(NULL, "ignored");
  pto2_kernel_set_error(k, NULL);
  return 0;
}

static int fail_silently(const pto2_kernel_ctx *k) {
  (void)k;
  return 1;
}

static int say_long(const pto2_kernel_ctx *k) {
  char msg[600];
  memset(msg, 'x', sizeof msg - 1);
  msg[sizeof msg - 1] = 0;
  pto2_kernel_set_error(k, msg);
  return 1;
}

/* The kernels given by arg, one after another (each depends on the last). */
static void chain(pto2_runtime *rt, void *arg) {
  for (const int *k = arg; *k >= 0; k++) {
    pto2_arg a;
    pto2_arg_init(&a);
    static float x[4];
    pto2_tensor t = pto2_tensor_external(x, (const uint32_t[]){4}, 1, PTO2_FLOAT32);
    pto2_arg_add_inout(&a, &t);
    pto2_submit_aiv(rt, *k, &a);
  }
}

int main(void) {
  pto2_config c = {0};
  c.block_dim = 1;
  c.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, SAY_AND_FAIL, PTO2_CORE_AIV, "say_and_fail",
                                     say_and_fail, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, SAY_AND_SUCCEED, PTO2_CORE_AIV, "say_and_succeed",
                                     say_and_succeed, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, FAIL_SILENTLY, PTO2_CORE_AIV, "fail_silently",
                                     fail_silently, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, SAY_LONG, PTO2_CORE_AIV, "say_long", say_long, 0), 0);

  int fail[] = {SAY_AND_FAIL, -1};
  ASSERT_EQ_INT(pto2_run(rt, chain, fail, 0), PTO2_E_KERNEL_FAILED);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "kernel 'say_and_fail' (id 0) returned 3 in task ");
  ASSERT_STR_CONTAINS(pto2_error_message(rt), ", block 0: input row 7 is NaN");

  /* Set, then success: the later silent failure has no message of its own,
   * in this run and in the next one. */
  int set_then_fail[] = {SAY_AND_SUCCEED, FAIL_SILENTLY, -1};
  ASSERT_EQ_INT(pto2_run(rt, chain, set_then_fail, 0), PTO2_E_KERNEL_FAILED);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "kernel 'fail_silently' (id 2) returned 1");
  ASSERT_TRUE(strstr(pto2_error_message(rt), "nobody") == NULL);
  ASSERT_TRUE(strstr(pto2_error_message(rt), "block 0:") == NULL);
  int set_only[] = {SAY_AND_SUCCEED, -1};
  ASSERT_EQ_INT(pto2_run(rt, chain, set_only, 0), 0);
  int silent[] = {FAIL_SILENTLY, -1};
  ASSERT_EQ_INT(pto2_run(rt, chain, silent, 0), PTO2_E_KERNEL_FAILED);
  ASSERT_TRUE(strstr(pto2_error_message(rt), "nobody") == NULL);

  /* A long message is cut at 255 bytes. */
  int long_msg[] = {SAY_LONG, -1};
  ASSERT_EQ_INT(pto2_run(rt, chain, long_msg, 0), PTO2_E_KERNEL_FAILED);
  const char *m = strstr(pto2_error_message(rt), "block 0: ");
  ASSERT_TRUE(m != NULL);
  ASSERT_EQ_U64(strlen(m + strlen("block 0: ")), 255);

  pto2_kernel_set_error(NULL, NULL); /* outside a kernel: nothing happens */
  pto2_runtime_destroy(rt);
  TEST_PASS("test_kernel_error");
}
