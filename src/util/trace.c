/*
 * Run traces in the Chrome trace-event format (Perfetto, chrome://tracing):
 *   pid 0 "orchestrator"      thread 0: the orchestration function, scopes,
 *                             submits and waits, nested in time; counters of
 *                             the ready queues and of each ring's occupancy;
 *   pid 1 "cores"             one thread per simulated core (AIC n, AIV n.0,
 *                             AIV n.1): one complete event per kernel
 *                             invocation, with the task's facts as args, and
 *                             flow arrows from producer to consumer;
 *   pid 2 "executor threads"  one thread per executor: the same invocations,
 *                             by the thread that ran them.
 * Buffers are fixed at enable time; what did not fit is counted and the file
 * says so (top-level "pto2" object and a global instant event).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/record.h"

enum { DEFAULT_MAX_EVENTS = 1u << 20, DEFAULT_MAX_FLOWS = 100000, MAX_RECORDS = 1u << 28 };

static int buf_alloc(const pto2_allocator *a, pto2__trace_buf *b, uint32_t capacity) {
  b->events = pto2__alloc(a, (size_t)capacity * sizeof *b->events);
  b->count = 0;
  b->dropped = 0;
  b->capacity = b->events ? capacity : 0;
  return b->events ? 0 : PTO2_E_NO_MEMORY;
}

static void buf_free(const pto2_allocator *a, pto2__trace_buf *b) {
  pto2__free(a, b->events);
  b->events = 0;
  b->count = b->capacity = 0;
  b->dropped = 0;
}

void pto2__trace_free(pto2_runtime *rt) {
  for (uint32_t i = 0; i < rt->executor_count; i++) buf_free(&rt->cfg.allocator, &rt->executors[i].trace);
  buf_free(&rt->cfg.allocator, &rt->orch_trace);
  pto2__rec_destroy(rt->rec);
  rt->rec = 0;
  rt->tracing = false;
}

int pto2_trace_enable_opts(pto2_runtime *rt, const pto2_trace_options *opts) {
  if (!rt || !pto2__runtime_live(rt, "pto2_trace_enable")) return PTO2_E_INVALID_ARGS;
  if (rt->in_run)
    return pto2__host_fail(rt, PTO2_E_INVALID_ARGS, "pto2_trace_enable: not allowed during pto2_run");
  pto2_trace_options o = opts ? *opts : (pto2_trace_options){0};
  if (!o.max_events) o.max_events = DEFAULT_MAX_EVENTS;
  if (!o.max_tasks) o.max_tasks = o.max_events;
  if (!o.max_edges) o.max_edges = o.max_tasks > MAX_RECORDS / 4 ? MAX_RECORDS : 4 * o.max_tasks;
  if (!o.max_flows) o.max_flows = DEFAULT_MAX_FLOWS;
  if (o.max_events > MAX_RECORDS || o.max_tasks > MAX_RECORDS || o.max_edges > MAX_RECORDS)
    return pto2__host_fail(rt, PTO2_E_INVALID_ARGS,
                           "pto2_trace_enable: a capacity above %u records", MAX_RECORDS);
  uint32_t max_events = o.max_events;
  pto2__trace_free(rt);
  int rc = buf_alloc(&rt->cfg.allocator, &rt->orch_trace, o.max_events);
  for (uint32_t i = 0; !rc && i < rt->executor_count; i++)
    rc = buf_alloc(&rt->cfg.allocator, &rt->executors[i].trace, o.max_events);
  if (!rc) rc = pto2__rec_create(&o, &rt->cfg.allocator, &rt->rec);
  if (rc) {
    pto2__trace_free(rt);
    return pto2__host_fail(rt, rc, "pto2_trace_enable: out of memory for %u events per thread",
                           max_events);
  }
  rt->tracing = true;
  return 0;
}

int pto2_trace_enable(pto2_runtime *rt, uint32_t max_events) {
  if (!rt || !pto2__runtime_live(rt, "pto2_trace_enable")) return PTO2_E_INVALID_ARGS;
  if (max_events == 0)
    return pto2__host_fail(rt, PTO2_E_INVALID_ARGS, "pto2_trace_enable: max_events must be >= 1");
  pto2_trace_options o = {max_events, 0, 0, 0};
  return pto2_trace_enable_opts(rt, &o);
}

void pto2_trace_disable(pto2_runtime *rt) {
  if (rt && pto2__runtime_live(rt, "pto2_trace_disable") && !rt->in_run) pto2__trace_free(rt);
}

/* Runs traced by this process so far.  Relaxed: only distinctness matters. */
static _Atomic uint32_t traced_runs;

