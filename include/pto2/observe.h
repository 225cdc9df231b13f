/*
 * Observability: what a recorded run did, as data a person or a program can
 * read.  Included by pto2/pto2.h; see docs/observability.md.
 *
 * Recording is off by default.  pto2_trace_enable() (or
 * pto2_trace_enable_opts()) switches it on for every later run until
 * pto2_trace_disable().  A recorded run keeps, in buffers sized at enable
 * time:
 *   - every kernel invocation (core, executor thread, task, block, start, end);
 *   - every task (kernels, scope, mode, ring, when it was submitted, became
 *     ready, started and ended);
 *   - every dependency edge with the reasons it exists, and for TensorMap
 *     edges the two regions that overlapped; lifetime holds apart;
 *   - the orchestrator's scopes, submits and waits, and samples of the
 *     ready-queue depth and of each ring's occupancy.
 * Whatever does not fit is counted, never silently lost: pto2_trace_dropped()
 * returns the count and every file written says it.
 *
 * With recording off the runtime pays one predictable branch per submit,
 * per kernel invocation and per task made ready.
 */
#ifndef PTO2_OBSERVE_H
#define PTO2_OBSERVE_H

#include <stdint.h>
#include <stdio.h>

#ifndef PTO2_H
#error "include pto2/pto2.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Capacities of a recording; zero in any field selects its default, and
 * `opts` may be NULL for all defaults.  Each capacity is at most 1 << 28.
 * TensorMap overlap details (the regions behind an edge) are kept up to
 * max_tasks. */
typedef struct pto2_trace_options {
  uint32_t max_events; /* kernel invocations per executor thread, and orchestrator spans;
                          default 1 << 20 */
  uint32_t max_tasks;  /* task records per run; default max_events */
  uint32_t max_edges;  /* edge and hold records per run; default 4 x max_tasks */
  uint32_t max_flows;  /* the trace draws an arrow for every edge while the run has at most
                          this many edges, and for the first max_flows otherwise;
                          default 100000 */
} pto2_trace_options;

PTO2_API int pto2_trace_enable_opts(pto2_runtime *rt,
                                    const pto2_trace_options *opts) PTO2_WARN_UNUSED;

/* Records of the last recorded run that did not fit their buffer (kernel
 * invocations, orchestrator spans, tasks, edges, holds, counter samples),
 * all together; 0 when the recording is complete or recording is off. */
PTO2_API uint64_t pto2_trace_dropped(const pto2_runtime *rt);

/* ------------------------------------------------------------------------ */
/* Dependency graph of the last recorded run                                  */
/* ------------------------------------------------------------------------ */

/* Why an edge exists; an edge may have several reasons (bit set). */
typedef enum pto2_edge_reason {
  PTO2_EDGE_CREATOR = 1,        /* the consumer reads a tensor the producer created */
  PTO2_EDGE_TENSORMAP = 2,      /* the consumer's region overlaps one the producer wrote */
  PTO2_EDGE_SUBMIT_DEP = 4,     /* an explicit producer given at submit (pto2_arg_add_dep) */
  PTO2_EDGE_ADD_DEPENDENCY = 8, /* pto2_add_dependency() */
} pto2_edge_reason;
#define PTO2_EDGE_REASON_COUNT 4

typedef struct pto2_graph_task {
  pto2_task_id id;
  int32_t kernel[3];      /* by lane (AIC, AIV0, AIV1); PTO2_NO_KERNEL if unused */
  uint32_t scope;         /* index into the run's scopes, in the order they opened */
  pto2_scope_mode mode;   /* of its scope */
  uint8_t ring;
  uint16_t blocks;
  /* Nanoseconds since the run started; 0 when not known (not recorded). */
  uint64_t submit_ns, ready_ns, start_ns, end_ns;
} pto2_graph_task;

typedef struct pto2_graph_edge {
  pto2_task_id producer, consumer;
  uint32_t reasons; /* pto2_edge_reason bits */
} pto2_graph_edge;

/* A lifetime hold: in MANUAL and GRAPH scopes a task that uses a tensor
 * keeps its creator's memory alive without waiting for it. */
typedef struct pto2_graph_hold {
  pto2_task_id holder, creator;
} pto2_graph_hold;

/* The recorded tasks (in submission order), edges and holds of the last
 * recorded run.  The getters return 0, or PTO2_E_INVALID_ARGS for an index
 * out of range or when nothing was recorded. */
PTO2_API size_t pto2_graph_task_count(const pto2_runtime *rt);
PTO2_API size_t pto2_graph_edge_count(const pto2_runtime *rt);
PTO2_API size_t pto2_graph_hold_count(const pto2_runtime *rt);
PTO2_API int pto2_graph_task_get(const pto2_runtime *rt, size_t i, pto2_graph_task *out);
PTO2_API int pto2_graph_edge_get(const pto2_runtime *rt, size_t i, pto2_graph_edge *out);
PTO2_API int pto2_graph_hold_get(const pto2_runtime *rt, size_t i, pto2_graph_hold *out);

/* Writes the graph as JSON (format "pto2-graph", docs/observability.md),
 * with the run's statistics, or as Graphviz DOT.  DOT refuses graphs of more
 * than `max_tasks` tasks (0: 2000) with PTO2_E_INVALID_ARGS.  These and
 * pto2_summary_print return PTO2_E_NO_MEMORY when the analysis at the end
 * of the recorded run ran out of memory (the run itself succeeded). */
PTO2_API int pto2_graph_write(const pto2_runtime *rt, const char *path) PTO2_WARN_UNUSED;
PTO2_API int pto2_graph_write_dot(const pto2_runtime *rt, const char *path,
                                  size_t max_tasks) PTO2_WARN_UNUSED;

/* ------------------------------------------------------------------------ */
/* Statistics of the last recorded run                                        */
/* ------------------------------------------------------------------------ */

/* Opens a label for the innermost scope: statistics of scopes with the same
 * label are reported together.  The text is copied (up to 31 bytes).  Only
 * kept while recording; returns 0 or the run's error. */
PTO2_API int pto2_scope_label(pto2_runtime *rt, const char *label);

/* Prints the per-kernel, per-scope and per-run summary as text. */
PTO2_API int pto2_summary_print(const pto2_runtime *rt, FILE *f);

#ifdef __cplusplus
}
#endif

#endif
