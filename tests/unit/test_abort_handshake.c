/*
 * The abort handshake never accepts a stale acknowledgement
 * (docs/concurrency.md, "Abort and reset").  After a failed run the worker
 * has acknowledged that reset.  In the next run, while the worker is inside
 * a gated kernel, its acknowledgement word is set back to that earlier
 * acknowledgement (what a worker could still show if its later stores were
 * not yet visible), and the orchestrator stops the executors: the stop must
 * not complete before the worker has finished the kernel and acknowledged
 * this request.  A helper thread opens the gate after a while.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "runtime.h"
#include "sched/executor.h"
#include "test.h"

static atomic_int started, gate, finished;

static int gated(const pto2_kernel_ctx *k) {
  (void)k;
  atomic_store(&started, 1);
  while (!atomic_load(&gate)) {
    struct timespec ts = {0, 200000};
    nanosleep(&ts, 0);
  }
  atomic_store(&finished, 1);
  return 0;
}

static int failing(const pto2_kernel_ctx *k) {
  (void)k;
  return 7;
}

static void *open_gate_later(void *arg) {
  (void)arg;
  struct timespec ts = {0, 100 * 1000 * 1000};
  nanosleep(&ts, 0);
  atomic_store(&gate, 1);
  return 0;
}

static void submit_one(pto2_runtime *rt, void *arg) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_submit_aiv(rt, *(int *)arg, &a);
}

static int finished_when_stopped = -1;

static void stop_during_kernel(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_submit_aiv(rt, 0, &a);
  while (!atomic_load(&started)) {
    struct timespec ts = {0, 100000};
    nanosleep(&ts, 0);
  }
  pto2__executor *ex = &rt->executors[1];
  unsigned stale = atomic_load(&ex->abort_ack); /* the earlier reset's */
  ASSERT_TRUE(stale != 0);
  pthread_t helper;
  ASSERT_EQ_INT(pthread_create(&helper, 0, open_gate_later, 0), 0);
  atomic_store(&ex->abort_ack, stale); /* a stale acknowledgement */
  ASSERT_EQ_INT(pto2__executors_quiesce(rt), 0);
  finished_when_stopped = atomic_load(&finished);
  pto2__executors_resume(rt);
  pthread_join(helper, 0);
}

int main(void) {
  pto2_config c = {0};
  c.workers_only = true;
  c.worker_threads = 1;
  c.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 0, PTO2_CORE_AIV, "gated", gated, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 1, PTO2_CORE_AIV, "failing", failing, 0), 0);
  int k = 1;
  ASSERT_EQ_INT(pto2_run(rt, submit_one, &k, 0), PTO2_E_KERNEL_FAILED); /* one reset */
  ASSERT_EQ_INT(pto2_run(rt, stop_during_kernel, 0, 0), 0);
  ASSERT_EQ_INT(finished_when_stopped, 1); /* the stop waited for the kernel */
  k = 0;
  ASSERT_EQ_INT(pto2_run(rt, submit_one, &k, 0), 0);
  pto2_runtime_destroy(rt);
  TEST_PASS("test_abort_handshake");
}
