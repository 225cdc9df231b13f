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
 * Abort handshake (docs/concurrency.md): rt->abort carries a stop bit and
 * the generation of the orchestrator's last stop request.  A worker that
 * sees the stop bit drops its lined-up task and stores the generation it
 * read into its abort_ack (release), then parks until the word changes.
 * The orchestrator accepts only an ack equal to the generation it just
 * requested (acquire): such a value exists only after the worker read that
 * request at the top of its loop, so every task the worker ran happens
 * before the reset.  A stale ack from an earlier abort never matches.
 *
 * Kernel watchdog: a thread of its own samples every executor's exec_seq
 * (odd while a kernel runs) while a run is on, whichever thread runs the
 * kernel, and fails the run with PTO2_E_TIMEOUT once one kernel has run
 * longer than kernel_timeout_ms.  At the reset, a worker still inside such
 * a kernel is abandoned: a CAS marks its exec_seq, the ring memory the
 * kernel may use is handed over to it, and a new thread takes its place.
 * When the kernel returns, the thread's exchange of exec_seq finds the mark;
 * it lets go of the memory and exits without touching the runtime.
 */
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "platform/clock.h"
#include "platform/spin.h"
#include "ring/ring.h"
#include "util/alloc.h"
#include "util/kernel_error.h"
#include "util/log.h"
#include "runtime.h"
#include "sched/executor.h"
#include "sched/sched.h"
#include "sched/slot_inl.h"

#define IDLE_SPIN_NS 100000u         /* poll this long before parking */
#define PARK_TIMEOUT_NS 100000000u   /* re-check at least this often */
#define TAKE_AFTER_NS 20000u         /* idle this long before taking the ready batch */

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

/* ------------------------------------------------------------------------ */
/* Kernel watches and abandonment                                            */
/* ------------------------------------------------------------------------ */

static pto2__kernel_watch *watch_new(pto2_runtime *rt) {
  pto2__kernel_watch *w = pto2__zalloc64(&rt->cfg.allocator, sizeof *w);
  if (w) w->mem = rt->cfg.allocator;
  return w;
}

static void watch_free(pto2__kernel_watch *w) {
  if (!w) return;
  pto2_allocator mem = w->mem;
  pto2__free64(&mem, w);
}

static void kept_release(pto2__kept_mem *k) {
  if (!k) return;
  /* acq_rel: the last one to let go sees every user's accesses. */
  if (atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) != 1) return;
  pto2_allocator mem = k->mem;
  for (unsigned i = 0; i < PTO2_RING_COUNT; i++) {
    pto2__ring_free_payloads(&mem, k->blocks[2 * i]);
    pto2__free(&mem, k->blocks[2 * i + 1]);
  }
  pto2__free(&mem, k);
}

/* Drops one of the two references of an abandoned thread's watch (the
 * thread's, the orchestrator's hand-over); the last frees it. */
static void watch_release(pto2__kernel_watch *w) {
  if (atomic_fetch_sub_explicit(&w->refs, 1, memory_order_acq_rel) != 1) return;
  kept_release(w->kept);
  watch_free(w);
}

/* The kernel of an abandoned thread returned: the runtime has moved on (it
 * may be destroyed), so touch nothing of it and exit. */
static __attribute__((noreturn)) void pto2__watch_abandoned_exit(pto2__kernel_watch *w) {
  watch_release(w);
  pthread_exit(0);
}

