/*
 * The run recorder (util/record.h): buffers, the hooks the runtime calls
 * while recording, and the analysis at run end (per-task times, critical
 * path, statistics).  The graph getters of include/pto2/observe.h read it.
 */
#include <stdlib.h>
#include <string.h>

#include "platform/clock.h"
#include "runtime.h"
#include "util/alloc.h"
#include "util/record.h"

/* ------------------------------------------------------------------------ */
/* Buffers                                                                   */
/* ------------------------------------------------------------------------ */

int pto2__rec_create(const pto2_trace_options *opt, const pto2_allocator *a,
                     pto2__recorder **out) {
  pto2__recorder *r = pto2__zalloc(a, sizeof *r);
  if (!r) return PTO2_E_NO_MEMORY;
  r->mem = a;
  r->opt = *opt;
  r->tasks = pto2__alloc(r->mem, (size_t)opt->max_tasks * sizeof *r->tasks);
  r->edges = pto2__alloc(r->mem, (size_t)opt->max_edges * sizeof *r->edges);
  r->holds = pto2__alloc(r->mem, (size_t)opt->max_edges * sizeof *r->holds);
  r->overlaps = pto2__alloc(r->mem, (size_t)opt->max_tasks * sizeof *r->overlaps);
  r->samples = pto2__alloc(r->mem, (size_t)opt->max_events * sizeof *r->samples);
  r->scope_cap = 256;
  r->scopes = pto2__alloc(r->mem, r->scope_cap * sizeof *r->scopes);
  if (!r->tasks || !r->edges || !r->holds || !r->overlaps || !r->samples || !r->scopes) {
    pto2__rec_destroy(r);
    return PTO2_E_NO_MEMORY;
  }
  *out = r;
  return 0;
}

static void free_analysis(pto2__recorder *r) {
  pto2__free(r->mem, r->derived);
  pto2__free(r->mem, r->id_hash);
  r->derived = 0;
  r->id_hash = 0;
  r->analysed = false;
  r->analysis_oom = false;
}

void pto2__rec_destroy(pto2__recorder *r) {
  if (!r) return;
  free_analysis(r);
  pto2__free(r->mem, r->tasks);
  pto2__free(r->mem, r->edges);
  pto2__free(r->mem, r->holds);
  pto2__free(r->mem, r->overlaps);
  pto2__free(r->mem, r->samples);
  pto2__free(r->mem, r->scopes);
  pto2__free(r->mem, r);
}

void pto2__rec_run_begin(pto2_runtime *rt, uint64_t now) {
  pto2__recorder *r = rt->rec;
  free_analysis(r);
  r->origin_ns = r->end_ns = now;
  r->last_sample_ns = 0;
  r->ntasks = r->nedges = r->nholds = r->noverlaps = r->nscopes = r->nsamples = 0;
  r->dropped_tasks = r->dropped_edges = r->dropped_holds = r->dropped_overlaps = 0;
  r->dropped_samples = 0;
  r->depth = 0;
  r->pending_first = r->pending_count = 0;
  r->tmap_lookups = r->tmap_checks = r->tmap_chain_max = r->tmap_chain_total = 0;
  memset(r->blocked_ns, 0, sizeof r->blocked_ns);
  r->dropped_total = r->elapsed_ns = r->crit_ns = 0;
  r->crit_last = PTO2__REC_NONE;
}

/* ------------------------------------------------------------------------ */
/* Hooks                                                                     */
/* ------------------------------------------------------------------------ */

