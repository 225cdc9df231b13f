/*
 * The runtime object and the internal interfaces between its boxes:
 *   orch/      orchestrator: scopes, submit, blocking data access, waits
 *   deps/      TensorMap and tensor geometry
 *   ring/      task windows, heaps, dependency pools
 *   sched/     slot protocol, ready queues, completion, watermark
 *   platform/  threads, parking, clocks
 */
#ifndef PTO2_RUNTIME_H
#define PTO2_RUNTIME_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "deps/tensormap.h"
#include "platform/futex.h"
#include "pto2/pto2.h"
#include "ring/ring.h"
#include "sched/ready_queue.h"
#include "sched/slot.h"

#define PTO2_LIKELY(x) __builtin_expect(!!(x), 1)
#define PTO2__ORCH_BATCH 32
#define PTO2_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* One span of a trace: a kernel invocation, or an orchestrator phase
 * (kernel < 0: -1 orchestration, -2 wait, -3 drain). */
typedef struct pto2__trace_event {
  uint64_t start_ns, end_ns;
  uint64_t task;  /* pto2_task_id.raw, or 0 */
  int32_t core;   /* simulated core id, -1 for the orchestrator */
  int16_t kernel;
  int16_t block;
  const char *what; /* phases: a static description */
} pto2__trace_event;

typedef struct pto2__trace_buf {
  pto2__trace_event *events;
  uint32_t count, capacity;
} pto2__trace_buf;

typedef struct pto2__kernel {
  pto2_kernel_fn fn; /* NULL = not registered */
  void *user;
  uint8_t type;      /* pto2_core_type */
  char name[32];
} pto2__kernel;

/* One thread that runs tasks: a worker thread, or the caller of pto2_run()
 * (executor 0) while it waits.  It owns clusters [cluster_first,
 * cluster_first + cluster_count) and runs one kernel at a time on them. */
typedef struct pto2__executor {
  pto2_runtime *rt;
  uint32_t index;
  uint32_t cluster_first, cluster_count, cluster_next;
  pto2__slot *next;  /* a task this executor made ready and runs next */
  pto2__trace_buf trace; /* this executor's kernel spans (tracing only) */
  pthread_t thread;
  bool started;
  uint64_t wd_seq, wd_since_ns; /* the orchestrator's watchdog samples */
  /* Written only by this executor; read by the watchdog. */
  alignas(64) atomic_uint_fast64_t exec_seq; /* odd while a kernel runs */
  atomic_int cur_kernel;
  atomic_uint_fast64_t cur_task;
  atomic_int abort_ack;              /* acknowledged rt->abort */
} pto2__executor;

typedef struct pto2__scope {
  uint32_t begin;       /* index of its first task in scope_tasks */
  uint32_t seq;         /* unique per runtime; identifies the scope once it ended */
  uint8_t mode;         /* pto2_scope_mode */
  uint8_t ring;
  bool backward_edge;   /* an explicit edge points to an earlier-submitted task */
} pto2__scope;

/* Orchestrator state: used only by the thread inside pto2_run(). */
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
  /* Tasks found ready by the orchestrator, pushed to the ready queues in
   * batches (and always before it waits), so that executors trail the
   * orchestrator by a batch instead of contending for the lines it is
   * writing. */
  uint32_t pending_count;
  pto2__slot *pending[PTO2__ORCH_BATCH];
} pto2__orch;

struct pto2_runtime {
  pto2_config cfg;
  pto2__kernel kernels[PTO2_MAX_KERNELS];
  pto2__ring rings[PTO2_RING_COUNT];
  pto2__ready_queue queues[PTO2__SHAPE_COUNT];
  pto2__tensormap tmap;
  pto2__orch orch;
  pto2__executor *executors; /* [0] is the caller of pto2_run() */
  uint32_t executor_count;
  bool in_run;
  bool broken;               /* an executor never returned from a kernel */
  bool tracing;              /* set between runs only */
  pto2__trace_buf orch_trace;  /* orchestrator phases */
  uint64_t trace_origin_ns;  /* start of the traced run */
  pto2__eventcount work_ec;      /* executors park here for ready work */
  pto2__eventcount progress_ec;  /* the orchestrator parks here for retirement */
  /* Rarely written; read on every submit and every executor iteration. */
  alignas(64) atomic_int error;  /* the run's first error; 0 = none */
  atomic_int abort;              /* executors stop and acknowledge */
  atomic_int shutdown;
  char error_msg[1024];          /* written by whoever set `error` */
};