static void run_lane(pto2_runtime *rt, pto2__executor *ex, pto2_kernel_ctx *ctx,
                     const pto2__slot *s, uint32_t cluster, unsigned lane) {
  const pto2__payload *pl = s->payload;
  const pto2__kernel *k = &rt->kernels[pl->kernel[lane]];
  ctx->sub_block_id = lane == PTO2__LANE_AIV1 ? 1 : 0;
  ctx->core_id = core_of(rt, cluster, lane);
  ctx->user = k->user;
  pto2__kernel_watch *w = ex->watch;
  /* Relaxed: samples for the watchdog; an old value delays a report by one
   * sampling period at most.  The thread is the only writer of exec_seq
   * except for the abandonment CAS, which the exchange below detects. */
  uint64_t seq = atomic_load_explicit(&w->exec_seq, memory_order_relaxed);
  pto2_kernel_fn fn = k->fn; /* read before the release below, like all runtime state */
  bool tracing = rt->tracing;
  uint32_t rec = tracing ? s->rec : 0; /* the task's record, read while the slot is ours */
  atomic_store_explicit(&w->cur_kernel, pl->kernel[lane], memory_order_relaxed);
  atomic_store_explicit(&w->cur_task, pl->id.raw, memory_order_relaxed);
  /* Release: if this thread is abandoned inside the kernel, its reads of
   * the slot so far happen before the orchestrator (whose CAS acquires this
   * value) renews the ring memory. */
  atomic_store_explicit(&w->exec_seq, seq + 1, memory_order_release);
  int rc;
  uint64_t t0 = 0;
  if (PTO2_UNLIKELY(tracing)) t0 = pto2__now_ns();
  rc = fn(ctx);
  /* acq_rel: pairs with the abandonment CAS (release), so an abandoned
   * thread sees the hand-over state set before it. */
  uint64_t was = atomic_exchange_explicit(&w->exec_seq, seq + 2, memory_order_acq_rel);
  if (PTO2_UNLIKELY(was != seq + 1)) pto2__watch_abandoned_exit(w);
  if (PTO2_UNLIKELY(tracing)) {
    pto2__trace_event e = {t0, pto2__now_ns(), pl->id.raw, ctx->core_id, pl->kernel[lane],
                           (int16_t)ctx->block_idx, rec, 0};
    pto2__trace_add(&ex->trace, &e);
  }
  if (PTO2_UNLIKELY(rc != 0)) {
    const char *why = pto2__kernel_error_take(ctx); /* pto2_kernel_set_error() */
    pto2__fail(rt, PTO2_E_KERNEL_FAILED,
               "kernel '%s' (id %d) returned %d in task %u:%llu, block %d%s%s", k->name,
               pl->kernel[lane], rc, pto2_task_id_ring(pl->id),
               (unsigned long long)pto2_task_id_local(pl->id), ctx->block_idx, why ? ": " : "",
               why ? why : "");
  }
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
    pto2__slot_prefetch_fanin(s);
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
  return (atomic_load_explicit(&rt->abort, memory_order_acquire) & 1u) ||
         atomic_load_explicit(&rt->shutdown, memory_order_acquire);
}

static void park(pto2_runtime *rt, bool (*wake)(pto2_runtime *)) {
  uint32_t key = pto2__ec_prepare(&rt->work_ec);
  if (wake(rt)) pto2__ec_cancel(&rt->work_ec);
  else pto2__ec_wait(&rt->work_ec, key, PARK_TIMEOUT_NS);
}

static bool work_or_stop(pto2_runtime *rt) { return stop_requested(rt) || any_ready(rt); }

static bool work_stop_or_batch(pto2_runtime *rt) {
  return work_or_stop(rt) || pto2__ready_batch_pending(&rt->batch);
}

/* Nothing to run: poll briefly (spinning, then yielding the CPU between
 * polls), taking the orchestrator's ready batch after TAKE_AFTER_NS
 * (sched/sched.h), then park.  A parked executor is seen by
 * the orchestrator, which then pushes its batch at once. */
static void idle(pto2_runtime *rt) {
  uint64_t start = pto2__now_ns();
  uint32_t polls = 0;
  for (;;) {
    uint64_t spun = pto2__now_ns() - start;
    if (spun >= IDLE_SPIN_NS) break;
    pto2__poll_pause(&polls, 64);
    if (work_or_stop(rt)) return;
    if (spun >= TAKE_AFTER_NS && pto2__ready_batch_take(rt, &rt->batch)) return;
  }
  park(rt, work_stop_or_batch);
  pto2__ready_batch_take(rt, &rt->batch);
}

/* The worker side of the abort handshake (see the top of this file). */
static void acknowledge_abort(pto2_runtime *rt, pto2__executor *ex) {
  ex->next = 0;
  for (;;) {
    /* Acquire: pairs with the orchestrator's release of a new request (or
     * of the resume, after the reset). */
    unsigned a = atomic_load_explicit(&rt->abort, memory_order_acquire);
    if (!(a & 1u) || atomic_load_explicit(&rt->shutdown, memory_order_acquire)) return;
    /* Release: everything this executor did happens before the reset. */
    if (atomic_load_explicit(&ex->abort_ack, memory_order_relaxed) != a >> 1)
      atomic_store_explicit(&ex->abort_ack, a >> 1, memory_order_release);
    uint32_t key = pto2__ec_prepare(&rt->work_ec);
    if (atomic_load_explicit(&rt->abort, memory_order_seq_cst) != a ||
        atomic_load_explicit(&rt->shutdown, memory_order_seq_cst))
      pto2__ec_cancel(&rt->work_ec);
    else
      pto2__ec_wait(&rt->work_ec, key, PARK_TIMEOUT_NS);
  }
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
  for (uint32_t i = 0; i < rt->executor_count; i++)
    if (!(rt->executors[i].watch = watch_new(rt))) return PTO2_E_NO_MEMORY;
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
  /* Abandoned threads own their watches; these are the joined ones'. */
  for (uint32_t i = 0; i < rt->executor_count; i++) {
    watch_free(rt->executors[i].watch);
    rt->executors[i].watch = 0;
  }
}

