/*
 * The run recorder behind tracing, the dependency-graph dump and the run
 * statistics (include/pto2/observe.h).
 *
 * Ownership.  rt->rec exists between pto2_trace_enable() and
 * pto2_trace_disable(), both outside runs; rt->tracing says so, and every
 * hook sits behind one PTO2_UNLIKELY(rt->tracing) branch.  During a run:
 *   - the orchestrator thread alone writes tasks[] (all fields but ready_ns),
 *     edges[], holds[], overlaps[], scopes[], samples[] and the counters;
 *   - ready_ns of a task is written once, by the thread whose step made the
 *     task ready (the orchestrator at publish, or the executor whose
 *     decrement reached zero: exactly one, slot protocol S1); the task's
 *     record index travels in its payload (pto2__payload.rec), written
 *     before the publish that releases the payload;
 *   - each executor writes its own span buffer.
 * After the run every executor write is visible to the orchestrator through
 * the retirement chain (ring watermark R2/R3, acquire), so the analysis at
 * run end and the writers read everything without further ordering.
 */
#ifndef PTO2_UTIL_RECORD_H
#define PTO2_UTIL_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pto2/pto2.h"

#define PTO2__REC_NONE UINT32_MAX
/* Counter samples are taken at most this often (orchestrator time). */
#define PTO2__REC_SAMPLE_NS 10000u

typedef struct pto2__rec_task {
  uint64_t id;
  uint64_t submit_ns, submit_end_ns;
  uint64_t ready_ns; /* see the ownership note */
  uint32_t scope;    /* index into scopes */
  int8_t kernel[3];
  uint8_t mode, ring;
  uint16_t blocks;
} pto2__rec_task;

typedef struct pto2__rec_region {
  uint8_t ndims;
  uint32_t offsets[PTO2_MAX_DIMS], shapes[PTO2_MAX_DIMS];
} pto2__rec_region;

/* A TensorMap overlap behind an edge: the producer's written region and the
 * consumer's accessed region of one allocation. */
typedef struct pto2__rec_overlap {
  uint64_t producer;
  uintptr_t addr;
  pto2__rec_region written, read;
  uint32_t next; /* next overlap of the same edge, or PTO2__REC_NONE */
} pto2__rec_overlap;

typedef struct pto2__rec_edge {
  uint64_t producer, consumer;
  uint32_t why;     /* pto2_edge_reason bits */
  uint32_t overlap; /* first overlap, or PTO2__REC_NONE */
} pto2__rec_edge;

typedef struct pto2__rec_hold {
  uint64_t holder, creator;
} pto2__rec_hold;

typedef struct pto2__rec_scope {
  uint32_t parent; /* index, or PTO2__REC_NONE for the root */
  uint8_t mode, ring, depth;
  char label[32];
  uint64_t begin_ns, end_ns;
  uint32_t tasks;
  uint64_t peak_tasks, peak_heap, peak_deps; /* of its ring, while it was innermost */
  uint64_t blocked_ns[3];
} pto2__rec_scope;

/* One sample of the counters. */
typedef struct pto2__rec_sample {
  uint64_t ns;
  uint32_t ready[3]; /* queued tasks per shape: AIC, AIV, MIX */
  uint32_t ring_tasks[PTO2_RING_COUNT];
  uint64_t ring_heap[PTO2_RING_COUNT];
  uint32_t ring_deps[PTO2_RING_COUNT];
} pto2__rec_sample;

/* Per-task facts derived at run end from the spans. */
typedef struct pto2__rec_derived {
  uint64_t start_ns, end_ns, busy_ns;
  uint64_t first_end_ns; /* end of the first invocation */
  int32_t core;      /* of the first invocation, -1 if none was recorded */
  uint32_t crit_next; /* critical path: the predecessor on the longest chain */
  uint64_t crit_ns;  /* longest chain of kernel time ending with this task */
} pto2__rec_derived;

typedef struct pto2__recorder {
  pto2_trace_options opt;
  const pto2_allocator *mem; /* the runtime's (pto2_config.allocator): every buffer here */
  uint64_t origin_ns, end_ns;
  pto2__rec_task *tasks;
  uint32_t ntasks, dropped_tasks;
  pto2__rec_edge *edges;
  uint32_t nedges, dropped_edges;
  pto2__rec_hold *holds;
  uint32_t nholds, dropped_holds;
  pto2__rec_overlap *overlaps;
  uint32_t noverlaps, dropped_overlaps;
  pto2__rec_scope *scopes; /* grown by the orchestrator (no executor reads it) */
  uint32_t nscopes, scope_cap;
  uint32_t scope_stack[PTO2_MAX_SCOPE_DEPTH];
  uint32_t depth;
  pto2__rec_sample *samples;
  uint32_t nsamples, dropped_samples;
  uint64_t last_sample_ns;
  /* The overlaps found for the task being submitted. */
  uint32_t pending_first, pending_count;
  /* Counters of the run. */
  uint64_t tmap_lookups, tmap_checks, tmap_chain_max, tmap_chain_total;
  uint64_t blocked_ns[PTO2_RING_COUNT][3];
  /* Derived at run end (pto2__rec_run_end). */
  pto2__rec_derived *derived;
  uint32_t *id_hash; /* open addressing: task id -> index into tasks */
  uint32_t hash_mask;
  uint64_t dropped_total, elapsed_ns;
  uint64_t crit_ns;
  uint32_t crit_last;
  bool analysed;
  bool analysis_oom; /* the analysis at the end of the last run ran out of memory */
} pto2__recorder;

