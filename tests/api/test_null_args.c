/*
 * NULL for every pointer parameter of every entry point: calls that return
 * a code return PTO2_E_INVALID_ARGS (an orchestration call fails the run
 * with a message), submits return PTO2_TASK_ID_INVALID, tensor and
 * argument builders give an invalid tensor or a builder error that the
 * submit reports, and nothing crashes.  The runtime runs a good program
 * after each.
 */
#include "pto2/pto2.h"
#include "test.h"

enum { K = 0 };

static int noop(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

static void orch_noop(pto2_runtime *rt, void *arg) {
  (void)rt;
  (void)arg;
}

static uint32_t buf[16];
static const uint32_t shape1[1] = {16};

static void good(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_arg a;
  pto2_arg_init(&a);
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K, &a)));
}

/* Each case is one misuse inside a run; the run must fail with
 * PTO2_E_INVALID_ARGS and a message containing `msg`. */
typedef struct null_case {
  const char *name;
  const char *msg;
  void (*fn)(pto2_runtime *rt);
} null_case;

static pto2_mixed_kernels aiv_only(void) {
  pto2_mixed_kernels mk = {PTO2_NO_KERNEL, K, PTO2_NO_KERNEL};
  return mk;
}

static void c_submit_task(pto2_runtime *rt) {
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_task(rt, aiv_only(), NULL)));
}
static void c_submit_aic(pto2_runtime *rt) {
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aic(rt, K, NULL)));
}
static void c_submit_aiv(pto2_runtime *rt) {
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(rt, K, NULL)));
}
static void c_submit_task_manual(pto2_runtime *rt) {
  PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
    ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_task_manual(rt, aiv_only(), NULL)));
  }
}
static void c_submit_aic_manual(pto2_runtime *rt) {
  PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
    ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aic_manual(rt, K, NULL)));
  }
}
static void c_submit_aiv_manual(pto2_runtime *rt) {
  PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
    ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv_manual(rt, K, NULL)));
  }
}
static void c_get_tensor(pto2_runtime *rt) {
  uint32_t idx[1] = {0};
  uint64_t v;
  ASSERT_EQ_INT(pto2_get_tensor_data(rt, NULL, idx, &v), PTO2_E_INVALID_ARGS);
}
static void c_get_indices(pto2_runtime *rt) {
  pto2_tensor t = pto2_tensor_external(buf, shape1, 1, PTO2_INT32);
  uint64_t v;
  ASSERT_EQ_INT(pto2_get_tensor_data(rt, &t, NULL, &v), PTO2_E_INVALID_ARGS);
}
static void c_get_bits(pto2_runtime *rt) {
  pto2_tensor t = pto2_tensor_external(buf, shape1, 1, PTO2_INT32);
  uint32_t idx[1] = {0};
  ASSERT_EQ_INT(pto2_get_tensor_data(rt, &t, idx, NULL), PTO2_E_INVALID_ARGS);
}
static void c_set_tensor(pto2_runtime *rt) {
  uint32_t idx[1] = {0};
  ASSERT_EQ_INT(pto2_set_tensor_data(rt, NULL, idx, 1), PTO2_E_INVALID_ARGS);
}
static void c_set_indices(pto2_runtime *rt) {
  pto2_tensor t = pto2_tensor_external(buf, shape1, 1, PTO2_INT32);
  ASSERT_EQ_INT(pto2_set_tensor_data(rt, &t, NULL, 1), PTO2_E_INVALID_ARGS);
}
/* Argument builders: a NULL tensor, create-info or array is a builder
 * error (or an invalid tensor) that the submit reports. */
