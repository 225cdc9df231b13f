/* pto2_abort_run(): the orchestration fails its own run with a message, the
 * run ends with PTO2_E_ABORTED, and the runtime runs again afterwards. */
#include "pto2/pto2.h"
#include "test.h"

enum { N = 64 };

static int add_one(const pto2_kernel_ctx *k) {
  float *x = (float *)k->tensors[0].data;
  for (uint32_t i = 0; i < k->tensors[0].shapes[0]; i++) x[i] += 1.0f;
  return 0;
}

struct job {
  float *x;
  int abort_after; /* submit this many tasks, then abort; -1: never */
  pto2_task_id after_abort;
  int abort_rc, second_rc;
};

static void orchestrate(pto2_runtime *rt, void *p) {
  struct job *j = p;
  const uint32_t shape[1] = {N};
  pto2_tensor x = pto2_tensor_external(j->x, shape, 1, PTO2_FLOAT32);
  for (int i = 0; i < 4; i++) {
    if (i == j->abort_after) {
      j->abort_rc = pto2_abort_run(rt, "stop: the input is bad");
      j->second_rc = pto2_abort_run(rt, "a later reason");
      pto2_arg a;
      pto2_arg_init(&a);
      pto2_arg_add_inout(&a, &x);
      j->after_abort = pto2_submit_aiv(rt, 0, &a);
      return;
    }
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_inout(&a, &x);
    pto2_submit_aiv(rt, 0, &a);
  }
}

int main(void) {
  pto2_config cfg = {0};
  cfg.block_dim = 1;
  cfg.worker_threads = 1;
  cfg.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&cfg, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 0, PTO2_CORE_AIV, "add_one", add_one, NULL), 0);
  static float x[N];

  /* Outside a run: an error, nothing else happens. */
  ASSERT_EQ_INT(pto2_abort_run(rt, "outside"), PTO2_E_INVALID_ARGS);
  /* Recorded like every refused call outside a run. */
  ASSERT_EQ_INT(pto2_error_code(rt), PTO2_E_INVALID_ARGS);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "pto2_abort_run called outside pto2_run()");
  ASSERT_EQ_INT(pto2_abort_run(NULL, "outside"), PTO2_E_INVALID_ARGS);

  struct job j = {x, 2, {0}, 0, 0};
  ASSERT_EQ_INT(pto2_run(rt, orchestrate, &j, NULL), PTO2_E_ABORTED);
  ASSERT_EQ_INT(j.abort_rc, PTO2_E_ABORTED);
  ASSERT_EQ_INT(j.second_rc, PTO2_E_ABORTED);
  ASSERT_TRUE(!pto2_task_id_is_valid(j.after_abort)); /* submits fail after the abort */
  ASSERT_EQ_INT(pto2_error_code(rt), PTO2_E_ABORTED);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "stop: the input is bad"); /* the first reason */
  ASSERT_TRUE(strstr(pto2_error_message(rt), "a later reason") == NULL);

  /* The runtime is usable again: a full run adds 4 to every element. */
  for (int i = 0; i < N; i++) x[i] = (float)i;
  struct job ok = {x, -1, {0}, 0, 0};
  ASSERT_EQ_INT(pto2_run(rt, orchestrate, &ok, NULL), 0);
  for (int i = 0; i < N; i++) ASSERT_NEAR(x[i], i + 4.0, 0);
  ASSERT_EQ_INT(pto2_error_code(rt), 0);
  pto2_runtime_destroy(rt);
  TEST_PASS("test_abort_run");
}
