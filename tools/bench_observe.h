/*
 * pto2-bench's observability options: --graph FILE.json (FILE.dot: Graphviz), --summary,
 * --report FILE.html (with --trace FILE, all record the last round of each
 * scene x case x lane), and the progress line on a terminal.
 */
#ifndef PTO2_TOOLS_BENCH_OBSERVE_H
#define PTO2_TOOLS_BENCH_OBSERVE_H

#include <stdbool.h>

#include "pto2/pto2.h"

typedef struct bench_observe {
  const char *trace, *graph, *report;
  bool summary;
  bool progress; /* stderr is a terminal */
} bench_observe;

/* Option `a` with value `v` (may be NULL): returns how many arguments it
 * took (1 or 2), 0 if it is not one of these, -1 if its value is missing. */
int bench_observe_parse(bench_observe *o, const char *a, const char *v);
/* Before any run: the --trace, --graph and --report paths can be written
 * (their folders exist and are writable).  Returns 0, or 2 after a message
 * on stderr naming the option and the path. */
int bench_observe_check_paths(const bench_observe *o);
/* True if a run must be recorded. */
bool bench_observe_wanted(const bench_observe *o);
/* Writes the artefacts of the last run of one combination; `tag` is
 * "scene-case-lane", inserted before the extension unless `single`.
 * Returns 0, or 1 after a message on stderr. */
int bench_observe_write(const bench_observe *o, pto2_runtime *rt, const char *tag, bool single,
                        bool summary_to_stdout);
/* The progress line (only on a terminal); done() clears it. */
void bench_progress(const bench_observe *o, const char *scene, const char *pcase,
                    const char *lane, int round, int rounds);
void bench_progress_done(const bench_observe *o);

#endif