void pto2__rec_scope_open(pto2_runtime *rt, uint8_t mode, uint8_t ring, uint32_t depth) {
  pto2__recorder *r = rt->rec;
  if (r->nscopes == r->scope_cap) {
    pto2__rec_scope *grown =
        pto2__realloc(r->mem, r->scopes, 2 * (size_t)r->scope_cap * sizeof *grown);
    if (!grown) {
      /* Keep recording into the last scope record rather than failing the run. */
      r->scope_stack[r->depth++] = r->nscopes - 1;
      return;
    }
    r->scopes = grown;
    r->scope_cap *= 2;
  }
  pto2__rec_scope *s = &r->scopes[r->nscopes];
  memset(s, 0, sizeof *s);
  s->parent = r->depth ? r->scope_stack[r->depth - 1] : PTO2__REC_NONE;
  s->mode = mode;
  s->ring = ring;
  s->depth = (uint8_t)(depth - 1);
  s->begin_ns = pto2__now_ns();
  r->scope_stack[r->depth++] = r->nscopes++;
}

void pto2__rec_scope_close(pto2_runtime *rt) {
  pto2__recorder *r = rt->rec;
  if (!r->depth) return;
  pto2__rec_scope *s = &r->scopes[r->scope_stack[--r->depth]];
  s->end_ns = pto2__now_ns();
}

int pto2_scope_label(pto2_runtime *rt, const char *label) {
  if (!rt || !label) return PTO2_E_INVALID_ARGS;
  if (!rt->orch.active) return PTO2_E_INVALID_ARGS;
  int err = atomic_load_explicit(&rt->error, memory_order_relaxed);
  if (err) return err;
  if (!rt->tracing) return 0;
  pto2__recorder *r = rt->rec;
  if (!r->depth) return 0;
  pto2__rec_scope *s = &r->scopes[r->scope_stack[r->depth - 1]];
  size_t n = strlen(label);
  if (n >= sizeof s->label) n = sizeof s->label - 1;
  memcpy(s->label, label, n);
  s->label[n] = 0;
  return 0;
}

static void region_of_tensor(pto2__rec_region *g, const pto2_tensor *t) {
  g->ndims = t->ndims;
  for (unsigned d = 0; d < PTO2_MAX_DIMS; d++) {
    g->offsets[d] = d < t->ndims ? t->offsets[d] : 0;
    g->shapes[d] = d < t->ndims ? t->shapes[d] : 0;
  }
}

void pto2__rec_overlap_add(pto2_runtime *rt, const pto2__tmap_entry *e, const pto2_tensor *read) {
  pto2__recorder *r = rt->rec;
  if (r->noverlaps == r->opt.max_tasks) {
    r->dropped_overlaps++;
    return;
  }
  if (!r->pending_count) r->pending_first = r->noverlaps;
  pto2__rec_overlap *o = &r->overlaps[r->noverlaps++];
  r->pending_count++;
  o->producer = e->producer.raw;
  o->addr = (uintptr_t)e->addr;
  o->written.ndims = e->ndims;
  for (unsigned d = 0; d < PTO2_MAX_DIMS; d++) {
    o->written.offsets[d] = d < e->ndims ? e->offsets[d] : 0;
    o->written.shapes[d] = d < e->ndims ? e->shapes[d] : 0;
  }
  region_of_tensor(&o->read, read);
  o->next = PTO2__REC_NONE;
}

void pto2__rec_lookup(pto2_runtime *rt, uint32_t chain, uint32_t checks) {
  pto2__recorder *r = rt->rec;
  r->tmap_lookups++;
  r->tmap_checks += checks;
  r->tmap_chain_total += chain;
  if (chain > r->tmap_chain_max) r->tmap_chain_max = chain;
}

static void add_edge(pto2__recorder *r, uint64_t producer, uint64_t consumer, uint32_t why,
                     uint32_t overlap) {
  if (r->nedges == r->opt.max_edges) {
    r->dropped_edges++;
    return;
  }
  pto2__rec_edge *e = &r->edges[r->nedges++];
  e->producer = producer;
  e->consumer = consumer;
  e->why = why;
  e->overlap = overlap;
}

