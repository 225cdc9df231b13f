/*
 * The HTML report: the viewer template (report/report.html, embedded at
 * build time as report_template[]) with the trace and graph JSON spliced in
 * as <script type="application/json"> blocks.
 */
#include "report.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

extern const char report_template[];

static char *slurp(const char *path, size_t *len, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "cannot open %s", path);
    return 0;
  }
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (!buf) break;
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    char *grown = realloc(buf, cap * 2);
    if (!grown) {
      free(buf);
      buf = 0;
      break;
    }
    buf = grown;
    cap *= 2;
  }
  bool bad = ferror(f);
  fclose(f);
  if (!buf || bad) {
    free(buf);
    snprintf(err, errlen, "cannot read %s", path);
    return 0;
  }
  *len = n;
  return buf;
}

/* Checks the format tag near the start: "pto2-trace" or "pto2-graph". */
static bool has_format(const char *text, size_t len, const char *format) {
  char tag[64];
  snprintf(tag, sizeof tag, "\"format\":\"%s\"", format);
  size_t window = len < 4096 ? len : 4096;
  size_t tl = strlen(tag);
  for (size_t i = 0; i + tl <= window; i++)
    if (!memcmp(text + i, tag, tl)) return true;
  return false;
}

/* Copies the "run_id" string near the start into `id` (at most 63
 * characters); false when the file has none (written before run ids). */
static bool run_id(const char *text, size_t len, char id[64]) {
  static const char key[] = "\"run_id\":\"";
  size_t kl = sizeof key - 1, window = len < 4096 ? len : 4096;
  for (size_t i = 0; i + kl <= window; i++) {
    if (memcmp(text + i, key, kl)) continue;
    size_t n = 0;
    for (i += kl; i < len && text[i] != '"' && n < 63; i++) id[n++] = text[i];
    id[n] = 0;
    return true;
  }
  return false;
}

/* JSON inside a script element: "</" would end the element; "<\/" is the
 * same JSON string. */
static void write_json_block(FILE *out, const char *id, const char *text, size_t len) {
  fprintf(out, "<script type=\"application/json\" id=\"%s\">", id);
  for (size_t i = 0; i < len; i++) {
    if (text[i] == '<' && i + 1 < len && text[i + 1] == '/') {
      fputs("<\\/", out);
      i++;
    } else {
      fputc(text[i], out);
    }
  }
  fputs("</script>\n", out);
}

static void write_escaped(FILE *out, const char *s) {
  for (; *s; s++) {
    if (*s == '<') fputs("&lt;", out);
    else if (*s == '>') fputs("&gt;", out);
    else if (*s == '&') fputs("&amp;", out);
    else fputc(*s, out);
  }
}

int report_write(FILE *out, const char *trace_path, const char *graph_path, const char *title,
                 char *err, size_t errlen) {
  size_t tl = 0, gl = 0;
  char *trace = slurp(trace_path, &tl, err, errlen);
  if (!trace) return -1;
  char *graph = slurp(graph_path, &gl, err, errlen);
  if (!graph) {
    free(trace);
    return -1;
  }
  int rc = 0;
  if (!has_format(trace, tl, "pto2-trace")) {
    snprintf(err, errlen, "%s is not a pto2 trace (pto2_trace_write / pto2-bench --trace)",
             trace_path);
    rc = -1;
  } else if (!has_format(graph, gl, "pto2-graph")) {
    snprintf(err, errlen, "%s is not a pto2 graph (pto2_graph_write / pto2-bench --graph)",
             graph_path);
    rc = -1;
  }
  char tid[64], gid[64];
  bool has_t = !rc && run_id(trace, tl, tid), has_g = !rc && run_id(graph, gl, gid);
  if (!rc && (has_t != has_g || (has_t && strcmp(tid, gid)))) {
    /* Both files of one run carry its id: a report of two runs would
     * attach one run's graph to another's timeline. */
    snprintf(err, errlen,
             "%s and %s are not from the same run (run_id %s vs %s): write the trace and the "
             "graph after the same pto2_run",
             trace_path, graph_path, has_t ? tid : "none", has_g ? gid : "none");
    rc = -1;
  }
  if (!rc) {
    /* The template holds markers: @TITLE@ (any number) and the data. */
    const char *t = report_template;
    const char *data_at = strstr(t, "<!--@DATA@-->");
    if (!data_at) {
      snprintf(err, errlen, "internal error: report template without a data marker");
      rc = -1;
    } else {
      for (const char *p = t; *p;) {
        if (p == data_at) {
          write_json_block(out, "pto2-trace", trace, tl);
          write_json_block(out, "pto2-graph", graph, gl);
          p += strlen("<!--@DATA@-->");
        } else if (!strncmp(p, "@TITLE@", 7)) {
          write_escaped(out, title);
          p += 7;
        } else {
          fputc(*p++, out);
        }
      }
      if (ferror(out)) {
        snprintf(err, errlen, "write error");
        rc = -1;
      }
    }
  }
  free(trace);
  free(graph);
  return rc;
}
