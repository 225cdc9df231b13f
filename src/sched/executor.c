/*
 * Executors: the threads that run tasks on the simulated cores.
 *
 * Each executor owns a set of clusters (1 AIC + 2 AIV cores each) and runs
 * one kernel at a time on one of its cores; a mixed task runs its lanes on
 * one cluster, an SPMD task's blocks may run on several executors at once.
 * Worker threads loop: run the task lined up by their last completion, else
 * pop a ready queue, else poll (a few spins, then yielding the CPU between
 * polls) and park on rt->work_ec after IDLE_SPIN_NS.
 *
 * Abort protocol: after an error rt->abort is set; each worker drops its
 * lined-up task, stores abort_ack = 1 (release) at the top of its loop and
 * parks until abort is cleared, so once every ack is seen (acquire) no
 * worker touches the runtime's structures and they can be reset.
 */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "platform/clock.h"
#include "platform/spin.h"
#include "runtime.h"
#include "sched/executor.h"
#include "sched/sched.h"
#include "sched/slot_inl.h"

#define IDLE_SPIN_NS 100000u         /* poll this long before parking */
#define PARK_TIMEOUT_NS 100000000u   /* re-check at least this often */

static const uint8_t pop_order[2][PTO2__SHAPE_COUNT] = {
    {PTO2__SHAPE_MIX, PTO2__SHAPE_AIC, PTO2__SHAPE_AIV},
    {PTO2__SHAPE_MIX, PTO2__SHAPE_AIV, PTO2__SHAPE_AIC},
};

static pto2__slot *pop_any(pto2_runtime *rt, const pto2__executor *ex) {
  const uint8_t *order = pop_order[ex->index & 1];
  for (unsigned i = 0; i < PTO2__SHAPE_COUNT; i++) {
    pto2__slot *s = pto2__rq_pop_mc(&rt->queues[order[i]]);
    if (s) return s;
  }
  return 0;
}

static bool any_ready(pto2_runtime *rt) {
  for (unsigned i = 0; i < PTO2__SHAPE_COUNT; i++)
    if (pto2__rq_nonempty(&rt->queues[i])) return true;
  return false;
}

static int core_of(const pto2_runtime *rt, uint32_t cluster, unsigned lane) {
  uint32_t b = rt->cfg.block_dim;
  return lane == PTO2__LANE_AIC ? (int)cluster : (int)(b + 2 * cluster + (lane - 1));
}

static void run_lane(pto2_runtime *rt, pto2__executor *ex, pto2_kernel_ctx *ctx,
                     const pto2__slot *s, uint32_t cluster, unsigned lane) {
  const pto2__payload *pl = s->payload;
  const pto2__kernel *k = &rt->kernels[pl->kernel[lane]];
  ctx->sub_block_id = lane == PTO2__LANE_AIV1 ? 1 : 0;
  ctx->core_id = core_of(rt, cluster, lane);
  ctx->user = k->user;
  /* Relaxed: watchdog hints only; an old value delays a timeout report by
   * one sampling period at most. */
  uint64_t seq = atomic_load_explicit(&ex->exec_seq, memory_order_relaxed);
  atomic_store_explicit(&ex->cur_kernel, pl->kernel[lane], memory_order_relaxed);
  atomic_store_explicit(&ex->cur_task, pl->id.raw, memory_order_relaxed);
  atomic_store_explicit(&ex->exec_seq, seq + 1, memory_order_relaxed);
  int rc;
  if (PTO2_LIKELY(!rt->tracing)) {
    rc = k->fn(ctx);
  } else {
    pto2__trace_event e = {pto2__now_ns(), 0, pl->id.raw, ctx->core_id, pl->kernel[lane],
                           (int16_t)ctx->block_idx, s->rec, 0};
    rc = k->fn(ctx);
    e.end_ns = pto2__now_ns();
    pto2__trace_add(&ex->trace, &e);
  }
  atomic_store_explicit(&ex->exec_seq, seq + 2, memory_order_relaxed);
  if (PTO2_UNLIKELY(rc != 0))
    pto2__fail(rt, PTO2_E_KERNEL_FAILED,
               "kernel '%s' (id %d) returned %d in task %u:%llu, block %d", k->name,
               pl->kernel[lane], rc, pto2_task_id_ring(pl->id),
               (unsigned long long)pto2_task_id_local(pl->id), ctx->block_idx);
}

static void run_block(pto2_runtime *rt, pto2__executor *ex, const pto2__slot *s, int block) {
  const pto2__payload *pl = s->payload;
  uint32_t cluster = ex->cluster_first + ex->cluster_next;
  if (++ex->cluster_next == ex->cluster_count) ex->cluster_next = 0;
  pto2_kernel_ctx ctx = {
      .tensors = pl->tensors,
      .scalars = pl->scalars,
      .tensor_count = pl->tensor_count,
      .scalar_count = pl->scalar_count,
      .block_idx = block,
      .block_num = s->block_num,
      .task_id = pl->id,
  };
  for (unsigned lane = 0; lane < PTO2__LANE_COUNT; lane++)
    if (s->active_mask & (1u << lane)) run_lane(rt, ex, &ctx, s, cluster, lane);
}