/* Records the run's first error (later ones are only logged at debug
 * level), stops the executors, and returns `code`. */
int pto2__fail(pto2_runtime *rt, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* util/trace.c */
static inline void pto2__trace_add(pto2__trace_buf *b, const pto2__trace_event *e) {
  if (b->count < b->capacity) b->events[b->count++] = *e;
}
void pto2__trace_run_begin(pto2_runtime *rt, uint64_t now);
void pto2__trace_free(pto2_runtime *rt);
/* Records an orchestrator phase if tracing. */
void pto2__trace_phase(pto2_runtime *rt, int16_t kind, const char *what, uint64_t start,
                       uint64_t end);

/* sched/sched.c */
/* Pushes a ready task to its shape's queue and wakes a parked executor. */
void pto2__push_ready(pto2_runtime *rt, pto2__slot *s);
/* Pushes the orchestrator's batch of ready tasks. */
void pto2__orch_flush_ready(pto2_runtime *rt);
/* A task the orchestrator found ready: batched (see pto2__orch.pending),
 * unless an executor is parked and would otherwise idle. */
static inline void pto2__orch_ready(pto2_runtime *rt, pto2__slot *s) {
  pto2__orch *o = &rt->orch;
  o->pending[o->pending_count++] = s;
  /* Relaxed: a hint; a missed sleeper is woken by the next flush, which
   * every wait of the orchestrator performs first. */
  if (PTO2_UNLIKELY(o->pending_count == PTO2__ORCH_BATCH ||
                    atomic_load_explicit(&rt->work_ec.waiters, memory_order_relaxed)))
    pto2__orch_flush_ready(rt);
}
void pto2__task_complete(pto2_runtime *rt, pto2__executor *ex, pto2__slot *s);
void pto2__release_ref(pto2_runtime *rt, pto2__slot *p);

/* sched/executor.c */
int pto2__executors_start(pto2_runtime *rt);
void pto2__executors_stop(pto2_runtime *rt);
/* Pops one ready task and runs it on `ex`; false if none was ready. */
bool pto2__run_one(pto2_runtime *rt, pto2__executor *ex);
/* Stops the executors after an error and waits until each acknowledged.
 * Returns false if one is still inside a kernel after the kernel timeout. */
bool pto2__executors_quiesce(pto2_runtime *rt);
void pto2__executors_resume(pto2_runtime *rt);

/* orch/orch.c */
int pto2__orch_init(pto2_runtime *rt);
void pto2__orch_fini(pto2_runtime *rt);
void pto2__orch_run_begin(pto2_runtime *rt);
/* Closes the root scope, waits until every task retired. */
int pto2__orch_run_end(pto2_runtime *rt);
/* After an error: drops every task in flight and empties every structure. */
void pto2__orch_reset(pto2_runtime *rt);

/* orch/wait.c: waits of the orchestrator, which runs ready tasks meanwhile
 * and watches for stalls.  `done(rt, ctx)` is re-evaluated after every
 * step.  Returns 0, or the run's error. */
typedef bool (*pto2__wait_done_fn)(pto2_runtime *rt, void *ctx);
int pto2__orch_wait(pto2_runtime *rt, pto2__wait_done_fn done, void *ctx, const char *what);
/* Acts on a new watermark of ring r (R3); true if it moved. */
bool pto2__ring_observe(pto2_runtime *rt, pto2__ring *r);

#endif
