/*
 * The dependency graph of the last recorded run, as JSON ("pto2-graph",
 * docs/observability.md) and as Graphviz DOT.
 */
#include <stdlib.h>

#include "runtime.h"
#include "util/json.h"
#include "util/record.h"
#include "util/summary.h"

static const char *const REASONS[PTO2_EDGE_REASON_COUNT] = {"creator", "tensormap", "submit_dep",
                                                            "add_dependency"};

static uint64_t rel(const pto2__recorder *r, uint64_t ns) { return ns ? ns - r->origin_ns : 0; }

static void write_region(FILE *f, const pto2__rec_region *g) {
  fprintf(f, "{\"offsets\":[");
  for (unsigned d = 0; d < g->ndims; d++) fprintf(f, "%s%u", d ? "," : "", g->offsets[d]);
  fprintf(f, "],\"shapes\":[");
  for (unsigned d = 0; d < g->ndims; d++) fprintf(f, "%s%u", d ? "," : "", g->shapes[d]);
  fprintf(f, "]}");
}

static void write_kernels(FILE *f, const pto2_runtime *rt) {
  bool first = true;
  for (int k = 0; k < PTO2_MAX_KERNELS; k++) {
    if (!rt->kernels[k].fn) continue;
    fprintf(f, "%s\n {\"id\":%d,\"name\":", first ? "" : ",", k);
    pto2__json_string(f, rt->kernels[k].name);
    fprintf(f, ",\"core\":\"%s\"}", rt->kernels[k].type == PTO2_CORE_AIC ? "AIC" : "AIV");
    first = false;
  }
}

static void write_scopes(FILE *f, const pto2__recorder *r) {
  for (uint32_t i = 0; i < r->nscopes; i++) {
    const pto2__rec_scope *s = &r->scopes[i];
    fprintf(f, "%s\n {\"index\":%u,\"parent\":", i ? "," : "", i);
    if (s->parent == PTO2__REC_NONE) fprintf(f, "null");
    else fprintf(f, "%u", s->parent);
    fprintf(f, ",\"depth\":%u,\"mode\":\"%s\",\"ring\":%u,\"label\":", s->depth,
            pto2__mode_name(s->mode), s->ring);
    pto2__json_string(f, s->label);
    fprintf(f, ",\"tasks\":%u,\"begin_ns\":%llu,\"end_ns\":%llu,\"peak_tasks\":%llu,"
               "\"peak_heap\":%llu,\"peak_deps\":%llu,\"blocked_ns\":[%llu,%llu,%llu]}",
            s->tasks, (unsigned long long)rel(r, s->begin_ns), (unsigned long long)rel(r, s->end_ns),
            (unsigned long long)s->peak_tasks, (unsigned long long)s->peak_heap,
            (unsigned long long)s->peak_deps, (unsigned long long)s->blocked_ns[0],
            (unsigned long long)s->blocked_ns[1], (unsigned long long)s->blocked_ns[2]);
  }
}

static void write_tasks(FILE *f, const pto2_runtime *rt, const pto2__recorder *r) {
  for (uint32_t i = 0; i < r->ntasks; i++) {
    const pto2__rec_task *t = &r->tasks[i];
    const pto2__rec_derived *d = &r->derived[i];
    fprintf(f, "%s\n {\"id\":", i ? "," : "");
    pto2__write_task_id(f, t->id);
    fprintf(f, ",\"kernels\":[");
    bool first = true;
    for (unsigned l = 0; l < 3; l++) {
      if (t->kernel[l] < 0) continue;
      if (!first) fputc(',', f);
      pto2__json_string(f, rt->kernels[t->kernel[l]].name);
      first = false;
    }
    char core[32];
    pto2__core_name(rt, d->core, core, sizeof core);
    fprintf(f, "],\"scope\":%u,\"mode\":\"%s\",\"ring\":%u,\"blocks\":%u,\"submit_ns\":%llu,"
               "\"ready_ns\":%llu,\"start_ns\":%llu,\"end_ns\":%llu,\"busy_ns\":%llu,\"core\":\"%s\"}",
            t->scope, pto2__mode_name(t->mode), t->ring, t->blocks,
            (unsigned long long)rel(r, t->submit_ns), (unsigned long long)rel(r, t->ready_ns),
            (unsigned long long)rel(r, d->start_ns), (unsigned long long)rel(r, d->end_ns),
            (unsigned long long)d->busy_ns, core);
  }
}

static void write_edges(FILE *f, const pto2__recorder *r) {
  for (uint32_t k = 0; k < r->nedges; k++) {
    const pto2__rec_edge *e = &r->edges[k];
    fprintf(f, "%s\n {\"from\":", k ? "," : "");
    pto2__write_task_id(f, e->producer);
    fprintf(f, ",\"to\":");
    pto2__write_task_id(f, e->consumer);
    fprintf(f, ",\"reasons\":[");
    bool first = true;
    for (unsigned b = 0; b < PTO2_EDGE_REASON_COUNT; b++)
      if (e->why & (1u << b)) {
        fprintf(f, "%s\"%s\"", first ? "" : ",", REASONS[b]);
        first = false;
      }
    fputc(']', f);
    if (e->overlap != PTO2__REC_NONE) {
      fprintf(f, ",\"regions\":[");
      for (uint32_t o = e->overlap; o != PTO2__REC_NONE; o = r->overlaps[o].next) {
        const pto2__rec_overlap *ov = &r->overlaps[o];
        fprintf(f, "%s{\"addr\":\"%#llx\",\"written\":", o == e->overlap ? "" : ",",
                (unsigned long long)ov->addr);
        write_region(f, &ov->written);
        fprintf(f, ",\"read\":");
        write_region(f, &ov->read);
        fputc('}', f);
      }
      fputc(']', f);
    }
    fputc('}', f);
  }
}

