/*
 * Every failing call says why, per runtime: an orchestration call outside a
 * run, pto2_run with a NULL function, pto2_kernel_register and
 * pto2_trace_enable/write failures set the runtime's error code and a
 * message naming the call; host calls made inside a run fail that run with
 * a message.  A second runtime's error state is its own.  The next run
 * clears the error.
 */
#include "pto2/pto2.h"
#include "test.h"

enum { K = 0 };

static int noop(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

static void good(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_arg a;
  pto2_arg_init(&a);
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K, &a)));
}

static void expect(pto2_runtime *rt, int code, const char *msg, const char *what) {
  if (pto2_error_code(rt) != code)
    TEST_FAIL("%s: error code %d (%s), expected %d (%s)", what, pto2_error_code(rt),
              pto2_err_name(pto2_error_code(rt)), code, pto2_err_name(code));
  if (!strstr(pto2_error_message(rt), msg))
    TEST_FAIL("%s: message \"%s\" does not contain \"%s\"", what, pto2_error_message(rt), msg);
}

static void register_inside(pto2_runtime *rt, void *arg) {
  (void)arg;
  ASSERT_EQ_INT(pto2_kernel_register(rt, 5, PTO2_CORE_AIV, "late", noop, 0), PTO2_E_INVALID_ARGS);
}

static void trace_inside(pto2_runtime *rt, void *arg) {
  (void)arg;
  ASSERT_EQ_INT(pto2_trace_enable(rt, 16), PTO2_E_INVALID_ARGS);
}

int main(void) {
  pto2_config c = {0};
  c.block_dim = 2;
  c.worker_threads = 1;
  c.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt, *other;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_runtime_create(&c, &other), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K, PTO2_CORE_AIV, "noop", noop, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(other, K, PTO2_CORE_AIV, "noop", noop, 0), 0);
  int checks = 0;

  /* Orchestration calls outside a run: the code and a message. */
  pto2_arg a;
  pto2_arg_init(&a);
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(rt, K, &a)));
  expect(rt, PTO2_E_INVALID_ARGS, "pto2_submit_aiv called outside pto2_run()", "submit outside");
  ASSERT_EQ_INT(pto2_scope_begin(rt, PTO2_SCOPE_AUTO), PTO2_E_INVALID_ARGS);
  expect(rt, PTO2_E_INVALID_ARGS, "pto2_scope_begin called outside", "scope_begin outside");
  uint32_t buf[4], shape[1] = {4}, idx[1] = {0};
  pto2_tensor t = pto2_tensor_external(buf, shape, 1, PTO2_INT32);
  uint64_t v;
  ASSERT_EQ_INT(pto2_get_tensor_data(rt, &t, idx, &v), PTO2_E_INVALID_ARGS);
  expect(rt, PTO2_E_INVALID_ARGS, "pto2_get_tensor_data called outside", "get outside");
  ASSERT_EQ_INT(pto2_add_dependency(rt, PTO2_TASK_ID_INVALID, PTO2_TASK_ID_INVALID),
                PTO2_E_INVALID_ARGS);
  expect(rt, PTO2_E_INVALID_ARGS, "pto2_add_dependency called outside", "add_dependency outside");
  checks += 4;

  /* The other runtime is untouched. */
  ASSERT_EQ_INT(pto2_error_code(other), 0);
  ASSERT_TRUE(strcmp(pto2_error_message(other), "") == 0);
  checks++;

  /* The next run starts clean. */
  ASSERT_EQ_INT(pto2_run(rt, good, 0, 0), 0);
  ASSERT_EQ_INT(pto2_error_code(rt), 0);
  ASSERT_TRUE(strcmp(pto2_error_message(rt), "") == 0);
  checks++;

  /* pto2_run with no function. */
  ASSERT_EQ_INT(pto2_run(rt, NULL, 0, 0), PTO2_E_INVALID_ARGS);
  expect(rt, PTO2_E_INVALID_ARGS, "orchestration function is NULL", "run NULL");
  checks++;

  /* pto2_kernel_register failures. */
  ASSERT_EQ_INT(pto2_kernel_register(rt, 64, PTO2_CORE_AIV, "x", noop, 0), PTO2_E_INVALID_ARGS);
  expect(rt, PTO2_E_INVALID_ARGS, "pto2_kernel_register(64): id out of range", "register id");
  ASSERT_EQ_INT(pto2_kernel_register(rt, 1, (pto2_core_type)7, "x", noop, 0), PTO2_E_INVALID_ARGS);
  expect(rt, PTO2_E_INVALID_ARGS, "unknown core type", "register type");
  ASSERT_EQ_INT(pto2_kernel_register(rt, 1, PTO2_CORE_AIV, "x", NULL, 0), PTO2_E_INVALID_ARGS);
  expect(rt, PTO2_E_INVALID_ARGS, "function is NULL", "register fn");
  checks += 3;

  /* Tracing failures. */
  ASSERT_EQ_INT(pto2_trace_write(rt, "/dev/null"), PTO2_E_INVALID_ARGS);
  expect(rt, PTO2_E_INVALID_ARGS, "tracing is not enabled", "trace_write disabled");
  ASSERT_EQ_INT(pto2_trace_enable(rt, 0), PTO2_E_INVALID_ARGS);
  expect(rt, PTO2_E_INVALID_ARGS, "max_events", "trace_enable 0");
  ASSERT_EQ_INT(pto2_trace_enable(rt, 16), 0);
  ASSERT_EQ_INT(pto2_trace_write(rt, "/nonexistent-dir/trace.json"), PTO2_E_SYSTEM);
  expect(rt, PTO2_E_SYSTEM, "cannot open '/nonexistent-dir/trace.json'", "trace_write path");
  ASSERT_EQ_INT(pto2_trace_write(rt, NULL), PTO2_E_INVALID_ARGS);
  expect(rt, PTO2_E_INVALID_ARGS, "path is NULL", "trace_write NULL");
  pto2_trace_disable(rt);
  checks += 4;

  /* Host calls inside a run fail the run, with a message. */
  ASSERT_EQ_INT(pto2_run(rt, register_inside, 0, 0), PTO2_E_INVALID_ARGS);
  expect(rt, PTO2_E_INVALID_ARGS, "not allowed during pto2_run", "register inside");
  ASSERT_EQ_INT(pto2_run(rt, trace_inside, 0, 0), PTO2_E_INVALID_ARGS);
  expect(rt, PTO2_E_INVALID_ARGS, "pto2_trace_enable: not allowed during pto2_run",
         "trace inside");
  checks += 2;

  ASSERT_EQ_INT(pto2_error_code(other), 0);
  ASSERT_EQ_INT(pto2_run(other, good, 0, 0), 0);
  ASSERT_EQ_INT(pto2_run(rt, good, 0, 0), 0);
  pto2_runtime_destroy(other);
  pto2_runtime_destroy(rt);
  printf("test_error_messages: %d passed, 0 failed\n", checks);
  return 0;
}
