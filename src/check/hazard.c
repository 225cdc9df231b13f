/* The hazard checker (theory of operation in check/hazard.h). */
#include "check/hazard.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deps/tensor.h"
#include "util/alloc.h"

enum {
  HZ_NONE = UINT32_MAX,
  HZ_MAX_RUNS = 1u << 16, /* contiguous pieces compared per view (H3) */
  HZ_MAX_KEPT = 4096,     /* hazards kept for pto2__hz_get; more are only counted */
  HZ_RINGS = PTO2_RING_COUNT,
};

enum { NODE_TASK = 0, NODE_GET = 1, NODE_SET = 2 };

/* A task or an orchestrator access, in program order. */
typedef struct hz_node {
  uint64_t id;       /* pto2_task_id.raw; UINT64_MAX for the orchestrator */
  int8_t kernel[3];
  uint8_t mode;      /* pto2_scope_mode of its scope */
  uint8_t what;      /* NODE_* */
  uint16_t depth;
  uint32_t scope_seq;
  uint32_t acc_first, acc_count;
  uint32_t last_orch; /* the latest orchestrator access before it, or HZ_NONE */
  uint32_t open_first; /* orchestrator: its open scopes' seqs, root first, in open_seqs */
} hz_node;

typedef struct hz_acc {
  pto2_tensor t;
  uint32_t node;
  uint8_t kind; /* pto2_arg_kind */
  uint8_t argi;
} hz_acc;

typedef struct hz_edge {
  uint32_t p, c;
  uint32_t time; /* nodes recorded when the edge was made */
} hz_edge;

typedef struct hz_alloc {
  uint64_t owner;
  const void *addr;
  uint32_t first, count; /* its accesses in `order` */
  bool orch;             /* accessed by the orchestrator */
} hz_alloc;

/* Task ids of one ring in this run: locals first .. first + count - 1. */
typedef struct hz_ring_map {
  uint64_t first;
  uint32_t count, cap;
  uint32_t *node;
} hz_ring_map;

struct pto2__hz {
  const pto2_allocator *mem; /* the runtime's (pto2_config.allocator): every block below */
  pto2__hz_kernel_name_fn kname;
  void *kctx;
  hz_node *nodes;
  uint32_t node_count, node_cap;
  hz_acc *accs;
  uint32_t acc_count, acc_cap;
  hz_edge *edges;
  uint32_t edge_count, edge_cap;
  uint32_t last_orch;
  uint32_t *open_seqs;
  uint32_t open_count, open_cap;
  hz_ring_map rings[HZ_RINGS];
  /* Check-time state. */
  uint32_t *acc_alloc; /* alloc of each access */
  uint32_t *order;     /* accesses grouped by alloc, program order within */
  hz_alloc *allocs;
  uint32_t alloc_count;
  uint32_t *pred_first, *preds; /* CSR of predecessors (edges + H4 implicit) */
  uint32_t *succ_first, *succs; /* CSR of successors (edges only), with times */
  uint32_t *succ_time;
  uint32_t *topo, *stamp, *stack;
  uint32_t stamp_now;
  bool acyclic;
  uint64_t *pairs; /* reported node pairs (open addressing), 0 = empty */
  uint32_t pair_cap, pair_count;
  pto2_hazard *hazards;
  uint64_t *hazard_keys; /* per kept hazard: first node << 32 | second node */
  uint32_t kept, found;
  uint64_t check_bytes;
  /* pto2__hz_set_names: name_count {name, replacement} pairs, the pointers
   * and the strings in one block. */
  char **names;
  uint32_t name_count;
};

/* ------------------------------------------------------------------------ */
/* Recording                                                                 */
/* ------------------------------------------------------------------------ */

static int grow(const pto2_allocator *a, void **p, uint32_t *cap, uint64_t need, size_t esz) {
  if (need <= *cap) return 0;
  uint64_t n = *cap ? *cap : 256;
  while (n < need) n *= 2;
  if (n > UINT32_MAX) return PTO2_E_NO_MEMORY;
  void *q = pto2__realloc(a, *p, (size_t)n * esz);
  if (!q) return PTO2_E_NO_MEMORY;
  *p = q;
  *cap = (uint32_t)n;
  return 0;
}

pto2__hz *pto2__hz_create(pto2__hz_kernel_name_fn name, void *ctx, const pto2_allocator *a) {
  pto2__hz *h = pto2__zalloc(a, sizeof *h);
  if (!h) return 0;
  h->mem = a;
  h->kname = name;
  h->kctx = ctx;
  h->last_orch = HZ_NONE;
  return h;
}

static void free_check_state(pto2__hz *h) {
  pto2__free(h->mem, h->acc_alloc);
  pto2__free(h->mem, h->order);
  pto2__free(h->mem, h->allocs);
  pto2__free(h->mem, h->pred_first);
  pto2__free(h->mem, h->preds);
  pto2__free(h->mem, h->succ_first);
  pto2__free(h->mem, h->succs);
  pto2__free(h->mem, h->succ_time);
  pto2__free(h->mem, h->topo);
  pto2__free(h->mem, h->stamp);
  pto2__free(h->mem, h->stack);
  pto2__free(h->mem, h->pairs);
  h->acc_alloc = h->order = h->pred_first = h->preds = h->succ_first = h->succs = 0;
  h->succ_time = h->topo = h->stamp = h->stack = 0;
  h->allocs = 0;
  h->pairs = 0;
  h->alloc_count = h->pair_cap = h->pair_count = 0;
}

void pto2__hz_destroy(pto2__hz *h) {
  if (!h) return;
  free_check_state(h);
  pto2__free(h->mem, h->nodes);
  pto2__free(h->mem, h->accs);
  pto2__free(h->mem, h->edges);
  pto2__free(h->mem, h->open_seqs);
  for (unsigned r = 0; r < HZ_RINGS; r++) pto2__free(h->mem, h->rings[r].node);
  pto2__free(h->mem, h->hazards);
  pto2__free(h->mem, h->hazard_keys);
  pto2__free(h->mem, h->names);
  pto2__free(h->mem, h);
}

void pto2__hz_run_begin(pto2__hz *h) {
  free_check_state(h);
  h->node_count = h->acc_count = h->edge_count = h->open_count = 0;
  h->last_orch = HZ_NONE;
  for (unsigned r = 0; r < HZ_RINGS; r++) h->rings[r].count = 0;
  h->kept = h->found = 0;
  h->check_bytes = 0;
}

/* The node of a task of this run, or HZ_NONE. */
static uint32_t node_of(const pto2__hz *h, uint64_t raw) {
  pto2_task_id id = {raw};
  unsigned r = pto2_task_id_ring(id);
  if (!pto2_task_id_is_valid(id) || r >= HZ_RINGS) return HZ_NONE;
  const hz_ring_map *m = &h->rings[r];
  uint64_t local = pto2_task_id_local(id);
  if (!m->count || local < m->first || local - m->first >= m->count) return HZ_NONE;
  return m->node[local - m->first];
}

