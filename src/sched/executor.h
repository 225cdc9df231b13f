/* Executors (sched/executor.c): the threads that run tasks. */
#ifndef PTO2_SCHED_EXECUTOR_H
#define PTO2_SCHED_EXECUTOR_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "sched/sched.h"
#include "sched/slot.h"
#include "util/trace.h"

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

/* A task made ready by `ex`'s completion runs next on `ex` if it has no
 * successor lined up yet and is not SPMD; others go to the shared queue
 * for other executors (sched/sched.h). */
static inline void pto2__make_ready_local(pto2_runtime *rt, pto2__executor *ex, pto2__slot *s) {
  if (!ex->next && s->block_num == 1) ex->next = s;
  else pto2__push_ready(rt, s);
}

int pto2__executors_start(pto2_runtime *rt);
void pto2__executors_stop(pto2_runtime *rt);
/* Pops one ready task and runs it on `ex`; false if none was ready. */
bool pto2__run_one(pto2_runtime *rt, pto2__executor *ex);
/* Stops the executors after an error and waits until each acknowledged.
 * Returns false if one is still inside a kernel after the kernel timeout. */
bool pto2__executors_quiesce(pto2_runtime *rt);
void pto2__executors_resume(pto2_runtime *rt);

#endif
