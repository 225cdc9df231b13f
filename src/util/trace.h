/* Run traces (util/trace.c): per-executor kernel spans and orchestrator
 * phases, written in the Chrome trace-event format. */
#ifndef PTO2_UTIL_TRACE_H
#define PTO2_UTIL_TRACE_H

#include <stdint.h>

#include "pto2/pto2.h"
#include "util/compiler.h"

/* One span of a trace: a kernel invocation, or an orchestrator phase
 * (kernel < 0: -1 orchestration, -2 wait, -3 drain). */
typedef struct pto2__trace_event {
  uint64_t start_ns, end_ns;
  uint64_t task;  /* pto2_task_id.raw, or 0 */
  int32_t core;   /* simulated core id, -1 for the orchestrator */
  int16_t kernel;
  int16_t block;
  uint32_t rec;     /* kernels: the task's record (util/record.h) */
  const char *what; /* phases: a static description */
} pto2__trace_event;

typedef struct pto2__trace_buf {
  pto2__trace_event *events;
  uint32_t count, capacity;
  uint64_t dropped; /* events that did not fit */
} pto2__trace_buf;

static inline void pto2__trace_add(pto2__trace_buf *b, const pto2__trace_event *e) {
  if (PTO2_LIKELY(b->count < b->capacity)) b->events[b->count++] = *e;
  else b->dropped++;
}
void pto2__trace_run_begin(pto2_runtime *rt, uint64_t now);
void pto2__trace_free(pto2_runtime *rt);
/* Records an orchestrator phase if tracing. */
void pto2__trace_phase(pto2_runtime *rt, int16_t kind, const char *what, uint64_t start,
                       uint64_t end);

#endif