static int new_node(pto2__hz *h, uint64_t id, uint8_t what, unsigned mode, unsigned depth,
                    uint32_t scope_seq, uint32_t *out) {
  int rc = grow(h->mem, (void **)&h->nodes, &h->node_cap, (uint64_t)h->node_count + 1,
                sizeof *h->nodes);
  if (rc) return rc;
  hz_node *n = &h->nodes[h->node_count];
  memset(n, 0, sizeof *n);
  n->id = id;
  n->kernel[0] = n->kernel[1] = n->kernel[2] = -1;
  n->what = what;
  n->mode = (uint8_t)mode;
  n->depth = (uint16_t)depth;
  n->scope_seq = scope_seq;
  n->acc_first = h->acc_count;
  n->last_orch = h->last_orch;
  *out = h->node_count++;
  return 0;
}

static int add_acc(pto2__hz *h, uint32_t node, const pto2_tensor *t, unsigned kind,
                   unsigned argi) {
  int rc =
      grow(h->mem, (void **)&h->accs, &h->acc_cap, (uint64_t)h->acc_count + 1, sizeof *h->accs);
  if (rc) return rc;
  hz_acc *a = &h->accs[h->acc_count++];
  a->t = *t;
  a->node = node;
  a->kind = (uint8_t)kind;
  a->argi = (uint8_t)argi;
  h->nodes[node].acc_count++;
  return 0;
}

int pto2__hz_task(pto2__hz *h, pto2_task_id id, const int8_t kernels[3], unsigned mode,
                  unsigned depth, uint32_t scope_seq, const uint8_t *kinds,
                  const pto2_tensor *tensors, unsigned count) {
  unsigned r = pto2_task_id_ring(id);
  if (r >= HZ_RINGS) return 0;
  hz_ring_map *m = &h->rings[r];
  uint64_t local = pto2_task_id_local(id);
  if (!m->count) m->first = local;
  if (local - m->first != m->count) return 0; /* not the next id of its ring: not ours */
  uint32_t node;
  int rc = grow(h->mem, (void **)&m->node, &m->cap, (uint64_t)m->count + 1, sizeof *m->node);
  if (rc || (rc = new_node(h, id.raw, NODE_TASK, mode, depth, scope_seq, &node))) return rc;
  m->node[m->count++] = node;
  memcpy(h->nodes[node].kernel, kernels, 3);
  for (unsigned i = 0; i < count; i++)
    if ((rc = add_acc(h, node, &tensors[i], kinds[i], i))) return rc;
  return 0;
}

int pto2__hz_edge(pto2__hz *h, pto2_task_id producer, pto2_task_id consumer) {
  uint32_t p = node_of(h, producer.raw), c = node_of(h, consumer.raw);
  if (p == HZ_NONE || c == HZ_NONE) return 0;
  int rc = grow(h->mem, (void **)&h->edges, &h->edge_cap, (uint64_t)h->edge_count + 1,
                sizeof *h->edges);
  if (rc) return rc;
  h->edges[h->edge_count++] = (hz_edge){p, c, h->node_count};
  return 0;
}

int pto2__hz_orch_access(pto2__hz *h, const pto2_tensor *t, const uint32_t *indices,
                         bool write, unsigned mode, unsigned depth, const uint32_t *scope_seqs) {
  uint32_t ones[PTO2_MAX_DIMS] = {1, 1, 1, 1, 1};
  pto2_tensor elem = pto2_tensor_view(t, ones, indices);
  if (!pto2__tensor_valid(&elem)) return 0; /* validated by the caller */
  elem.owner = t->owner;
  uint32_t node;
  int rc = grow(h->mem, (void **)&h->open_seqs, &h->open_cap, (uint64_t)h->open_count + depth + 1,
                sizeof *h->open_seqs);
  if (rc || (rc = new_node(h, UINT64_MAX, write ? NODE_SET : NODE_GET, mode, depth,
                           scope_seqs[depth], &node)))
    return rc;
  h->nodes[node].open_first = h->open_count;
  memcpy(h->open_seqs + h->open_count, scope_seqs, (depth + 1) * sizeof *scope_seqs);
  h->open_count += depth + 1;
  h->last_orch = node;
  return add_acc(h, node, &elem, write ? PTO2_ARG_OUTPUT_EXISTING : PTO2_ARG_INPUT, 0);
}

/* ------------------------------------------------------------------------ */
/* Geometry (H3)                                                             */
/* ------------------------------------------------------------------------ */

enum { OV_NONE = 0, OV_EXACT = 1, OV_POSSIBLE = 2 };

static bool same_layout(const pto2_tensor *a, const pto2_tensor *b) {
  if (a->ndims != b->ndims || pto2__dtype_size(a->dtype) != pto2__dtype_size(b->dtype))
    return false;
  for (unsigned d = 0; d < a->ndims; d++)
    if (a->raw_shapes[d] != b->raw_shapes[d]) return false;
  return pto2__tensor_raw_origin(a) == pto2__tensor_raw_origin(b);
}

/* The contiguous byte runs of a view, in increasing order. */
typedef struct run_it {
  const pto2_tensor *t;
  unsigned k;                 /* dims 0..k-1 are enumerated; k.. lie in one run */
  uint32_t idx[PTO2_MAX_DIMS];
  uint64_t stride[PTO2_MAX_DIMS];
  uint64_t base, len, esz;    /* bytes */
  uint64_t count;             /* runs */
  uint64_t s, e;              /* the current run */
  bool done;
} run_it;

static void run_at(run_it *it) {
  uint64_t off = it->base;
  for (unsigned d = 0; d < it->k; d++) off += (uint64_t)it->idx[d] * it->stride[d];
  it->s = off * it->esz;
  it->e = it->s + it->len;
}

static void run_init(run_it *it, const pto2_tensor *t) {
  unsigned n = t->ndims;
  it->t = t;
  it->esz = pto2__dtype_size(t->dtype);
  for (unsigned d = 0; d < n; d++) it->stride[d] = pto2_tensor_stride(t, d);
  unsigned k = n - 1;
  uint64_t len = t->shapes[k];
  while (k > 0 && t->shapes[k] == t->raw_shapes[k]) len *= t->shapes[--k];
  it->k = k;
  it->len = len * it->esz;
  it->base = pto2__tensor_start(t);
  it->count = 1;
  for (unsigned d = 0; d < k; d++) {
    it->idx[d] = 0;
    it->count *= t->shapes[d];
  }
  it->done = false;
  run_at(it);
}

static void run_next(run_it *it) {
  for (unsigned d = it->k; d-- > 0;) {
    if (++it->idx[d] < it->t->shapes[d]) {
      run_at(it);
      return;
    }
    it->idx[d] = 0;
  }
  it->done = true;
}