/* Hands the ring memory a stuck kernel may use (heaps and payloads) over to
 * `*kept` (made on the first abandonment of this reset) and gives the rings
 * fresh memory. */
static int hand_over_memory(pto2_runtime *rt, pto2__kept_mem **kept) {
  if (*kept) return 0;
  pto2__kept_mem *k = pto2__zalloc(&rt->cfg.allocator, sizeof *k);
  if (!k) return PTO2_E_NO_MEMORY;
  k->mem = rt->cfg.allocator;
  atomic_init(&k->refs, 1); /* the orchestrator's, until the reset ends */
  for (unsigned i = 0; i < PTO2_RING_COUNT; i++) {
    int rc = pto2__ring_renew(&rt->rings[i], &rt->cfg, &k->blocks[2 * i]);
    if (rc) {
      kept_release(k);
      return rc;
    }
  }
  *kept = k;
  return 0;
}

/* Abandons the worker of `ex`, inside the kernel numbered `seq`, and starts
 * a replacement.  False if the kernel returned meanwhile. */
static int abandon(pto2_runtime *rt, pto2__executor *ex, uint64_t seq, uint32_t gen,
                   pto2__kept_mem **kept, bool *abandoned) {
  *abandoned = false;
  pto2__kernel_watch *w = ex->watch;
  pto2__kernel_watch *fresh = watch_new(rt);
  if (!fresh) return PTO2_E_NO_MEMORY;
  int rc = hand_over_memory(rt, kept);
  if (rc) {
    watch_free(fresh);
    return rc;
  }
  atomic_store_explicit(&w->refs, 2, memory_order_relaxed); /* published by the CAS */
  w->kept = 0;
  /* acq_rel: releases refs to the thread's exchange; acquires its kernel
   * start.  Fails if the kernel returned (exec_seq moved on). */
  if (!atomic_compare_exchange_strong_explicit(&w->exec_seq, &seq, seq | PTO2__ABANDONED,
                                               memory_order_acq_rel, memory_order_acquire)) {
    watch_free(fresh);
    return 0;
  }
  *abandoned = true;
  atomic_fetch_add_explicit(&(*kept)->refs, 1, memory_order_relaxed);
  w->kept = *kept;
  int k = atomic_load_explicit(&w->cur_kernel, memory_order_relaxed);
  pthread_detach(ex->thread);
  pthread_mutex_lock(&rt->wd_lock);
  ex->watch = fresh;
  ex->kw_seq = 0;
  pthread_mutex_unlock(&rt->wd_lock);
  watch_release(w); /* the hand-over is done */
  atomic_store_explicit(&ex->stuck_seq, 0, memory_order_relaxed);
  atomic_store_explicit(&ex->abort_ack, gen, memory_order_relaxed);
  ex->next = 0;
  ex->started = pthread_create(&ex->thread, 0, worker_main, ex) == 0;
  pto2__log(rt->cfg.log_level, PTO2_LOG_WARN,
            "worker %u is stuck in kernel '%s' (id %d); it was replaced and will exit when the "
            "kernel returns",
            ex->index, k >= 0 && k < PTO2_MAX_KERNELS ? rt->kernels[k].name : "?", k);
  return ex->started ? 0 : PTO2_E_SYSTEM;
}

int pto2__executors_quiesce(pto2_runtime *rt) {
  uint32_t gen = ++rt->abort_gen;
  if (gen > (UINT32_MAX >> 1)) gen = rt->abort_gen = 1;
  /* Release: the error and everything the orchestrator did come first. */
  atomic_store_explicit(&rt->abort, (gen << 1) | 1u, memory_order_release);
  pto2__ec_wake(&rt->work_ec);
  pto2__kept_mem *kept = 0;
  int rc = 0;
  for (uint32_t i = 1; i < rt->executor_count && !rc; i++) {
    pto2__executor *ex = &rt->executors[i];
    /* Acquire: pairs with the worker's release store of this generation. */
    while (ex->started && atomic_load_explicit(&ex->abort_ack, memory_order_acquire) != gen) {
      /* A kernel the watchdog found over its limit is not waited for. */
      uint64_t seq = atomic_load_explicit(&ex->watch->exec_seq, memory_order_acquire);
      if ((seq & 1) && seq == atomic_load_explicit(&ex->stuck_seq, memory_order_relaxed)) {
        bool gone;
        rc = abandon(rt, ex, seq, gen, &kept, &gone);
        if (rc || gone) break;
        continue;
      }
      struct timespec ts = {0, 50000};
      nanosleep(&ts, 0);
    }
  }
  kept_release(kept);
  return rc;
}

void pto2__executors_resume(pto2_runtime *rt) {
  /* Release: the reset happens before any worker runs again. */
  atomic_store_explicit(&rt->abort, rt->abort_gen << 1, memory_order_release);
  pto2__ec_wake(&rt->work_ec);
}