/* Links the pending overlaps of `producer` into a list; returns its head. */
static uint32_t take_overlaps(pto2__recorder *r, uint64_t producer) {
  uint32_t head = PTO2__REC_NONE, *tail = &head;
  for (uint32_t i = r->pending_first; i < r->pending_first + r->pending_count; i++) {
    if (r->overlaps[i].producer != producer) continue;
    *tail = i;
    tail = &r->overlaps[i].next;
  }
  return head;
}

uint32_t pto2__rec_task_add(pto2_runtime *rt, uint64_t id, const int8_t kernel[3],
                            uint16_t blocks, uint8_t ring, uint8_t mode, uint64_t submit_ns,
                            const pto2_task_id *producers, const uint8_t *why, uint32_t nprod,
                            const pto2_task_id *holds, uint32_t nholds) {
  pto2__recorder *r = rt->rec;
  for (uint32_t i = 0; i < nprod; i++)
    add_edge(r, producers[i].raw, id, why[i],
             why[i] & PTO2_EDGE_TENSORMAP ? take_overlaps(r, producers[i].raw) : PTO2__REC_NONE);
  r->pending_count = 0;
  for (uint32_t i = 0; i < nholds; i++) {
    if (r->nholds == r->opt.max_edges) {
      r->dropped_holds++;
      continue;
    }
    r->holds[r->nholds].holder = id;
    r->holds[r->nholds++].creator = holds[i].raw;
  }
  if (r->depth) r->scopes[r->scope_stack[r->depth - 1]].tasks++;
  if (r->ntasks == r->opt.max_tasks) {
    r->dropped_tasks++;
    return PTO2__REC_NONE;
  }
  pto2__rec_task *t = &r->tasks[r->ntasks];
  t->id = id;
  t->submit_ns = submit_ns;
  t->submit_end_ns = submit_ns;
  t->ready_ns = 0;
  t->scope = r->depth ? r->scope_stack[r->depth - 1] : 0;
  memcpy(t->kernel, kernel, sizeof t->kernel);
  t->mode = mode;
  t->ring = ring;
  t->blocks = blocks;
  return r->ntasks++;
}

static void take_sample(pto2_runtime *rt, pto2__recorder *r, uint64_t now) {
  if (r->nsamples == r->opt.max_events) {
    r->dropped_samples++;
    return;
  }
  pto2__rec_sample *s = &r->samples[r->nsamples++];
  s->ns = now;
  for (unsigned i = 0; i < PTO2__SHAPE_COUNT; i++) {
    /* Relaxed: an approximate depth is all a sample needs. */
    uint64_t in = atomic_load_explicit(&rt->queues[i].enqueue_pos, memory_order_relaxed);
    uint64_t out = atomic_load_explicit(&rt->queues[i].dequeue_pos, memory_order_relaxed);
    s->ready[i] = in > out ? (uint32_t)(in - out) : 0;
  }
  for (unsigned i = 0; i < PTO2_RING_COUNT; i++) {
    pto2__ring *g = &rt->rings[i];
    /* Relaxed: as above; the watermark only grows. */
    uint64_t alive = atomic_load_explicit(&g->last_alive, memory_order_relaxed);
    s->ring_tasks[i] = (uint32_t)(g->next_local > alive ? g->next_local - alive : 0);
    s->ring_heap[i] = g->heap.top - g->heap.tail;
    s->ring_deps[i] = (uint32_t)(g->deps.top - g->deps.tail);
  }
}

void pto2__rec_sample_maybe(pto2_runtime *rt, uint64_t now) {
  pto2__recorder *r = rt->rec;
  if (now - r->last_sample_ns < PTO2__REC_SAMPLE_NS) return;
  r->last_sample_ns = now;
  take_sample(rt, r, now);
}