static int overlap(const pto2_tensor *a, const pto2_tensor *b) {
  uint64_t alo, ahi, blo, bhi;
  pto2__tensor_byte_range(a, &alo, &ahi);
  pto2__tensor_byte_range(b, &blo, &bhi);
  if (!(alo < bhi && blo < ahi)) return OV_NONE;
  if (same_layout(a, b)) {
    for (unsigned d = 0; d < a->ndims; d++) {
      uint64_t ab = a->offsets[d], ae = ab + a->shapes[d];
      uint64_t bb = b->offsets[d], be = bb + b->shapes[d];
      if (!(ae > bb && be > ab)) return OV_NONE;
    }
    return OV_EXACT;
  }
  run_it x, y;
  run_init(&x, a);
  run_init(&y, b);
  if (x.count > HZ_MAX_RUNS || y.count > HZ_MAX_RUNS) return OV_POSSIBLE;
  while (!x.done && !y.done) {
    if (x.e <= y.s) run_next(&x);
    else if (y.e <= x.s) run_next(&y);
    else return OV_EXACT;
  }
  return OV_NONE;
}

/* True if every element of `b` is an element of `a` (same layout only). */
static bool covers(const pto2_tensor *a, const pto2_tensor *b, bool same_version) {
  if (!same_layout(a, b) || (same_version && a->version != b->version)) return false;
  for (unsigned d = 0; d < a->ndims; d++)
    if (b->offsets[d] < a->offsets[d] ||
        (uint64_t)b->offsets[d] + b->shapes[d] > (uint64_t)a->offsets[d] + a->shapes[d])
      return false;
  return true;
}

static bool acc_reads(const hz_acc *a) {
  return a->kind == PTO2_ARG_INPUT || a->kind == PTO2_ARG_INOUT || a->kind == PTO2_ARG_NO_DEP;
}
static bool acc_writes(const hz_acc *a) {
  return a->kind == PTO2_ARG_OUTPUT || a->kind == PTO2_ARG_INOUT ||
         a->kind == PTO2_ARG_OUTPUT_EXISTING;
}

/* ------------------------------------------------------------------------ */
/* Graph (H4)                                                                */
/* ------------------------------------------------------------------------ */

static void *xcalloc(pto2__hz *h, size_t n, size_t esz) {
  if (n && esz > SIZE_MAX / n) return 0;
  void *p = pto2__zalloc(h->mem, (n ? n : 1) * esz);
  if (p) h->check_bytes += (uint64_t)n * esz;
  return p;
}

/* Groups the accesses by allocation (H2), keeping program order. */
static int group_allocs(pto2__hz *h) {
  uint32_t n = h->acc_count, cap = 16;
  while (cap < 2 * (uint64_t)n + 16) cap *= 2;
  uint32_t *table = xcalloc(h, cap, sizeof *table); /* alloc index + 1 */
  h->acc_alloc = xcalloc(h, n, sizeof *h->acc_alloc);
  h->allocs = xcalloc(h, n, sizeof *h->allocs);
  h->order = xcalloc(h, n, sizeof *h->order);
  if (!table || !h->acc_alloc || !h->allocs || !h->order) {
    pto2__free(h->mem, table);
    return PTO2_E_NO_MEMORY;
  }
  for (uint32_t i = 0; i < n; i++) {
    const hz_acc *a = &h->accs[i];
    uint64_t owner = a->t.owner.raw;
    uint64_t key = (uint64_t)(uintptr_t)a->t.addr * UINT64_C(0x9E3779B97F4A7C15) ^
                   owner * UINT64_C(0xC2B2AE3D27D4EB4F);
    uint32_t slot = (uint32_t)(key >> 32) & (cap - 1);
    for (;;) {
      uint32_t v = table[slot];
      if (!v) {
        hz_alloc *al = &h->allocs[h->alloc_count];
        al->owner = owner;
        al->addr = a->t.addr;
        table[slot] = ++h->alloc_count;
        h->acc_alloc[i] = h->alloc_count - 1;
        break;
      }
      hz_alloc *al = &h->allocs[v - 1];
      if (al->owner == owner && al->addr == a->t.addr) {
        h->acc_alloc[i] = v - 1;
        break;
      }
      slot = (slot + 1) & (cap - 1);
    }
    hz_alloc *al = &h->allocs[h->acc_alloc[i]];
    al->count++;
    if (h->nodes[a->node].what != NODE_TASK) al->orch = true;
  }
  pto2__free(h->mem, table);
  uint32_t pos = 0;
  for (uint32_t i = 0; i < h->alloc_count; i++) {
    h->allocs[i].first = pos;
    pos += h->allocs[i].count;
    h->allocs[i].count = 0;
  }
  for (uint32_t i = 0; i < n; i++) {
    hz_alloc *al = &h->allocs[h->acc_alloc[i]];
    h->order[al->first + al->count++] = i;
  }
  return 0;
}

static int build_succs(pto2__hz *h) {
  uint32_t n = h->node_count, m = h->edge_count;
  h->succ_first = xcalloc(h, (size_t)n + 1, sizeof *h->succ_first);
  h->succs = xcalloc(h, m, sizeof *h->succs);
  h->succ_time = xcalloc(h, m, sizeof *h->succ_time);
  if (!h->succ_first || !h->succs || !h->succ_time) return PTO2_E_NO_MEMORY;
  for (uint32_t i = 0; i < m; i++) h->succ_first[h->edges[i].p + 1]++;
  for (uint32_t i = 0; i < n; i++) h->succ_first[i + 1] += h->succ_first[i];
  uint32_t *fill = xcalloc(h, n, sizeof *fill);
  if (!fill) return PTO2_E_NO_MEMORY;
  for (uint32_t i = 0; i < m; i++) {
    uint32_t p = h->edges[i].p, at = h->succ_first[p] + fill[p]++;
    h->succs[at] = h->edges[i].c;
    h->succ_time[at] = h->edges[i].time;
  }
  pto2__free(h->mem, fill);
  return 0;
}

/* A growable list of (node, predecessor) pairs beyond the edges. */
typedef struct pair_list {
  hz_edge *v;
  uint32_t count, cap;
  const pto2_allocator *mem;
} pair_list;

static int push_pair(pair_list *l, uint32_t node, uint32_t pred) {
  int rc = grow(l->mem, (void **)&l->v, &l->cap, (uint64_t)l->count + 1, sizeof *l->v);
  if (rc) return rc;
  l->v[l->count++] = (hz_edge){pred, node, 0};
  return 0;
}

/* Written where a later lookup finds it: INOUT / OUTPUT_EXISTING, not
 * manual_dep, not in a GRAPH scope, not a MANUAL scope's own tensor. */
static bool recorded_write(const pto2__hz *h, const hz_acc *a) {
  const hz_node *n = &h->nodes[a->node];
  if (n->what != NODE_TASK || a->t.manual_dep) return false;
  if (a->kind != PTO2_ARG_INOUT && a->kind != PTO2_ARG_OUTPUT_EXISTING) return false;
  if (n->mode == PTO2_SCOPE_GRAPH) return false;
  if (n->mode == PTO2_SCOPE_MANUAL) {
    uint32_t c = node_of(h, a->t.owner.raw);
    if (c != HZ_NONE && h->nodes[c].scope_seq == n->scope_seq) return false;
  }
  return true;
}

