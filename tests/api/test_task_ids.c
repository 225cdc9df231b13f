/*
 * Task ids: no issued id is zero, so a zero-initialised id is invalid, and
 * giving it as an explicit producer fails the submit at once (before, the
 * first task of a runtime had id 0 and such a task waited for itself until
 * stall_timeout_ms).  A task whose explicit producers include its own id
 * is refused at submit.
 */
#include "pto2/pto2.h"
#include "test.h"

enum { K = 0 };

static int noop(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

static pto2_task_id first_id;

static void zero_producer(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_task_id never_assigned = {0};
  ASSERT_TRUE(!pto2_task_id_is_valid(never_assigned));
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_dep(&a, never_assigned);
  first_id = pto2_submit_aiv(rt, K, &a); /* the runtime's very first task */
}

static void ids_are_not_zero(pto2_runtime *rt, void *arg) {
  (void)arg;
  for (int depth = 0; depth < PTO2_RING_COUNT + 1; depth++) {
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_task_id id = pto2_submit_aiv(rt, K, &a);
    ASSERT_TRUE(pto2_task_id_is_valid(id));
    ASSERT_TRUE(id.raw != 0);
    ASSERT_TRUE(pto2_task_id_ring(id) < PTO2_RING_COUNT);
    ASSERT_EQ_INT(pto2_task_id_ring(id), depth < PTO2_RING_COUNT ? depth : PTO2_RING_COUNT - 1);
    if (pto2_scope_begin(rt, PTO2_SCOPE_AUTO)) return;
  }
  for (int depth = 0; depth < PTO2_RING_COUNT + 1; depth++) ASSERT_EQ_INT(pto2_scope_end(rt), 0);
}

/* Predicts the next id from the last one and names it as a producer. */
static void self_producer(pto2_runtime *rt, void *arg) {
  int mode = *(const int *)arg;
  pto2_arg a;
  pto2_arg_init(&a);
  if (mode == 1 && pto2_scope_begin(rt, PTO2_SCOPE_MANUAL)) return;
  if (mode == 2 && pto2_scope_begin(rt, PTO2_SCOPE_GRAPH)) return;
  pto2_task_id prev = mode == 1 ? pto2_submit_aiv_manual(rt, K, &a) : pto2_submit_aiv(rt, K, &a);
  ASSERT_TRUE(pto2_task_id_is_valid(prev));
  pto2_task_id next = {prev.raw + 1};
  pto2_arg_init(&a);
  pto2_arg_add_dep(&a, next);
  pto2_task_id id = mode == 1 ? pto2_submit_aiv_manual(rt, K, &a) : pto2_submit_aiv(rt, K, &a);
  ASSERT_TRUE(!pto2_task_id_is_valid(id));
  if (mode) (void)pto2_scope_end(rt);
}

int main(void) {
  pto2_config c = {0};
  c.block_dim = 2;
  c.worker_threads = 1;
  c.stall_timeout_ms = 2000;
  c.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K, PTO2_CORE_AIV, "noop", noop, 0), 0);
  int checks = 0;

  ASSERT_TRUE(!pto2_task_id_is_valid(PTO2_TASK_ID_INVALID));
  pto2_task_id zero = {0};
  ASSERT_TRUE(!pto2_task_id_is_valid(zero));
  checks++;

  int rc = pto2_run(rt, zero_producer, 0, 0);
  if (rc != PTO2_E_INVALID_ARGS)
    TEST_FAIL("zero producer: pto2_run returned %d (%s): %s", rc, pto2_err_name(rc),
              pto2_error_message(rt));
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "it is zero");
  ASSERT_TRUE(!pto2_task_id_is_valid(first_id));
  checks++;

  ASSERT_EQ_INT(pto2_run(rt, ids_are_not_zero, 0, 0), 0);
  checks++;

  for (int mode = 0; mode < 3; mode++) {
    rc = pto2_run(rt, self_producer, &mode, 0);
    if (rc != PTO2_E_INVALID_ARGS)
      TEST_FAIL("self producer (mode %d): pto2_run returned %d (%s): %s", mode, rc,
                pto2_err_name(rc), pto2_error_message(rt));
    ASSERT_STR_CONTAINS(pto2_error_message(rt), "cannot depend on itself");
    checks++;
  }

  ASSERT_EQ_INT(pto2_run(rt, ids_are_not_zero, 0, 0), 0);
  pto2_runtime_destroy(rt);
  printf("test_task_ids: %d passed, 0 failed\n", checks);
  return 0;
}
