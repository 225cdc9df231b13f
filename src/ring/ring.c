/*
 * Ring lifecycle (ring/ring.h): creation, reclamation as the watermark
 * moves (R3), the slow path of allocation (back-pressure), and the report
 * of a ring that can never make room.
 *
 * A ring that must retire a task whose scope is still open can never make
 * room (the orchestrator would have to end that scope first): this is
 * reported at once, naming what is full and what to raise.
 */
#include "ring/ring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orch/orch_internal.h"
#include "platform/clock.h"
#include "sched/slot_inl.h"
#include "util/alloc.h"
#include "util/check.h"

/* ------------------------------------------------------------------------ */
/* Create, reset, destroy                                                    */
/* ------------------------------------------------------------------------ */

/* Starts a payload block of `count` payloads (after its header, at 64
 * bytes), linked to the older ones (R4); the next task takes its first
 * payload. */
static int new_payload_block(pto2__ring *r, const pto2_allocator *a, uint64_t count,
                             pto2__payload_block *older) {
  pto2__payload_block *b = pto2__alloc64(a, 64 + count * sizeof(pto2__payload));
  if (!b) return PTO2_E_NO_MEMORY;
  b->older = older;
  b->count = count;
  r->pblock = b;
  r->payloads = (pto2__payload *)((char *)b + 64);
  r->pmask = count - 1;
  r->pfirst = r->next_local;
  pto2__ring_set_limit(r);
  return 0;
}

void pto2__ring_free_payloads(const pto2_allocator *a, void *block) {
  for (pto2__payload_block *b = block, *older; b; b = older) {
    older = b->older;
    pto2__free64(a, b);
  }
}

int pto2__ring_init(pto2__ring *r, uint8_t id, const pto2_config *c) {
  uint64_t window = c->task_window;
  r->id = id;
  r->mask = window - 1;
  const pto2_allocator *a = &c->allocator;
  r->slots = pto2__zalloc64(a, window * sizeof *r->slots);
  r->meta = pto2__zalloc64(a, window * sizeof *r->meta);
  r->readers = pto2__zalloc64(a, window * sizeof *r->readers);
  r->producer_ids = pto2__alloc(a, window * sizeof *r->producer_ids);
  r->heap.base = pto2__alloc(a, c->heap_size); /* untouched until kernels write */
  r->heap.size = c->heap_size;
  r->deps.entries = pto2__alloc(a, (size_t)c->dep_pool * sizeof *r->deps.entries);
  r->deps.capacity = c->dep_pool;
  if (!r->slots || !r->meta || !r->readers || !r->producer_ids || !r->heap.base ||
      !r->deps.entries)
    return PTO2_E_NO_MEMORY;
  atomic_store_explicit(&r->last_alive, 0, memory_order_relaxed);
  atomic_store_explicit(&r->head, 0, memory_order_relaxed);
  return new_payload_block(r, a, window < PTO2__PAYLOAD_WINDOW ? window : PTO2__PAYLOAD_WINDOW, 0);
}

int pto2__ring_renew(pto2__ring *r, const pto2_config *c, void **old) {
  const pto2_allocator *a = &c->allocator;
  pto2__payload_block *blocks = r->pblock;
  char *heap = pto2__alloc(a, c->heap_size);
  if (!heap) return PTO2_E_NO_MEMORY;
  if (new_payload_block(r, a, blocks->count, 0)) {
    pto2__free(a, heap);
    return PTO2_E_NO_MEMORY;
  }
  old[0] = blocks; /* with the older blocks it links to */
  old[1] = r->heap.base;
  r->heap.base = heap;
  return 0;
}

void pto2__ring_fini(pto2__ring *r, const pto2_allocator *a) {
  pto2__free64(a, r->slots);
  pto2__ring_free_payloads(a, r->pblock);
  pto2__free64(a, r->meta);
  pto2__free64(a, r->readers);
  pto2__free(a, r->producer_ids);
  pto2__free(a, r->heap.base);
  pto2__free(a, r->deps.entries);
  memset(r, 0, sizeof *r);
}