static void c_add_input(pto2_runtime *rt) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_input(&a, NULL);
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(rt, K, &a)));
}
static void c_add_inout(pto2_runtime *rt) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_inout(&a, NULL);
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(rt, K, &a)));
}
static void c_add_output_existing(pto2_runtime *rt) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_output_existing(&a, NULL);
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(rt, K, &a)));
}
static void c_add_no_dep(pto2_runtime *rt) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_no_dep(&a, NULL);
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(rt, K, &a)));
}
static void c_add_output(pto2_runtime *rt) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_output(&a, NULL);
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(rt, K, &a)));
}
static void c_add_scalars(pto2_runtime *rt) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_scalars(&a, NULL, 2);
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(rt, K, &a)));
}
static void c_add_scalars_i32(pto2_runtime *rt) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_scalars_i32(&a, NULL, 2);
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(rt, K, &a)));
}
static void c_copy_scalars(pto2_runtime *rt) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_copy_scalars_from(&a, NULL, 0, 1);
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(rt, K, &a)));
}
static void c_set_deps(pto2_runtime *rt) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_set_deps(&a, NULL, 1);
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(rt, K, &a)));
}
/* Tensor builders give an invalid tensor; using it fails the submit. */
static void submit_input(pto2_runtime *rt, const pto2_tensor *t) {
  ASSERT_TRUE(!pto2_tensor_is_valid(t));
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_input(&a, t);
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(rt, K, &a)));
}
static void c_external_addr(pto2_runtime *rt) {
  pto2_tensor t = pto2_tensor_external(NULL, shape1, 1, PTO2_INT32);
  submit_input(rt, &t);
}
static void c_external_shapes(pto2_runtime *rt) {
  pto2_tensor t = pto2_tensor_external(buf, NULL, 1, PTO2_INT32);
  submit_input(rt, &t);
}
static void c_view_tensor(pto2_runtime *rt) {
  uint32_t off[1] = {0};
  pto2_tensor v = pto2_tensor_view(NULL, shape1, off);
  submit_input(rt, &v);
}
static void c_view_shapes(pto2_runtime *rt) {
  pto2_tensor t = pto2_tensor_external(buf, shape1, 1, PTO2_INT32);
  uint32_t off[1] = {0};
  pto2_tensor v = pto2_tensor_view(&t, NULL, off);
  submit_input(rt, &v);
}
static void c_view_offsets(pto2_runtime *rt) {
  pto2_tensor t = pto2_tensor_external(buf, shape1, 1, PTO2_INT32);
  pto2_tensor v = pto2_tensor_view(&t, shape1, NULL);
  submit_input(rt, &v);
}
static void c_reshape_tensor(pto2_runtime *rt) {
  pto2_tensor r = pto2_tensor_reshape(NULL, shape1, 1);
  submit_input(rt, &r);
}
static void c_reshape_shapes(pto2_runtime *rt) {
  pto2_tensor t = pto2_tensor_external(buf, shape1, 1, PTO2_INT32);
  pto2_tensor r = pto2_tensor_reshape(&t, NULL, 1);
  submit_input(rt, &r);
}
static void c_create_info_shapes(pto2_runtime *rt) {
  pto2_create_info ci = pto2_create_info_make(NULL, 1, PTO2_INT32);
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_output(&a, &ci);
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(rt, K, &a)));
}

