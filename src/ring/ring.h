/*
 * Rings: one set per scope depth (ring = min(depth, 3)).  Each ring has a
 * task window (slots), a heap for runtime-created outputs and a pool of
 * dependency entries.  All three are reclaimed in task order, driven by the
 * ring watermark `last_alive`: every task with a smaller local id is
 * CONSUMED.
 *
 * Theory of operation.
 *  (R1) Only the orchestrator allocates.  It publishes `head` (the next
 *       local id) with a release store after initialising the new slot, so
 *       an executor that acquires `head` never reads a slot's previous
 *       occupant as part of the live range.
 *  (R2) Executors advance `last_alive` under `advance_lock` (a try-lock).  A
 *       thread that consumes the task at the watermark and loses the
 *       try-lock relies on the holder re-checking after unlock; the seq_cst
 *       CONSUMED store, try-lock, unlock and re-check make one of the two
 *       see the other (docs/concurrency.md, "watermark").
 *  (R3) The orchestrator reclaims heap bytes and dependency entries up to
 *       the marks recorded for the newest retired task (last_alive - 1):
 *       allocation is in task order, so everything before that mark
 *       belongs to retired tasks.  Positions are free-running 64-bit
 *       counters, so "full" and "empty" never look alike.
 *  (R4) Payloads (a task's arguments and release list, up to ~3 KB) come
 *       from a payload window smaller than the task window: task `local`
 *       takes payload `local & pmask` of the newest payload block, which
 *       is free once the task `pmask + 1` before it in that block has
 *       retired.  So a run cycles through a few hundred payloads, which
 *       stay in the core's cache, instead of one per task slot.  When
 *       tasks that cannot retire before their scope ends fill the payload
 *       window, the ring starts a block twice as large (up to the task
 *       window) instead of waiting; a block older than the newest is freed
 *       once its last task has retired.  An executor reaches a payload only
 *       through its slot's `payload` pointer, written before the publish.
 */
#ifndef PTO2_RING_RING_H
#define PTO2_RING_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pto2/pto2.h"
#include "sched/slot.h"
#include "util/compiler.h"

/* Output heap: bytes [tail, top) are live; a buffer never straddles the end. */
typedef struct pto2__heap {
  char *base;
  uint64_t size;      /* power of two */
  uint64_t top, tail; /* free-running byte positions */
  uint64_t high_water;
} pto2__heap;

/* Dependency-entry pool: entries [tail, top) may be live. */
typedef struct pto2__dep_pool {
  pto2__dep_entry *entries;
  uint64_t capacity;
  uint64_t top, tail;     /* free-running entry counts */
  uint64_t top_index;     /* top % capacity, kept incrementally */
  uint64_t high_water;
} pto2__dep_pool;

/* A block of payloads (R4); the payloads follow the header. */
typedef struct pto2__payload_block {
  struct pto2__payload_block *older; /* still holds tasks that have not retired */
  uint64_t count;                    /* payloads in this block, a power of two */
} pto2__payload_block;

_Static_assert(sizeof(pto2__payload_block) <= 64, "the payloads start 64 bytes into a block");

/* The payload window a ring starts with (R4), or the task window if smaller. */
#define PTO2__PAYLOAD_WINDOW 512

typedef struct pto2__ring {
  /* Written by the orchestrator, read by executors (R1). */
  alignas(64) atomic_uint_fast64_t head;
  /* Written by executors, read by the orchestrator (R2). */
  alignas(64) atomic_uint_fast64_t last_alive;
  atomic_int advance_lock;
  uint64_t head_seen; /* under advance_lock: a value of head already acquired */
  /* Fixed at init. */
  alignas(64) pto2__slot *slots;
  pto2__task_meta *meta;
  pto2__reader_list *readers; /* strict AUTO only (sched/slot.h) */
  /* Orchestrator-private: every producer id of a held-back task, finished
   * ones included, so explicit edges are deduplicated by id. */
  pto2_task_id (*producer_ids)[PTO2_MAX_FANIN];
  uint64_t mask;
  uint8_t id;
  /* Orchestrator-private, on lines of their own: executors read the fixed
   * fields above when they advance the watermark. */
  alignas(64) uint64_t next_local; /* == head */
  uint64_t seen_alive;    /* last value of last_alive acted on (R3) */
  uint64_t limit;         /* next_local below this has a free slot and payload (R4) */
  pto2__payload *payloads; /* the newest payload block's payloads (R4) */
  uint64_t pmask;         /* its count - 1 */
  uint64_t pfirst;        /* the first task that took a payload from it */
  pto2__payload_block *pblock;
  uint64_t tmap_cleaned;  /* TensorMap entries of tasks below this are freed */
  uint64_t task_high_water;
  pto2__heap heap;
  pto2__dep_pool deps;
} pto2__ring;

static inline pto2__slot *pto2__ring_slot(pto2__ring *r, uint64_t local) {
  return &r->slots[local & r->mask];
}

static inline pto2__task_meta *pto2__ring_meta(pto2__ring *r, uint64_t local) {
  return &r->meta[local & r->mask];
}

