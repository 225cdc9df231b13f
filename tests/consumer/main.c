/* A C consumer of pto2. */
#include "work.h"

struct job {
  float *x, *y;
};

static void orchestrate(pto2_runtime *rt, void *p) {
  struct job *j = (struct job *)p;
  const uint32_t shape[2] = {ROWS, COLS};
  pto2_tensor x = pto2_tensor_external(j->x, shape, 2, PTO2_FLOAT32);
  pto2_tensor y = pto2_tensor_external(j->y, shape, 2, PTO2_FLOAT32);
  for (uint32_t row = 0; row < ROWS; row += BLOCK) {
    PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
      pto2_tensor xv = pto2_tensor_view2(&x, BLOCK, COLS, row, 0);
      pto2_tensor yv = pto2_tensor_view2(&y, BLOCK, COLS, row, 0);
      pto2_arg a;
      pto2_arg_init(&a);
      pto2_arg_add_input(&a, &xv);
      pto2_arg_add_output_existing(&a, &yv);
      pto2_submit_aiv(rt, 0, &a);
      pto2_arg_init(&a);
      pto2_arg_add_inout(&a, &yv);
      pto2_arg_add_scalar(&a, pto2_u64_from_f32(1.0f));
      pto2_submit_aiv(rt, 1, &a);
    }
  }
}

int main(void) {
  static float x[ROWS * COLS], y[ROWS * COLS];
  for (int i = 0; i < ROWS * COLS; i++) x[i] = (float)i;
  pto2_config cfg = consumer_config();
  pto2_runtime *rt;
  if (pto2_runtime_create(&cfg, &rt) != 0) return 1;
  if (pto2_kernel_register(rt, 0, PTO2_CORE_AIV, "times2", times2, NULL) != 0 ||
      pto2_kernel_register(rt, 1, PTO2_CORE_AIV, "plus", plus, NULL) != 0)
    return 1;
  struct job j = {x, y};
  pto2_run_stats st;
  int rc = pto2_run(rt, orchestrate, &j, &st);
  if (rc) {
    printf("run failed: %s: %s\n", pto2_err_name(rc), pto2_error_message(rt));
    return 1;
  }
  rc = consumer_check(x, y, "consumer (C)", st.tasks);
  pto2_runtime_destroy(rt);
  return rc;
}