void pto2__trace_run_begin(pto2_runtime *rt, uint64_t now) {
  if (!rt->tracing) return;
  rt->trace_origin_ns = now;
  /* Process id, wall-clock start and run number: distinct for every traced
   * run of every process, so pto2-report can tell a trace and a graph of
   * different runs apart. */
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  snprintf(rt->trace_run_id, sizeof rt->trace_run_id, "%ld-%lld.%09ld-%u", (long)getpid(),
           (long long)wall.tv_sec, (long)wall.tv_nsec,
           atomic_fetch_add_explicit(&traced_runs, 1, memory_order_relaxed) + 1);
  rt->orch_trace.count = 0;
  rt->orch_trace.dropped = 0;
  for (uint32_t i = 0; i < rt->executor_count; i++) {
    rt->executors[i].trace.count = 0;
    rt->executors[i].trace.dropped = 0;
  }
  pto2__rec_run_begin(rt, now);
}

void pto2__trace_phase(pto2_runtime *rt, int16_t kind, const char *what, uint64_t start,
                       uint64_t end) {
  if (!rt->tracing) return;
  pto2__trace_event e = {start, end, 0, -1, kind, 0, PTO2__REC_NONE, what};
  pto2__trace_add(&rt->orch_trace, &e);
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

const char *pto2__mode_name(unsigned mode) {
  static const char *names[] = {"AUTO", "MANUAL", "GRAPH", "AUTO_STRICT"};
  return mode < 4 ? names[mode] : "?";
}

void pto2__core_name(const pto2_runtime *rt, int core, char *buf, size_t len) {
  int b = (int)rt->cfg.block_dim;
  if (core < 0) snprintf(buf, len, "-");
  else if (core < b) snprintf(buf, len, "AIC %d", core);
  else snprintf(buf, len, "AIV %d.%d", (core - b) / 2, (core - b) % 2);
}

/* The name of a task: its kernels joined by '+'. */
void pto2__task_name(const pto2_runtime *rt, const int8_t kernel[3], char *buf, size_t len) {
  size_t n = 0;
  buf[0] = 0;
  for (unsigned l = 0; l < 3; l++) {
    if (kernel[l] < 0) continue;
    n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? "+" : "",
                          rt->kernels[kernel[l]].name);
    if (n >= len) break;
  }
}

static double us_of(uint64_t origin, uint64_t ns) {
  return (double)(int64_t)(ns - origin) / 1000.0;
}

void pto2__write_task_id(FILE *f, uint64_t raw) {
  pto2_task_id id = {raw};
  fprintf(f, "\"%u:%llu\"", pto2_task_id_ring(id), (unsigned long long)pto2_task_id_local(id));
}

/* Producers of each recorded task, by consumer index (CSR). */
typedef struct producers {
  uint32_t *first; /* ntasks + 1 */
  uint64_t *ids;
  const pto2_allocator *mem;
} producers;

static int producers_build(const pto2__recorder *r, producers *p) {
  p->mem = r->mem;
  p->first = pto2__zalloc(p->mem, ((size_t)r->ntasks + 2) * sizeof *p->first);
  p->ids = pto2__alloc(p->mem, ((size_t)r->nedges + 1) * sizeof *p->ids);
  if (!p->first || !p->ids) return PTO2_E_NO_MEMORY;
  for (uint32_t k = 0; k < r->nedges; k++) {
    uint32_t c = pto2__rec_index_of(r, r->edges[k].consumer);
    if (c != PTO2__REC_NONE) p->first[c + 1]++;
  }
  for (uint32_t i = 0; i < r->ntasks; i++) p->first[i + 1] += p->first[i];
  uint32_t *fill = pto2__zalloc(p->mem, ((size_t)r->ntasks + 1) * sizeof *fill);
  if (!fill) return PTO2_E_NO_MEMORY;
  for (uint32_t k = 0; k < r->nedges; k++) {
    uint32_t c = pto2__rec_index_of(r, r->edges[k].consumer);
    if (c != PTO2__REC_NONE) p->ids[p->first[c] + fill[c]++] = r->edges[k].producer;
  }
  pto2__free(p->mem, fill);
  return 0;
}

