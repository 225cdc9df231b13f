/*
 * Statistics of the last recorded run, as text (pto2_summary_print) and as
 * the "stats" object of the graph JSON: per kernel, per scope group, per
 * core, per run, and the critical path.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "util/alloc.h"
#include "util/json.h"
#include "util/record.h"
#include "util/summary.h"

typedef struct span {
  int32_t kernel;
  uint64_t ns;
} span;

static int cmp_span(const void *a, const void *b) {
  const span *x = a, *y = b;
  if (x->kernel != y->kernel) return x->kernel < y->kernel ? -1 : 1;
  return x->ns < y->ns ? -1 : x->ns > y->ns;
}

/* Scopes are grouped by label, or by depth and mode when unlabelled. */
static void group_key(const pto2__rec_scope *s, char *key, size_t len) {
  if (s->label[0]) snprintf(key, len, "%s", s->label);
  else snprintf(key, len, "depth %u %s", s->depth, pto2__mode_name(s->mode));
}

void pto2__summary_free(pto2__summary *s) {
  if (!s->mem) return; /* nothing allocated */
  pto2__free(s->mem, s->kernels);
  pto2__free(s->mem, s->groups);
  pto2__free(s->mem, s->core_busy_ns);
  pto2__free(s->mem, s->crit);
  memset(s, 0, sizeof *s);
}

int pto2__summary_compute(const pto2_runtime *rt, pto2__summary *s) {
  memset(s, 0, sizeof *s);
  s->mem = &rt->cfg.allocator;
  const pto2__recorder *r = rt->rec;
  if (!r || !r->analysed) return pto2__rec_unanalysed(r);
  s->elapsed_ns = r->elapsed_ns;
  s->ncores = 3 * rt->cfg.block_dim;
  s->core_busy_ns = pto2__zalloc(s->mem, (size_t)s->ncores * sizeof *s->core_busy_ns);
  s->kernels = pto2__zalloc(s->mem, PTO2_MAX_KERNELS * sizeof *s->kernels);
  uint64_t nspans = 0;
  for (uint32_t x = 0; x < rt->executor_count; x++) nspans += rt->executors[x].trace.count;
  span *sp = pto2__alloc(s->mem, (nspans + 1) * sizeof *sp);
  if (!s->core_busy_ns || !s->kernels || !sp) goto oom;
  uint64_t n = 0;
  for (uint32_t x = 0; x < rt->executor_count; x++) {
    const pto2__trace_buf *b = &rt->executors[x].trace;
    for (uint32_t k = 0; k < b->count; k++) {
      const pto2__trace_event *e = &b->events[k];
      uint64_t ns = e->end_ns - e->start_ns;
      sp[n].kernel = e->kernel;
      sp[n++].ns = ns;
      if (e->core >= 0 && (uint32_t)e->core < s->ncores) s->core_busy_ns[e->core] += ns;
      s->busy_ns += ns;
    }
  }
  qsort(sp, n, sizeof *sp, cmp_span);
  for (uint64_t i = 0; i < n;) {
    uint64_t j = i;
    pto2__kernel_stat *k = &s->kernels[s->nkernels++];
    k->kernel = sp[i].kernel;
    k->min_ns = sp[i].ns;
    while (j < n && sp[j].kernel == sp[i].kernel) k->total_ns += sp[j++].ns;
    k->calls = j - i;
    k->max_ns = sp[j - 1].ns;
    /* Nearest rank: the smallest duration at or above 99% of the calls. */
    uint64_t rank = (99 * k->calls + 99) / 100;
    k->p99_ns = sp[i + (rank ? rank - 1 : 0)].ns;
    i = j;
  }
  pto2__free(s->mem, sp);
  sp = 0;
  /* Scope groups. */
  s->groups = pto2__zalloc(s->mem, ((size_t)r->nscopes + 1) * sizeof *s->groups);
  if (!s->groups) goto oom;
  for (uint32_t i = 0; i < r->nscopes; i++) {
    const pto2__rec_scope *sc = &r->scopes[i];
    char key[48];
    group_key(sc, key, sizeof key);
    pto2__scope_group *g = 0;
    for (uint32_t k = 0; k < s->ngroups && !g; k++)
      if (!strcmp(s->groups[k].key, key)) g = &s->groups[k];
    if (!g) {
      g = &s->groups[s->ngroups++];
      snprintf(g->key, sizeof g->key, "%s", key);
      g->ring = sc->ring;
    }
    g->scopes++;
    g->tasks += sc->tasks;
    if (sc->peak_tasks > g->peak_tasks) g->peak_tasks = sc->peak_tasks;
    if (sc->peak_heap > g->peak_heap) g->peak_heap = sc->peak_heap;
    if (sc->peak_deps > g->peak_deps) g->peak_deps = sc->peak_deps;
    for (unsigned k = 0; k < 3; k++) g->blocked_ns[k] += sc->blocked_ns[k];
  }
  /* Critical path, oldest first. */
  uint32_t len = 0;
  for (uint32_t i = r->crit_last; i != PTO2__REC_NONE; i = r->derived[i].crit_next) len++;
  s->crit = pto2__alloc(s->mem, (len + 1) * sizeof *s->crit);
  if (!s->crit) goto oom;
  s->ncrit = len;
  for (uint32_t i = r->crit_last; i != PTO2__REC_NONE; i = r->derived[i].crit_next)
    s->crit[--len] = i;
  s->crit_ns = r->crit_ns;
  return 0;
oom:
  pto2__free(s->mem, sp);
  pto2__summary_free(s);
  return PTO2_E_NO_MEMORY;
}

