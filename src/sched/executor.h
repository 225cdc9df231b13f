/* Executors (sched/executor.c): the threads that run tasks, the kernel
 * watchdog, and the abort handshake. */
#ifndef PTO2_SCHED_EXECUTOR_H
#define PTO2_SCHED_EXECUTOR_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "sched/sched.h"
#include "sched/slot.h"
#include "util/trace.h"

/* Memory a stuck kernel may still use (ring heaps and payloads), handed
 * over when its thread is abandoned; freed by the last of the abandoned
 * threads (and the orchestrator) to let go of it. */
typedef struct pto2__kept_mem {
  atomic_int refs;
  pto2_allocator mem;                /* a copy: the runtime may be gone */
  void *blocks[2 * PTO2_RING_COUNT]; /* per ring: payload blocks, heap */
} pto2__kept_mem;

/* Set in exec_seq when the thread is abandoned inside a kernel. */
#define PTO2__ABANDONED (UINT64_C(1) << 63)

/* What the watchdog sees of one thread that runs kernels.  Owned by the
 * runtime while the thread is in service; after the thread is abandoned
 * (sched/executor.c), by the thread and the orchestrator together (refs). */
typedef struct pto2__kernel_watch {
  /* Written by the thread; read by the watchdog and the orchestrator. */
  alignas(64) atomic_uint_fast64_t exec_seq; /* odd while a kernel runs */
  atomic_int cur_kernel;
  atomic_uint_fast64_t cur_task;
  /* Abandonment. */
  atomic_int refs;
  pto2__kept_mem *kept;
  pto2_allocator mem; /* a copy: the runtime may be gone */
} pto2__kernel_watch;

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
  pto2__kernel_watch *watch; /* of the thread now in service */
  uint64_t wd_seq, wd_since_ns; /* the orchestrator's stall samples */
  uint64_t kw_seq, kw_since_ns; /* the watchdog thread's samples (under wd_lock) */
  /* exec_seq of a kernel the watchdog found over kernel_timeout_ms. */
  atomic_uint_fast64_t stuck_seq;
  alignas(64) atomic_uint abort_ack; /* abort generation acknowledged */
} pto2__executor;

/* A task made ready by `ex`'s completion runs next on `ex` if it has no
 * successor lined up yet and is not SPMD; others go to the shared queue
 * for other executors (sched/sched.h).  A lined-up task's payload header,
 * which the orchestrator wrote on its core, is requested now, so that its
 * transfer overlaps the rest of the completion (the task is this
 * executor's: its last decrement made it ready, S1). */
static inline void pto2__make_ready_local(pto2_runtime *rt, pto2__executor *ex, pto2__slot *s) {
  if (!ex->next && s->block_num == 1) {
    ex->next = s;
    __builtin_prefetch(s->payload, 0, 3);
  } else {
    pto2__push_ready(rt, s);
  }
}

int pto2__executors_start(pto2_runtime *rt);
void pto2__executors_stop(pto2_runtime *rt);
/* Pops one ready task and runs it on `ex`; false if none was ready. */
bool pto2__run_one(pto2_runtime *rt, pto2__executor *ex);
/* Stops the executors after an error and waits until each acknowledged.
 * A worker inside a kernel the watchdog found over kernel_timeout_ms is
 * abandoned and replaced instead (its memory handed over).  Returns 0 or
 * PTO2_E_NO_MEMORY / PTO2_E_SYSTEM if a replacement could not be made. */
int pto2__executors_quiesce(pto2_runtime *rt);
void pto2__executors_resume(pto2_runtime *rt);
/* The kernel watchdog thread: samples every executor while a run is on. */
int pto2__watchdog_start(pto2_runtime *rt);
void pto2__watchdog_stop(pto2_runtime *rt);
/* Marks the start / end of a run for the watchdog. */
void pto2__watchdog_run(pto2_runtime *rt, bool running);

#endif