static const null_case cases[] = {
    {"submit_task(a=NULL)", "argument list (pto2_arg *) is NULL", c_submit_task},
    {"submit_aic(a=NULL)", "argument list (pto2_arg *) is NULL", c_submit_aic},
    {"submit_aiv(a=NULL)", "argument list (pto2_arg *) is NULL", c_submit_aiv},
    {"submit_task_manual(a=NULL)", "argument list (pto2_arg *) is NULL", c_submit_task_manual},
    {"submit_aic_manual(a=NULL)", "argument list (pto2_arg *) is NULL", c_submit_aic_manual},
    {"submit_aiv_manual(a=NULL)", "argument list (pto2_arg *) is NULL", c_submit_aiv_manual},
    {"get_tensor_data(t=NULL)", "tensor is NULL", c_get_tensor},
    {"get_tensor_data(indices=NULL)", "indices must not be NULL", c_get_indices},
    {"get_tensor_data(bits=NULL)", "bits is NULL", c_get_bits},
    {"set_tensor_data(t=NULL)", "tensor is NULL", c_set_tensor},
    {"set_tensor_data(indices=NULL)", "indices must not be NULL", c_set_indices},
    {"arg_add_input(t=NULL)", "not a valid tensor", c_add_input},
    {"arg_add_inout(t=NULL)", "not a valid tensor", c_add_inout},
    {"arg_add_output_existing(t=NULL)", "not a valid tensor", c_add_output_existing},
    {"arg_add_no_dep(t=NULL)", "not a valid tensor", c_add_no_dep},
    {"arg_add_output(ci=NULL)", "invalid create-info", c_add_output},
    {"arg_add_scalars(v=NULL)", "NULL value array", c_add_scalars},
    {"arg_add_scalars_i32(v=NULL)", "NULL value array", c_add_scalars_i32},
    {"arg_copy_scalars_from(src=NULL)", "NULL source", c_copy_scalars},
    {"arg_set_deps(producers=NULL)", "NULL value array", c_set_deps},
    {"tensor_external(addr=NULL)", "not a valid tensor", c_external_addr},
    {"tensor_external(shapes=NULL)", "not a valid tensor", c_external_shapes},
    {"tensor_view(t=NULL)", "not a valid tensor", c_view_tensor},
    {"tensor_view(shapes=NULL)", "not a valid tensor", c_view_shapes},
    {"tensor_view(offsets=NULL)", "not a valid tensor", c_view_offsets},
    {"tensor_reshape(t=NULL)", "not a valid tensor", c_reshape_tensor},
    {"tensor_reshape(shapes=NULL)", "not a valid tensor", c_reshape_shapes},
    {"create_info_make(shapes=NULL)", "invalid create-info", c_create_info_shapes},
};

static void run_case(pto2_runtime *rt, void *arg) { ((const null_case *)arg)->fn(rt); }

/* Calls with a NULL runtime inside a run: nothing is recorded (there is
 * no runtime to record it in), the call returns its error. */
static void null_runtime_calls(pto2_runtime *rt, void *arg) {
  (void)rt;
  (void)arg;
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_tensor t = pto2_tensor_external(buf, shape1, 1, PTO2_INT32);
  uint32_t idx[1] = {0};
  uint64_t v;
  ASSERT_EQ_INT(pto2_scope_begin(NULL, PTO2_SCOPE_AUTO), PTO2_E_INVALID_ARGS);
  ASSERT_EQ_INT(pto2_scope_end(NULL), PTO2_E_INVALID_ARGS);
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_task(NULL, aiv_only(), &a)));
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aic(NULL, K, &a)));
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(NULL, K, &a)));
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_task_manual(NULL, aiv_only(), &a)));
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aic_manual(NULL, K, &a)));
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv_manual(NULL, K, &a)));
  ASSERT_EQ_INT(pto2_add_dependency(NULL, PTO2_TASK_ID_INVALID, PTO2_TASK_ID_INVALID),
                PTO2_E_INVALID_ARGS);
  ASSERT_EQ_INT(pto2_get_tensor_data(NULL, &t, idx, &v), PTO2_E_INVALID_ARGS);
  ASSERT_EQ_INT(pto2_set_tensor_data(NULL, &t, idx, 1), PTO2_E_INVALID_ARGS);
  ASSERT_TRUE(pto2_is_fatal(NULL));
  pto2__scope_guard g = pto2__scope_guard_enter(NULL, PTO2_SCOPE_AUTO);
  ASSERT_TRUE(!g.open);
  pto2__scope_guard_leave(&g);
}

