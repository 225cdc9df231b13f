/*
 * Paged-attention orchestrations: the same kernels and data through the
 * three lanes (docs/semantics.md, "Scope modes"):
 *
 *   lane    non-unroll (scene paged_attention)   unroll (paged_attention_unroll)
 *   auto    A: TensorMap + creator retention      C
 *   manual  B: one MANUAL scope per (b, q)        D: AUTO hub, a MANUAL scope per group
 *   graph   E: one GRAPH scope per (b, q)         F
 *
 * and the task and edge counts each must produce.
 */
#ifndef PA_ORCH_H
#define PA_ORCH_H

#include "pa.h"

typedef enum pa_lane { PA_LANE_AUTO = 0, PA_LANE_MANUAL = 1, PA_LANE_GRAPH = 2, PA_LANE_COUNT } pa_lane;
typedef enum pa_scene { PA_SCENE_BASE = 0, PA_SCENE_UNROLL = 1, PA_SCENE_COUNT } pa_scene;

/* "auto", "manual", "graph" / "paged_attention", "paged_attention_unroll". */
const char *pa_lane_name(pa_lane lane);
const char *pa_scene_name(pa_scene scene);

/* What one pto2_run() of pa_orchestrate() computes. */
typedef struct pa_job {
  const pa_inputs *in;
  pa_scene scene;
  pa_lane lane;
  /* Tests of the hazard checker: 0, or n to leave out the n-th explicit edge
   * (pto2_add_dependency) of the run, a deliberately wrong orchestration. */
  uint32_t skip_edge;
} pa_job;

/* The orchestration function: pto2_run(rt, pa_orchestrate, &job, ...). */
void pa_orchestrate(pto2_runtime *rt, void *job);

/* Tasks and edges the orchestration must produce for a case (generalised
 * to per-batch context lengths). */
uint64_t pa_expected_tasks(const pa_case *c, pa_scene scene);
uint64_t pa_expected_edges(const pa_case *c, pa_scene scene, pa_lane lane);

#endif