int pto2_graph_write(const pto2_runtime *rt, const char *path) {
  if (!rt || !path) return PTO2_E_INVALID_ARGS;
  if (!rt->rec || !rt->rec->analysed) return pto2__rec_unanalysed(rt->rec);
  const pto2__recorder *r = rt->rec;
  pto2__summary s;
  int rc = pto2__summary_compute(rt, &s);
  if (rc) return rc;
  FILE *f = fopen(path, "w");
  if (!f) {
    pto2__summary_free(&s);
    return PTO2_E_SYSTEM;
  }
  fprintf(f, "{\"format\":\"pto2-graph\",\"version\":1,\"run_id\":\"%s\",\n"
             "\"run\":{\"tasks\":%llu,\"edges\":%llu,\"recorded_tasks\":%u,\"recorded_edges\":%u,"
             "\"holds\":%u,\"elapsed_ns\":%llu,\"block_dim\":%u,\"executors\":%u,"
             "\"dropped_total\":%llu,\"dropped\":{\"tasks\":%u,\"edges\":%u,\"holds\":%u,"
             "\"overlaps\":%u}},\n\"kernels\":[",
          rt->trace_run_id, (unsigned long long)rt->orch.tasks,
          (unsigned long long)rt->orch.edges, r->ntasks, r->nedges, r->nholds,
          (unsigned long long)r->elapsed_ns, rt->cfg.block_dim, rt->executor_count,
          (unsigned long long)pto2_trace_dropped(rt), r->dropped_tasks, r->dropped_edges,
          r->dropped_holds, r->dropped_overlaps);
  write_kernels(f, rt);
  fprintf(f, "],\n\"scopes\":[");
  write_scopes(f, r);
  fprintf(f, "],\n\"tasks\":[");
  write_tasks(f, rt, r);
  fprintf(f, "],\n\"edges\":[");
  write_edges(f, r);
  fprintf(f, "],\n\"holds\":[");
  for (uint32_t k = 0; k < r->nholds; k++) {
    fprintf(f, "%s\n {\"holder\":", k ? "," : "");
    pto2__write_task_id(f, r->holds[k].holder);
    fprintf(f, ",\"creator\":");
    pto2__write_task_id(f, r->holds[k].creator);
    fputc('}', f);
  }
  fprintf(f, "],\n\"stats\":");
  pto2__summary_json(f, rt, &s);
  fprintf(f, "}\n");
  pto2__summary_free(&s);
  return fclose(f) == 0 ? 0 : PTO2_E_SYSTEM;
}

static void dot_id(FILE *f, uint64_t raw) {
  pto2_task_id id = {raw};
  fprintf(f, "\"%u:%llu\"", pto2_task_id_ring(id), (unsigned long long)pto2_task_id_local(id));
}

/* Tasks are clustered by scope; edges are coloured by reason, holds dashed. */
int pto2_graph_write_dot(const pto2_runtime *rt, const char *path, size_t max_tasks) {
  if (!rt || !path) return PTO2_E_INVALID_ARGS;
  if (!rt->rec || !rt->rec->analysed) return pto2__rec_unanalysed(rt->rec);
  const pto2__recorder *r = rt->rec;
  if (!max_tasks) max_tasks = 2000;
  if (r->ntasks > max_tasks) return PTO2_E_INVALID_ARGS;
  FILE *f = fopen(path, "w");
  if (!f) return PTO2_E_SYSTEM;
  fprintf(f, "digraph pto2 {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontsize=10];\n");
  for (uint32_t sc = 0; sc < r->nscopes; sc++) {
    const pto2__rec_scope *s = &r->scopes[sc];
    fprintf(f, "  subgraph cluster_%u {\n    label=\"scope %u %s", sc, sc, pto2__mode_name(s->mode));
    if (s->label[0]) {
      fputc(' ', f);
      pto2__json_raw(f, s->label);
    }
    fprintf(f, "\";\n");
    for (uint32_t i = 0; i < r->ntasks; i++) {
      if (r->tasks[i].scope != sc) continue;
      char name[128];
      pto2__task_name(rt, r->tasks[i].kernel, name, sizeof name);
      fprintf(f, "    ");
      dot_id(f, r->tasks[i].id);
      pto2_task_id id = {r->tasks[i].id};
      fprintf(f, " [label=\"");
      pto2__json_raw(f, name);
      fprintf(f, "\\n%u:%llu\"];\n", pto2_task_id_ring(id),
              (unsigned long long)pto2_task_id_local(id));
    }
    fprintf(f, "  }\n");
  }
  static const char *colour[PTO2_EDGE_REASON_COUNT] = {"black", "blue", "darkgreen", "red"};
  for (uint32_t k = 0; k < r->nedges; k++) {
    const pto2__rec_edge *e = &r->edges[k];
    unsigned b = 0;
    while (b + 1 < PTO2_EDGE_REASON_COUNT && !(e->why & (1u << b))) b++;
    fprintf(f, "  ");
    dot_id(f, e->producer);
    fprintf(f, " -> ");
    dot_id(f, e->consumer);
    fprintf(f, " [color=%s, tooltip=\"%s\"];\n", colour[b], REASONS[b]);
  }
  for (uint32_t k = 0; k < r->nholds; k++) {
    fprintf(f, "  ");
    dot_id(f, r->holds[k].creator);
    fprintf(f, " -> ");
    dot_id(f, r->holds[k].holder);
    fprintf(f, " [style=dashed, color=gray, arrowhead=odot, tooltip=\"lifetime hold\"];\n");
  }
  fprintf(f, "}\n");
  return fclose(f) == 0 ? 0 : PTO2_E_SYSTEM;
}
