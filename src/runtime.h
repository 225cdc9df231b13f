/*
 * The runtime object.  Each box has its own header:
 *   orch/orch.h        orchestrator: scopes, submit, waits (orch/policy.h:
 *                      what differs between scope modes)
 *   deps/tensormap.h   TensorMap; deps/tensor.h tensor geometry
 *   ring/ring.h        task windows, heaps, dependency pools, their lifecycle
 *   sched/slot.h       slot layout; sched/slot_inl.h the slot protocol's verbs
 *   sched/sched.h      ready tasks: queues, the orchestrator's ready batch
 *   sched/executor.h   executors
 *   platform/          threads, parking, clocks
 *   util/              errors, logging, traces, internal checks
 */
#ifndef PTO2_RUNTIME_H
#define PTO2_RUNTIME_H

#include <stdalign.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdbool.h>

#include "check/hazard.h"
#include "deps/readlog.h"
#include "deps/tensormap.h"
#include "orch/orch.h"
#include "platform/futex.h"
#include "pto2/pto2.h"
#include "ring/ring.h"
#include "sched/executor.h"
#include "sched/ready_queue.h"
#include "sched/sched.h"
#include "sched/slot.h"
#include "util/compiler.h"
#include "util/record.h"
#include "util/trace.h"

typedef struct pto2__kernel {
  pto2_kernel_fn fn; /* NULL = not registered */
  void *user;
  uint8_t type;      /* pto2_core_type */
  char name[32];
} pto2__kernel;

struct pto2_runtime {
  pto2_config cfg;
  pto2__kernel kernels[PTO2_MAX_KERNELS];
  /* Per lane (AIC, AIV0, AIV1), bit `id` set if kernel `id` is registered
   * for that lane's core type: a submit checks its kernels with one bit
   * test each (orch/orch.c resolve_lanes). */
  uint64_t lane_kernels[3];
  pto2__ring rings[PTO2_RING_COUNT];
  pto2__ready_queue queues[PTO2__SHAPE_COUNT];
  pto2__tensormap tmap;
  pto2__tensormap rmap;      /* readers, recorded in strict AUTO scopes only */
  pto2__readlog rlog;        /* readers of caller memory in strict AUTO (deps/readlog.h) */
  pto2__orch orch;
  pto2__hz *hz;               /* the hazard checker; NULL when it is off */
  pto2__ready_batch batch;   /* tasks the orchestrator found ready (sched/sched.h) */
  pto2__executor *executors; /* [0] is the caller of pto2_run() */
  uint32_t executor_count;
  bool in_run;
  bool broken;               /* a stuck worker could not be replaced (recover()) */
  bool tracing;              /* set between runs only */
  pto2__trace_buf orch_trace;  /* orchestrator phases */
  pto2__recorder *rec;       /* while tracing: tasks, edges, scopes (util/record.h) */
  uint64_t trace_origin_ns;  /* start of the traced run */
  char trace_run_id[48];     /* the traced run, in its trace and graph files ("" before one) */
  pto2__eventcount work_ec;      /* executors park here for ready work */
  pto2__eventcount progress_ec;  /* the orchestrator parks here for retirement */
  /* Rarely written; read on every submit and every executor iteration. */
  alignas(64) atomic_int error;  /* the run's first error; 0 = none */
  /* Bit 0: executors stop and acknowledge; bits 1..: the generation of the
   * orchestrator's last stop request (sched/executor.c). */
  atomic_uint abort;
  atomic_int shutdown;
  atomic_int error_msg_ready;    /* error_msg is complete (release after the copy) */
  uint32_t abort_gen;            /* orchestrator: last generation requested */
  /* The kernel watchdog thread (sched/executor.c). */
  pthread_t wd_thread;
  bool wd_started, wd_stop, wd_running; /* wd_stop, wd_running under wd_lock */
  pthread_mutex_t wd_lock;       /* also guards executors[].watch replacement */
  pthread_cond_t wd_cond;
  char error_msg[1024];          /* written by whoever set `error` */
};

/* Records the run's first error (later ones are only logged at debug
 * level), stops the executors, and returns `code`. */
int pto2__fail(pto2_runtime *rt, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A failing call of the host API (or an orchestration call outside a
 * run): records `code` and the message as the runtime's error, replacing
 * the last run's, and returns `code`.  During a run it fails the run
 * instead (pto2__fail). */
int pto2__host_fail(pto2_runtime *rt, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* PTO2_DEBUG_CHECKS builds: the runtimes between create and destroy.
 * pto2__runtime_live() logs (naming `api`) and returns false for any other
 * handle; in other builds it returns true without looking. */
void pto2__runtime_remember(const pto2_runtime *rt);
void pto2__runtime_forget(const pto2_runtime *rt);
bool pto2__runtime_live(const pto2_runtime *rt, const char *api);

#endif