/* What the writers of a recorded run return when it has no analysis:
 * PTO2_E_NO_MEMORY if the analysis ran out of memory, else
 * PTO2_E_INVALID_ARGS (no run recorded). */
static inline int pto2__rec_unanalysed(const pto2__recorder *r) {
  return r && r->analysis_oom ? PTO2_E_NO_MEMORY : PTO2_E_INVALID_ARGS;
}

/* ------------------------------------------------------------------------ */
/* Hooks (util/record.c); callers test rt->tracing first                     */
/* ------------------------------------------------------------------------ */

struct pto2__tmap_entry;

int pto2__rec_create(const pto2_trace_options *opt, const pto2_allocator *a,
                     pto2__recorder **out);
void pto2__rec_destroy(pto2__recorder *rec);
/* Before the root scope opens. */
void pto2__rec_run_begin(pto2_runtime *rt, uint64_t now);
/* After every task retired (or the run failed): derives the per-task facts,
 * the critical path and the statistics of `st` (may be NULL). */
void pto2__rec_run_end(pto2_runtime *rt, uint64_t now, pto2_run_stats *st);
void pto2__rec_scope_open(pto2_runtime *rt, uint8_t mode, uint8_t ring, uint32_t depth);
void pto2__rec_scope_close(pto2_runtime *rt);
/* A submitted task with its producers (why[i]: pto2_edge_reason bits) and
 * its lifetime holds; uses the overlaps noted since the last call.  Returns
 * the task's record index (PTO2__REC_NONE if it did not fit). */
uint32_t pto2__rec_task_add(pto2_runtime *rt, uint64_t id, const int8_t kernel[3],
                            uint16_t blocks, uint8_t ring, uint8_t mode, uint64_t submit_ns,
                            const pto2_task_id *producers, const uint8_t *why, uint32_t nprod,
                            const pto2_task_id *holds, uint32_t nholds);
/* The submit of task `rec` ended: its span, the scope's peaks, a sample. */
void pto2__rec_submit_end(pto2_runtime *rt, uint32_t rec, uint64_t now);
/* A TensorMap entry of `producer` overlapped the region `read` accesses. */
void pto2__rec_overlap_add(pto2_runtime *rt, const struct pto2__tmap_entry *e,
                       const pto2_tensor *read);
/* One TensorMap lookup examined `chain` entries (the allocation's list or
 * its tree's candidates) and compared `checks` of them with the region. */
void pto2__rec_lookup(pto2_runtime *rt, uint32_t chain, uint32_t checks);
/* An edge added after submit (pto2_add_dependency). */
void pto2__rec_edge_add(pto2_runtime *rt, uint64_t producer, uint64_t consumer, uint32_t why);
/* The task of record `rec` became ready now (any thread; see above). */
void pto2__rec_ready(pto2_runtime *rt, uint32_t rec);
/* Orchestrator: a counter sample if the last one is old enough. */
void pto2__rec_sample_maybe(pto2_runtime *rt, uint64_t now);
/* Orchestrator waited `ns` for room in `ring` (kind 0 slots, 1 heap, 2 deps). */
void pto2__rec_blocked(pto2_runtime *rt, unsigned ring, unsigned kind, uint64_t ns);

/* ------------------------------------------------------------------------ */
/* For the writers (util/trace.c, util/graph.c, util/summary.c)              */
/* ------------------------------------------------------------------------ */

/* Index of the task record with this id, PTO2__REC_NONE if none. */
uint32_t pto2__rec_index_of(const pto2__recorder *r, uint64_t id);
const char *pto2__mode_name(unsigned mode);
void pto2__core_name(const pto2_runtime *rt, int core, char *buf, size_t len);
/* The kernels of a task joined by '+'. */
void pto2__task_name(const pto2_runtime *rt, const int8_t kernel[3], char *buf, size_t len);
/* "ring:local" as a JSON string. */
void pto2__write_task_id(FILE *f, uint64_t raw);

#endif