void pto2__rec_submit_end(pto2_runtime *rt, uint32_t rec, uint64_t now) {
  pto2__recorder *r = rt->rec;
  if (rec != PTO2__REC_NONE) r->tasks[rec].submit_end_ns = now;
  if (r->depth) {
    pto2__rec_scope *s = &r->scopes[r->scope_stack[r->depth - 1]];
    const pto2__ring *g = &rt->rings[s->ring];
    uint64_t tasks = g->next_local - g->seen_alive, heap = g->heap.top - g->heap.tail,
             deps = g->deps.top - g->deps.tail;
    if (tasks > s->peak_tasks) s->peak_tasks = tasks;
    if (heap > s->peak_heap) s->peak_heap = heap;
    if (deps > s->peak_deps) s->peak_deps = deps;
  }
  pto2__rec_sample_maybe(rt, now);
}

void pto2__rec_edge_add(pto2_runtime *rt, uint64_t producer, uint64_t consumer, uint32_t why) {
  add_edge(rt->rec, producer, consumer, why, PTO2__REC_NONE);
}

/* A plain store: exactly one thread makes a task ready (S1), and the
 * orchestrator reads the field only after the run, through the retirement
 * chain (util/record.h). */
void pto2__rec_ready(pto2_runtime *rt, uint32_t rec) {
  if (rec != PTO2__REC_NONE) rt->rec->tasks[rec].ready_ns = pto2__now_ns();
}

void pto2__rec_blocked(pto2_runtime *rt, unsigned ring, unsigned kind, uint64_t ns) {
  pto2__recorder *r = rt->rec;
  r->blocked_ns[ring][kind] += ns;
  if (r->depth) r->scopes[r->scope_stack[r->depth - 1]].blocked_ns[kind] += ns;
}

/* ------------------------------------------------------------------------ */
/* Analysis at run end                                                       */
/* ------------------------------------------------------------------------ */