static void producers_free(producers *p) {
  if (!p->mem) return;
  pto2__free(p->mem, p->first);
  pto2__free(p->mem, p->ids);
}

static void write_metadata(FILE *f, const pto2_runtime *rt) {
  fprintf(f, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":0,\"args\":{\"name\":\"orchestrator\"}},\n"
             "{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":0,\"args\":{\"sort_index\":0}},\n"
             "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":0,\"tid\":0,\"args\":{\"name\":\"orchestrator\"}},\n"
             "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{\"name\":\"cores\"}},\n"
             "{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":1,\"args\":{\"sort_index\":1}},\n"
             "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":2,\"args\":{\"name\":\"executor threads\"}},\n"
             "{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":2,\"args\":{\"sort_index\":2}}");
  uint32_t ncores = 3 * rt->cfg.block_dim;
  for (uint32_t c = 0; c < ncores; c++) {
    char name[32];
    pto2__core_name(rt, (int)c, name, sizeof name);
    fprintf(f,
            ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%u,\"args\":{\"name\":\"%s\"}}"
            ",\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":%u,\"args\":{\"sort_index\":%u}}",
            c, name, c, c);
  }
  for (uint32_t x = 0; x < rt->executor_count; x++)
    fprintf(f, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":2,\"tid\":%u,"
               "\"args\":{\"name\":\"executor %u%s\"}}",
            x, x, x ? " (worker)" : " (caller of pto2_run)");
}

static void write_orchestrator(FILE *f, const pto2_runtime *rt, const pto2__recorder *r) {
  uint64_t o = r->origin_ns;
  const pto2__trace_buf *b = &rt->orch_trace;
  for (uint32_t i = 0; i < b->count; i++) {
    const pto2__trace_event *e = &b->events[i];
    fprintf(f, ",\n{\"name\":");
    pto2__json_string(f, e->what);
    fprintf(f, ",\"cat\":\"%s\",\"ph\":\"X\",\"pid\":0,\"tid\":0,\"ts\":%.3f,\"dur\":%.3f}",
            e->kernel == -2 ? "wait" : "orchestrator", us_of(o, e->start_ns),
            (double)(e->end_ns - e->start_ns) / 1000.0);
  }
  for (uint32_t i = 0; i < r->nscopes; i++) {
    const pto2__rec_scope *s = &r->scopes[i];
    if (s->depth == 0) continue; /* the root scope is the orchestration span */
    fprintf(f, ",\n{\"name\":\"scope %s%s", pto2__mode_name(s->mode), s->label[0] ? " " : "");
    pto2__json_raw(f, s->label);
    fprintf(f, "\",\"cat\":\"scope\",\"ph\":\"X\",\"pid\":0,\"tid\":0,\"ts\":%.3f,\"dur\":%.3f,"
               "\"args\":{\"scope\":%u,\"depth\":%u,\"ring\":%u,\"tasks\":%u}}",
            us_of(o, s->begin_ns), (double)(s->end_ns - s->begin_ns) / 1000.0, i, s->depth,
            s->ring, s->tasks);
  }
  for (uint32_t i = 0; i < r->ntasks; i++) {
    const pto2__rec_task *t = &r->tasks[i];
    char name[128];
    pto2__task_name(rt, t->kernel, name, sizeof name);
    fprintf(f, ",\n{\"name\":\"submit ");
    pto2__json_raw(f, name);
    fprintf(f, "\",\"cat\":\"submit\",\"ph\":\"X\",\"pid\":0,\"tid\":0,\"ts\":%.3f,\"dur\":%.3f,"
               "\"args\":{\"task\":",
            us_of(o, t->submit_ns), (double)(t->submit_end_ns - t->submit_ns) / 1000.0);
    pto2__write_task_id(f, t->id);
    fprintf(f, "}}");
  }
  /* Counters: rings that held anything during the run. */
  bool used[PTO2_RING_COUNT] = {false};
  for (uint32_t i = 0; i < r->nsamples; i++)
    for (unsigned g = 0; g < PTO2_RING_COUNT; g++)
      used[g] = used[g] || r->samples[i].ring_tasks[g] || r->samples[i].ring_heap[g];
  for (uint32_t i = 0; i < r->nsamples; i++) {
    const pto2__rec_sample *s = &r->samples[i];
    double ts = us_of(o, s->ns);
    fprintf(f, ",\n{\"name\":\"ready queue\",\"ph\":\"C\",\"pid\":0,\"ts\":%.3f,"
               "\"args\":{\"AIC\":%u,\"AIV\":%u,\"MIX\":%u}}",
            ts, s->ready[0], s->ready[1], s->ready[2]);
    for (unsigned g = 0; g < PTO2_RING_COUNT; g++)
      if (used[g])
        fprintf(f, ",\n{\"name\":\"ring %u tasks\",\"ph\":\"C\",\"pid\":0,\"ts\":%.3f,\"args\":{\"tasks\":%u}}"
                   ",\n{\"name\":\"ring %u heap bytes\",\"ph\":\"C\",\"pid\":0,\"ts\":%.3f,\"args\":{\"bytes\":%llu}}"
                   ",\n{\"name\":\"ring %u dep entries\",\"ph\":\"C\",\"pid\":0,\"ts\":%.3f,\"args\":{\"entries\":%u}}",
                g, ts, s->ring_tasks[g], g, ts, (unsigned long long)s->ring_heap[g], g, ts,
                s->ring_deps[g]);
  }
}

