/*
 * The orchestrator (orch/): scopes, submit, explicit edges, blocking data
 * access and waits.  Its state is used only by the thread inside
 * pto2_run().
 */
#ifndef PTO2_ORCH_ORCH_H
#define PTO2_ORCH_ORCH_H

#include <stdbool.h>
#include <stdint.h>

#include "pto2/pto2.h"
#include "sched/sched.h"
#include "sched/slot.h"

typedef struct pto2__scope {
  uint64_t first_local; /* its ring's next_local when it opened: its tasks come after */
  uint32_t begin;       /* index of its first task in scope_tasks */
  uint32_t seq;         /* unique per runtime; identifies the scope once it ended */
  uint8_t mode;         /* pto2_scope_mode */
  uint8_t ring;
  bool backward_edge;   /* an explicit edge points to an earlier-submitted task */
} pto2__scope;

typedef struct pto2__orch {
  bool active;          /* inside pto2_run() */
  uint32_t depth;       /* open scopes, the root included */
  uint8_t ring;         /* min(depth - 1, 3) */
  uint8_t mode;         /* mode of the innermost scope */
  pto2__scope scopes[PTO2_MAX_SCOPE_DEPTH];
  pto2__slot **scope_tasks;
  uint32_t scope_task_count, scope_task_cap;
  uint32_t next_scope_seq;
  uint64_t tasks, edges;   /* tasks also numbers submissions: see task_meta.seq */
  uint32_t visit;          /* cycle check: number of the current search */
  uint64_t blocked_ns[PTO2_RING_COUNT][3]; /* waits for a slot, heap, dep entries */
} pto2__orch;

/* orch/orch.c: run lifecycle */
int pto2__orch_init(pto2_runtime *rt);
void pto2__orch_fini(pto2_runtime *rt);
void pto2__orch_run_begin(pto2_runtime *rt);
/* Closes the root scope, waits until every task retired. */
int pto2__orch_run_end(pto2_runtime *rt);
/* After an error: forgets every scope and every task found ready. */
void pto2__orch_reset(pto2_runtime *rt);
/* Pushes the tasks the orchestrator found ready so far. */
void pto2__orch_flush_ready(pto2_runtime *rt);

/* orch/wait.c: waits of the orchestrator, which runs ready tasks meanwhile
 * and watches for stalls.  `done(rt, ctx)` is re-evaluated after every
 * step.  Returns 0, or the run's error. */
typedef bool (*pto2__wait_done_fn)(pto2_runtime *rt, void *ctx);
int pto2__orch_wait(pto2_runtime *rt, pto2__wait_done_fn done, void *ctx, const char *what);

#endif
