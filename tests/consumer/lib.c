/* A shared library of the consumer with libpto2.a linked into it. */
#include "work.h"

int consumer_lib_run(void);

static void orchestrate(pto2_runtime *rt, void *p) {
  float **xy = (float **)p;
  const uint32_t shape[2] = {ROWS, COLS};
  pto2_tensor x = pto2_tensor_external(xy[0], shape, 2, PTO2_FLOAT32);
  pto2_tensor y = pto2_tensor_external(xy[1], shape, 2, PTO2_FLOAT32);
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_input(&a, &x);
  pto2_arg_add_output_existing(&a, &y);
  pto2_submit_aiv(rt, 0, &a);
  pto2_arg_init(&a);
  pto2_arg_add_inout(&a, &y);
  pto2_arg_add_scalar(&a, pto2_u64_from_f32(1.0f));
  pto2_submit_aiv(rt, 1, &a);
}

__attribute__((visibility("default"))) int consumer_lib_run(void) {
  static float x[ROWS * COLS], y[ROWS * COLS];
  for (int i = 0; i < ROWS * COLS; i++) x[i] = (float)(i % 7);
  pto2_config cfg = consumer_config();
  pto2_runtime *rt;
  if (pto2_runtime_create(&cfg, &rt) != 0) return 1;
  if (pto2_kernel_register(rt, 0, PTO2_CORE_AIV, "times2", times2, NULL) != 0 ||
      pto2_kernel_register(rt, 1, PTO2_CORE_AIV, "plus", plus, NULL) != 0)
    return 1;
  float *xy[2] = {x, y};
  pto2_run_stats st;
  int rc = pto2_run(rt, orchestrate, xy, &st);
  if (rc == 0) rc = consumer_check(x, y, "consumer (shared lib with libpto2.a inside)", st.tasks);
  pto2_runtime_destroy(rt);
  return rc;
}
