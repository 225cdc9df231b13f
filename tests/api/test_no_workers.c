/*
 * worker_threads = PTO2_WORKERS_NONE: no worker thread; the thread that
 * calls pto2_run() runs every task.
 *  - the configuration in effect says 0 workers; with workers_only the
 *    create fails (PTO2_E_INVALID_CONFIG);
 *  - AUTO, MANUAL and GRAPH scopes with AIC, AIV, mixed and SPMD tasks run
 *    every task once, in dependency order, on the calling thread, through a
 *    tiny ring (waits for room run the tasks) and a blocking data access;
 *  - a kernel over kernel_timeout_ms fails the run (PTO2_E_TIMEOUT) and
 *    the runtime runs again afterwards.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "pto2/pto2.h"
#include "test.h"

enum { K_AIC = 0, K_AIV = 1, K_SLOW = 2 };
enum { CHAIN = 300 };

static pthread_t caller;
static atomic_int other_thread, invocations;

/* Each task appends its scalar to the log of the tensor: the log shows the
 * order in which the chain ran. */
static int record(const pto2_kernel_ctx *k) {
  if (!pthread_equal(pthread_self(), caller)) atomic_fetch_add(&other_thread, 1);
  atomic_fetch_add(&invocations, 1);
  /* One lane of block 0 logs: AIV0, or AIC in a task without AIV
   * (scalars[1]; user: 1 on the AIC kernel). */
  bool aic = k->user != 0;
  if (k->block_idx == 0 && k->sub_block_id == 0 && aic == (k->scalars[1] != 0)) {
    int32_t *log = (int32_t *)k->tensors[0].data;
    log[++log[0]] = (int32_t)k->scalars[0];
  }
  return 0;
}

static int slow(const pto2_kernel_ctx *k) {
  (void)k;
  struct timespec ts = {0, 300 * 1000000L};
  nanosleep(&ts, 0);
  return 0;
}

static int32_t log_buf[CHAIN + 8];

static void chain_orch(pto2_runtime *rt, void *arg) {
  pto2_scope_mode mode = *(pto2_scope_mode *)arg;
  uint32_t shape[1] = {CHAIN + 8};
  pto2_tensor t = pto2_tensor_external(log_buf, shape, 1, PTO2_INT32);
  pto2_task_id prev = PTO2_TASK_ID_INVALID;
  for (int i = 0; i < CHAIN; i++) {
    /* Scopes of 6 tasks: a scope's tasks cannot retire before it ends. */
    if (i % 6 == 0) ASSERT_EQ_INT(pto2_scope_begin(rt, mode), 0);
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_inout(&a, &t);
    pto2_arg_add_scalar(&a, (uint64_t)(i + 1));
    pto2_arg_add_scalar(&a, i % 3 == 1 && i % 5 != 2); /* AIC only */
    if (i % 7 == 3) pto2_arg_set_block_num(&a, 4); /* SPMD */
    /* The first task of a scope waits for the previous scope's last. */
    if (mode != PTO2_SCOPE_AUTO && i % 6 == 0 && i) pto2_arg_add_dep(&a, prev);
    pto2_mixed_kernels mk = {PTO2_NO_KERNEL, K_AIV, PTO2_NO_KERNEL};
    if (i % 3 == 1) mk.aic = K_AIC, mk.aiv0 = PTO2_NO_KERNEL;   /* AIC */
    if (i % 5 == 2) mk.aic = K_AIC, mk.aiv0 = mk.aiv1 = K_AIV;   /* mixed */
    pto2_task_id id = mode == PTO2_SCOPE_MANUAL ? pto2_submit_task_manual(rt, mk, &a)
                                                : pto2_submit_task(rt, mk, &a);
    if (!pto2_task_id_is_valid(id)) TEST_FAIL("task %d: %s", i, pto2_error_message(rt));
    if (mode != PTO2_SCOPE_AUTO && i % 6 && pto2_add_dependency(rt, prev, id) != 0)
      TEST_FAIL("task %d: %s", i, pto2_error_message(rt));
    prev = id;
    if (i % 6 == 5 || i == CHAIN - 1) ASSERT_EQ_INT(pto2_scope_end(rt), 0);
  }
  if (mode == PTO2_SCOPE_AUTO) {
    /* A blocking data access runs what it waits for on this thread. */
    uint32_t idx[1] = {0};
    uint64_t bits = 0;
    ASSERT_EQ_INT(pto2_get_tensor_data(rt, &t, idx, &bits), 0);
    ASSERT_EQ_INT((int32_t)bits, CHAIN);
  }
}

static void slow_orch(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_arg a;
  pto2_arg_init(&a);
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_SLOW, &a)));
}

static int lane_runs(int i) { /* kernel invocations of chain task i */
  int lanes = i % 5 == 2 ? 3 : 1;
  return lanes * (i % 7 == 3 ? 4 : 1);
}

int main(void) {
  caller = pthread_self();
  pto2_config c = {0};
  c.block_dim = 3;
  c.worker_threads = PTO2_WORKERS_NONE;
  c.task_window = 8; /* the ring fills: every wait for room runs tasks */
  c.kernel_timeout_ms = 50;
  c.log_level = PTO2_LOG_SILENT;

  pto2_config bad = c;
  bad.workers_only = true;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&bad, &rt), PTO2_E_INVALID_CONFIG);

  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  pto2_config eff;
  pto2_runtime_get_config(rt, &eff);
  ASSERT_EQ_U64(eff.worker_threads, 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_AIC, PTO2_CORE_AIC, "aic", record, (void *)1), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_AIV, PTO2_CORE_AIV, "aiv", record, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_SLOW, PTO2_CORE_AIV, "slow", slow, 0), 0);

  int expected = 0;
  for (int i = 0; i < CHAIN; i++) expected += lane_runs(i);
  pto2_scope_mode modes[] = {PTO2_SCOPE_AUTO, PTO2_SCOPE_MANUAL, PTO2_SCOPE_GRAPH};
  for (unsigned m = 0; m < 3; m++) {
    memset(log_buf, 0, sizeof log_buf);
    atomic_store(&invocations, 0);
    pto2_run_stats st;
    int rc = pto2_run(rt, chain_orch, &modes[m], &st);
    if (rc) TEST_FAIL("mode %u: rc %d (%s)", m, rc, pto2_error_message(rt));
    ASSERT_EQ_INT(log_buf[0], CHAIN);
    for (int i = 1; i <= CHAIN; i++)
      if (log_buf[i] != i) TEST_FAIL("mode %u: entry %d of the log is %d", m, i, log_buf[i]);
    ASSERT_EQ_INT(atomic_load(&invocations), expected);
    ASSERT_EQ_INT(atomic_load(&other_thread), 0);
  }

  /* A stuck kernel on the only executor: the run fails once it returns. */
  pto2_run_stats st;
  ASSERT_EQ_INT(pto2_run(rt, slow_orch, 0, &st), PTO2_E_TIMEOUT);
  ASSERT_STR_CONTAINS(pto2_error_message(rt), "kernel_timeout_ms");
  memset(log_buf, 0, sizeof log_buf);
  ASSERT_EQ_INT(pto2_run(rt, chain_orch, &modes[0], &st), 0);
  ASSERT_EQ_INT(log_buf[0], CHAIN);
  ASSERT_EQ_INT(atomic_load(&other_thread), 0);
  pto2_runtime_destroy(rt);
  TEST_PASS("test_no_workers");
}
