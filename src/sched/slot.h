/*
 * Task slots: the state one task occupies in its ring while it is in flight.
 *
 * Each ring has `window` slots; task `local` lives in slot `local & mask`.
 * A slot has three parts with different owners:
 *   pto2__slot     shared: the reference-count protocol (64 bytes, one line)
 *   pto2__payload  written by the orchestrator at submit, read by the
 *                  executor that runs the task
 *   pto2__task_meta  orchestrator-private bookkeeping
 *
 * Reference-count protocol (see docs/concurrency.md):
 *  (S1) fanin_remaining counts what the task still waits for: one per
 *       unfinished producer, plus one "publish" share held by the
 *       orchestrator.  It is set before the task is linked into any
 *       producer's fanout list; a finishing producer decrements it, and the
 *       decrement that reaches zero makes the task ready.  The publish share
 *       keeps it above zero until the orchestrator lets go, and nothing
 *       about the task is read after a decrement (the task may be finished
 *       and its slot reused by then).  A held-back task's share is
 *       PTO2__HELD_SHARE, more than the producers explicit edges can add,
 *       so those edges are counted in the orchestrator's late_fanin and
 *       enter fanin_remaining with the publish, in one subtraction.
 *  (S2) fanout_count counts references that must be dropped before the
 *       task's memory may be reused: one for its scope plus one per
 *       registered consumer or lifetime holder (a holder that becomes a
 *       consumer keeps its one reference).  fanout_refcount counts dropped
 *       references.  Only the orchestrator writes fanout_count.
 *  (S3) fanout_count, fanout_head and the COMPLETED / CONSUMED transitions
 *       change only under fanout_lock, so a consumer registering late either
 *       sees COMPLETED (and counts the producer as finished) or is linked
 *       before the completion walk reads the list, and never registers on a
 *       CONSUMED task.  Except while the task is held back (unpublished):
 *       then it cannot run, so no executor reads its list or changes its
 *       state, and the orchestrator registers without the lock; its publish
 *       releases those writes to the executor that completes it.
 *  (S4) A CONSUMED task's slot is reclaimed once every older task of its
 *       ring is CONSUMED too (the ring watermark passes it).
 */
#ifndef PTO2_SCHED_SLOT_H
#define PTO2_SCHED_SLOT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#include "pto2/pto2.h"

enum pto2__task_state {
  PTO2__TASK_PENDING = 0,
  PTO2__TASK_COMPLETED = 3,
  PTO2__TASK_CONSUMED = 4,
};

/* Resource shapes: what a task occupies while it runs. */
enum pto2__shape { PTO2__SHAPE_AIC = 0, PTO2__SHAPE_AIV = 1, PTO2__SHAPE_MIX = 2, PTO2__SHAPE_COUNT };

/* Lanes of a task, as bits of active_mask. */
enum { PTO2__LANE_AIC = 0, PTO2__LANE_AIV0 = 1, PTO2__LANE_AIV1 = 2, PTO2__LANE_COUNT = 3 };

struct pto2__slot;

/* Lanes in a 3-bit lane mask (no libgcc popcount call on the hot path). */
static inline int pto2__lane_count(unsigned mask) {
  return (int)((mask & 1u) + ((mask >> 1) & 1u) + ((mask >> 2) & 1u));
}

/* One consumer in a producer's fanout list. */
typedef struct pto2__dep_entry {
  struct pto2__slot *consumer;
  struct pto2__dep_entry *next;
} pto2__dep_entry;

/* References a task drops when it completes: its producers, and in MANUAL
 * and GRAPH scopes a lifetime hold on each tensor's creator (at most one per
 * tensor argument). */
#define PTO2__MAX_RELEASES (PTO2_MAX_FANIN + PTO2_MAX_TENSOR_ARGS)

typedef struct pto2__payload {
  pto2_task_id id;
  int8_t kernel[PTO2__LANE_COUNT];   /* by lane, -1 = unused */
  uint8_t tensor_count;
  uint8_t scalar_count;
  uint8_t fanin_count;               /* entries of fanin[] */
  uint32_t hold_mask;                /* fanin[i] is a lifetime hold, not a producer */
  struct pto2__slot *fanin[PTO2__MAX_RELEASES]; /* to release on completion */
  pto2_tensor tensors[PTO2_MAX_TENSOR_ARGS];
  uint64_t scalars[PTO2_MAX_SCALAR_ARGS];
} pto2__payload;

typedef struct pto2__slot {
  atomic_int fanin_remaining;  /* (S1) executors and orchestrator */
  atomic_int fanout_lock;      /* (S3) */
  atomic_int fanout_count;     /* (S2) under fanout_lock; relaxed reads outside */
  pto2__dep_entry *fanout_head;  /* (S3) under fanout_lock */
  atomic_int fanout_refcount;  /* (S2) */
  _Atomic uint8_t state;       /* enum pto2__task_state */
  uint8_t ring;
  uint8_t shape;               /* enum pto2__shape */
  uint8_t active_mask;         /* lanes with a kernel */
  atomic_int subtasks_done;    /* block_num > 1: lanes x blocks finished */
  atomic_int next_block;       /* block_num > 1: next block to claim */
  int16_t block_num;           /* 1..32767 */
  bool deferred;               /* orchestrator only: published at scope end */
  uint8_t late_fanin;          /* orchestrator only: producers linked to the held-back task
                                  by explicit edges, not yet in fanin_remaining (S1) */
  uint32_t rec;                /* while tracing: the task's record (util/record.h), set
                                  before the publish */
  pto2__payload *payload;      /* set at submit, before the publish (ring/ring.h, R4) */
} pto2__slot;

_Static_assert(sizeof(pto2__slot) <= 64, "slot state must fit one cache line");

/* Readers of a task's outputs listed in its meta (strict AUTO). */
#define PTO2__LISTED_READERS 4

/* Orchestrator-private facts about the task in a slot. */
typedef struct pto2__task_meta {
  uint64_t local;        /* local id of the task now in the slot */
  uint64_t heap_end;     /* heap position after this task's outputs */
  uint64_t dep_mark;     /* dependency-pool top after this task's wiring */
  uint64_t seq;          /* submission number within the run (backward edges) */
  uint32_t scope_seq;    /* the scope that owns the task */
  uint16_t scope_depth;
  /* A consumer held back until the end of this scope references the task,
   * so the task cannot retire before that scope ends (0 = none). */
  uint16_t held_depth;   /* scope depth + 1 */
  uint32_t held_seq;
  uint8_t producer_count; /* held-back tasks: entries of ring->producer_ids */
  uint8_t on_path;       /* cycle check: on the current search path */
  uint32_t visit;        /* cycle check: number of the last search that reached it */
  void *tmap_chain;      /* TensorMap entries to free when this task retires */
  void *rmap_chain;      /* reader entries (strict AUTO) to free then */
} pto2__task_meta;

/* Strict AUTO: the first readers of a task's outputs, beside its meta (in
 * a ring array of their own, touched only by strict scopes).  A list is
 * the task's while `tag` is its local id + 1; count is then
 * PTO2__LISTED_READERS + 1 once later readers went to the reader map. */
typedef struct pto2__reader_list {
  uint64_t tag;
  uint8_t count;
  pto2_task_id ids[PTO2__LISTED_READERS];
} pto2__reader_list;

#endif
