/*
 * Heap tail after a restart at offset 0:
 * when an empty ring restarts at offset 0, a task submitted before the
 * restart (here Z, no outputs, slow) must not move the tail backwards when
 * it retires later; otherwise bytes already free count as live and a
 * request that fits exactly fails with a false PTO2_E_HEAP_RING_DEADLOCK.
 * (Timing by sleeps: if the machine is too slow for the scenario the run
 * still must succeed, so the test cannot fail spuriously.)
 */
#include <stdio.h>
#include <time.h>

#include "pto2/pto2.h"
#include "test.h"

static int noop(const pto2_kernel_ctx *k) { (void)k; return 0; }
static int slow(const pto2_kernel_ctx *k) {
  (void)k;
  struct timespec ts = {0, 300 * 1000 * 1000};
  nanosleep(&ts, NULL);
  return 0;
}
static void nap(void) { struct timespec ts = {0, 100 * 1000 * 1000}; nanosleep(&ts, NULL); }

static float ext[1];

static void orch(pto2_runtime *rt, void *arg) {
  (void)arg;
  const uint32_t one[1] = {1};
  pto2_tensor e = pto2_tensor_external(ext, one, 1, PTO2_FLOAT32);
  pto2_arg a;
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {                     /* S1, ring 1 */
    const uint32_t s960[1] = {240};                     /* 960 bytes */
    pto2_create_info ci = pto2_create_info_make(s960, 1, PTO2_FLOAT32);
    pto2_arg_init(&a);
    pto2_arg_add_output(&a, &ci);
    pto2_submit_aiv(rt, 0, &a);                         /* A: [0, 960) */
    pto2_arg_init(&a);
    pto2_arg_add_inout(&a, &e);
    pto2_submit_aiv(rt, 1, &a);                         /* Z: 0 bytes, slow; heap_end 960 */
  }
  nap();                                                /* A retires */
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {                     /* S2, ring 1 */
    const uint32_t s128[1] = {32};                      /* 128 bytes */
    pto2_create_info ci = pto2_create_info_make(s128, 1, PTO2_FLOAT32);
    pto2_arg_init(&a);
    pto2_arg_add_output(&a, &ci);
    pto2_submit_aiv(rt, 0, &a);                         /* T2: rebase -> [0,128), tail 1024 */
    uint64_t bits;
    const uint32_t idx[1] = {0};
    ASSERT_EQ_INT(pto2_get_tensor_data(rt, &e, idx, &bits), 0); /* Z finished */
    nap();                                              /* Z retires: tail := 960 */
    for (int i = 3; i < 64; i++) {                      /* fillers: locals 3..63 */
      pto2_arg_init(&a);
      pto2_submit_aiv(rt, 0, &a);
    }
    const uint32_t s896[1] = {224};                     /* 896 bytes: fits [128, 1024) */
    pto2_create_info c3 = pto2_create_info_make(s896, 1, PTO2_FLOAT32);
    pto2_arg_init(&a);
    pto2_arg_add_output(&a, &c3);
    pto2_task_id t3 = pto2_submit_aiv(rt, 0, &a);       /* T3 at local 64 */
    ASSERT_TRUE(pto2_task_id_is_valid(t3));
  }
}

int main(void) {
  pto2_config cfg = {0};
  cfg.heap_size = 1024;
  cfg.block_dim = 2;
  cfg.worker_threads = 2;
  cfg.log_level = PTO2_LOG_ERROR;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&cfg, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 0, PTO2_CORE_AIV, "noop", noop, NULL), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 1, PTO2_CORE_AIV, "slow", slow, NULL), 0);
  int rc = pto2_run(rt, orch, NULL, NULL);
  if (rc) TEST_FAIL("run failed: %s", pto2_error_message(rt));
  pto2_runtime_destroy(rt);
  TEST_PASS("test_heap_rebase");
}