/* True if the runtime looks the access up in the TensorMap: INPUT/INOUT,
 * not manual_dep, in an AUTO scope or on a MANUAL scope's boundary. */
static bool looked_up(const pto2__hz *h, const hz_acc *a) {
  const hz_node *n = &h->nodes[a->node];
  if (n->what != NODE_TASK) return true;
  if (a->t.manual_dep || (a->kind != PTO2_ARG_INPUT && a->kind != PTO2_ARG_INOUT)) return false;
  if (n->mode == PTO2_SCOPE_GRAPH) return false;
  if (n->mode == PTO2_SCOPE_MANUAL) {
    uint32_t c = node_of(h, a->t.owner.raw);
    if (c != HZ_NONE && h->nodes[c].scope_seq == n->scope_seq) return false;
  }
  return true;
}

/* The TensorMap's overlap test (deps/tensormap.h T5): per dimension for the
 * same version and layout, else conservatively by byte range. */
static bool tmap_overlaps(const pto2_tensor *e, const pto2_tensor *t) {
  uint64_t elo, ehi, tlo, thi;
  pto2__tensor_byte_range(e, &elo, &ehi);
  pto2__tensor_byte_range(t, &tlo, &thi);
  if (!(elo < thi && tlo < ehi)) return false;
  bool same = e->version == t->version && e->ndims == t->ndims && e->dtype == t->dtype &&
              pto2__tensor_raw_origin(e) == pto2__tensor_raw_origin(t);
  for (unsigned d = 0; same && d < e->ndims; d++) same = e->raw_shapes[d] == t->raw_shapes[d];
  for (unsigned d = 0; same && d < e->ndims; d++)
    if (!((uint64_t)e->offsets[d] + e->shapes[d] > t->offsets[d] &&
          (uint64_t)t->offsets[d] + t->shapes[d] > e->offsets[d]))
      return false;
  return true;
}

/* True if node w's scope is still open when node o runs (o's open scopes
 * were recorded with it). */
static bool scope_open_at(const pto2__hz *h, uint32_t w, uint32_t o) {
  const hz_node *wn = &h->nodes[w], *on = &h->nodes[o];
  return wn->depth <= on->depth && h->open_seqs[on->open_first + wn->depth] == wn->scope_seq;
}

/* (H4) Orderings the runtime guarantees without necessarily making an
 * edge.  A lookup waits for every writer the TensorMap holds for an
 * overlapping region, or finds it retired (finished, its entry freed):
 * either way the writer is ordered before, so each looking-up access gets
 * the writers that a TensorMap replayed here would hold (an INOUT lookup
 * that covers an entry removes it, T4).  A blocking access also waits for
 * the tensor's creator, and set for the consumers so far of the creator and
 * of each writer whose scope is still open (one that can have retired had
 * no consumer left running). */
/* Strict AUTO: every overlapping entry of `live` becomes a predecessor of
 * x; those x covers are removed (as the strict lookup removes them). */
static int strict_lookup(pto2__hz *h, pair_list *extra, const hz_acc *x, uint32_t *live,
                         uint32_t *nlive, bool remove) {
  uint32_t kept = 0;
  int rc = 0;
  for (uint32_t j = 0; j < *nlive && !rc; j++) {
    const hz_acc *e = &h->accs[live[j]];
    if (e->node != x->node && tmap_overlaps(&e->t, &x->t)) {
      rc = push_pair(extra, x->node, e->node);
      if (remove && covers(&x->t, &e->t, true)) continue;
    }
    live[kept++] = live[j];
  }
  if (!rc) *nlive = kept;
  return rc;
}

static bool strict_node(const hz_node *n) { return n->mode == PTO2_SCOPE_AUTO_STRICT; }

/* Strict AUTO lists the first HZ_LISTED readers of a creator's outputs
 * with the creator (a later strict writer of any of its outputs waits for
 * all of them, any region); the rest go to the reader map.  Marks the
 * listed reads and collects each creator's list. */
enum { HZ_LISTED = PTO2__HZ_LISTED_READERS };

static bool strict_read(const pto2__hz *h, const hz_acc *a) {
  const hz_node *n = &h->nodes[a->node];
  return n->mode == PTO2_SCOPE_AUTO_STRICT && n->what == NODE_TASK &&
         a->kind == PTO2_ARG_INPUT && !a->t.manual_dep;
}

static int list_readers(pto2__hz *h, uint8_t **listed_acc, uint32_t **lists, uint8_t **counts) {
  *listed_acc = xcalloc(h, h->acc_count, 1);
  *lists = xcalloc(h, (size_t)h->node_count * HZ_LISTED, sizeof **lists);
  *counts = xcalloc(h, h->node_count, 1);
  if (!*listed_acc || !*lists || !*counts) return PTO2_E_NO_MEMORY;
  for (uint32_t i = 0; i < h->acc_count; i++) { /* program order */
    const hz_acc *a = &h->accs[i];
    if (!strict_read(h, a)) continue;
    uint32_t c = node_of(h, a->t.owner.raw);
    if (c == HZ_NONE || (*counts)[c] >= HZ_LISTED) continue;
    (*lists)[(size_t)c * HZ_LISTED + (*counts)[c]++] = a->node;
    (*listed_acc)[i] = 1;
  }
  return 0;
}