void pto2__ring_run_begin(pto2__ring *r) {
  r->task_high_water = 0;
  r->heap.high_water = 0;
  r->deps.high_water = 0;
}

void pto2__ring_reset(pto2__ring *r) {
  for (uint64_t l = r->tmap_cleaned; l < r->next_local; l++)
    pto2__ring_meta(r, l)->tmap_chain = pto2__ring_meta(r, l)->rmap_chain = 0;
  r->seen_alive = r->tmap_cleaned = r->head_seen = r->next_local;
  atomic_store_explicit(&r->last_alive, r->next_local, memory_order_relaxed);
  r->heap.tail = r->heap.top;
  r->deps.tail = r->deps.top;
  pto2__ring_set_limit(r);
}

/* ------------------------------------------------------------------------ */
/* Retirement, as seen by the orchestrator (R3)                              */
/* ------------------------------------------------------------------------ */

bool pto2__ring_observe(pto2_runtime *rt, pto2__ring *r) {
  /* Acquire: pairs with the executors' release of last_alive; the retired
   * slots, heap bytes and dependency entries are then free to reuse. */
  uint64_t alive = atomic_load_explicit(&r->last_alive, memory_order_acquire);
  if (alive == r->seen_alive) return false;
  PTO2_CHECK(rt, "R3", alive > r->seen_alive && alive <= r->next_local);
  const pto2__task_meta *newest = pto2__ring_meta(r, alive - 1);
  /* Never backwards: a restart at offset 0 moved the tail past the marks
   * of tasks submitted before it (pto2__heap_try_alloc). */
  if (newest->heap_end > r->heap.tail) r->heap.tail = newest->heap_end;
  if (newest->dep_mark > r->deps.tail) r->deps.tail = newest->dep_mark;
  PTO2_CHECK(rt, "R3", r->heap.tail <= r->heap.top && r->deps.tail <= r->deps.top);
  for (uint64_t l = r->tmap_cleaned; l < alive; l++) {
    pto2__task_meta *m = pto2__ring_meta(r, l);
    if (m->tmap_chain) pto2__tmap_free_chain(&rt->tmap, &m->tmap_chain); /* (T3) */
    if (m->rmap_chain) pto2__tmap_free_chain(&rt->rmap, &m->rmap_chain);
  }
  r->tmap_cleaned = r->seen_alive = alive;
  pto2__ring_set_limit(r);
  /* Every task that took a payload from an older block has retired (R4). */
  if (PTO2_UNLIKELY(r->pblock->older != 0) && alive >= r->pfirst) {
    pto2__ring_free_payloads(&rt->cfg.allocator, r->pblock->older);
    r->pblock->older = 0;
  }
  return true;
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
  case SPACE_TASKS: return r->next_local < r->limit;
  case SPACE_DEPS: return pto2__dep_pool_free(&r->deps) >= need;
  default: {
    /* Trial allocation on a copy: the heap only moves when the task
     * allocates for real. */
    pto2__heap h = r->heap;
    return pto2__heap_try_alloc(&h, need) != 0;
  }
  }
}

/* The payload window, not the task window, keeps the next task out (R4). */
static bool payload_bound(const pto2__ring *r) {
  return r->next_local >= r->limit && r->next_local - r->seen_alive <= r->mask;
}

/* Tasks that cannot retire before their scope ends fill the payload
 * window: the next tasks take payloads from a block twice as large (R4). */
static int grow_payloads(pto2_runtime *rt, pto2__ring *r) {
  uint64_t count = 2 * (r->pmask + 1);
  if (count > r->mask + 1) count = r->mask + 1;
  if (new_payload_block(r, &rt->cfg.allocator, count, r->pblock))
    return pto2__fail(rt, PTO2_E_NO_MEMORY,
                      "out of memory: ring %u needs room for %llu more task payloads (%llu bytes) "
                      "while tasks of an open scope hold the ones it has",
                      r->id, (unsigned long long)count,
                      (unsigned long long)(count * sizeof(pto2__payload)));
  return 0;
}

