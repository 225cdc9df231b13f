/*
 * Waits of the orchestrator: back-pressure on a full ring, blocking data
 * access, and the end of a run.
 *
 * While it waits the orchestrator runs ready tasks itself (it is executor
 * 0), so a 2-CPU machine keeps both CPUs busy.  Waits end in bounded time:
 *  - a ring that must retire a task whose scope is still open can never
 *    make room (the orchestrator would have to end that scope first): this
 *    is reported at once, naming what is full and what to raise;
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

static void describe_rings(pto2_runtime *rt, char *buf, size_t len) {
  size_t n = 0;
  buf[0] = 0;
  for (unsigned i = 0; i < PTO2_RING_COUNT && n < len; i++) {
    pto2__ring *r = &rt->rings[i];
    uint64_t in_flight = r->next_local - r->seen_alive;
    if (!in_flight) continue;
    const pto2__slot *s = pto2__ring_slot(r, r->seen_alive);
    n += (size_t)snprintf(
        buf + n, len - n,
        " ring %u: %llu tasks in flight, oldest %u:%llu in state %d waiting for %d producers;",
        i, (unsigned long long)in_flight, i, (unsigned long long)r->seen_alive,
        atomic_load_explicit(&s->state, memory_order_relaxed),
        atomic_load_explicit(&s->fanin_remaining, memory_order_relaxed));
  }
}

/* Samples the executors; fails the run on a stuck kernel or a stall. */
static int watchdog_check(pto2_runtime *rt, watchdog *wd, const char *what) {
  uint64_t now = pto2__now_ns();
  bool progress = false;
  for (uint32_t i = 1; i < rt->executor_count; i++) {
    pto2__executor *ex = &rt->executors[i];
    uint64_t seq = atomic_load_explicit(&ex->exec_seq, memory_order_relaxed);
    if (seq != ex->wd_seq) {
      ex->wd_seq = seq;
      ex->wd_since_ns = now;
      progress = true;
    } else if (!(seq & 1)) {
      continue;
    } else if (now - ex->wd_since_ns <= (uint64_t)rt->cfg.kernel_timeout_ms * 1000000u) {
      progress = true; /* a kernel still within its budget is not a stall */
    } else {
      int k = atomic_load_explicit(&ex->cur_kernel, memory_order_relaxed);
      pto2_task_id id = {atomic_load_explicit(&ex->cur_task, memory_order_relaxed)};
      return pto2__fail(rt, PTO2_E_TIMEOUT,
                        "kernel '%s' (id %d) in task %u:%llu has run for more than %u ms "
                        "(kernel_timeout_ms)",
                        rt->kernels[k].name, k, pto2_task_id_ring(id),
                        (unsigned long long)pto2_task_id_local(id), rt->cfg.kernel_timeout_ms);
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
  char rings[512];
  describe_rings(rt, rings, sizeof rings);
  return pto2__fail(rt, PTO2_E_TIMEOUT,
                    "no progress for %u ms (stall_timeout_ms) while waiting for %s:%s",
                    rt->cfg.stall_timeout_ms, what, rings);
}

/* ------------------------------------------------------------------------ */
/* The wait loop                                                             */
/* ------------------------------------------------------------------------ */

static int wait_loop(pto2_runtime *rt, pto2__wait_done_fn done, void *ctx, const char *what);

int pto2__orch_wait(pto2_runtime *rt, pto2__wait_done_fn done, void *ctx, const char *what) {
  if (PTO2_LIKELY(!rt->tracing)) return wait_loop(rt, done, ctx, what);
  uint64_t start = pto2__now_ns();
  int rc = wait_loop(rt, done, ctx, what);
  pto2__trace_phase(rt, -2, what, start, pto2__now_ns());
  return rc;
}

static int wait_loop(pto2_runtime *rt, pto2__wait_done_fn done, void *ctx, const char *what) {
  pto2__executor *self = &rt->executors[0];
  pto2__orch_flush_ready(rt); /* what we wait for may depend on them */
  watchdog wd = {pto2__now_ns(), alive_sum(rt)};
  for (uint32_t i = 1; i < rt->executor_count; i++) {
    rt->executors[i].wd_seq = atomic_load_explicit(&rt->executors[i].exec_seq, memory_order_relaxed);
    rt->executors[i].wd_since_ns = wd.last_progress_ns;
  }
  uint64_t idle_since = 0;
  for (;;) {
    if (done(rt, ctx)) return 0;
    int err = atomic_load_explicit(&rt->error, memory_order_relaxed);
    if (err) return err;
    if (pto2__run_one(rt, self)) {
      idle_since = 0;
      continue;
    }
    uint64_t now = pto2__now_ns();
    if (!idle_since) idle_since = now;
    if (now - idle_since < WAIT_SPIN_NS) {
      pto2__cpu_relax();
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

/* ------------------------------------------------------------------------ */
/* Back-pressure                                                             */
/* ------------------------------------------------------------------------ */

enum space_kind { SPACE_TASKS, SPACE_HEAP, SPACE_DEPS };

typedef struct space_wait {
  pto2__ring *r;
  enum space_kind kind;
  uint64_t need;
  int result; /* 0 = fits; else the error reported */
} space_wait;

static uint64_t raise_to(uint64_t v) {
  uint64_t p = 1;
  while (p < 2 * v) p <<= 1;
  return p;
}

/* The ring cannot make room: its oldest task belongs to an open scope. */
static int report_deadlock(pto2_runtime *rt, space_wait *w) {
  pto2__ring *r = w->r;
  const pto2__orch *o = &rt->orch;
  const pto2__task_meta *oldest = pto2__ring_meta(r, r->seen_alive);
  uint32_t in_scope = o->scope_task_count - o->scopes[o->depth - 1].begin;
  char where[320];
  snprintf(where, sizeof where,
           "held by tasks that cannot retire before an open scope ends (oldest: task %u:%llu "
           "of scope depth %u%s; the current scope holds %u tasks)",
           r->id, (unsigned long long)r->seen_alive, oldest->scope_depth,
           pto2__scope_is_open(o, oldest) ? "" : ", referenced by a consumer held back until its scope ends",
           in_scope);
  switch (w->kind) {
  case SPACE_TASKS:
    return pto2__fail(rt, PTO2_E_FLOW_CONTROL_DEADLOCK,
                      "FATAL: Task Allocator Deadlock - Task Ring Full! ring %u: all %llu task "
                      "slots are %s. Raise PTO2_RING_TASK_WINDOW (e.g. "
                      "PTO2_RING_TASK_WINDOW=%llu) or split the scope.",
                      r->id, (unsigned long long)r->mask + 1, where,
                      (unsigned long long)raise_to(r->mask + 1));
  case SPACE_HEAP:
    return pto2__fail(rt, PTO2_E_HEAP_RING_DEADLOCK,
                      "FATAL: Task Allocator Deadlock - Heap Exhausted! ring %u: a task needs "
                      "%llu output bytes; %llu of %llu heap bytes are %s. Raise PTO2_RING_HEAP "
                      "(e.g. PTO2_RING_HEAP=%llu) or split the scope.",
                      r->id, (unsigned long long)w->need,
                      (unsigned long long)(r->heap.top - r->heap.tail),
                      (unsigned long long)r->heap.size, where,
                      (unsigned long long)raise_to(r->heap.size));
  default:
    return pto2__fail(rt, PTO2_E_DEP_POOL_OVERFLOW,
                      "FATAL: Dependency Pool Deadlock Detected! (ring %u) a task needs %llu "
                      "entries; %llu of %llu entries (high water %llu) are %s. Raise "
                      "PTO2_RING_DEP_POOL (e.g. PTO2_RING_DEP_POOL=%llu).",
                      r->id, (unsigned long long)w->need,
                      (unsigned long long)(r->deps.top - r->deps.tail),
                      (unsigned long long)r->deps.capacity,
                      (unsigned long long)r->deps.high_water, where,
                      (unsigned long long)raise_to(r->deps.capacity));
  }
}

static bool fits(pto2__ring *r, enum space_kind kind, uint64_t need) {
  switch (kind) {
  case SPACE_TASKS: return r->next_local - r->seen_alive <= r->mask;
  case SPACE_DEPS: return pto2__dep_pool_free(&r->deps) >= need;
  default: {
    /* Trial allocation on a copy: the heap only moves when the task
     * allocates for real. */
    pto2__heap h = r->heap;
    return pto2__heap_try_alloc(&h, need) != 0;
  }
  }
}

static bool space_ready(pto2_runtime *rt, void *ctx) {
  space_wait *w = ctx;
  pto2__ring_observe(rt, w->r);
  if (fits(w->r, w->kind, w->need)) return true;
  const pto2__ring *r = w->r;
  if (r->seen_alive < r->next_local &&
      pto2__pinned_by_open_scope(&rt->orch, pto2__ring_meta((pto2__ring *)r, r->seen_alive))) {
    w->result = report_deadlock(rt, w);
    return true;
  }
  return false;
}

static int wait_space(pto2_runtime *rt, pto2__ring *r, enum space_kind kind, uint64_t need) {
  space_wait w = {r, kind, need, 0};
  static const char *what[] = {"a free task slot", "ring heap space",
                               "free dependency entries"};
  int rc = pto2__orch_wait(rt, space_ready, &w, what[kind]);
  return rc ? rc : w.result;
}

int pto2__wait_dep_space(pto2_runtime *rt, pto2__ring *r, uint64_t need) {
  if (need > r->deps.capacity)
    return pto2__fail(rt, PTO2_E_DEP_POOL_OVERFLOW,
                      "FATAL: Dependency Pool Overflow! ring %u: a task needs %llu entries, more "
                      "than the pool holds (%llu). Raise PTO2_RING_DEP_POOL (e.g. "
                      "PTO2_RING_DEP_POOL=%llu).",
                      r->id, (unsigned long long)need, (unsigned long long)r->deps.capacity,
                      (unsigned long long)raise_to(need));
  return wait_space(rt, r, SPACE_DEPS, need);
}

int pto2__alloc_task(pto2_runtime *rt, pto2__ring *r, uint64_t bytes, char **buf) {
  if (PTO2_UNLIKELY(bytes > r->heap.size))
    return pto2__fail(rt, PTO2_E_HEAP_RING_DEADLOCK,
                      "a task needs %llu output bytes, more than ring %u's heap holds (%llu). "
                      "Raise PTO2_RING_HEAP (e.g. PTO2_RING_HEAP=%llu).",
                      (unsigned long long)bytes, r->id, (unsigned long long)r->heap.size,
                      (unsigned long long)raise_to(bytes));
  /* Keep the TensorMap and the pools trimmed even when nothing is full. */
  if ((r->next_local & 63) == 0) pto2__ring_observe(rt, r);
  for (;;) {
    if (r->next_local - r->seen_alive <= r->mask) {
      if (!bytes) {
        *buf = r->heap.base;
        return 0;
      }
      if ((*buf = pto2__heap_try_alloc(&r->heap, bytes))) return 0;
      if (!pto2__ring_observe(rt, r)) {
        int rc = wait_space(rt, r, SPACE_HEAP, bytes);
        if (rc) return rc;
      }
      continue;
    }
    if (!pto2__ring_observe(rt, r)) {
      int rc = wait_space(rt, r, SPACE_TASKS, 1);
      if (rc) return rc;
    }
  }
}