static int implied_preds(pto2__hz *h, pair_list *extra) {
  uint32_t *live = 0, live_cap = 0, *rlive = 0, rlive_cap = 0;
  uint8_t *listed_acc = 0, *counts = 0;
  uint32_t *lists = 0;
  int rc = list_readers(h, &listed_acc, &lists, &counts);
  for (uint32_t ai = 0; ai < h->alloc_count && !rc; ai++) {
    const hz_alloc *al = &h->allocs[ai];
    uint32_t nlive = 0, nrlive = 0;
    for (uint32_t k = 0; k < al->count && !rc; k++) {
      uint32_t xi = h->order[al->first + k];
      const hz_acc *x = &h->accs[xi];
      const hz_node *xn = &h->nodes[x->node];
      if (strict_node(xn) && !x->t.manual_dep) {
        bool task = xn->what == NODE_TASK;
        bool writes = task && (x->kind == PTO2_ARG_INOUT || x->kind == PTO2_ARG_OUTPUT_EXISTING);
        uint32_t c = node_of(h, al->owner);
        if (writes && c != HZ_NONE)
          for (unsigned j = 0; j < counts[c] && !rc; j++) {
            uint32_t r = lists[(size_t)c * HZ_LISTED + j];
            if (r < x->node) rc = push_pair(extra, x->node, r);
          }
        if (!rc && (writes || xn->what == NODE_SET))
          rc = strict_lookup(h, extra, x, rlive, &nrlive, task);
        if (!rc && task && x->kind == PTO2_ARG_OUTPUT_EXISTING)
          rc = strict_lookup(h, extra, x, live, &nlive, true);
        if (!rc && task && x->kind == PTO2_ARG_INPUT && !listed_acc[xi]) {
          rc = grow(h->mem, (void **)&rlive, &rlive_cap, (uint64_t)nrlive + 1, sizeof *rlive);
          if (rc) break;
          rlive[nrlive++] = xi;
        }
      }
      if (!rc && looked_up(h, x)) {
        uint32_t first_extra = extra->count, kept = 0;
        if (xn->what != NODE_TASK) {
          uint32_t creator = node_of(h, al->owner);
          if (creator != HZ_NONE) rc = push_pair(extra, x->node, creator);
        }
        for (uint32_t j = 0; j < nlive && !rc; j++) {
          const hz_acc *e = &h->accs[live[j]];
          if (e->node != x->node && tmap_overlaps(&e->t, &x->t)) {
            rc = push_pair(extra, x->node, e->node);
            if (x->kind == PTO2_ARG_INOUT && xn->what == NODE_TASK && covers(&x->t, &e->t, true))
              continue; /* removed (T4) */
          }
          live[kept++] = live[j];
        }
        if (!rc) nlive = kept;
        if (xn->what == NODE_SET && !rc) {
          uint32_t nw = extra->count - first_extra, creator = node_of(h, al->owner);
          for (uint32_t w = 0; w < nw && !rc; w++) {
            uint32_t wn = extra->v[first_extra + w].p;
            if (wn != creator && !scope_open_at(h, wn, x->node)) continue;
            for (uint32_t s = h->succ_first[wn]; s < h->succ_first[wn + 1] && !rc; s++)
              if (h->succ_time[s] <= x->node && h->succs[s] < x->node)
                rc = push_pair(extra, x->node, h->succs[s]);
          }
        }
      }
      /* A blocking set also waits for every earlier task still in flight
       * with an overlapping tensor argument, except tasks held back in an
       * enclosing GRAPH scope (orch/data_access.c, wait_accessors); a task
       * no longer in flight has finished, so every earlier task but those
       * is ordered before the set. */
      for (uint32_t j = 0; j < k && !rc && xn->what == NODE_SET; j++) {
        const hz_acc *e = &h->accs[h->order[al->first + j]];
        const hz_node *en = &h->nodes[e->node];
        if (en->what != NODE_TASK || e->node >= x->node) continue;
        if (en->mode == PTO2_SCOPE_GRAPH && scope_open_at(h, e->node, x->node)) continue;
        if (tmap_overlaps(&e->t, &x->t)) rc = push_pair(extra, x->node, e->node);
      }
      if (rc || !recorded_write(h, x)) continue;
      if ((rc = grow(h->mem, (void **)&live, &live_cap, (uint64_t)nlive + 1, sizeof *live))) break;
      live[nlive++] = xi;
    }
  }
  h->check_bytes += ((uint64_t)live_cap + rlive_cap) * sizeof *live;
  pto2__free(h->mem, live);
  pto2__free(h->mem, rlive);
  pto2__free(h->mem, listed_acc);
  pto2__free(h->mem, lists);
  pto2__free(h->mem, counts);
  return rc;
}

static int build_preds(pto2__hz *h) {
  pair_list extra = {0, 0, 0, h->mem};
  int rc = implied_preds(h, &extra);
  uint32_t n = h->node_count;
  h->pred_first = xcalloc(h, (size_t)n + 1, sizeof *h->pred_first);
  uint64_t total = (uint64_t)h->edge_count + extra.count + n;
  h->preds = xcalloc(h, total, sizeof *h->preds);
  if (rc || !h->pred_first || !h->preds) {
    pto2__free(h->mem, extra.v);
    return PTO2_E_NO_MEMORY;
  }
  for (uint32_t i = 0; i < h->edge_count; i++) h->pred_first[h->edges[i].c + 1]++;
  for (uint32_t i = 0; i < extra.count; i++) h->pred_first[extra.v[i].c + 1]++;
  for (uint32_t i = 0; i < n; i++)
    if (h->nodes[i].last_orch != HZ_NONE) h->pred_first[i + 1]++;
  for (uint32_t i = 0; i < n; i++) h->pred_first[i + 1] += h->pred_first[i];
  uint32_t *fill = xcalloc(h, n, sizeof *fill);
  if (!fill) {
    pto2__free(h->mem, extra.v);
    return PTO2_E_NO_MEMORY;
  }
  for (uint32_t i = 0; i < h->edge_count; i++) {
    uint32_t c = h->edges[i].c;
    h->preds[h->pred_first[c] + fill[c]++] = h->edges[i].p;
  }
  for (uint32_t i = 0; i < extra.count; i++) {
    uint32_t c = extra.v[i].c;
    h->preds[h->pred_first[c] + fill[c]++] = extra.v[i].p;
  }
  for (uint32_t i = 0; i < n; i++)
    if (h->nodes[i].last_orch != HZ_NONE) h->preds[h->pred_first[i] + fill[i]++] = h->nodes[i].last_orch;
  h->check_bytes += (uint64_t)extra.cap * sizeof *extra.v;
  pto2__free(h->mem, extra.v);
  pto2__free(h->mem, fill);
  return 0;
}

/* Kahn's algorithm: topo[i] is node i's rank in one topological order. */
static int build_topo(pto2__hz *h) {
  uint32_t n = h->node_count;
  h->topo = xcalloc(h, n, sizeof *h->topo);
  h->stamp = xcalloc(h, n, sizeof *h->stamp);
  h->stack = xcalloc(h, n, sizeof *h->stack);
  uint32_t *indeg = xcalloc(h, n, sizeof *indeg);
  uint32_t *out_first = xcalloc(h, (size_t)n + 1, sizeof *out_first);
  uint32_t m = h->pred_first[n];
  uint32_t *outs = xcalloc(h, m, sizeof *outs);
  int rc = 0;
  if (!h->topo || !h->stamp || !h->stack || !indeg || !out_first || !outs) {
    rc = PTO2_E_NO_MEMORY;
    goto done;
  }
  for (uint32_t c = 0; c < n; c++) {
    indeg[c] = h->pred_first[c + 1] - h->pred_first[c];
    for (uint32_t j = h->pred_first[c]; j < h->pred_first[c + 1]; j++) out_first[h->preds[j] + 1]++;
  }
  for (uint32_t i = 0; i < n; i++) out_first[i + 1] += out_first[i];
  for (uint32_t c = 0; c < n; c++)
    for (uint32_t j = h->pred_first[c]; j < h->pred_first[c + 1]; j++)
      outs[out_first[h->preds[j]] + h->stamp[h->preds[j]]++] = c;
  memset(h->stamp, 0, (size_t)n * sizeof *h->stamp);
  uint32_t top = 0, rank = 0;
  for (uint32_t i = n; i-- > 0;)
    if (!indeg[i]) h->stack[top++] = i;
  while (top) {
    uint32_t v = h->stack[--top];
    h->topo[v] = rank++;
    for (uint32_t j = out_first[v]; j < out_first[v + 1]; j++)
      if (--indeg[outs[j]] == 0) h->stack[top++] = outs[j];
  }
  h->acyclic = rank == n;
done:
  pto2__free(h->mem, indeg);
  pto2__free(h->mem, out_first);
  pto2__free(h->mem, outs);
  return rc;
}

