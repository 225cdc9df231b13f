/*
 * Sizes that do not fit: tensor and output sizes are products of 32-bit
 * extents, so they are checked instead of wrapping.  An external tensor or
 * create-info of 2^48 bytes or more is invalid; a hand-filled create-info
 * that large fails the submit with a message (it must not wrap to a small
 * allocation); a valid output larger than the ring heap fails with the
 * variable to raise; and the runtime runs again after each.
 */
#include "pto2/pto2.h"
#include "test.h"

static float buf[16];

static int noop(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

static void submit_output(pto2_runtime *rt, void *arg) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_output(&a, arg);
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(rt, 0, &a)));
}

static void good(pto2_runtime *rt, void *arg) {
  (void)arg;
  const uint32_t shape[1] = {16};
  pto2_create_info ci = pto2_create_info_make(shape, 1, PTO2_FLOAT32);
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_output(&a, &ci);
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, 0, &a)));
}

int main(void) {
  const uint32_t huge[5] = {UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX};
  const uint32_t just_over[2] = {1u << 23, 1u << 23}; /* 2^46 elements x 4 B = 2^48 */
  const uint32_t just_under[2] = {1u << 23, 1u << 22}; /* 2^47 B */
  pto2_tensor t = pto2_tensor_external(buf, huge, 5, PTO2_FLOAT32);
  ASSERT_TRUE(!pto2_tensor_is_valid(&t));
  t = pto2_tensor_external(buf, just_over, 2, PTO2_FLOAT32);
  ASSERT_TRUE(!pto2_tensor_is_valid(&t));
  t = pto2_tensor_external(buf, just_under, 2, PTO2_FLOAT32);
  ASSERT_TRUE(pto2_tensor_is_valid(&t));
  ASSERT_EQ_U64(t.nbytes, UINT64_C(1) << 47);
  ASSERT_EQ_INT(pto2_create_info_make(huge, 5, PTO2_FLOAT32).ndims, 0);
  ASSERT_EQ_INT(pto2_create_info_make(just_under, 2, PTO2_FLOAT32).ndims, 2);

  pto2_config c = {0};
  c.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 0, PTO2_CORE_AIV, "noop", noop, 0), 0);

  pto2_create_info wrapped = pto2_create_info_make(just_under, 2, PTO2_FLOAT32);
  wrapped.ndims = 5; /* filled by hand: the product of 5 extents wraps 64 bits */
  for (int d = 0; d < 5; d++) wrapped.shapes[d] = UINT32_MAX;
  ASSERT_EQ_INT(pto2_run(rt, submit_output, &wrapped, 0), PTO2_E_INVALID_ARGS);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "invalid create-info");
  ASSERT_EQ_INT(pto2_run(rt, good, 0, 0), 0);

  pto2_create_info big = pto2_create_info_make(just_under, 2, PTO2_FLOAT32);
  ASSERT_EQ_INT(pto2_run(rt, submit_output, &big, 0), PTO2_E_HEAP_RING_DEADLOCK);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "PTO2_RING_HEAP");
  ASSERT_EQ_INT(pto2_run(rt, good, 0, 0), 0);
  pto2_runtime_destroy(rt);
  TEST_PASS("test_size_limits");
}
