/* pto2_fail_run(): the orchestration (or a language binding) fails its own
 * run with a given PTO2_E_* code and message; the first error of the run
 * wins, a code that is not a PTO2_E_* code is PTO2_E_INVALID_ARGS, and the
 * runtime runs again afterwards. */
#include "pto2/pto2.h"
#include "test.h"

enum { N = 64 };

static int add_one(const pto2_kernel_ctx *k) {
  float *x = (float *)k->tensors[0].data;
  for (uint32_t i = 0; i < k->tensors[0].shapes[0]; i++) x[i] += 1.0f;
  return 0;
}

static int fail_kernel(const pto2_kernel_ctx *k) {
  (void)k;
  return 3;
}

struct job {
  float *x;
  int code;           /* given to pto2_fail_run after two submits */
  bool kernel_fails;  /* the second task fails first */
  bool succeed;       /* no pto2_fail_run */
  pto2_task_id after_fail;
  int fail_rc, second_rc;
};

static void orchestrate(pto2_runtime *rt, void *p) {
  struct job *j = p;
  const uint32_t shape[1] = {N};
  pto2_tensor x = pto2_tensor_external(j->x, shape, 1, PTO2_FLOAT32);
  for (int i = 0; i < 2; i++) {
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_inout(&a, &x);
    pto2_submit_aiv(rt, j->kernel_fails && i == 1 ? 1 : 0, &a);
  }
  if (j->kernel_fails) { /* waiting for the failing task makes its error the run's first */
    const uint32_t idx[1] = {0};
    uint64_t bits;
    (void)pto2_get_tensor_data(rt, &x, idx, &bits);
  }
  if (j->succeed) return;
  j->fail_rc = pto2_fail_run(rt, j->code, "binding: bad argument");
  j->second_rc = pto2_fail_run(rt, PTO2_E_TIMEOUT, "a later reason");
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_inout(&a, &x);
  j->after_fail = pto2_submit_aiv(rt, 0, &a);
}

int main(void) {
  pto2_config cfg = {0};
  cfg.block_dim = 1;
  cfg.worker_threads = 1;
  cfg.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&cfg, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 0, PTO2_CORE_AIV, "add_one", add_one, NULL), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 1, PTO2_CORE_AIV, "fails", fail_kernel, NULL), 0);
  static float x[N];

  /* Outside a run: an error, and no run is affected. */
  ASSERT_EQ_INT(pto2_fail_run(rt, PTO2_E_INVALID_ARGS, "outside"), PTO2_E_INVALID_ARGS);
  /* Recorded like every refused call outside a run. */
  ASSERT_EQ_INT(pto2_error_code(rt), PTO2_E_INVALID_ARGS);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "pto2_fail_run called outside pto2_run()");
  ASSERT_EQ_INT(pto2_fail_run(NULL, PTO2_E_INVALID_ARGS, "outside"), PTO2_E_INVALID_ARGS);

  /* The given code and message, not PTO2_E_ABORTED; the first reason wins. */
  struct job j = {x, PTO2_E_INVALID_ARGS, false, false, {0}, 0, 0};
  ASSERT_EQ_INT(pto2_run(rt, orchestrate, &j, NULL), PTO2_E_INVALID_ARGS);
  ASSERT_EQ_INT(j.fail_rc, PTO2_E_INVALID_ARGS);
  ASSERT_EQ_INT(j.second_rc, PTO2_E_INVALID_ARGS);
  ASSERT_TRUE(!pto2_task_id_is_valid(j.after_fail)); /* submits fail after it */
  ASSERT_EQ_INT(pto2_error_code(rt), PTO2_E_INVALID_ARGS);
  ASSERT_TRUE(strcmp(pto2_error_message(rt), "binding: bad argument") == 0);

  /* Any PTO2_E_* code. */
  j.code = PTO2_E_HAZARD;
  ASSERT_EQ_INT(pto2_run(rt, orchestrate, &j, NULL), PTO2_E_HAZARD);
  ASSERT_EQ_INT(j.fail_rc, PTO2_E_HAZARD);
  ASSERT_TRUE(strcmp(pto2_error_message(rt), "binding: bad argument") == 0);

  /* Not an error code: PTO2_E_INVALID_ARGS, naming the code and keeping
   * the message. */
  const int bad[] = {0, 1, -1000};
  for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    j.code = bad[i];
    ASSERT_EQ_INT(pto2_run(rt, orchestrate, &j, NULL), PTO2_E_INVALID_ARGS);
    ASSERT_EQ_INT(j.fail_rc, PTO2_E_INVALID_ARGS);
    ASSERT_STR_CONTAINS(pto2_error_message(rt), "is not a PTO2_E_* error code");
    ASSERT_STR_CONTAINS(pto2_error_message(rt), "binding: bad argument");
  }

  /* After an earlier error (a failed kernel) the run keeps that one. */
  struct job k = {x, PTO2_E_INVALID_ARGS, true, false, {0}, 0, 0};
  ASSERT_EQ_INT(pto2_run(rt, orchestrate, &k, NULL), PTO2_E_KERNEL_FAILED);
  ASSERT_EQ_INT(k.fail_rc, PTO2_E_KERNEL_FAILED);
  ASSERT_EQ_INT(pto2_error_code(rt), PTO2_E_KERNEL_FAILED);
  ASSERT_TRUE(strstr(pto2_error_message(rt), "binding: bad argument") == NULL);

  /* The runtime is usable again. */
  for (int i = 0; i < N; i++) x[i] = (float)i;
  struct job ok = {x, 0, false, true, {0}, 0, 0};
  ASSERT_EQ_INT(pto2_run(rt, orchestrate, &ok, NULL), 0);
  for (int i = 0; i < N; i++) ASSERT_NEAR(x[i], i + 2.0, 0);
  ASSERT_EQ_INT(pto2_error_code(rt), 0);
  pto2_runtime_destroy(rt);
  TEST_PASS("test_fail_run");
}