/* A path of edges from a to b. */
static bool reaches(pto2__hz *h, uint32_t a, uint32_t b) {
  if (a == b) return true;
  if (h->acyclic && h->topo[a] >= h->topo[b]) return false;
  for (uint32_t j = h->pred_first[b]; j < h->pred_first[b + 1]; j++)
    if (h->preds[j] == a) return true;
  if (++h->stamp_now == 0) {
    memset(h->stamp, 0, (size_t)h->node_count * sizeof *h->stamp);
    h->stamp_now = 1;
  }
  uint32_t top = 0;
  h->stack[top++] = b;
  h->stamp[b] = h->stamp_now;
  while (top) {
    uint32_t v = h->stack[--top];
    for (uint32_t j = h->pred_first[v]; j < h->pred_first[v + 1]; j++) {
      uint32_t p = h->preds[j];
      if (p == a) return true;
      if (h->stamp[p] == h->stamp_now || (h->acyclic && h->topo[p] <= h->topo[a])) continue;
      h->stamp[p] = h->stamp_now;
      h->stack[top++] = p;
    }
  }
  return false;
}

/* ------------------------------------------------------------------------ */
/* Reports (H5)                                                              */
/* ------------------------------------------------------------------------ */

static const char *const CAUSE_ORCH =
    "a blocking data access waits only for the tensor's creator and the writers recorded in the "
    "TensorMap (for pto2_set_tensor_data also their consumers); this task is not among them";
static const char *const CAUSE_NO_DEP =
    "NO_DEP argument on a conflicting tensor: that task waits only for the tensor's creator";
static const char *const CAUSE_MANUAL_DEP =
    "manual_dep on a conflicting tensor: it is never looked up or recorded in the TensorMap, so "
    "only explicit edges order its users";
static const char *const CAUSE_MANUAL =
    "missing explicit edge (pto2_add_dependency) between two tasks of one MANUAL scope";
static const char *const CAUSE_GRAPH =
    "missing explicit edge (pto2_add_dependency) in a GRAPH scope: GRAPH tasks find no "
    "dependencies from their tensors";
static const char *const CAUSE_WAR =
    "write-after-read is not tracked in AUTO scopes: a writer does not wait for earlier readers "
    "(submit both in PTO2_SCOPE_AUTO_STRICT scopes, or give the writer the reader as an explicit "
    "producer: pto2_arg_add_dep)";
static const char *const CAUSE_WAR_INOUT =
    "write-after-read is not tracked in AUTO scopes: a writer does not wait for earlier readers "
    "(submit both in PTO2_SCOPE_AUTO_STRICT scopes, read with INOUT, or give the writer the "
    "reader as an explicit producer: pto2_arg_add_dep)";
static const char *const CAUSE_WAR_MANUAL =
    "the read was in a MANUAL scope, whose reads are not recorded, so no later writer waits for "
    "it (not even in a strict AUTO scope): give the writer the reader as an explicit producer "
    "(pto2_arg_add_dep), or add the explicit edge that orders the reader before a task the "
    "writer waits for";
static const char *const CAUSE_OE =
    "OUTPUT_EXISTING does not wait for earlier writers in AUTO scopes (use "
    "PTO2_SCOPE_AUTO_STRICT or INOUT, or add an explicit producer)";
static const char *const CAUSE_UNRECORDED =
    "the earlier write was to a MANUAL scope's own tensor, which is not recorded for later "
    "lookups: add an explicit edge";
static const char *const CAUSE_OTHER = "no dependency path orders these tasks";
static const char *const CAUSE_WAR_PLAIN =
    "the earlier read was outside strict AUTO scopes, where readers are not recorded, so the "
    "writer does not wait for it (submit the reader in a PTO2_SCOPE_AUTO_STRICT scope too, or "
    "give the writer the reader as an explicit producer: pto2_arg_add_dep)";

static const char *likely_cause(const pto2__hz *h, const hz_acc *e, const hz_acc *x,
                                pto2_hazard_kind kind) {
  const hz_node *en = &h->nodes[e->node], *xn = &h->nodes[x->node];
  if (xn->what != NODE_TASK || en->what != NODE_TASK) return CAUSE_ORCH;
  if (e->kind == PTO2_ARG_NO_DEP || x->kind == PTO2_ARG_NO_DEP) return CAUSE_NO_DEP;
  if (e->t.manual_dep || x->t.manual_dep) return CAUSE_MANUAL_DEP;
  if (en->mode == PTO2_SCOPE_MANUAL && xn->mode == PTO2_SCOPE_MANUAL &&
      en->scope_seq == xn->scope_seq)
    return CAUSE_MANUAL;
  if (en->mode == PTO2_SCOPE_GRAPH || xn->mode == PTO2_SCOPE_GRAPH) return CAUSE_GRAPH;
  if (kind == PTO2_HAZARD_WAR) {
    /* Only a read in a strict AUTO scope is recorded for later strict
     * writers; a MANUAL read never is (the GRAPH case is above). */
    if (en->mode == PTO2_SCOPE_MANUAL) return CAUSE_WAR_MANUAL;
    if (strict_node(xn) && !strict_node(en)) return CAUSE_WAR_PLAIN;
    /* An INOUT read is a recorded write that an INOUT writer looks up. */
    return x->kind == PTO2_ARG_INOUT ? CAUSE_WAR_INOUT : CAUSE_WAR;
  }
  if (kind == PTO2_HAZARD_WAW && x->kind == PTO2_ARG_OUTPUT_EXISTING) return CAUSE_OE;
  if (acc_writes(e) && e->kind != PTO2_ARG_OUTPUT && !recorded_write(h, e)) return CAUSE_UNRECORDED;
  return CAUSE_OTHER;
}

static void fill_side(const pto2__hz *h, const hz_acc *a, pto2_hazard_access *s) {
  const hz_node *n = &h->nodes[a->node];
  memset(s, 0, sizeof *s);
  s->task.raw = n->id;
  if (n->what != NODE_TASK) {
    snprintf(s->kernel, sizeof s->kernel, "orchestrator");
  } else {
    size_t used = 0;
    for (unsigned l = 0; l < 3; l++) {
      if (n->kernel[l] < 0) continue;
      const char *name = h->kname ? h->kname(h->kctx, n->kernel[l]) : "";
      int w = snprintf(s->kernel + used, sizeof s->kernel - used, "%s%s", used ? "+" : "",
                       name && *name ? name : "?");
      if (w < 0 || (size_t)w >= sizeof s->kernel - used) break;
      used += (size_t)w;
    }
  }
  s->scope_mode = (pto2_scope_mode)n->mode;
  s->scope_depth = n->depth;
  s->scope_seq = n->scope_seq;
  s->arg_kind = a->kind;
  s->arg_index = a->argi;
  s->manual_dep = a->t.manual_dep;
  s->ndims = a->t.ndims;
  memcpy(s->offsets, a->t.offsets, sizeof s->offsets);
  memcpy(s->shapes, a->t.shapes, sizeof s->shapes);
  memcpy(s->raw_shapes, a->t.raw_shapes, sizeof s->raw_shapes);
}