static uint32_t hash_id(uint64_t id, uint32_t mask) {
  return (uint32_t)((id * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & mask;
}

uint32_t pto2__rec_index_of(const pto2__recorder *r, uint64_t id) {
  if (!r->id_hash) return PTO2__REC_NONE;
  for (uint32_t h = hash_id(id, r->hash_mask);; h = (h + 1) & r->hash_mask) {
    uint32_t i = r->id_hash[h];
    if (i == PTO2__REC_NONE || r->tasks[i].id == id) return i;
  }
}

static int build_hash(pto2__recorder *r) {
  uint32_t size = 16;
  while (size < 2 * (uint64_t)r->ntasks + 2) size *= 2;
  r->id_hash = pto2__alloc(r->mem, size * sizeof *r->id_hash);
  if (!r->id_hash) return PTO2_E_NO_MEMORY;
  memset(r->id_hash, 0xff, size * sizeof *r->id_hash);
  r->hash_mask = size - 1;
  for (uint32_t i = 0; i < r->ntasks; i++) {
    uint32_t h = hash_id(r->tasks[i].id, r->hash_mask);
    while (r->id_hash[h] != PTO2__REC_NONE) h = (h + 1) & r->hash_mask;
    r->id_hash[h] = i;
  }
  return 0;
}

static void derive_spans(pto2_runtime *rt, pto2__recorder *r) {
  for (uint32_t i = 0; i < r->ntasks; i++) {
    pto2__rec_derived *d = &r->derived[i];
    d->start_ns = UINT64_MAX;
    d->end_ns = d->busy_ns = d->crit_ns = 0;
    d->core = -1;
    d->crit_next = PTO2__REC_NONE;
  }
  for (uint32_t x = 0; x < rt->executor_count; x++) {
    const pto2__trace_buf *b = &rt->executors[x].trace;
    for (uint32_t k = 0; k < b->count; k++) {
      const pto2__trace_event *e = &b->events[k];
      if (e->rec == PTO2__REC_NONE || e->rec >= r->ntasks) continue;
      pto2__rec_derived *d = &r->derived[e->rec];
      if (e->start_ns < d->start_ns) {
        d->start_ns = e->start_ns;
        d->first_end_ns = e->end_ns;
        d->core = e->core;
      }
      if (e->end_ns > d->end_ns) d->end_ns = e->end_ns;
      d->busy_ns += e->end_ns - e->start_ns;
    }
  }
  for (uint32_t i = 0; i < r->ntasks; i++)
    if (r->derived[i].start_ns == UINT64_MAX) r->derived[i].start_ns = r->derived[i].first_end_ns = 0;
}

/* Longest chain of task durations (end - start) along the edges: Kahn's
 * order over the recorded tasks, since explicit edges may point from a task
 * submitted later to one submitted earlier. */
static int critical_path(pto2__recorder *r) {
  uint32_t n = r->ntasks;
  uint32_t *indeg = pto2__zalloc(r->mem, (n + 1) * sizeof *indeg);
  uint32_t *first = pto2__alloc(r->mem, (n + 1) * sizeof *first);
  uint32_t *next = pto2__alloc(r->mem, (size_t)(r->nedges + 1) * sizeof *next);
  uint32_t *from = pto2__alloc(r->mem, (size_t)(r->nedges + 1) * sizeof *from);
  uint32_t *queue = pto2__alloc(r->mem, (n + 1) * sizeof *queue);
  int rc = PTO2_E_NO_MEMORY;
  if (!indeg || !first || !next || !from || !queue) goto done;
  memset(first, 0xff, (n + 1) * sizeof *first);
  for (uint32_t k = 0; k < r->nedges; k++) {
    uint32_t p = pto2__rec_index_of(r, r->edges[k].producer);
    uint32_t c = pto2__rec_index_of(r, r->edges[k].consumer);
    from[k] = PTO2__REC_NONE;
    if (p == PTO2__REC_NONE || c == PTO2__REC_NONE) continue;
    from[k] = c; /* reused below as the consumer of edge k */
    next[k] = first[p];
    first[p] = k;
    indeg[c]++;
  }
  uint32_t head = 0, tail = 0;
  for (uint32_t i = 0; i < n; i++) {
    pto2__rec_derived *d = &r->derived[i];
    d->crit_ns = d->end_ns > d->start_ns ? d->end_ns - d->start_ns : 0;
    if (!indeg[i]) queue[tail++] = i;
  }
  while (head < tail) {
    uint32_t p = queue[head++];
    const pto2__rec_derived *dp = &r->derived[p];
    if (dp->crit_ns > r->crit_ns || r->crit_last == PTO2__REC_NONE) {
      r->crit_ns = dp->crit_ns;
      r->crit_last = p;
    }
    for (uint32_t k = first[p]; k != PTO2__REC_NONE; k = next[k]) {
      uint32_t c = from[k];
      pto2__rec_derived *dc = &r->derived[c];
      uint64_t own = dc->end_ns > dc->start_ns ? dc->end_ns - dc->start_ns : 0;
      if (dp->crit_ns + own > dc->crit_ns) {
        dc->crit_ns = dp->crit_ns + own;
        dc->crit_next = p;
      }
      if (--indeg[c] == 0) queue[tail++] = c;
    }
  }
  rc = 0;
done:
  pto2__free(r->mem, indeg);
  pto2__free(r->mem, first);
  pto2__free(r->mem, next);
  pto2__free(r->mem, from);
  pto2__free(r->mem, queue);
  return rc;
}

uint64_t pto2_trace_dropped(const pto2_runtime *rt) {
  if (!rt || !rt->rec) return 0;
  const pto2__recorder *r = rt->rec;
  uint64_t n = (uint64_t)r->dropped_tasks + r->dropped_edges + r->dropped_holds +
               r->dropped_overlaps + r->dropped_samples + rt->orch_trace.dropped;
  for (uint32_t x = 0; x < rt->executor_count; x++) n += rt->executors[x].trace.dropped;
  return n;
}

void pto2__rec_run_end(pto2_runtime *rt, uint64_t now, pto2_run_stats *st) {
  pto2__recorder *r = rt->rec;
  r->end_ns = now;
  r->elapsed_ns = now - r->origin_ns;
  while (r->depth) pto2__rec_scope_close(rt); /* a failed run */
  r->derived = pto2__alloc(r->mem, ((size_t)r->ntasks + 1) * sizeof *r->derived);
  if (r->derived && build_hash(r) == 0) {
    derive_spans(rt, r);
    r->analysed = critical_path(r) == 0;
  }
  r->analysis_oom = !r->analysed;
  r->dropped_total = pto2_trace_dropped(rt);
  if (!st) return;
  for (uint32_t k = 0; k < r->nedges; k++)
    for (unsigned b = 0; b < PTO2_EDGE_REASON_COUNT; b++)
      if (r->edges[k].why & (1u << b)) st->edges_by_reason[b]++;
  st->tmap_lookups = r->tmap_lookups;
  st->tmap_overlap_checks = r->tmap_checks;
  st->tmap_chain_max = r->tmap_chain_max;
  for (uint32_t x = 0; x < rt->executor_count; x++) {
    const pto2__trace_buf *b = &rt->executors[x].trace;
    for (uint32_t k = 0; k < b->count; k++) st->busy_ns += b->events[k].end_ns - b->events[k].start_ns;
  }
  st->critical_path_ns = r->crit_ns;
  st->trace_dropped = r->dropped_total;
}

/* ------------------------------------------------------------------------ */
/* Graph getters                                                             */
/* ------------------------------------------------------------------------ */

static const pto2__recorder *recorded(const pto2_runtime *rt) {
  return rt && rt->rec && rt->rec->analysed ? rt->rec : 0;
}

size_t pto2_graph_task_count(const pto2_runtime *rt) {
  const pto2__recorder *r = recorded(rt);
  return r ? r->ntasks : 0;
}

size_t pto2_graph_edge_count(const pto2_runtime *rt) {
  const pto2__recorder *r = recorded(rt);
  return r ? r->nedges : 0;
}

size_t pto2_graph_hold_count(const pto2_runtime *rt) {
  const pto2__recorder *r = recorded(rt);
  return r ? r->nholds : 0;
}

static uint64_t rel(const pto2__recorder *r, uint64_t ns) { return ns ? ns - r->origin_ns : 0; }

int pto2_graph_task_get(const pto2_runtime *rt, size_t i, pto2_graph_task *out) {
  const pto2__recorder *r = recorded(rt);
  if (!r || i >= r->ntasks || !out) return PTO2_E_INVALID_ARGS;
  const pto2__rec_task *t = &r->tasks[i];
  const pto2__rec_derived *d = &r->derived[i];
  out->id.raw = t->id;
  for (unsigned l = 0; l < 3; l++) out->kernel[l] = t->kernel[l];
  out->scope = t->scope;
  out->mode = (pto2_scope_mode)t->mode;
  out->ring = t->ring;
  out->blocks = t->blocks;
  out->submit_ns = rel(r, t->submit_ns);
  out->ready_ns = rel(r, t->ready_ns);
  out->start_ns = rel(r, d->start_ns);
  out->end_ns = rel(r, d->end_ns);
  return 0;
}

int pto2_graph_edge_get(const pto2_runtime *rt, size_t i, pto2_graph_edge *out) {
  const pto2__recorder *r = recorded(rt);
  if (!r || i >= r->nedges || !out) return PTO2_E_INVALID_ARGS;
  out->producer.raw = r->edges[i].producer;
  out->consumer.raw = r->edges[i].consumer;
  out->reasons = r->edges[i].why;
  return 0;
}

int pto2_graph_hold_get(const pto2_runtime *rt, size_t i, pto2_graph_hold *out) {
  const pto2__recorder *r = recorded(rt);
  if (!r || i >= r->nholds || !out) return PTO2_E_INVALID_ARGS;
  out->holder.raw = r->holds[i].holder;
  out->creator.raw = r->holds[i].creator;
  return 0;
}
