/* The stable ABI: with PTO2_NO_INLINE this file sees no inline function of
 * pto2.h and no layout of pto2_arg; it builds tensors and arguments through
 * the shared library's exported functions only (as an FFI does). */
#include "pto2/pto2.h"
#include "test.h"

enum { ROWS = 8, COLS = 16 };

/* out = in + scalar (float bits) */
static int add_scalar(const pto2_kernel_ctx *k) {
  const pto2_tensor *in = &k->tensors[0], *out = &k->tensors[1];
  float s = pto2_f32_from_u64(k->scalars[0]);
  for (uint32_t r = 0; r < in->shapes[0]; r++)
    for (uint32_t c = 0; c < in->shapes[1]; c++)
      ((float *)out->data)[r * pto2_tensor_stride(out, 0) + c] =
          ((const float *)in->data)[r * pto2_tensor_stride(in, 0) + c] + s;
  return 0;
}

struct job {
  float *x, *y;
  pto2_task_id ids[2];
  const char *arg_error;
  const pto2_tensor *out, *no_out;
};

static void orchestrate(pto2_runtime *rt, void *p) {
  struct job *j = p;
  const uint32_t shape[2] = {ROWS, COLS};
  pto2_tensor x = pto2_tensor_external(j->x, shape, 2, PTO2_FLOAT32);
  pto2_tensor y = pto2_tensor_external(j->y, shape, 2, PTO2_FLOAT32);
  pto2_arg *a = pto2_arg_create();
  ASSERT_TRUE(a != NULL);
  for (uint32_t half = 0; half < 2; half++) {
    pto2_tensor xv = pto2_tensor_view2(&x, ROWS / 2, COLS, half * (ROWS / 2), 0);
    pto2_tensor yv = pto2_tensor_view2(&y, ROWS / 2, COLS, half * (ROWS / 2), 0);
    pto2_arg_init(a);
    pto2_arg_add_input(a, &xv);
    pto2_arg_add_output_existing(a, &yv);
    pto2_arg_add_scalar(a, pto2_u64_from_f32(0.5f + (float)half));
    j->ids[half] = pto2_submit_aiv(rt, 0, a);
  }
  /* A runtime-created output, read back through pto2_arg_output(). */
  const uint32_t half_shape[2] = {ROWS / 2, COLS};
  pto2_create_info ci = pto2_create_info_make(half_shape, 2, PTO2_FLOAT32);
  pto2_tensor top = pto2_tensor_view2(&x, ROWS / 2, COLS, 0, 0);
  pto2_arg_init(a);
  pto2_arg_add_input(a, &top);
  pto2_arg_add_output(a, &ci);
  pto2_arg_add_scalar(a, pto2_u64_from_f32(0.0f));
  if (pto2_task_id_is_valid(pto2_submit_aiv(rt, 0, a))) j->out = pto2_arg_output(a, 0);
  j->no_out = pto2_arg_output(a, 1);
  /* A builder error through the exported functions. */
  pto2_arg_init(a);
  pto2_arg_add_scalar(a, 1);
  pto2_arg_add_input(a, &x);
  j->arg_error = pto2_arg_error(a);
  pto2_arg_destroy(a);
}

int main(void) {
  /* The library is the one this test was compiled against. */
  ASSERT_TRUE(strcmp(pto2_version(), PTO2_VERSION_STRING) == 0);
  ASSERT_EQ_INT(pto2_version_number(), PTO2_VERSION);
  /* Layout checks an FFI would make against its mirrors. */
  ASSERT_EQ_U64(pto2_abi_struct_size("pto2_tensor"), sizeof(pto2_tensor));
  ASSERT_EQ_U64(pto2_abi_struct_size("pto2_task_id"), sizeof(pto2_task_id));
  ASSERT_EQ_U64(pto2_abi_struct_size("pto2_create_info"), sizeof(pto2_create_info));
  ASSERT_EQ_U64(pto2_abi_struct_size("pto2_kernel_ctx"), sizeof(pto2_kernel_ctx));
  ASSERT_EQ_U64(pto2_abi_struct_size("pto2_mixed_kernels"), sizeof(pto2_mixed_kernels));
  ASSERT_EQ_U64(pto2_abi_struct_size("pto2_config"), sizeof(pto2_config));
  ASSERT_EQ_U64(pto2_abi_struct_size("pto2_run_stats"), sizeof(pto2_run_stats));
  ASSERT_EQ_U64(pto2_abi_struct_size("pto2_arg"), sizeof(pto2_arg));
  ASSERT_EQ_U64(pto2_abi_struct_size("pto2_hazard"), sizeof(pto2_hazard));
  ASSERT_EQ_U64(pto2_abi_struct_size("pto2_hazard_access"), sizeof(pto2_hazard_access));
  ASSERT_EQ_U64(pto2_abi_struct_size("no_such_struct"), 0);
  ASSERT_EQ_U64(pto2_abi_struct_size(NULL), 0);
  /* Scalar and id helpers. */
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_task_id_invalid()));
  ASSERT_EQ_U64(pto2_u64_from_f32(1.0f), 0x3f800000u);
  ASSERT_EQ_INT(pto2_i32_from_u64(pto2_u64_from_i32(-7)), -7);
  ASSERT_EQ_U64(pto2_f32_to_bf16(1.0f), 0x3f80u);
  ASSERT_NEAR(pto2_bf16_to_f32(0x4000u), 2.0, 0);
  pto2_create_info ci = pto2_create_info_make((const uint32_t[]){4}, 1, PTO2_INT32);
  pto2_create_info_set_initial(&ci, 9);
  ASSERT_TRUE(ci.has_initial_value && ci.initial_value == 9);

  pto2_config cfg = {0};
  cfg.block_dim = 1;
  cfg.worker_threads = 1;
  cfg.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&cfg, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 0, PTO2_CORE_AIV, "add_scalar", add_scalar, NULL), 0);
  static float x[ROWS * COLS], y[ROWS * COLS];
  for (int i = 0; i < ROWS * COLS; i++) x[i] = (float)i;
  struct job j = {x, y, {{0}, {0}}, NULL, NULL, NULL};
  ASSERT_EQ_INT(pto2_run(rt, orchestrate, &j, NULL), 0);
  for (int i = 0; i < ROWS * COLS; i++) ASSERT_NEAR(y[i], i + (i < ROWS * COLS / 2 ? 0.5 : 1.5), 0);
  ASSERT_TRUE(pto2_task_id_is_valid(j.ids[0]) && pto2_task_id_is_valid(j.ids[1]));
  ASSERT_TRUE(!pto2_task_id_eq(j.ids[0], j.ids[1]));
  ASSERT_EQ_U64(pto2_task_id_local(j.ids[1]), pto2_task_id_local(j.ids[0]) + 1);
  ASSERT_EQ_U64(pto2_task_id_ring(j.ids[0]), pto2_task_id_ring(j.ids[1]));
  ASSERT_TRUE(j.out != NULL && j.no_out == NULL); /* pointers only; the arg is gone */
  ASSERT_STR_CONTAINS(j.arg_error, "after add_scalar");
  pto2_runtime_destroy(rt);
  TEST_PASS("test_abi_noinline");
}
