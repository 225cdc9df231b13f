/* A task that is ready when its scope ends runs without any further call
 * of the orchestrator, even when every executor was busy at that moment
 * (it waits in the orchestrator's ready batch until an idle executor takes
 * it): the orchestration function may then block outside pto2 waiting for
 * what the task does.  One worker is kept busy by a task that spins until the
 * orchestrator lets it go; a GRAPH scope and an AUTO scope each publish a
 * task that sets a flag; the orchestration function waits for the flag
 * (up to 10 s) without calling pto2. */
#include <stdatomic.h>
#include <time.h>

#include "pto2/pto2.h"
#include "test.h"

enum { K_HOLD = 0, K_SET = 1 };

static void sleep_ms(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, 0);
}

/* scalars: started flag, release flag */
static int hold(const pto2_kernel_ctx *ctx) {
  atomic_int *started = (atomic_int *)(uintptr_t)ctx->scalars[0];
  atomic_int *release = (atomic_int *)(uintptr_t)ctx->scalars[1];
  atomic_store(started, 1);
  for (int i = 0; i < 20000 && !atomic_load(release); i++) sleep_ms(1);
  return 0;
}

/* scalar: the flag to set */
static int set_flag(const pto2_kernel_ctx *ctx) {
  atomic_store((atomic_int *)(uintptr_t)ctx->scalars[0], 1);
  return 0;
}

typedef struct job {
  pto2_scope_mode mode;
  atomic_int started, release, done;
  int seen;
} job;

static bool wait_for(atomic_int *flag) {
  for (int i = 0; i < 10000 && !atomic_load(flag); i++) sleep_ms(1);
  return atomic_load(flag) == 1;
}

static void orch(pto2_runtime *rt, void *arg) {
  job *j = arg;
  pto2_arg a;
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
    pto2_arg_init(&a);
    pto2_arg_add_scalar(&a, (uint64_t)(uintptr_t)&j->started);
    pto2_arg_add_scalar(&a, (uint64_t)(uintptr_t)&j->release);
    pto2_submit_aiv(rt, K_HOLD, &a);
  }
  /* The worker is running the hold task (the caller runs tasks only while
   * it waits inside pto2). */
  if (wait_for(&j->started)) {
    PTO2_SCOPE(rt, j->mode) {
      pto2_arg_init(&a);
      pto2_arg_add_scalar(&a, (uint64_t)(uintptr_t)&j->done);
      pto2_submit_aiv(rt, K_SET, &a);
    }
    atomic_store(&j->release, 1);
    j->seen = wait_for(&j->done);
  }
  atomic_store(&j->release, 1);
}

int main(void) {
  pto2_config c = {0};
  c.worker_threads = 1;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_HOLD, PTO2_CORE_AIV, "hold", hold, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_SET, PTO2_CORE_AIV, "set", set_flag, 0), 0);
  const pto2_scope_mode modes[2] = {PTO2_SCOPE_GRAPH, PTO2_SCOPE_AUTO};
  for (int m = 0; m < 2; m++)
    for (int rep = 0; rep < 3; rep++) {
      static job j;
      memset(&j, 0, sizeof j);
      j.mode = modes[m];
      ASSERT_EQ_INT(pto2_run(rt, orch, &j, NULL), 0);
      ASSERT_EQ_INT(atomic_load(&j.started), 1);
      if (!j.seen) TEST_FAIL("%s scope, rep %d: the published task did not run while the "
                             "orchestration function waited", m ? "AUTO" : "GRAPH", rep);
    }
  pto2_runtime_destroy(rt);
  TEST_PASS("test_publish_liveness");
}
