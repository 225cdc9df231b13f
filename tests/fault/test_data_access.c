/*
 * Blocking data access and the documented dependency rules:
 *  - get_tensor_data waits for a slow writer; set_tensor_data waits for a
 *    slow reader of the writer even after the writer's scope has ended
 *    (the scope reference is accounted separately);
 *  - set_tensor_data waits for a reader submitted after the writer has
 *    finished and its scope has ended (the reader is linked to nobody);
 *  - write-after-read is not tracked (docs/semantics.md, "Dependency rules"): an INOUT writer
 *    depends on the earlier writer, not on the reader in between, and
 *    OUTPUT_EXISTING depends on nobody but the creator;
 *  - an INOUT covering an earlier writer's region supersedes it;
 *  - runtime-created outputs are filled with their initial value.
 */
#include <time.h>

#include "pto2/pto2.h"
#include "test.h"

enum { K_WRITE = 0, K_READ = 1, K_SUM = 2, K_NOOP = 3 };

static float x[16], seen[16];

static void sleep_ms(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, 0);
}

/* tensors: dst; scalars: value (float bits), delay ms */
static int write_kernel(const pto2_kernel_ctx *k) {
  sleep_ms((int)k->scalars[1]);
  float *d = k->tensors[0].data;
  for (uint32_t i = 0; i < k->tensors[0].shapes[0]; i++) d[i] = pto2_f32_from_u64(k->scalars[0]);
  return 0;
}

/* tensors: src; scalars: delay ms — copies src into `seen` after the delay */
static int read_kernel(const pto2_kernel_ctx *k) {
  sleep_ms((int)k->scalars[0]);
  const float *s = k->tensors[0].data;
  for (uint32_t i = 0; i < k->tensors[0].shapes[0]; i++) seen[i] = s[i];
  return 0;
}

/* Touches nothing: for tasks whose dependencies alone are under test. */
static int noop_kernel(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

/* tensors: src (created, initial value), dst: dst[0] = sum(src) */
static int sum_kernel(const pto2_kernel_ctx *k) {
  const float *s = k->tensors[0].data;
  float acc = 0;
  for (uint32_t i = 0; i < k->tensors[0].shapes[0]; i++) acc += s[i];
  ((float *)k->tensors[1].data)[0] = acc;
  return 0;
}

static pto2_tensor vec(uint32_t n, uint32_t at) {
  const uint32_t shape[1] = {16}, sub[1] = {n}, off[1] = {at};
  pto2_tensor all = pto2_tensor_external(x, shape, 1, PTO2_FLOAT32);
  return pto2_tensor_view(&all, sub, off);
}

static void writer(pto2_runtime *rt, pto2_tensor *t, float v, int delay, pto2_arg_kind kind) {
  pto2_arg a;
  pto2_arg_init(&a);
  if (kind == PTO2_ARG_INOUT) pto2_arg_add_inout(&a, t);
  else pto2_arg_add_output_existing(&a, t);
  pto2_arg_add_scalar(&a, pto2_u64_from_f32(v));
  pto2_arg_add_scalar(&a, (uint64_t)delay);
  pto2_submit_aiv(rt, K_WRITE, &a);
}

static void reader(pto2_runtime *rt, pto2_tensor *t, int delay) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_input(&a, t);
  pto2_arg_add_scalar(&a, (uint64_t)delay);
  pto2_submit_aiv(rt, K_READ, &a);
}

static void blocking_access(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_tensor all = vec(16, 0);
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
    writer(rt, &all, 1.0f, 30, PTO2_ARG_OUTPUT_EXISTING);
    uint64_t bits = 0;
    const uint32_t idx[1] = {3};
    ASSERT_EQ_INT(pto2_get_tensor_data(rt, &all, idx, &bits), 0);
    ASSERT_TRUE(pto2_f32_from_u64(bits) == 1.0f); /* waited for the slow writer */
    reader(rt, &all, 50);                         /* slow reader of the writer */
  }
  /* The writer's scope has ended; its reader may still be running. */
  const uint32_t idx[1] = {0};
  ASSERT_EQ_INT(pto2_set_tensor_data(rt, &all, idx, pto2_u64_from_f32(2.0f)), 0);
  ASSERT_TRUE(seen[0] == 1.0f); /* the reader saw the old value: set waited */
  ASSERT_TRUE(x[0] == 2.0f);
}

/* The writer finished and its scope ended before the reader was
 * submitted, so the reader is nobody's consumer; set must still wait for
 * it.  The reader sleeps before reading, so without the wait the new
 * value would be what it sees. */