static void execute(pto2_runtime *rt, pto2__executor *ex, pto2__slot *s) {
  if (PTO2_LIKELY(s->block_num == 1)) {
    run_block(rt, ex, s, 0);
    pto2__slot_complete(rt, ex, s);
    return;
  }
  /* SPMD: claim one block; if more remain, put the task back so another
   * executor can claim the next one.  Every push is matched by exactly one
   * claim, so no stale queue entry outlives the task. */
  int block = pto2__slot_claim_block(s);
  if (block + 1 < s->block_num) pto2__push_ready(rt, s);
  run_block(rt, ex, s, block);
  if (pto2__slot_block_done(s)) pto2__slot_complete(rt, ex, s);
}

bool pto2__run_one(pto2_runtime *rt, pto2__executor *ex) {
  pto2__slot *s = ex->next;
  if (s) ex->next = 0;
  else s = pop_any(rt, ex);
  if (!s) return false;
  execute(rt, ex, s);
  return true;
}

static bool stop_requested(pto2_runtime *rt) {
  /* Acquire: pairs with the release stores of abort/shutdown, after which
   * the runtime's structures may be reset. */
  return atomic_load_explicit(&rt->abort, memory_order_acquire) ||
         atomic_load_explicit(&rt->shutdown, memory_order_acquire);
}

static void park(pto2_runtime *rt, bool (*wake)(pto2_runtime *)) {
  uint32_t key = pto2__ec_prepare(&rt->work_ec);
  if (wake(rt)) pto2__ec_cancel(&rt->work_ec);
  else pto2__ec_wait(&rt->work_ec, key, PARK_TIMEOUT_NS);
}

static bool work_or_stop(pto2_runtime *rt) { return stop_requested(rt) || any_ready(rt); }

static bool abort_over(pto2_runtime *rt) {
  return !atomic_load_explicit(&rt->abort, memory_order_acquire) ||
         atomic_load_explicit(&rt->shutdown, memory_order_acquire);
}

static void idle(pto2_runtime *rt) {
  uint64_t start = pto2__now_ns();
  uint32_t polls = 0;
  while (pto2__now_ns() - start < IDLE_SPIN_NS) {
    pto2__poll_pause(&polls, 64);
    if (work_or_stop(rt)) return;
  }
  park(rt, work_or_stop);
}

static void acknowledge_abort(pto2_runtime *rt, pto2__executor *ex) {
  ex->next = 0;
  /* Release: everything this executor did happens before the reset. */
  atomic_store_explicit(&ex->abort_ack, 1, memory_order_release);
  while (!abort_over(rt)) park(rt, abort_over);
  atomic_store_explicit(&ex->abort_ack, 0, memory_order_relaxed);
}

static void *worker_main(void *arg) {
  pto2__executor *ex = arg;
  pto2_runtime *rt = ex->rt;
  for (;;) {
    if (PTO2_UNLIKELY(stop_requested(rt))) {
      if (atomic_load_explicit(&rt->shutdown, memory_order_acquire)) break;
      acknowledge_abort(rt, ex);
      continue;
    }
    if (!pto2__run_one(rt, ex)) idle(rt);
  }
  return 0;
}

int pto2__executors_start(pto2_runtime *rt) {
  for (uint32_t i = 1; i < rt->executor_count; i++) {
    pto2__executor *ex = &rt->executors[i];
    if (pthread_create(&ex->thread, 0, worker_main, ex) != 0) return PTO2_E_SYSTEM;
    ex->started = true;
  }
  return 0;
}

void pto2__executors_stop(pto2_runtime *rt) {
  atomic_store_explicit(&rt->shutdown, 1, memory_order_release);
  pto2__ec_wake(&rt->work_ec);
  for (uint32_t i = 1; i < rt->executor_count; i++) {
    pto2__executor *ex = &rt->executors[i];
    if (!ex->started) continue;
    pthread_join(ex->thread, 0);
    ex->started = false;
  }
}

bool pto2__executors_quiesce(pto2_runtime *rt) {
  atomic_store_explicit(&rt->abort, 1, memory_order_release);
  pto2__ec_wake(&rt->work_ec);
  uint64_t limit = (uint64_t)rt->cfg.kernel_timeout_ms * 1000000u;
  uint64_t start = pto2__now_ns();
  for (uint32_t i = 1; i < rt->executor_count; i++) {
    /* Acquire: pairs with the worker's release store of its ack. */
    while (!atomic_load_explicit(&rt->executors[i].abort_ack, memory_order_acquire)) {
      if (pto2__now_ns() - start > limit) return false;
      struct timespec ts = {0, 50000};
      nanosleep(&ts, 0);
    }
  }
  return true;
}

void pto2__executors_resume(pto2_runtime *rt) {
  atomic_store_explicit(&rt->abort, 0, memory_order_release);
  pto2__ec_wake(&rt->work_ec);
}