static void write_kernel(FILE *f, const pto2_runtime *rt, const pto2__recorder *r,
                         const producers *pr, uint32_t executor, const pto2__trace_event *e) {
  uint64_t o = r->origin_ns;
  double ts = us_of(o, e->start_ns), dur = (double)(e->end_ns - e->start_ns) / 1000.0;
  const char *kname = rt->kernels[e->kernel].name;
  fprintf(f, ",\n{\"name\":");
  pto2__json_string(f, kname);
  fprintf(f, ",\"cat\":\"kernel\",\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f,"
             "\"args\":{\"task\":",
          e->core, ts, dur);
  pto2__write_task_id(f, e->task);
  fprintf(f, ",\"kernel\":");
  pto2__json_string(f, kname);
  fprintf(f, ",\"block\":%d,\"executor\":%u", e->block, executor);
  if (e->rec != PTO2__REC_NONE && e->rec < r->ntasks) {
    const pto2__rec_task *t = &r->tasks[e->rec];
    const pto2__rec_scope *s = &r->scopes[t->scope];
    fprintf(f, ",\"scope\":%u,\"scope_label\":", t->scope);
    pto2__json_string(f, s->label);
    fprintf(f, ",\"mode\":\"%s\",\"ring\":%u,\"submitted_us\":%.3f", pto2__mode_name(t->mode),
            t->ring, us_of(o, t->submit_ns));
    if (t->ready_ns)
      fprintf(f, ",\"ready_us\":%.3f,\"started_us\":%.3f,\"queued_us\":%.3f", us_of(o, t->ready_ns),
              ts, (double)(int64_t)(e->start_ns - t->ready_ns) / 1000.0);
    fprintf(f, ",\"producers\":[");
    if (pr)
      for (uint32_t k = pr->first[e->rec]; k < pr->first[e->rec + 1]; k++) {
        if (k > pr->first[e->rec]) fputc(',', f);
        pto2__write_task_id(f, pr->ids[k]);
      }
    fputc(']', f);
  }
  fprintf(f, "}}");
  fprintf(f, ",\n{\"name\":");
  pto2__json_string(f, kname);
  fprintf(f, ",\"cat\":\"executor\",\"ph\":\"X\",\"pid\":2,\"tid\":%u,\"ts\":%.3f,\"dur\":%.3f,"
             "\"args\":{\"task\":",
          executor, ts, dur);
  pto2__write_task_id(f, e->task);
  fprintf(f, ",\"core\":%d}}", e->core);
}

/* An edge gets an arrow when both ends ran and were recorded. */
static bool drawable(const pto2__recorder *r, uint32_t k, uint32_t *p, uint32_t *c) {
  *p = pto2__rec_index_of(r, r->edges[k].producer);
  *c = pto2__rec_index_of(r, r->edges[k].consumer);
  return *p != PTO2__REC_NONE && *c != PTO2__REC_NONE && r->derived[*p].core >= 0 &&
         r->derived[*c].core >= 0;
}

static uint64_t count_flows(const pto2__recorder *r) {
  uint64_t n = 0;
  uint32_t p, c;
  for (uint32_t k = 0; r->analysed && k < r->nedges; k++) n += drawable(r, k, &p, &c);
  return n;
}

/* Flow arrows: from the middle of the producer's first invocation to the
 * middle of the consumer's, so that each binds to its slice. */