/* Records the pair once; false if it was reported before. */
static int first_report(pto2__hz *h, uint32_t a, uint32_t b, bool *first) {
  if (2 * ((uint64_t)h->pair_count + 1) > h->pair_cap) {
    uint32_t cap = h->pair_cap ? h->pair_cap * 2 : 64;
    uint64_t *old = h->pairs, *fresh = pto2__zalloc(h->mem, (size_t)cap * sizeof *fresh);
    if (!fresh) return PTO2_E_NO_MEMORY;
    for (uint32_t i = 0; i < h->pair_cap; i++)
      if (old[i]) {
        uint32_t s = (uint32_t)((old[i] * UINT64_C(0x9E3779B97F4A7C15)) >> 40) & (cap - 1);
        while (fresh[s]) s = (s + 1) & (cap - 1);
        fresh[s] = old[i];
      }
    pto2__free(h->mem, old);
    h->pairs = fresh;
    h->pair_cap = cap;
  }
  uint64_t key = ((uint64_t)a << 32 | b) + 1;
  uint32_t s = (uint32_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 40) & (h->pair_cap - 1);
  while (h->pairs[s]) {
    if (h->pairs[s] == key) {
      *first = false;
      return 0;
    }
    s = (s + 1) & (h->pair_cap - 1);
  }
  h->pairs[s] = key;
  h->pair_count++;
  *first = true;
  return 0;
}

static int report(pto2__hz *h, const hz_acc *e, const hz_acc *x, int ov) {
  bool first;
  int rc = first_report(h, e->node, x->node, &first);
  if (rc || !first) return rc;
  h->found++;
  if (h->kept == HZ_MAX_KEPT) return 0;
  if (!h->hazards && !(h->hazards = pto2__alloc(h->mem, HZ_MAX_KEPT * sizeof *h->hazards)))
    return PTO2_E_NO_MEMORY;
  if (!h->hazard_keys &&
      !(h->hazard_keys = pto2__alloc(h->mem, HZ_MAX_KEPT * sizeof *h->hazard_keys)))
    return PTO2_E_NO_MEMORY;
  h->hazard_keys[h->kept] = (uint64_t)e->node << 32 | x->node;
  pto2_hazard *hz = &h->hazards[h->kept++];
  memset(hz, 0, sizeof *hz);
  hz->kind = acc_writes(e) && acc_reads(x) ? PTO2_HAZARD_RAW
             : acc_writes(e)               ? PTO2_HAZARD_WAW
                                           : PTO2_HAZARD_WAR;
  hz->possible = ov == OV_POSSIBLE;
  hz->addr = e->t.addr;
  hz->nbytes = e->t.nbytes;
  hz->owner = e->t.owner;
  fill_side(h, e, &hz->first);
  fill_side(h, x, &hz->second);
  hz->cause = likely_cause(h, e, x, hz->kind);
  return 0;
}

/* (H5) One allocation's accesses in program order against the live ones. */
static int check_alloc(pto2__hz *h, const hz_alloc *al, uint32_t **lw, uint32_t *lw_cap,
                       uint32_t **lr, uint32_t *lr_cap) {
  uint32_t nw = 0, nr = 0;
  int rc = 0;
  for (uint32_t k = 0; k < al->count && !rc; k++) {
    uint32_t xi = h->order[al->first + k];
    const hz_acc *x = &h->accs[xi];
    bool xw = acc_writes(x);
    for (int list = 0; list < (xw ? 2 : 1) && !rc; list++) {
      uint32_t *live = list == 0 ? *lw : *lr, n = list == 0 ? nw : nr, kept = 0;
      for (uint32_t j = 0; j < n; j++) {
        const hz_acc *e = &h->accs[live[j]];
        bool drop = false;
        if (e->node != x->node) {
          int ov = overlap(&e->t, &x->t);
          if (ov != OV_NONE) {
            bool fwd = reaches(h, e->node, x->node);
            if (!fwd && !reaches(h, x->node, e->node) && (rc = report(h, e, x, ov))) break;
            drop = xw && fwd && ov == OV_EXACT && covers(&x->t, &e->t, false);
          }
        }
        if (!drop) live[kept++] = live[j];
      }
      if (list == 0) nw = kept;
      else nr = kept;
    }
    if (rc) break;
    if (xw) {
      if ((rc = grow(h->mem, (void **)lw, lw_cap, (uint64_t)nw + 1, sizeof **lw))) break;
      (*lw)[nw++] = xi;
    } else {
      if ((rc = grow(h->mem, (void **)lr, lr_cap, (uint64_t)nr + 1, sizeof **lr))) break;
      (*lr)[nr++] = xi;
    }
  }
  return rc;
}

typedef struct hz_rank {
  uint64_t key;
  uint32_t i;
} hz_rank;

static int cmp_rank(const void *a, const void *b) {
  uint64_t x = ((const hz_rank *)a)->key, y = ((const hz_rank *)b)->key;
  return (x > y) - (x < y);
}

/* The kept hazards in program order of their first access, then of their
 * second: a missing edge's read-after-write comes before the hazards it
 * leaves behind later tasks.  Without memory for the copy the order stays
 * the order found. */
static void sort_hazards(pto2__hz *h) {
  if (h->kept < 2) return;
  hz_rank *r = pto2__alloc(h->mem, (size_t)h->kept * sizeof *r);
  pto2_hazard *copy = pto2__alloc(h->mem, (size_t)h->kept * sizeof *copy);
  if (r && copy) {
    for (uint32_t i = 0; i < h->kept; i++) r[i] = (hz_rank){h->hazard_keys[i], i};
    qsort(r, h->kept, sizeof *r, cmp_rank);
    memcpy(copy, h->hazards, (size_t)h->kept * sizeof *copy);
    for (uint32_t i = 0; i < h->kept; i++) {
      h->hazards[i] = copy[r[i].i];
      h->hazard_keys[i] = r[i].key;
    }
  }
  pto2__free(h->mem, r);
  pto2__free(h->mem, copy);
}

int pto2__hz_check(pto2__hz *h) {
  free_check_state(h);
  h->kept = h->found = 0;
  h->check_bytes = 0;
  if (!h->node_count) return 0;
  int rc = group_allocs(h);
  if (!rc) rc = build_succs(h);
  if (!rc) rc = build_preds(h);
  if (!rc) rc = build_topo(h);
  uint32_t *lw = 0, *lr = 0, lw_cap = 0, lr_cap = 0;
  for (uint32_t i = 0; i < h->alloc_count && !rc; i++)
    rc = check_alloc(h, &h->allocs[i], &lw, &lw_cap, &lr, &lr_cap);
  h->check_bytes += ((uint64_t)lw_cap + lr_cap) * sizeof *lw +
                    (uint64_t)h->pair_cap * sizeof *h->pairs;
  pto2__free(h->mem, lw);
  pto2__free(h->mem, lr);
  if (!rc) sort_hazards(h);
  uint64_t bytes = h->check_bytes;
  free_check_state(h);
  h->check_bytes = bytes;
  return rc ? rc : (int)(h->found > INT32_MAX ? INT32_MAX : h->found);
}