static bool space_ready(pto2_runtime *rt, void *ctx) {
  space_wait *w = ctx;
  pto2__ring_observe(rt, w->r);
  if (fits(w->r, w->kind, w->need)) return true;
  pto2__ring *r = w->r;
  if (r->seen_alive < r->next_local &&
      pto2__pinned_by_open_scope(&rt->orch, pto2__ring_meta(r, r->seen_alive))) {
    /* Nothing retires before the open scope ends. */
    if (w->kind == SPACE_TASKS && payload_bound(r)) w->result = grow_payloads(rt, r);
    else w->result = report_deadlock(rt, w);
    return true;
  }
  return false;
}

static int wait_space(pto2_runtime *rt, pto2__ring *r, enum space_kind kind, uint64_t need) {
  space_wait w = {r, kind, need, 0};
  static const char *what[] = {"a free task slot", "ring heap space",
                               "free dependency entries"};
  uint64_t start = pto2__now_ns();
  int rc = pto2__orch_wait(rt, space_ready, &w, what[kind]);
  uint64_t ns = pto2__now_ns() - start;
  rt->orch.blocked_ns[r->id][kind] += ns;
  if (PTO2_UNLIKELY(rt->tracing)) pto2__rec_blocked(rt, r->id, (unsigned)kind, ns);
  return rc ? rc : w.result;
}

int pto2__ring_wait_deps(pto2_runtime *rt, pto2__ring *r, uint64_t need) {
  if (need > r->deps.capacity)
    return pto2__fail(rt, PTO2_E_DEP_POOL_OVERFLOW,
                      "FATAL: Dependency Pool Overflow! ring %u: a task needs %llu entries, more "
                      "than the pool holds (%llu). Raise PTO2_RING_DEP_POOL (e.g. "
                      "PTO2_RING_DEP_POOL=%llu).",
                      r->id, (unsigned long long)need, (unsigned long long)r->deps.capacity,
                      (unsigned long long)raise_to(need));
  return wait_space(rt, r, SPACE_DEPS, need);
}

int pto2__ring_alloc_slow(pto2_runtime *rt, pto2__ring *r, uint64_t bytes, char **buf) {
  if (PTO2_UNLIKELY(bytes > r->heap.size))
    return pto2__fail(rt, PTO2_E_HEAP_RING_DEADLOCK,
                      "a task needs %llu output bytes, more than ring %u's heap holds (%llu). "
                      "Raise PTO2_RING_HEAP (e.g. PTO2_RING_HEAP=%llu).",
                      (unsigned long long)bytes, r->id, (unsigned long long)r->heap.size,
                      (unsigned long long)raise_to(bytes));
  /* Keep the TensorMap and the pools trimmed even when nothing is full. */
  if ((r->next_local & 63) == 0) pto2__ring_observe(rt, r);
  for (;;) {
    if (r->next_local < r->limit) {
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

/* ------------------------------------------------------------------------ */
/* Diagnostics                                                               */
/* ------------------------------------------------------------------------ */

void pto2__rings_describe(pto2_runtime *rt, char *buf, size_t len) {
  size_t n = 0;
  buf[0] = 0;
  for (unsigned i = 0; i < PTO2_RING_COUNT && n < len; i++) {
    pto2__ring *r = &rt->rings[i];
    uint64_t in_flight = r->next_local - r->seen_alive;
    if (!in_flight) continue;
    int state, waiting;
    pto2__slot_peek(pto2__ring_slot(r, r->seen_alive), &state, &waiting);
    n += (size_t)snprintf(
        buf + n, len - n,
        " ring %u: %llu tasks in flight, oldest %u:%llu in state %d waiting for %d producers;",
        i, (unsigned long long)in_flight, i, (unsigned long long)r->seen_alive, state, waiting);
    if (n < len) n += pto2__describe_held_back(rt, pto2__ring_slot(r, r->seen_alive), buf + n, len - n);
  }
}