static void write_flows(FILE *f, const pto2__recorder *r) {
  uint64_t written = 0;
  for (uint32_t k = 0; k < r->nedges && written < r->opt.max_flows; k++) {
    uint32_t p, c;
    if (!drawable(r, k, &p, &c)) continue;
    const pto2__rec_derived *dp = &r->derived[p], *dc = &r->derived[c];
    uint64_t pm = dp->start_ns + (dp->first_end_ns - dp->start_ns) / 2;
    uint64_t cm = dc->start_ns + (dc->first_end_ns - dc->start_ns) / 2;
    fprintf(f, ",\n{\"name\":\"dependency\",\"cat\":\"dependency\",\"ph\":\"s\",\"id\":%u,"
               "\"pid\":1,\"tid\":%d,\"ts\":%.3f}"
               ",\n{\"name\":\"dependency\",\"cat\":\"dependency\",\"ph\":\"f\",\"bp\":\"e\","
               "\"id\":%u,\"pid\":1,\"tid\":%d,\"ts\":%.3f}",
            k, dp->core, us_of(r->origin_ns, pm), k, dc->core, us_of(r->origin_ns, cm));
    written++;
  }
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
  const pto2__recorder *r = rt->rec;
  FILE *f = fopen(path, "w");
  if (!f)
    return pto2__host_fail(m, PTO2_E_SYSTEM, "pto2_trace_write: cannot open '%s': %s", path,
                           strerror(errno));
  producers pr = {0, 0, 0};
  bool have_pr = r->analysed && producers_build(r, &pr) == 0;
  uint64_t spans = 0, spans_dropped = 0;
  for (uint32_t x = 0; x < rt->executor_count; x++) {
    spans += rt->executors[x].trace.count;
    spans_dropped += rt->executors[x].trace.dropped;
  }
  uint64_t dropped = pto2_trace_dropped(rt);
  uint64_t flows = count_flows(r), drawn = flows < r->opt.max_flows ? flows : r->opt.max_flows;
  fprintf(f, "{\"displayTimeUnit\":\"ns\",\n\"pto2\":{\"format\":\"pto2-trace\",\"version\":1,"
             "\"run_id\":\"%s\",\"block_dim\":%u,\"executors\":%u,\"tasks\":%u,\"edges\":%u,\"kernel_invocations\":%llu,"
             "\"elapsed_us\":%.3f,\"dropped_total\":%llu,\"dropped\":{\"kernel_invocations\":%llu,"
             "\"orchestrator_spans\":%llu,\"tasks\":%u,\"edges\":%u,\"holds\":%u,\"overlaps\":%u,"
             "\"counter_samples\":%u},",
          rt->trace_run_id, rt->cfg.block_dim, rt->executor_count, r->ntasks, r->nedges,
          (unsigned long long)spans,
          (double)r->elapsed_ns / 1000.0, (unsigned long long)dropped,
          (unsigned long long)spans_dropped, (unsigned long long)rt->orch_trace.dropped,
          r->dropped_tasks, r->dropped_edges, r->dropped_holds, r->dropped_overlaps,
          r->dropped_samples);
  fprintf(f, "\"flows\":%llu,\"flows_omitted\":%llu,\"max_flows\":%u},\n\"traceEvents\":[\n",
          (unsigned long long)drawn, (unsigned long long)(flows - drawn), r->opt.max_flows);
  write_metadata(f, rt);
  if (dropped)
    fprintf(f, ",\n{\"name\":\"TRUNCATED: %llu records dropped (buffers full; see pto2.dropped)\","
               "\"ph\":\"i\",\"s\":\"g\",\"pid\":0,\"tid\":0,\"ts\":0}",
            (unsigned long long)dropped);
  write_orchestrator(f, rt, r);
  for (uint32_t x = 0; x < rt->executor_count; x++) {
    const pto2__trace_buf *b = &rt->executors[x].trace;
    for (uint32_t i = 0; i < b->count; i++) write_kernel(f, rt, r, have_pr ? &pr : 0, x, &b->events[i]);
  }
  if (r->analysed) write_flows(f, r);
  fprintf(f, "\n]}\n");
  producers_free(&pr);
  bool bad = ferror(f) != 0;
  if (fclose(f) != 0 || bad)
    return pto2__host_fail(m, PTO2_E_SYSTEM, "pto2_trace_write: writing '%s' failed: %s", path,
                           strerror(errno));
  return 0;
}
