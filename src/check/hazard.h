/*
 * The hazard checker: theory of operation.
 *
 * Opt-in (pto2_config.hazard_check, PTO2_CHECK).  While a run is checked,
 * the orchestrator reports to this module, independently of how
 * dependencies were declared:
 *   - every task at submit: its id, kernels, scope (mode, depth, sequence
 *     number) and every tensor argument with its kind (pto2__hz_task);
 *   - every edge of the realized graph: each distinct producer found or
 *     given at submit, and each new pto2_add_dependency (pto2__hz_edge);
 *   - every blocking pto2_get/set_tensor_data, an access by the
 *     orchestrator at its point in program order (pto2__hz_orch_access).
 * Nothing else is observed: no timing, no task states.
 *
 * At the end of the run (pto2__hz_check), with the graph complete:
 *   (H1) Accesses: INPUT and INOUT read; OUTPUT (creation), INOUT and
 *        OUTPUT_EXISTING write; NO_DEP is an access of its kind too (it
 *        reads: the kernel may touch the tensor).  manual_dep and NO_DEP
 *        change what the runtime orders, never what a kernel touches.
 *   (H2) Allocations: a created buffer is identified by its creator and
 *        address (heap bytes are reused, allocations are not), caller
 *        memory by its base address, as the TensorMap keys it.
 *   (H3) Overlap is exact on elements: per dimension when both views share
 *        a layout (rank, raw shape, raw origin, element size), otherwise by
 *        sweeping both views' contiguous runs of bytes.  Only when a view
 *        has more than HZ_MAX_RUNS runs does it fall back to byte ranges,
 *        and a hazard found that way is reported as "possible".
 *   (H4) Ordering: a path of realized edges from one task to the other
 *        (either direction: a backward explicit edge orders too).  A
 *        lifetime hold is not an edge.  Besides the edges made, the runtime
 *        guarantees an order where a lookup finds a TensorMap entry or
 *        finds its writer retired (finished, entry freed): those orders
 *        are derived from the program by replaying the TensorMap (and the
 *        reader map of strict AUTO scopes), never from what had retired.
 *        The orchestrator's access is ordered after the tasks it waited
 *        for (the tensor's creator and the writers the TensorMap held for
 *        the region; for set, also the consumers so far of the creator and
 *        of writers whose scope is open, and in a strict scope the recorded
 *        readers) and before every task submitted after it.
 *   (H5) Conflicts are found per allocation in program order against the
 *        live earlier accesses: a write that covers (same layout) an
 *        earlier access and is ordered after it replaces it, since any
 *        later access that overlaps the old one overlaps the new one, and
 *        order is transitive.  Each unordered pair of tasks is reported
 *        once, with the first conflict found between them; the reports
 *        are listed in program order of their first access, then of their
 *        second.
 *
 * Cost: recording is a copy of the arguments per task (no lookups).  The
 * check is O(tasks + edges) for the topological order, plus, per access,
 * one overlap test against each live access of its allocation, plus one
 * reachability query per conflicting pair (usually a direct edge; else a
 * depth-first search bounded by the topological order).
 */
#ifndef PTO2_CHECK_HAZARD_H
#define PTO2_CHECK_HAZARD_H

#include <stdbool.h>
#include <stdint.h>

#include "pto2/pto2.h"

typedef struct pto2__hz pto2__hz;

/* Strict AUTO lists this many readers of a task's outputs with the task
 * (orch/orch.c); the checker replays that rule. */
#define PTO2__HZ_LISTED_READERS 4

/* Names a kernel id for reports ("" if unknown). */
typedef const char *(*pto2__hz_kernel_name_fn)(void *ctx, int32_t kernel_id);

pto2__hz *pto2__hz_create(pto2__hz_kernel_name_fn name, void *ctx, const pto2_allocator *a);
void pto2__hz_destroy(pto2__hz *h);
/* Forgets the previous run's records and hazards. */
void pto2__hz_run_begin(pto2__hz *h);

/* A submitted task.  `kernels` has one id per lane (aic, aiv0, aiv1; < 0
 * unused); `kinds[i]`/`tensors[i]` its tensor arguments, OUTPUT ones
 * already materialized; `depth` is the scope depth (root 0).  Returns 0 or
 * PTO2_E_NO_MEMORY. */
int pto2__hz_task(pto2__hz *h, pto2_task_id id, const int8_t kernels[3], unsigned mode,
                  unsigned depth, uint32_t scope_seq, const uint8_t *kinds,
                  const pto2_tensor *tensors, unsigned count);
/* A realized edge (counted once by the caller).  Edges from tasks of
 * earlier runs are ignored: those finished before this run began. */
int pto2__hz_edge(pto2__hz *h, pto2_task_id producer, pto2_task_id consumer);
/* A blocking element access by the orchestrator, after validation, in the
 * scope at `depth` (mode AUTO or AUTO_STRICT); scope_seqs[0..depth] are the
 * open scopes, root first. */
int pto2__hz_orch_access(pto2__hz *h, const pto2_tensor *t, const uint32_t *indices,
                         bool write, unsigned mode, unsigned depth, const uint32_t *scope_seqs);

/* Analyses the run.  Returns the number of hazards found (also kept for
 * pto2__hz_get), or a negative error code (PTO2_E_NO_MEMORY). */
int pto2__hz_check(pto2__hz *h);
uint32_t pto2__hz_count(const pto2__hz *h);
const pto2_hazard *pto2__hz_get(const pto2__hz *h, uint32_t i);
/* Bytes held by the checker's records (for the cost figures). */
uint64_t pto2__hz_bytes(const pto2__hz *h);

/* The names the runtime's hazard texts use (pto2_hazard_set_names): `count`
 * {name, replacement} pairs, non-empty names, copied; 0 pairs: none.
 * Returns 0 or PTO2_E_NO_MEMORY (the previous names stay). */
int pto2__hz_set_names(pto2__hz *h, const char *const *pairs, uint32_t count);
/* `in` with every whole-word occurrence of a name replaced (the first pair
 * that matches at a position wins), truncated to `size` bytes with the
 * terminator.  h may be NULL: a copy. */
void pto2__hz_rename(const pto2__hz *h, const char *in, char *out, size_t size);

#endif