static double ms(uint64_t ns) { return (double)ns / 1e6; }
static double us(uint64_t ns) { return (double)ns / 1e3; }

static const char *const REASONS[PTO2_EDGE_REASON_COUNT] = {"creator", "tensormap", "submit_dep",
                                                            "add_dependency"};
static const char *const RESOURCES[3] = {"task slots", "heap", "dep entries"};

int pto2_summary_print(const pto2_runtime *rt, FILE *f) {
  if (!rt || !f) return PTO2_E_INVALID_ARGS;
  pto2__summary s;
  int rc = pto2__summary_compute(rt, &s);
  if (rc) return rc;
  const pto2__recorder *r = rt->rec;
  fprintf(f, "run: %u tasks, %u edges, elapsed %.3f ms, kernel time %.3f ms on %u cores "
             "(%.1f%% busy)\n",
          r->ntasks, r->nedges, ms(s.elapsed_ns), ms(s.busy_ns), s.ncores,
          s.elapsed_ns ? 100.0 * (double)s.busy_ns / ((double)s.elapsed_ns * s.ncores) : 0.0);
  uint64_t dropped = pto2_trace_dropped(rt);
  if (dropped)
    fprintf(f, "  TRUNCATED: %llu records did not fit the trace buffers; figures below are "
               "partial (raise pto2_trace_options)\n",
            (unsigned long long)dropped);
  fprintf(f, "\nper kernel (invocations)\n  %-24s %9s %12s %10s %10s %10s %10s %7s\n", "kernel",
          "calls", "total(us)", "mean(us)", "min(us)", "max(us)", "p99(us)", "share");
  for (uint32_t i = 0; i < s.nkernels; i++) {
    const pto2__kernel_stat *k = &s.kernels[i];
    fprintf(f, "  %-24s %9llu %12.1f %10.2f %10.2f %10.2f %10.2f %6.1f%%\n",
            rt->kernels[k->kernel].name, (unsigned long long)k->calls, us(k->total_ns),
            us(k->total_ns) / (double)k->calls, us(k->min_ns), us(k->max_ns), us(k->p99_ns),
            s.busy_ns ? 100.0 * (double)k->total_ns / (double)s.busy_ns : 0.0);
  }
  fprintf(f, "  (share: of all kernel time)\n");
  fprintf(f, "\nper scope group (peak use of the scope's ring while it was innermost)\n"
             "  %-28s %4s %8s %9s %10s %12s %9s %12s\n",
          "scope", "ring", "scopes", "tasks", "peak_slots", "peak_heap(B)", "peak_deps",
          "blocked(us)");
  for (uint32_t i = 0; i < s.ngroups; i++) {
    const pto2__scope_group *g = &s.groups[i];
    fprintf(f, "  %-28s %4u %8u %9llu %10llu %12llu %9llu %12.1f\n", g->key, g->ring, g->scopes,
            (unsigned long long)g->tasks, (unsigned long long)g->peak_tasks,
            (unsigned long long)g->peak_heap, (unsigned long long)g->peak_deps,
            us(g->blocked_ns[0] + g->blocked_ns[1] + g->blocked_ns[2]));
  }
  fprintf(f, "\nedges by reason:");
  for (unsigned b = 0; b < PTO2_EDGE_REASON_COUNT; b++) {
    uint64_t c = 0;
    for (uint32_t k = 0; k < r->nedges; k++) c += (r->edges[k].why >> b) & 1u;
    fprintf(f, " %s %llu%s", REASONS[b], (unsigned long long)c,
            b + 1 < PTO2_EDGE_REASON_COUNT ? "," : "");
  }
  fprintf(f, "; lifetime holds %u\n", r->nholds);
  fprintf(f, "TensorMap: %llu lookups, %llu overlap checks, entries examined per lookup %.2f on "
             "average, %llu at most\n",
          (unsigned long long)r->tmap_lookups, (unsigned long long)r->tmap_checks,
          r->tmap_lookups ? (double)r->tmap_chain_total / (double)r->tmap_lookups : 0.0,
          (unsigned long long)r->tmap_chain_max);
  fprintf(f, "orchestrator blocked:");
  bool any = false;
  for (unsigned g = 0; g < PTO2_RING_COUNT; g++)
    for (unsigned k = 0; k < 3; k++)
      if (r->blocked_ns[g][k]) {
        fprintf(f, "%s ring %u %s %.1f us", any ? "," : "", g, RESOURCES[k], us(r->blocked_ns[g][k]));
        any = true;
      }
  fprintf(f, "%s\n", any ? "" : " never");
  /* AICn = cluster n's cube core, AIVn.m = its vector core m (the trace's
   * "AIC n" / "AIV n.m" without the space); lines wrapped at ~100 columns. */
  fprintf(f, "per core busy (us; AICn: cluster n's cube core, AIVn.m: its vector core m; idle "
             "cores left out):");
  int col = 100; /* a new line before the first entry */
  bool busy = false;
  for (uint32_t c = 0; c < s.ncores; c++) {
    if (!s.core_busy_ns[c]) continue;
    char name[32], label[32], entry[64];
    pto2__core_name(rt, (int)c, name, sizeof name);
    size_t n = 0;
    for (const char *p = name; *p && n + 1 < sizeof label; p++)
      if (*p != ' ') label[n++] = *p;
    label[n] = 0;
    int w = snprintf(entry, sizeof entry, "%s=%.1f", label, us(s.core_busy_ns[c]));
    if (col + 2 + w > 100) {
      fprintf(f, "\n ");
      col = 1;
    }
    fprintf(f, " %s", entry);
    col += 1 + w;
    busy = true;
  }
  fprintf(f, "%s\ncritical path: %.3f ms of kernel time over %u tasks (%.1f%% of elapsed)",
          busy ? "" : "\n  none", ms(s.crit_ns), s.ncrit,
          s.elapsed_ns ? 100.0 * (double)s.crit_ns / (double)s.elapsed_ns : 0.0);
  for (uint32_t i = 0; i < s.ncrit && i < 12; i++) {
    char name[128];
    pto2__task_name(rt, r->tasks[s.crit[i]].kernel, name, sizeof name);
    pto2_task_id id = {r->tasks[s.crit[i]].id};
    fprintf(f, "%s %s %u:%llu", i ? " ->" : ":", name, pto2_task_id_ring(id),
            (unsigned long long)pto2_task_id_local(id));
  }
  fprintf(f, "%s\n", s.ncrit > 12 ? " -> ..." : "");
  pto2__summary_free(&s);
  return ferror(f) ? PTO2_E_SYSTEM : 0;
}

