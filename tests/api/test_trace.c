/*
 * Tracing: a traced run records one kernel span per kernel invocation (a
 * mixed task gives one per lane, an SPMD task one per block) on the core
 * that ran it, plus the orchestration and drain phases; the file is a
 * Chrome trace-event JSON document; capacity limits are honoured; a run
 * after pto2_trace_disable() records nothing and writing then fails.
 */
#include <stdio.h>

#include "pto2/pto2.h"
#include "test.h"

static int noop(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

static void program(pto2_runtime *rt, void *arg) {
  (void)arg;
  for (int i = 0; i < 5; i++) {
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_submit_aiv(rt, 1, &a);
  }
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_mixed_kernels mk = {0, 1, 1};
  pto2_submit_task(rt, mk, &a); /* 3 lanes */
  pto2_arg_init(&a);
  pto2_arg_set_block_num(&a, 4);
  pto2_submit_aic(rt, 0, &a); /* 4 blocks */
}

static char text[1 << 20];

static size_t read_file(const char *path) {
  FILE *f = fopen(path, "r");
  ASSERT_TRUE(f != NULL);
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = 0;
  return n;
}

static int count(const char *needle) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, needle)); p++) n++;
  return n;
}

int main(void) {
  pto2_config c = {0};
  c.block_dim = 4;
  c.log_level = PTO2_LOG_ERROR;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 0, PTO2_CORE_AIC, "cube_op", noop, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 1, PTO2_CORE_AIV, "vec_op", noop, 0), 0);
  const char *path = "test_trace.json";

  ASSERT_EQ_INT(pto2_trace_write(rt, path), PTO2_E_INVALID_ARGS); /* not enabled */
  ASSERT_EQ_INT(pto2_trace_enable(rt, 1000), 0);
  ASSERT_EQ_INT(pto2_run(rt, program, 0, 0), 0);
  ASSERT_EQ_INT(pto2_trace_write(rt, path), 0);
  size_t n = read_file(path);
  ASSERT_TRUE(n > 2 && text[0] == '{' && strstr(text, "\n]}\n") == text + n - 4);
  ASSERT_EQ_INT(count("\"cat\":\"kernel\""), 5 + 3 + 4);
  ASSERT_EQ_INT(count("\"name\":\"vec_op\""), 5 + 2);
  ASSERT_EQ_INT(count("\"name\":\"cube_op\""), 1 + 4);
  ASSERT_EQ_INT(count("\"name\":\"orchestration\""), 1);
  ASSERT_EQ_INT(count("\"name\":\"the last tasks to finish\""), 1);
  ASSERT_EQ_INT(count("\"name\":\"AIV 3.1\""), 1); /* core names: 4 clusters */
  ASSERT_EQ_INT(count("\"block\":3"), 1);

  /* A second traced run replaces the first; capacity 2 per thread. */
  ASSERT_EQ_INT(pto2_trace_enable(rt, 2), 0);
  ASSERT_EQ_INT(pto2_run(rt, program, 0, 0), 0);
  ASSERT_EQ_INT(pto2_trace_write(rt, path), 0);
  read_file(path);
  int kernels = count("\"cat\":\"kernel\"");
  pto2_config eff;
  pto2_runtime_get_config(rt, &eff);
  ASSERT_TRUE(kernels >= 2 && kernels <= 2 * (int)(eff.worker_threads + 1));

  pto2_trace_disable(rt);
  ASSERT_EQ_INT(pto2_run(rt, program, 0, 0), 0);
  ASSERT_EQ_INT(pto2_trace_write(rt, path), PTO2_E_INVALID_ARGS);
  remove(path);
  pto2_runtime_destroy(rt);
  TEST_PASS("test_trace");
}
