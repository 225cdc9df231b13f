/* Statistics of a recorded run (util/summary.c). */
#ifndef PTO2_UTIL_SUMMARY_H
#define PTO2_UTIL_SUMMARY_H

#include <stdint.h>
#include <stdio.h>

#include "pto2/pto2.h"

typedef struct pto2__kernel_stat {
  int32_t kernel;
  uint64_t calls, total_ns, min_ns, max_ns, p99_ns;
} pto2__kernel_stat;

typedef struct pto2__scope_group {
  char key[48]; /* the label, or "depth D MODE" */
  uint8_t ring;
  uint32_t scopes;
  uint64_t tasks, peak_tasks, peak_heap, peak_deps;
  uint64_t blocked_ns[3];
} pto2__scope_group;

typedef struct pto2__summary {
  uint64_t elapsed_ns, busy_ns, crit_ns;
  uint32_t ncores, nkernels, ngroups, ncrit;
  pto2__kernel_stat *kernels; /* by kernel id, those that ran */
  pto2__scope_group *groups;
  uint64_t *core_busy_ns;
  uint32_t *crit; /* task record indices, oldest first */
  const pto2_allocator *mem; /* the runtime's (pto2_config.allocator) */
} pto2__summary;

int pto2__summary_compute(const pto2_runtime *rt, pto2__summary *s);
void pto2__summary_free(pto2__summary *s);
/* The "stats" object of the graph JSON. */
void pto2__summary_json(FILE *f, const pto2_runtime *rt, const pto2__summary *s);

#endif