/* The payload the next task takes (R4), once the allocation succeeded. */
static inline pto2__payload *pto2__ring_next_payload(pto2__ring *r) {
  return &r->payloads[r->next_local & r->pmask];
}

/* The first task id that has no free slot or payload yet (R4): slots free
 * up as the watermark passes, payloads of the newest block too, and a new
 * block has pmask + 1 of them free from pfirst on. */
static inline void pto2__ring_set_limit(pto2__ring *r) {
  uint64_t base = r->seen_alive > r->pfirst ? r->seen_alive : r->pfirst;
  uint64_t by_slots = r->seen_alive + r->mask + 1, by_payloads = base + r->pmask + 1;
  r->limit = by_slots < by_payloads ? by_slots : by_payloads;
}

/* Tries to place n bytes; on success returns the buffer and moves top. */
static inline char *pto2__heap_try_alloc(pto2__heap *h, uint64_t n) {
  uint64_t pos = h->top & (h->size - 1);
  uint64_t waste = pos + n > h->size ? h->size - pos : 0;
  if (waste && h->top == h->tail) {
    /* Empty ring: restart at offset 0 instead of wasting the tail end. */
    h->top = h->tail = h->top + waste;
    pos = 0;
    waste = 0;
  }
  if (h->top + waste + n - h->tail > h->size) return 0;
  char *p = h->base + ((pos + waste) & (h->size - 1));
  h->top += waste + n;
  if (h->top - h->tail > h->high_water) h->high_water = h->top - h->tail;
  return p;
}

static inline uint64_t pto2__dep_pool_free(const pto2__dep_pool *p) {
  return p->capacity - (p->top - p->tail);
}

/* Takes one entry; the caller has checked pto2__dep_pool_free(). */
static inline pto2__dep_entry *pto2__dep_pool_take(pto2__dep_pool *p) {
  pto2__dep_entry *e = &p->entries[p->top_index];
  if (++p->top_index == p->capacity) p->top_index = 0;
  p->top++;
  if (p->top - p->tail > p->high_water) p->high_water = p->top - p->tail;
  return e;
}

/* ---- lifecycle (ring/ring.c) ------------------------------------------- */

int pto2__ring_init(pto2__ring *r, uint8_t id, const pto2_config *c);
void pto2__ring_fini(pto2__ring *r, const pto2_allocator *a);
/* With no executor using the ring: gives it fresh payloads and heap and
 * returns the old ones in old[0] (pto2__ring_free_payloads) and old[1]
 * (pto2__free) (a stuck kernel may still use them).  PTO2_E_NO_MEMORY
 * leaves the ring as it was. */
int pto2__ring_renew(pto2__ring *r, const pto2_config *c, void **old);
/* Frees a payload block and the older ones it links to. */
void pto2__ring_free_payloads(const pto2_allocator *a, void *block);
/* Start of a run: clears the high-water marks. */
void pto2__ring_run_begin(pto2__ring *r);
/* After an error, with no executor running: drops every task in flight
 * (their TensorMap entries are cleared by the caller) and empties the ring. */
void pto2__ring_reset(pto2__ring *r);
/* Acts on a new watermark of ring r (R3): reclaims heap bytes, dependency
 * entries and TensorMap entries of retired tasks.  True if it moved. */
bool pto2__ring_observe(pto2_runtime *rt, pto2__ring *r);
/* Slow path of pto2__ring_alloc: waits for retirement (running ready tasks
 * meanwhile) or reports a ring that can never make room. */
int pto2__ring_alloc_slow(pto2_runtime *rt, pto2__ring *r, uint64_t bytes, char **buf);
/* Makes sure `need` dependency entries are free, waiting if needed. */
int pto2__ring_wait_deps(pto2_runtime *rt, pto2__ring *r, uint64_t need);
/* Appends " ring i: ..." for each ring with tasks in flight (stall messages). */
void pto2__rings_describe(pto2_runtime *rt, char *buf, size_t len);

/* ---- allocation (orchestrator) ----------------------------------------- */

/* Allocates the next task slot, its payload and `bytes` of heap; waits
 * (slow path) if the ring is full, and every 64 tasks to keep the ring
 * trimmed. */
static inline int pto2__ring_alloc(pto2_runtime *rt, pto2__ring *r, uint64_t bytes, char **buf) {
  if (PTO2_LIKELY((r->next_local & 63) != 0 && r->next_local < r->limit)) {
    if (!bytes) {
      *buf = r->heap.base;
      return 0;
    }
    if ((*buf = pto2__heap_try_alloc(&r->heap, bytes))) return 0;
  }
  return pto2__ring_alloc_slow(rt, r, bytes, buf);
}

/* Publishes the initialised slot of task `local` to executors (R1). */
static inline void pto2__ring_publish_head(pto2__ring *r, uint64_t local) {
  r->next_local = local + 1;
  /* Release: the slot is initialised before executors scan it (R1). */
  atomic_store_explicit(&r->head, local + 1, memory_order_release);
  if (local + 1 - r->seen_alive > r->task_high_water) r->task_high_water = local + 1 - r->seen_alive;
}

#endif