void pto2__summary_json(FILE *f, const pto2_runtime *rt, const pto2__summary *s) {
  const pto2__recorder *r = rt->rec;
  fprintf(f, "{\"elapsed_ns\":%llu,\"busy_ns\":%llu,\"cores\":%u,\"kernels\":[",
          (unsigned long long)s->elapsed_ns, (unsigned long long)s->busy_ns, s->ncores);
  for (uint32_t i = 0; i < s->nkernels; i++) {
    const pto2__kernel_stat *k = &s->kernels[i];
    fprintf(f, "%s\n {\"kernel\":%d,\"name\":", i ? "," : "", k->kernel);
    pto2__json_string(f, rt->kernels[k->kernel].name);
    fprintf(f, ",\"calls\":%llu,\"total_ns\":%llu,\"mean_ns\":%.1f,\"min_ns\":%llu,\"max_ns\":%llu,"
               "\"p99_ns\":%llu,\"share\":%.4f}",
            (unsigned long long)k->calls, (unsigned long long)k->total_ns,
            (double)k->total_ns / (double)k->calls, (unsigned long long)k->min_ns,
            (unsigned long long)k->max_ns, (unsigned long long)k->p99_ns,
            s->busy_ns ? (double)k->total_ns / (double)s->busy_ns : 0.0);
  }
  fprintf(f, "],\n\"scope_groups\":[");
  for (uint32_t i = 0; i < s->ngroups; i++) {
    const pto2__scope_group *g = &s->groups[i];
    fprintf(f, "%s\n {\"key\":", i ? "," : "");
    pto2__json_string(f, g->key);
    fprintf(f, ",\"ring\":%u,\"scopes\":%u,\"tasks\":%llu,\"peak_tasks\":%llu,\"peak_heap\":%llu,"
               "\"peak_deps\":%llu,\"blocked_ns\":[%llu,%llu,%llu]}",
            g->ring, g->scopes, (unsigned long long)g->tasks, (unsigned long long)g->peak_tasks,
            (unsigned long long)g->peak_heap, (unsigned long long)g->peak_deps,
            (unsigned long long)g->blocked_ns[0], (unsigned long long)g->blocked_ns[1],
            (unsigned long long)g->blocked_ns[2]);
  }
  fprintf(f, "],\n\"edges_by_reason\":{");
  for (unsigned b = 0; b < PTO2_EDGE_REASON_COUNT; b++) {
    uint64_t c = 0;
    for (uint32_t k = 0; k < r->nedges; k++) c += (r->edges[k].why >> b) & 1u;
    fprintf(f, "%s\"%s\":%llu", b ? "," : "", REASONS[b], (unsigned long long)c);
  }
  fprintf(f, "},\"holds\":%u,\"tensormap\":{\"lookups\":%llu,\"overlap_checks\":%llu,"
             "\"chain_total\":%llu,\"chain_max\":%llu},\n\"orch_blocked_ns\":[",
          r->nholds, (unsigned long long)r->tmap_lookups, (unsigned long long)r->tmap_checks,
          (unsigned long long)r->tmap_chain_total, (unsigned long long)r->tmap_chain_max);
  for (unsigned g = 0; g < PTO2_RING_COUNT; g++)
    fprintf(f, "%s[%llu,%llu,%llu]", g ? "," : "", (unsigned long long)r->blocked_ns[g][0],
            (unsigned long long)r->blocked_ns[g][1], (unsigned long long)r->blocked_ns[g][2]);
  fprintf(f, "],\n\"core_busy_ns\":[");
  for (uint32_t c = 0; c < s->ncores; c++)
    fprintf(f, "%s%llu", c ? "," : "", (unsigned long long)s->core_busy_ns[c]);
  fprintf(f, "],\n\"critical_path\":{\"length_ns\":%llu,\"tasks\":[", (unsigned long long)s->crit_ns);
  for (uint32_t i = 0; i < s->ncrit; i++) {
    if (i) fputc(',', f);
    pto2__write_task_id(f, r->tasks[s->crit[i]].id);
  }
  fprintf(f, "]}}");
}
