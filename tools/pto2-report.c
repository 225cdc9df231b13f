/*
 * pto2-report: one self-contained HTML report from a trace and a graph.
 *
 *   pto2-report TRACE.json GRAPH.json [--title TEXT] > report.html
 *
 * TRACE.json comes from pto2_trace_write() or pto2-bench --trace, GRAPH.json
 * from pto2_graph_write() or pto2-bench --graph, of the same run: both carry
 * the run's "run_id", and files of different runs are refused (exit 1).  The
 * page needs no network: open it in any browser.
 */
#include <stdio.h>
#include <string.h>

#include "report.h"

int main(int argc, char **argv) {
  const char *paths[2] = {0, 0}, *title = 0;
  int n = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("usage: pto2-report TRACE.json GRAPH.json [--title TEXT] > report.html\n");
      return 0;
    }
    if (!strcmp(argv[i], "--title") && i + 1 < argc) title = argv[++i];
    else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "pto2-report: unknown option '%s'\n", argv[i]);
      return 2;
    } else if (n < 2) paths[n++] = argv[i];
    else {
      fprintf(stderr, "pto2-report: too many arguments\n");
      return 2;
    }
  }
  if (n != 2) {
    fprintf(stderr, "usage: pto2-report TRACE.json GRAPH.json [--title TEXT] > report.html\n");
    return 2;
  }
  char err[512];
  if (report_write(stdout, paths[0], paths[1], title ? title : paths[0], err, sizeof err)) {
    fprintf(stderr, "pto2-report: %s\n", err);
    return 1;
  }
  return fflush(stdout) == 0 ? 0 : 1;
}
