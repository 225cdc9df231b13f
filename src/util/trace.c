/*
 * Run traces in the Chrome trace-event format: one complete ("X") event
 * per kernel invocation on its simulated core, and the orchestrator's
 * phases on a thread of their own.  Buffers are fixed at pto2_trace_enable()
 * time; events beyond a buffer's capacity are dropped and counted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "util/alloc.h"

static int buf_alloc(const pto2_allocator *a, pto2__trace_buf *b, uint32_t capacity) {
  b->events = pto2__alloc(a, (size_t)capacity * sizeof *b->events);
  b->count = 0;
  b->capacity = b->events ? capacity : 0;
  return b->events ? 0 : PTO2_E_NO_MEMORY;
}

static void buf_free(const pto2_allocator *a, pto2__trace_buf *b) {
  pto2__free(a, b->events);
  b->events = 0;
  b->count = b->capacity = 0;
}

void pto2__trace_free(pto2_runtime *rt) {
  for (uint32_t i = 0; i < rt->executor_count; i++) buf_free(&rt->cfg.allocator, &rt->executors[i].trace);
  buf_free(&rt->cfg.allocator, &rt->orch_trace);
  rt->tracing = false;
}

int pto2_trace_enable(pto2_runtime *rt, uint32_t max_events) {
  if (!rt || !pto2__runtime_live(rt, "pto2_trace_enable")) return PTO2_E_INVALID_ARGS;
  if (rt->in_run)
    return pto2__host_fail(rt, PTO2_E_INVALID_ARGS, "pto2_trace_enable: not allowed during pto2_run");
  if (max_events == 0)
    return pto2__host_fail(rt, PTO2_E_INVALID_ARGS, "pto2_trace_enable: max_events must be >= 1");
  pto2__trace_free(rt);
  int rc = buf_alloc(&rt->cfg.allocator, &rt->orch_trace, max_events);
  for (uint32_t i = 0; !rc && i < rt->executor_count; i++)
    rc = buf_alloc(&rt->cfg.allocator, &rt->executors[i].trace, max_events);
  if (rc) {
    pto2__trace_free(rt);
    return pto2__host_fail(rt, rc, "pto2_trace_enable: out of memory for %u events per thread",
                           max_events);
  }
  rt->tracing = true;
  return 0;
}

void pto2_trace_disable(pto2_runtime *rt) {
  if (rt && pto2__runtime_live(rt, "pto2_trace_disable") && !rt->in_run) pto2__trace_free(rt);
}

void pto2__trace_run_begin(pto2_runtime *rt, uint64_t now) {
  if (!rt->tracing) return;
  rt->trace_origin_ns = now;
  rt->orch_trace.count = 0;
  for (uint32_t i = 0; i < rt->executor_count; i++) rt->executors[i].trace.count = 0;
}

void pto2__trace_phase(pto2_runtime *rt, int16_t kind, const char *what, uint64_t start,
                       uint64_t end) {
  if (!rt->tracing) return;
  pto2__trace_event e = {start, end, 0, -1, kind, 0, what};
  pto2__trace_add(&rt->orch_trace, &e);
}

static double us(const pto2_runtime *rt, uint64_t ns) {
  return (double)(int64_t)(ns - rt->trace_origin_ns) / 1000.0;
}

static void core_name(const pto2_runtime *rt, int core, char *buf, size_t len) {
  int b = (int)rt->cfg.block_dim;
  if (core < b) snprintf(buf, len, "AIC %d", core);
  else snprintf(buf, len, "AIV %d.%d", (core - b) / 2, (core - b) % 2);
}

static void write_kernel_event(FILE *f, const pto2_runtime *rt, const pto2__trace_event *e) {
  pto2_task_id id = {e->task};
  fprintf(f,
          ",\n{\"name\":\"%s\",\"cat\":\"kernel\",\"ph\":\"X\",\"pid\":1,\"tid\":%d,"
          "\"ts\":%.3f,\"dur\":%.3f,\"args\":{\"task\":\"%u:%llu\",\"block\":%d}}",
          rt->kernels[e->kernel].name, e->core, us(rt, e->start_ns),
          (double)(e->end_ns - e->start_ns) / 1000.0, pto2_task_id_ring(id),
          (unsigned long long)pto2_task_id_local(id), e->block);
}

static void write_phase_event(FILE *f, const pto2_runtime *rt, const pto2__trace_event *e) {
  fprintf(f,
          ",\n{\"name\":\"%s\",\"cat\":\"orchestrator\",\"ph\":\"X\",\"pid\":0,\"tid\":0,"
          "\"ts\":%.3f,\"dur\":%.3f}",
          e->what, us(rt, e->start_ns), (double)(e->end_ns - e->start_ns) / 1000.0);
}

int pto2_trace_write(const pto2_runtime *rt, const char *path) {
  if (!rt || !pto2__runtime_live(rt, "pto2_trace_write")) return PTO2_E_INVALID_ARGS;
  pto2_runtime *m = (pto2_runtime *)rt; /* the error is recorded in the runtime */
  if (rt->in_run)
    return pto2__host_fail(m, PTO2_E_INVALID_ARGS, "pto2_trace_write: not allowed during pto2_run");
  if (!path) return pto2__host_fail(m, PTO2_E_INVALID_ARGS, "pto2_trace_write: path is NULL");
  if (!rt->tracing)
    return pto2__host_fail(m, PTO2_E_INVALID_ARGS,
                           "pto2_trace_write: tracing is not enabled (pto2_trace_enable)");
  FILE *f = fopen(path, "w");
  if (!f)
    return pto2__host_fail(m, PTO2_E_SYSTEM, "pto2_trace_write: cannot open '%s': %s", path,
                           strerror(errno));
  fprintf(f, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n"
             "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":0,\"args\":{\"name\":\"orchestrator\"}},\n"
             "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{\"name\":\"cores\"}}");
  uint32_t ncores = 3 * rt->cfg.block_dim;
  for (uint32_t c = 0; c < ncores; c++) {
    char name[32];
    core_name(rt, (int)c, name, sizeof name);
    fprintf(f, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%u,\"args\":{\"name\":\"%s\"}}",
            c, name);
  }
  for (uint32_t i = 0; i < rt->orch_trace.count; i++) write_phase_event(f, rt, &rt->orch_trace.events[i]);
  for (uint32_t x = 0; x < rt->executor_count; x++) {
    const pto2__trace_buf *b = &rt->executors[x].trace;
    for (uint32_t i = 0; i < b->count; i++) write_kernel_event(f, rt, &b->events[i]);
  }
  fprintf(f, "\n]}\n");
  bool bad = ferror(f) != 0;
  if (fclose(f) != 0 || bad)
    return pto2__host_fail(m, PTO2_E_SYSTEM, "pto2_trace_write: writing '%s' failed: %s", path,
                           strerror(errno));
  return 0;
}