/* ------------------------------------------------------------------------ */
/* The kernel watchdog thread                                                */
/* ------------------------------------------------------------------------ */

/* Under wd_lock, while a run is on: fails the run on a kernel over its
 * limit, on whichever executor it runs. */
static void watchdog_sample(pto2_runtime *rt, uint64_t now) {
  uint64_t limit = (uint64_t)rt->cfg.kernel_timeout_ms * 1000000u;
  for (uint32_t i = 0; i < rt->executor_count; i++) {
    pto2__executor *ex = &rt->executors[i];
    pto2__kernel_watch *w = ex->watch;
    uint64_t seq = atomic_load_explicit(&w->exec_seq, memory_order_relaxed);
    if (seq != ex->kw_seq) {
      ex->kw_seq = seq;
      ex->kw_since_ns = now;
      continue;
    }
    if (!(seq & 1) || now - ex->kw_since_ns <= limit ||
        atomic_load_explicit(&ex->stuck_seq, memory_order_relaxed) == seq)
      continue;
    atomic_store_explicit(&ex->stuck_seq, seq, memory_order_relaxed);
    int k = atomic_load_explicit(&w->cur_kernel, memory_order_relaxed);
    pto2_task_id id = {atomic_load_explicit(&w->cur_task, memory_order_relaxed)};
    pto2__fail(rt, PTO2_E_TIMEOUT,
               "kernel '%s' (id %d) in task %u:%llu has run for more than %u ms "
               "(kernel_timeout_ms) on %s",
               k >= 0 && k < PTO2_MAX_KERNELS ? rt->kernels[k].name : "?", k,
               pto2_task_id_ring(id), (unsigned long long)pto2_task_id_local(id),
               rt->cfg.kernel_timeout_ms,
               i == 0 ? "the thread that called pto2_run (which returns only when the kernel "
                        "does; see pto2_config.workers_only)"
                      : "a worker thread");
  }
}

static void *watchdog_main(void *arg) {
  pto2_runtime *rt = arg;
  uint64_t period = (uint64_t)rt->cfg.kernel_timeout_ms * 1000000u / 16;
  if (period < 1000000u) period = 1000000u;
  if (period > 100000000u) period = 100000000u;
  pthread_mutex_lock(&rt->wd_lock);
  while (!rt->wd_stop) {
    if (rt->wd_running) watchdog_sample(rt, pto2__now_ns());
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (rt->wd_running) {
      uint64_t ns = (uint64_t)ts.tv_nsec + period;
      ts.tv_sec += (time_t)(ns / 1000000000u);
      ts.tv_nsec = (long)(ns % 1000000000u);
    } else {
      ts.tv_sec += 3600;
    }
    pthread_cond_timedwait(&rt->wd_cond, &rt->wd_lock, &ts);
  }
  pthread_mutex_unlock(&rt->wd_lock);
  return 0;
}

int pto2__watchdog_start(pto2_runtime *rt) {
  pthread_condattr_t ca;
  if (pthread_condattr_init(&ca) || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
      pthread_cond_init(&rt->wd_cond, &ca))
    return PTO2_E_SYSTEM;
  pthread_condattr_destroy(&ca);
  if (pthread_mutex_init(&rt->wd_lock, 0)) {
    pthread_cond_destroy(&rt->wd_cond);
    return PTO2_E_SYSTEM;
  }
  if (pthread_create(&rt->wd_thread, 0, watchdog_main, rt)) {
    pthread_mutex_destroy(&rt->wd_lock);
    pthread_cond_destroy(&rt->wd_cond);
    return PTO2_E_SYSTEM;
  }
  rt->wd_started = true;
  return 0;
}

void pto2__watchdog_stop(pto2_runtime *rt) {
  if (!rt->wd_started) return;
  pthread_mutex_lock(&rt->wd_lock);
  rt->wd_stop = true;
  pthread_cond_signal(&rt->wd_cond);
  pthread_mutex_unlock(&rt->wd_lock);
  pthread_join(rt->wd_thread, 0);
  pthread_mutex_destroy(&rt->wd_lock);
  pthread_cond_destroy(&rt->wd_cond);
  rt->wd_started = false;
}

void pto2__watchdog_run(pto2_runtime *rt, bool running) {
  pthread_mutex_lock(&rt->wd_lock);
  rt->wd_running = running;
  if (running) {
    uint64_t now = pto2__now_ns();
    for (uint32_t i = 0; i < rt->executor_count; i++) {
      rt->executors[i].kw_seq = atomic_load_explicit(&rt->executors[i].watch->exec_seq,
                                                     memory_order_relaxed);
      rt->executors[i].kw_since_ns = now;
    }
    pthread_cond_signal(&rt->wd_cond);
  }
  pthread_mutex_unlock(&rt->wd_lock);
}
