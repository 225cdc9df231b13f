/*
 * The offline HTML report: one self-contained file (viewer code and the run's
 * data inline, no network fetches) built from a pto2 trace JSON and a pto2
 * graph JSON (docs/observability.md).
 */
#ifndef PTO2_TOOLS_REPORT_H
#define PTO2_TOOLS_REPORT_H

#include <stdio.h>

/* Writes the report to `out`.  `title` is shown in the page.  Returns 0, or
 * -1 with a message in `err` (a file that cannot be read, is not the JSON
 * format expected, or the two files carry different run ids). */
int report_write(FILE *out, const char *trace_path, const char *graph_path, const char *title,
                 char *err, size_t errlen);

#endif