uint32_t pto2__hz_count(const pto2__hz *h) { return h ? h->kept : 0; }

const pto2_hazard *pto2__hz_get(const pto2__hz *h, uint32_t i) {
  return h && i < h->kept ? &h->hazards[i] : 0;
}

uint64_t pto2__hz_bytes(const pto2__hz *h) {
  uint64_t b = (uint64_t)h->node_cap * sizeof *h->nodes + (uint64_t)h->acc_cap * sizeof *h->accs +
               (uint64_t)h->edge_cap * sizeof *h->edges + h->check_bytes;
  for (unsigned r = 0; r < HZ_RINGS; r++) b += (uint64_t)h->rings[r].cap * sizeof(uint32_t);
  return b;
}

/* ------------------------------------------------------------------------ */
/* Formatting                                                                */
/* ------------------------------------------------------------------------ */

static const char *mode_name(unsigned m) {
  return m == PTO2_SCOPE_MANUAL           ? "MANUAL"
         : m == PTO2_SCOPE_GRAPH          ? "GRAPH"
         : m == PTO2_SCOPE_AUTO_STRICT    ? "AUTO_STRICT"
                                          : "AUTO";
}

static const char *kind_name(unsigned k) {
  static const char *names[] = {"INPUT", "OUTPUT", "INOUT", "OUTPUT_EXISTING", "NO_DEP"};
  return k < 5 ? names[k] : "?";
}

static int put_side(char *buf, size_t size, const pto2_hazard_access *s, bool write) {
  char who[192], region[160];
  if (pto2_task_id_is_valid(s->task))
    snprintf(who, sizeof who, "task %u:%llu '%s' (%s scope #%u, depth %u)",
             pto2_task_id_ring(s->task), (unsigned long long)pto2_task_id_local(s->task),
             s->kernel, mode_name(s->scope_mode), s->scope_seq, s->scope_depth);
  else
    snprintf(who, sizeof who, "the orchestrator (pto2_%s_tensor_data, scope #%u, depth %u)",
             write ? "set" : "get", s->scope_seq, s->scope_depth);
  size_t used = 0;
  region[0] = 0;
  for (unsigned d = 0; d < s->ndims && d < PTO2_MAX_DIMS; d++) {
    int w = snprintf(region + used, sizeof region - used, "%s%u:%llu", d ? ", " : "[",
                     s->offsets[d], (unsigned long long)s->offsets[d] + s->shapes[d]);
    if (w < 0 || (size_t)w >= sizeof region - used) break;
    used += (size_t)w;
  }
  if (used + 1 < sizeof region) snprintf(region + used, sizeof region - used, "]");
  char raw[80];
  used = 0;
  raw[0] = 0;
  for (unsigned d = 0; d < s->ndims && d < PTO2_MAX_DIMS; d++) {
    int w = snprintf(raw + used, sizeof raw - used, "%s%u", d ? "x" : "", s->raw_shapes[d]);
    if (w < 0 || (size_t)w >= sizeof raw - used) break;
    used += (size_t)w;
  }
  if (!pto2_task_id_is_valid(s->task))
    return snprintf(buf, size, "%s %s element %s of layout %s", who, write ? "writes" : "reads",
                    region, raw);
  return snprintf(buf, size, "%s %s %s of layout %s (%s arg %u%s)", who,
                  write ? "writes" : "reads", region, raw, kind_name(s->arg_kind), s->arg_index,
                  s->manual_dep ? ", manual_dep" : "");
}

int pto2_hazard_format(const pto2_hazard *h, char *buf, size_t size) {
  if (!h) return snprintf(buf, size, "(no hazard)");
  static const char *kinds[] = {"read-after-write", "write-after-read", "write-after-write"};
  char first[512], second[512], alloc[128];
  bool first_writes = h->kind != PTO2_HAZARD_WAR;
  bool second_writes = h->kind != PTO2_HAZARD_RAW || h->second.arg_kind == PTO2_ARG_INOUT;
  put_side(first, sizeof first, &h->first, first_writes);
  put_side(second, sizeof second, &h->second, second_writes);
  if (pto2_task_id_is_valid(h->owner))
    snprintf(alloc, sizeof alloc, "the buffer created by task %u:%llu (%llu bytes at %p)",
             pto2_task_id_ring(h->owner), (unsigned long long)pto2_task_id_local(h->owner),
             (unsigned long long)h->nbytes, h->addr);
  else
    snprintf(alloc, sizeof alloc, "caller memory at %p (%llu bytes)", h->addr,
             (unsigned long long)h->nbytes);
  return snprintf(buf, size,
                  "%s%s hazard on %s: %s, then %s, and no dependency path orders them%s; likely "
                  "cause: %s",
                  h->possible ? "possible " : "", kinds[h->kind % 3], alloc, first, second,
                  h->possible ? " (the layouts differ: their byte ranges overlap, their elements "
                                "may not)"
                              : "",
                  h->cause ? h->cause : CAUSE_OTHER);
}

/* ------------------------------------------------------------------------ */
/* Names in the logged texts                                                 */
/* ------------------------------------------------------------------------ */

int pto2__hz_set_names(pto2__hz *h, const char *const *pairs, uint32_t count) {
  size_t bytes = (size_t)2 * count * sizeof(char *);
  for (uint32_t i = 0; i < 2 * count; i++) bytes += strlen(pairs[i]) + 1;
  char **block = 0;
  if (count) {
    block = pto2__zalloc(h->mem, bytes);
    if (!block) return PTO2_E_NO_MEMORY;
    char *text = (char *)(block + 2 * count);
    for (uint32_t i = 0; i < 2 * count; i++) {
      size_t n = strlen(pairs[i]) + 1;
      memcpy(text, pairs[i], n);
      block[i] = text;
      text += n;
    }
  }
  pto2__free(h->mem, h->names);
  h->names = block;
  h->name_count = count;
  return 0;
}

static bool word_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* Whole-word matches, as a regular expression's \bNAME\b: the characters
 * either side of the match are not both word characters or both not. */
void pto2__hz_rename(const pto2__hz *h, const char *in, char *out, size_t size) {
  if (!size) return;
  size_t o = 0;
  for (size_t i = 0; in[i] && o + 1 < size;) {
    const char *to = 0;
    size_t len = 0;
    for (uint32_t p = 0; h && p < h->name_count && !to; p++) {
      const char *name = h->names[2 * p];
      len = strlen(name);
      if (strncmp(in + i, name, len)) continue;
      bool before = i > 0 && word_char(in[i - 1]), after = word_char(in[i + len]);
      if (before != word_char(name[0]) && after != word_char(name[len - 1]))
        to = h->names[2 * p + 1];
    }
    if (!to) {
      out[o++] = in[i++];
      continue;
    }
    for (const char *c = to; *c && o + 1 < size; c++) out[o++] = *c;
    i += len;
  }
  out[o] = 0;
}
