/*
 * Waits of the orchestrator: back-pressure on a full ring (ring/ring.c),
 * blocking data access, and the end of a run.
 *
 * While it waits the orchestrator runs ready tasks itself (it is executor
 * 0), so a 2-CPU machine keeps both CPUs busy.  Waits end in bounded time:
 *  - a ring that can never make room is reported at once (ring/ring.c);
 *  - a kernel running longer than kernel_timeout_ms, or no progress at all
 *    for stall_timeout_ms, fails the run with a diagnostic.
 */
#include <stdio.h>
#include <string.h>

#include "orch/orch_internal.h"
#include "platform/clock.h"
#include "platform/spin.h"

#define WAIT_SPIN_NS 20000u
#define WAIT_PARK_NS 1000000u

/* ------------------------------------------------------------------------ */
/* Watchdog                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct watchdog {
  uint64_t last_progress_ns;
  uint64_t alive_sum;
} watchdog;

static uint64_t alive_sum(pto2_runtime *rt) {
  uint64_t sum = 0;
  for (unsigned i = 0; i < PTO2_RING_COUNT; i++)
    sum += atomic_load_explicit(&rt->rings[i].last_alive, memory_order_relaxed);
  return sum;
}

/* Samples the executors; fails the run on a stall.  A kernel over
 * kernel_timeout_ms is reported by the watchdog thread (sched/executor.c),
 * whichever thread runs it; one within its budget counts as progress. */
static int watchdog_check(pto2_runtime *rt, watchdog *wd, const char *what) {
  uint64_t now = pto2__now_ns();
  bool progress = false;
  for (uint32_t i = 1; i < rt->executor_count; i++) {
    pto2__executor *ex = &rt->executors[i];
    uint64_t seq = atomic_load_explicit(&ex->watch->exec_seq, memory_order_relaxed);
    if (seq != ex->wd_seq) {
      ex->wd_seq = seq;
      ex->wd_since_ns = now;
      progress = true;
    } else if ((seq & 1) && now - ex->wd_since_ns <= (uint64_t)rt->cfg.kernel_timeout_ms * 1000000u) {
      progress = true; /* a kernel still within its budget is not a stall */
    }
  }
  uint64_t sum = alive_sum(rt);
  if (sum != wd->alive_sum) {
    wd->alive_sum = sum;
    progress = true;
  }
  if (progress) {
    wd->last_progress_ns = now;
    return 0;
  }
  if (now - wd->last_progress_ns <= (uint64_t)rt->cfg.stall_timeout_ms * 1000000u) return 0;
  char rings[1024];
  pto2__rings_describe(rt, rings, sizeof rings);
  return pto2__fail(rt, PTO2_E_TIMEOUT,
                    "no progress for %u ms (stall_timeout_ms) while waiting for %s:%s",
                    rt->cfg.stall_timeout_ms, what, rings);
}

/* ------------------------------------------------------------------------ */
/* The wait loop                                                             */
/* ------------------------------------------------------------------------ */

static int wait_loop(pto2_runtime *rt, pto2__wait_done_fn done, void *ctx, const char *what);

int pto2__orch_wait(pto2_runtime *rt, pto2__wait_done_fn done, void *ctx, const char *what) {
  uint64_t start = PTO2_UNLIKELY(rt->tracing) ? pto2__now_ns() : 0;
  int rc = wait_loop(rt, done, ctx, what);
  /* A successor lined up on this thread by its last completion must not
   * wait for the orchestrator's next wait. */
  pto2__executor *self = &rt->executors[0];
  if (PTO2_UNLIKELY(self->next != 0)) {
    pto2__push_ready(rt, self->next);
    self->next = 0;
  }
  if (PTO2_UNLIKELY(rt->tracing)) pto2__trace_phase(rt, -2, what, start, pto2__now_ns());
  return rc;
}

static int wait_loop(pto2_runtime *rt, pto2__wait_done_fn done, void *ctx, const char *what) {
  pto2__executor *self = &rt->executors[0];
  pto2__orch_flush_ready(rt); /* what we wait for may depend on them */
  watchdog wd = {pto2__now_ns(), alive_sum(rt)};
  for (uint32_t i = 1; i < rt->executor_count; i++) {
    rt->executors[i].wd_seq =
        atomic_load_explicit(&rt->executors[i].watch->exec_seq, memory_order_relaxed);
    rt->executors[i].wd_since_ns = wd.last_progress_ns;
  }
  uint64_t idle_since = 0;
  uint32_t polls = 0;
  for (;;) {
    if (done(rt, ctx)) return 0;
    int err = atomic_load_explicit(&rt->error, memory_order_relaxed);
    if (err) return err;
    if (!rt->cfg.workers_only && pto2__run_one(rt, self)) {
      idle_since = 0;
      polls = 0;
      if (PTO2_UNLIKELY(rt->tracing)) pto2__rec_sample_maybe(rt, pto2__now_ns());
      continue;
    }
    uint64_t now = pto2__now_ns();
    if (!idle_since) idle_since = now;
    if (now - idle_since < WAIT_SPIN_NS) {
      pto2__poll_pause(&polls, 16);
      continue;
    }
    uint32_t key = pto2__ec_prepare(&rt->progress_ec);
    if (done(rt, ctx)) {
      pto2__ec_cancel(&rt->progress_ec);
      return 0;
    }
    pto2__ec_wait(&rt->progress_ec, key, WAIT_PARK_NS);
    err = watchdog_check(rt, &wd, what);
    if (err) return err;
  }
}
