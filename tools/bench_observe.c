/* pto2-bench's observability options (bench_observe.h). */
#include "bench_observe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

int bench_observe_parse(bench_observe *o, const char *a, const char *v) {
  const char **slot = !strcmp(a, "--graph")    ? &o->graph
                      : !strcmp(a, "--report") ? &o->report
                      : !strcmp(a, "--trace")  ? &o->trace
                                               : 0;
  if (slot) {
    if (!v) return -1;
    *slot = v;
    return 2;
  }
  if (!strcmp(a, "--summary")) {
    o->summary = true;
    return 1;
  }
  return 0;
}

/* The option's file can be written: its folder exists and is writable,
 * and the file, if it exists, is a writable file.  Else a message. */
static int check_path(const char *opt, const char *path) {
  char dir[1024];
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(dir, sizeof dir, ".");
  else if (slash == path) snprintf(dir, sizeof dir, "/");
  else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  struct stat st;
  const char *why = 0;
  if (!*path || (slash && !slash[1])) why = "not a file name";
  else if (stat(dir, &st) != 0) why = strerror(errno);
  else if (!S_ISDIR(st.st_mode)) why = "not a folder";
  else if (access(dir, W_OK | X_OK) != 0) why = strerror(errno);
  if (why) {
    fprintf(stderr, "pto2-bench: cannot write %s %s: folder %s: %s\n", opt, path, dir, why);
    return 2;
  }
  if (stat(path, &st) == 0 && (S_ISDIR(st.st_mode) || access(path, W_OK) != 0)) {
    fprintf(stderr, "pto2-bench: cannot write %s %s: %s\n", opt, path,
            S_ISDIR(st.st_mode) ? "it is a folder" : strerror(errno));
    return 2;
  }
  return 0;
}

int bench_observe_check_paths(const bench_observe *o) {
  int rc = 0;
  if (o->trace && !rc) rc = check_path("--trace", o->trace);
  if (o->graph && !rc) rc = check_path("--graph", o->graph);
  if (o->report && !rc) rc = check_path("--report", o->report);
  return rc;
}

bool bench_observe_wanted(const bench_observe *o) {
  return o->trace || o->graph || o->report || o->summary;
}

static const char *tagged(const char *path, const char *tag, bool single, const char *ext,
                          char *buf, size_t len) {
  if (single) return path;
  const char *dot = strrchr(path, '.');
  const char *slash = strrchr(path, '/');
  if (dot && slash && dot < slash) dot = 0;
  int stem = dot ? (int)(dot - path) : (int)strlen(path);
  snprintf(buf, len, "%.*s-%s%s", stem, path, tag, dot ? dot : ext);
  return buf;
}

static int fail(const char *what, const char *path, int rc) {
  fprintf(stderr, "pto2-bench: cannot write %s %s: %s\n", what, path, pto2_strerror(rc));
  return 1;
}

static int write_report(const bench_observe *o, pto2_runtime *rt, const char *tag, bool single) {
  char buf[1024], tp[1100], gp[1100];
  const char *path = tagged(o->report, tag, single, ".html", buf, sizeof buf);
  snprintf(tp, sizeof tp, "%s.trace.tmp", path);
  snprintf(gp, sizeof gp, "%s.graph.tmp", path);
  /* The temporary files' failures name the report the user asked for. */
  int rc = pto2_trace_write(rt, tp);
  if (rc) return fail("report", path, rc);
  if ((rc = pto2_graph_write(rt, gp)) != 0) {
    remove(tp);
    return fail("report", path, rc);
  }
  FILE *f = fopen(path, "w");
  char err[512] = "cannot open the file";
  int bad = !f || report_write(f, tp, gp, tag, err, sizeof err) != 0;
  if (f && fclose(f) != 0) bad = 1;
  remove(tp);
  remove(gp);
  if (bad) fprintf(stderr, "pto2-bench: cannot write report %s: %s\n", path, err);
  return bad;
}

int bench_observe_write(const bench_observe *o, pto2_runtime *rt, const char *tag, bool single,
                        bool summary_to_stdout) {
  char buf[1024];
  int bad = 0, rc;
  if (o->trace) {
    const char *p = tagged(o->trace, tag, single, ".json", buf, sizeof buf);
    if ((rc = pto2_trace_write(rt, p)) != 0) bad |= fail("trace", p, rc);
  }
  if (o->graph) {
    const char *p = tagged(o->graph, tag, single, ".json", buf, sizeof buf);
    size_t n = strlen(p);
    bool dot = n > 4 && !strcmp(p + n - 4, ".dot");
    rc = dot ? pto2_graph_write_dot(rt, p, 0) : pto2_graph_write(rt, p);
    if (rc == PTO2_E_INVALID_ARGS && dot)
      fprintf(stderr, "pto2-bench: %s: more than 2000 tasks; DOT is for small graphs, use .json\n", p);
    if (rc) bad |= fail("graph", p, rc);
  }
  if (o->report) bad |= write_report(o, rt, tag, single);
  if (o->summary) {
    FILE *f = summary_to_stdout ? stdout : stderr;
    fprintf(f, "\nsummary of the last round: %s\n", tag);
    if ((rc = pto2_summary_print(rt, f)) != 0) bad |= fail("summary", "", rc);
  }
  uint64_t dropped = pto2_trace_dropped(rt);
  if (dropped)
    fprintf(stderr, "pto2-bench: %s: the recording dropped %llu records (buffers full)\n", tag,
            (unsigned long long)dropped);
  return bad;
}

void bench_progress(const bench_observe *o, const char *scene, const char *pcase,
                    const char *lane, int round, int rounds) {
  if (!o->progress) return;
  fprintf(stderr, "\r\033[K%s %s %s: round %d/%d", scene, pcase, lane, round, rounds);
  fflush(stderr);
}

void bench_progress_done(const bench_observe *o) {
  if (!o->progress) return;
  fprintf(stderr, "\r\033[K");
  fflush(stderr);
}