static void reader_of_finished_writer(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_tensor all = vec(16, 0);
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) { writer(rt, &all, 100.0f, 0, PTO2_ARG_OUTPUT_EXISTING); }
  uint64_t bits = 0;
  const uint32_t idx[1] = {0};
  ASSERT_EQ_INT(pto2_get_tensor_data(rt, &all, idx, &bits), 0); /* the writer finished */
  ASSERT_TRUE(pto2_f32_from_u64(bits) == 100.0f);
  pto2_tensor one = vec(1, 0);
  reader(rt, &one, 50);
  ASSERT_EQ_INT(pto2_set_tensor_data(rt, &all, idx, pto2_u64_from_f32(999.0f)), 0);
  ASSERT_TRUE(seen[0] == 100.0f); /* the reader saw the old value */
  ASSERT_TRUE(x[0] == 999.0f);
}

/* Only the dependencies are under test: the tasks race by design (a
 * writer after a reader, and two writers), so their kernels touch nothing. */
static void touch_nothing(pto2_runtime *rt, pto2_tensor *t, pto2_arg_kind kind) {
  pto2_arg a;
  pto2_arg_init(&a);
  if (kind == PTO2_ARG_INPUT) pto2_arg_add_input(&a, t);
  else if (kind == PTO2_ARG_INOUT) pto2_arg_add_inout(&a, t);
  else pto2_arg_add_output_existing(&a, t);
  pto2_submit_aiv(rt, K_NOOP, &a);
}

static void war_untracked(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_tensor all = vec(16, 0);
  touch_nothing(rt, &all, PTO2_ARG_OUTPUT_EXISTING); /* W1 */
  touch_nothing(rt, &all, PTO2_ARG_INPUT);           /* R: W1 -> R */
  touch_nothing(rt, &all, PTO2_ARG_INOUT);           /* W2: W1 -> W2, not R -> W2 */
  touch_nothing(rt, &all, PTO2_ARG_OUTPUT_EXISTING); /* W3: no edge at all */
}

static void covered(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_tensor half = vec(8, 0), all = vec(16, 0);
  writer(rt, &half, 1.0f, 0, PTO2_ARG_OUTPUT_EXISTING); /* W1 on [0, 8) */
  writer(rt, &all, 2.0f, 0, PTO2_ARG_INOUT);            /* W2 covers W1: W1 -> W2 */
  reader(rt, &half, 0);                                 /* only W2 -> R */
}

static void initial_value(pto2_runtime *rt, void *arg) {
  (void)arg;
  const uint32_t shape[1] = {10};
  pto2_create_info ci = pto2_create_info_make(shape, 1, PTO2_FLOAT32);
  pto2_create_info_set_initial(&ci, pto2_u64_from_f32(0.5f));
  /* The creator only reads its new buffer: it sees the fill. */
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_output(&a, &ci);
  pto2_arg_add_scalar(&a, 0);
  pto2_submit_aiv(rt, K_READ, &a);
  pto2_tensor src = a.outputs[0];
  pto2_tensor dst = vec(1, 0);
  pto2_arg_init(&a);
  pto2_arg_add_input(&a, &src);
  pto2_arg_add_output_existing(&a, &dst);
  pto2_submit_aiv(rt, K_SUM, &a);
}

int main(void) {
  pto2_config c = {0};
  c.worker_threads = 1;
  c.log_level = PTO2_LOG_ERROR;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_WRITE, PTO2_CORE_AIV, "write", write_kernel, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_READ, PTO2_CORE_AIV, "read", read_kernel, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_SUM, PTO2_CORE_AIV, "sum", sum_kernel, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_NOOP, PTO2_CORE_AIV, "noop", noop_kernel, 0), 0);
  pto2_run_stats st;

  ASSERT_EQ_INT(pto2_run(rt, blocking_access, 0, &st), 0);

  ASSERT_EQ_INT(pto2_run(rt, reader_of_finished_writer, 0, &st), 0);

  ASSERT_EQ_INT(pto2_run(rt, war_untracked, 0, &st), 0);
  ASSERT_EQ_U64(st.tasks, 4);
  ASSERT_EQ_U64(st.edges, 2);

  ASSERT_EQ_INT(pto2_run(rt, covered, 0, &st), 0);
  ASSERT_EQ_U64(st.edges, 2);
  ASSERT_TRUE(seen[0] == 2.0f && seen[7] == 2.0f);

  ASSERT_EQ_INT(pto2_run(rt, initial_value, 0, &st), 0);
  ASSERT_EQ_U64(st.edges, 1);
  ASSERT_TRUE(x[0] == 5.0f);
  ASSERT_TRUE(seen[0] == 0.5f && seen[9] == 0.5f);

  pto2_runtime_destroy(rt);
  TEST_PASS("test_data_access");
}