int main(void) {
  /* Host side with NULL pointers. */
  ASSERT_EQ_INT(pto2_runtime_create(NULL, NULL), PTO2_E_INVALID_ARGS);
  pto2_runtime_destroy(NULL);
  pto2_config cfg = {0};
  pto2_runtime_get_config(NULL, &cfg);
  ASSERT_EQ_INT(pto2_kernel_register(NULL, K, PTO2_CORE_AIV, "noop", noop, 0),
                PTO2_E_INVALID_ARGS);
  ASSERT_EQ_INT(pto2_run(NULL, orch_noop, 0, 0), PTO2_E_INVALID_ARGS);
  ASSERT_EQ_INT(pto2_trace_enable(NULL, 16), PTO2_E_INVALID_ARGS);
  pto2_trace_disable(NULL);
  ASSERT_EQ_INT(pto2_trace_write(NULL, "/dev/null"), PTO2_E_INVALID_ARGS);
  ASSERT_EQ_INT(pto2_error_code(NULL), PTO2_E_INVALID_ARGS);
  ASSERT_STR_CONTAINS(pto2_error_message(NULL), "NULL");
  ASSERT_TRUE(pto2_is_fatal(NULL));
  pto2_log(NULL, PTO2_LOG_DEBUG, "a message with no runtime");
  ASSERT_TRUE(!pto2_tensor_is_valid(NULL));
  ASSERT_EQ_U64(pto2_tensor_numel(NULL), 0);
  /* Builders on a NULL argument list do nothing. */
  pto2_arg_init(NULL);
  pto2_arg_reset(NULL);
  pto2_arg_add_input(NULL, NULL);
  pto2_arg_add_inout(NULL, NULL);
  pto2_arg_add_output_existing(NULL, NULL);
  pto2_arg_add_no_dep(NULL, NULL);
  pto2_arg_add_output(NULL, NULL);
  pto2_arg_add_scalar(NULL, 1);
  pto2_arg_add_scalars(NULL, NULL, 1);
  pto2_arg_add_scalars_i32(NULL, NULL, 1);
  pto2_arg_copy_scalars_from(NULL, NULL, 0, 1);
  pto2_arg_add_dep(NULL, PTO2_TASK_ID_INVALID);
  pto2_arg_set_deps(NULL, NULL, 1);
  pto2_arg_set_block_num(NULL, 1);
  ASSERT_TRUE(pto2_arg_output(NULL, 0) == NULL);
  ASSERT_TRUE(pto2_arg_error(NULL) != NULL);

  pto2_config c = {0};
  c.block_dim = 2;
  c.worker_threads = 1;
  c.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  pto2_runtime_get_config(rt, NULL);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K, PTO2_CORE_AIV, "noop", noop, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 1, PTO2_CORE_AIV, "noop", NULL, 0), PTO2_E_INVALID_ARGS);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 2, PTO2_CORE_AIV, NULL, noop, 0), PTO2_E_INVALID_ARGS);
  ASSERT_EQ_INT(pto2_run(rt, NULL, 0, 0), PTO2_E_INVALID_ARGS);
  ASSERT_EQ_INT(pto2_trace_write(rt, NULL), PTO2_E_INVALID_ARGS);
  ASSERT_EQ_INT(pto2_run(rt, good, 0, 0), 0);
  ASSERT_EQ_INT(pto2_run(rt, null_runtime_calls, 0, 0), 0);

  int checks = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc = pto2_run(rt, run_case, (void *)&cases[i], 0);
    if (rc != PTO2_E_INVALID_ARGS)
      TEST_FAIL("%s: pto2_run returned %d (%s), expected PTO2_E_INVALID_ARGS", cases[i].name, rc,
                pto2_err_name(rc));
    const char *msg = pto2_error_message(rt);
    if (!strstr(msg, cases[i].msg))
      TEST_FAIL("%s: message \"%s\" does not contain \"%s\"", cases[i].name, msg, cases[i].msg);
    ASSERT_EQ_INT(pto2_run(rt, good, 0, 0), 0);
    checks++;
  }
  pto2_runtime_destroy(rt);
  printf("test_null_args: %d passed, 0 failed\n", checks + 2);
  return 0;
}
