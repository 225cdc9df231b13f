/*
 * Randomized sequential equivalence of AUTO, MANUAL and GRAPH scopes:
 * random programs over a few caller-owned buffers and runtime-created
 * intermediates run through pto2_run(), and separately by calling the same
 * kernels in program order on a copy of the memory; every caller-owned
 * element (and the gaps between the buffers) must match bit for bit.
 *
 * The generator keeps, per element, the last writer and the readers since
 * that write, so it knows every earlier task a new task conflicts with
 * (read-after-write, write-after-write, write-after-read).  It models what
 * the runtime orders by itself (README "Semantics"):
 *   AUTO    creator retention for every non-OUTPUT tensor; for INPUT and
 *           INOUT without manual_dep, every earlier INOUT/OUTPUT_EXISTING
 *           writer of an overlapping region still in the TensorMap (entries
 *           per allocation, COVERED removal by INOUT, version and layout
 *           rules of the overlap test); no write-after-read;
 *   MANUAL  the same for boundary tensors (caller-owned or created outside
 *           the scope); nothing for manual-local ones (created in the scope);
 *   GRAPH   nothing at all;
 * and it keeps every task's ancestor set.  A conflict that the ancestors do
 * not cover is ordered by construction with explicit edges, chosen latest
 * first so one edge often covers several conflicts (and sometimes through
 * another task that already has the conflicting one as an ancestor):
 *   AUTO    pto2_arg_add_dep, on a quarter of the tasks ("deps at submit":
 *           WAR, writes after GRAPH tasks, manual_dep writers...); the other
 *           tasks only get accesses whose conflicts are already ordered;
 *   MANUAL  pto2_add_dependency(W, T) between tasks of the scope, right
 *           after T's submit or later in the scope (so a held-back task's
 *           conflicts outside the scope are covered through one inside), or,
 *           for 30% of the tasks, producers at submit (pto2_arg_add_dep /
 *           pto2_arg_set_deps, even none): published at once;
 *   GRAPH   both, from any earlier task (also of ended scopes, finished or
 *           not), add_dependency sometimes from inside a nested GRAPH scope.
 * A task that uses a created buffer without creator retention (GRAPH, or a
 * manual-local tensor) always gets the creator as a direct producer: the
 * buffer is reused once its creator's consumers have finished (README
 * "Scopes"), so ordering it through other tasks would not keep it alive.
 * Some edges are redundant or duplicated (counted once).  Every task keeps
 * to 16 distinct producers, found and explicit together.
 *
 * Scopes nest up to depth 5: AUTO in AUTO/GRAPH, MANUAL in AUTO (nothing in
 * MANUAL), GRAPH in AUTO/GRAPH, opened with pto2_scope_begin/end or
 * PTO2_SCOPE.  Programs are AUTO-only, mixed, or GRAPH-only (whose edge
 * count is known exactly: stats.edges must equal the distinct pairs added;
 * elsewhere it must lie between the edges that are certain and those that
 * lookups on caller-owned memory may also find).
 *
 * Rings: a task cannot retire while its scope is open, while it or a
 * consumer cannot finish (held back in an open MANUAL/GRAPH scope, or
 * waiting on such a task), and space comes back in task order; so per ring
 * the generator keeps the tasks, heap bytes (twice, for wrap waste) and
 * dependency entries from the oldest such task on, including entries of
 * add_dependency calls still to come (charged to the ring's newest task when
 * made), and keeps them within the ring's limits.
 *
 * Tensors have 1-3 dimensions and come as whole tensors, views, views of
 * views and views of reshapes; tasks are AIC, AIV or mixed (2-3 lanes), some
 * SPMD (block_num 2-3: each element of a written view is written by exactly
 * one block and lane), with 0-3 extra scalars added in every builder style.
 *
 * Configurations: tiny rings (task window 4-16, heap 1-16 KiB, 8 or 16
 * dependency entries: back-pressure and wrap-around everywhere; the smallest
 * heaps soon reuse a buffer whose last user is not a consumer of its
 * creator) and the default rings, with 1, 2 and 3 worker threads and a few
 * block_dims.  One runtime per configuration runs all programs.
 *
 * Usage: test_random_equiv [programs per configuration] [seed] [configuration]
 * PTO2_TEST_SCALE=small divides the default program count by 10.  A failing
 * program is reproduced by `test_random_equiv 1 <seed> <configuration>`, or,
 * where it depends on what earlier programs left in the rings, by the whole
 * sequence (the failure message gives both commands).  On a mismatch the
 * message also names the first task, in program order, whose kernels read
 * other inputs than in the sequential run.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pto2/pto2.h"
#include "test.h"

enum {
  MAX_EXT = 4,
  MAX_ALLOCS = 48,
  MAX_ELEMS = 512,   /* elements of one allocation */
  MAX_ENTRIES = 512, /* modelled TensorMap entries per allocation */
  MAX_TASKS = 128,
  TSET_WORDS = MAX_TASKS / 64,
  MAX_OPS = 4096,
  MAX_SCOPES = 512,
  MAX_DEPTH = 5, /* deepest scope; the root is depth 0 */
  POOL_STRIDE = MAX_ELEMS + 24,
  POOL_ELEMS = MAX_EXT * POOL_STRIDE,
  DEFAULT_PROGRAMS = 5000,
};

/* ------------------------------------------------------------------------ */
/* Kernels                                                                   */
/* ------------------------------------------------------------------------ */

/* scalars[0] = salt, scalars[1] = flags, then the extra scalars.
 * flags: bits 2i..2i+1 the class of tensor i; bits 32..34 the lanes that
 * write (0: a one-lane task); bit 35 more than one invocation; bits 40..44
 * the tensor count; bits 48..55 the scalar count; bits 56..63 the task. */
enum { CLS_READ = 0, CLS_WRITE = 1, CLS_RMW = 2 };

/* What each task's invocations read (XOR of their input hashes), per run:
 * names the first task whose inputs differ when the memory does. */
static _Atomic uint32_t trace_rt[256], trace_seq[256];
static _Atomic uint32_t *trace_tab = trace_rt;

typedef struct kinfo {
  int aic;
  uint64_t tag;
} kinfo;

enum { NKERNELS = 4 };
static const int32_t kernel_ids[NKERNELS] = {0, 41, 1, 63}; /* AIC, AIC, AIV, AIV */
static const kinfo kinfos[NKERNELS] = {{1, 0x1234567887654321ull},
                                       {1, 0x0f0f0f0f33333333ull},
                                       {0, 0x5555aaaa5555aaaaull},
                                       {0, 0x9e3779b97f4a7c15ull}};

static inline uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdull;
}

/* Pads a view of up to 3 dims to 3 (outermost first). */
static void view_geom(const pto2_tensor *t, uint32_t n[3], uint64_t st[3]) {
  for (unsigned k = 0; k < 3; k++) n[k] = 1, st[k] = 0;
  for (unsigned d = 0; d < t->ndims; d++) {
    unsigned k = 3 - t->ndims + d;
    n[k] = t->shapes[d];
    st[k] = pto2_tensor_stride(t, d);
  }
}

static int equiv_kernel(const pto2_kernel_ctx *k) {
  const kinfo *ki = k->user;
  if (k->scalar_count < 2) return 101;
  uint64_t flags = k->scalars[1];
  if (((flags >> 40) & 31) != k->tensor_count || ((flags >> 48) & 255) != k->scalar_count)
    return 102;
  if (k->block_idx < 0 || k->block_idx >= k->block_num) return 103;
  unsigned wmask = (unsigned)(flags >> 32) & 7u;
  bool multi = (flags >> 35) & 1u;
  unsigned lane = ki->aic ? 0u : 1u + (unsigned)k->sub_block_id;
  unsigned nw = 1, rank = 0;
  if (wmask) {
    if (!((wmask >> lane) & 1u)) return 0; /* a lane that writes nothing */
    nw = (unsigned)__builtin_popcount(wmask);
    rank = (unsigned)__builtin_popcount(wmask & ((1u << lane) - 1u));
  }
  uint64_t parts = (uint64_t)k->block_num * nw, part = (uint64_t)k->block_idx * nw + rank;

  uint64_t h = mix(k->scalars[0], ki->tag);
  for (uint32_t s = 2; s < k->scalar_count; s++) h = mix(h, k->scalars[s]);
  for (uint32_t i = 0; i < k->tensor_count; i++) {
    const pto2_tensor *t = &k->tensors[i];
    if (t->ndims < 1 || t->ndims > 3 || !t->data) return 104;
    unsigned cls = (unsigned)(flags >> (2 * i)) & 3u;
    if (!(cls == CLS_READ || (cls == CLS_RMW && !multi))) continue;
    uint32_t n[3];
    uint64_t st[3];
    view_geom(t, n, st);
    const uint32_t *p = t->data;
    h = mix(h, i);
    for (uint32_t a = 0; a < n[0]; a++)
      for (uint32_t b = 0; b < n[1]; b++)
        for (uint32_t c = 0; c < n[2]; c++) h = mix(h, p[a * st[0] + b * st[1] + c * st[2]]);
  }
  uint32_t h32 = (uint32_t)(h ^ (h >> 32));
  /* Relaxed: read after pto2_run() has returned. */
  atomic_fetch_xor_explicit(&trace_tab[flags >> 56], h32, memory_order_relaxed);
  for (uint32_t i = 0; i < k->tensor_count; i++) {
    const pto2_tensor *t = &k->tensors[i];
    unsigned cls = (unsigned)(flags >> (2 * i)) & 3u;
    if (cls != CLS_WRITE && cls != CLS_RMW) continue;
    uint32_t n[3];
    uint64_t st[3];
    view_geom(t, n, st);
    uint32_t *p = t->data;
    uint64_t idx = 0;
    for (uint32_t a = 0; a < n[0]; a++)
      for (uint32_t b = 0; b < n[1]; b++)
        for (uint32_t c = 0; c < n[2]; c++, idx++) {
          if (idx % parts != part) continue;
          uint32_t *e = &p[a * st[0] + b * st[1] + c * st[2]];
          uint32_t old = cls == CLS_RMW ? *e * 1664525u : 0u;
          *e = old + h32 + (uint32_t)(idx + 7919u * i) * 2654435761u;
        }
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Programs                                                                  */
/* ------------------------------------------------------------------------ */

enum { MODE_RO, MODE_RW, MODE_WO, MODE_MIX, MODE_COUNT };
static const char *mode_names[] = {"read-only", "read-write", "write-once", "mixed"};
static const char *scope_names[] = {"AUTO", "MANUAL", "GRAPH"};

/* Argument kinds of the generator: the pto2 kinds plus INPUT and INOUT with
 * manual_dep. */
enum {
  K_INPUT = PTO2_ARG_INPUT,
  K_OUTPUT = PTO2_ARG_OUTPUT,
  K_INOUT = PTO2_ARG_INOUT,
  K_OE = PTO2_ARG_OUTPUT_EXISTING,
  K_NODEP = PTO2_ARG_NO_DEP,
  K_INPUT_MD = 5,
  K_INOUT_MD = 6,
  K_COUNT = 7
};
static const char *kind_names[] = {"INPUT",  "OUTPUT",           "INOUT",
                                   "OUTPUT_EXISTING", "NO_DEP", "INPUT(manual_dep)",
                                   "INOUT(manual_dep)"};

/* How the tensor of an access is built. */
enum { HOW_WHOLE, HOW_VIEW, HOW_VIEW2, HOW_RESHAPE };

/* Program flavours. */
enum { FL_AUTO, FL_MIXED, FL_GRAPH, FL_COUNT };
static const char *flavor_names[] = {"AUTO only", "mixed", "GRAPH only"};

/* How a task's producers at submit are given. */
enum {
  DH_NONE,  /* none */
  DH_ADD,   /* pto2_arg_add_dep each */
  DH_SET,   /* pto2_arg_set_deps */
  DH_SPLIT, /* pto2_arg_set_deps for some, then pto2_arg_add_dep */
  DH_RESET, /* pto2_arg_add_dep(task 0), then pto2_arg_set_deps replaces it */
  DH_EMPTY, /* pto2_arg_set_deps(NULL, 0): explicit, no producers */
  DH_COUNT
};
static const char *dh_names[] = {"", "add_dep", "set_deps", "set_deps+add_dep",
                                 "add_dep(0) then set_deps", "set_deps(NULL,0)"};

/* A row-major layout of an allocation's elements: raw shape and the flat
 * element index of its origin. */
typedef struct layout {
  uint8_t nd;
  uint32_t raw[3];
  uint32_t origin;
} layout;

typedef struct access {
  layout L;
  uint32_t off[3], shp[3]; /* within L */
  uint32_t lo, hi;         /* bounding flat element range [lo, hi) */
  int32_t version;
} access;

typedef struct garg {
  uint8_t kind;
  uint8_t alloc;
  uint8_t how;
  bool rs_whole; /* HOW_RESHAPE: the reshaped tensor itself */
  access a;
  uint32_t mid_off[3], mid_shp[3]; /* HOW_VIEW2: the outer view */
  uint32_t r0, nr;                 /* HOW_RESHAPE: rows of dim 0 that are reshaped */
  bool has_init;                   /* K_OUTPUT */
  uint32_t init;
} garg;

typedef struct gtask {
  uint8_t nargs;
  garg args[PTO2_MAX_TENSOR_ARGS];
  uint8_t submit;   /* 0 aic, 1 aiv, 2 pto2_submit_task (or their _manual forms) */
  int8_t lane_k[3]; /* index into kernel_ids per lane, -1 unused (as submitted) */
  uint8_t block_num;
  uint8_t depth;
  uint8_t mode;     /* mode of the scope it is submitted in */
  int16_t scope;    /* scope instance */
  bool deferred;    /* held back until its scope ends */
  uint8_t deps_how; /* DH_* */
  bool deps_first;  /* producers given before the tensors */
  uint8_t nsub;     /* producers at submit, duplicates included */
  int16_t sub[PTO2_MAX_FANIN];
  uint8_t nlater;   /* distinct producers added with pto2_add_dependency */
  uint64_t salt, flags;
  uint8_t nextra, extra_how;
  int32_t extra[3];
  uint64_t extra64[3];
  uint8_t nprod, ncertain; /* distinct producers: bound, and those always counted */
  uint8_t nresolved, nwar, ntransitive, nredundant, nlifetime; /* explicit edges (coverage) */
} gtask;

typedef struct entry {
  int task;
  access a;
} entry;

typedef struct galloc {
  uint8_t nd;
  uint32_t shape[3];
  uint32_t numel;
  int creator; /* task, or -1 for a caller-owned buffer */
  int depth;   /* scope depth that created it */
  int scope;   /* scope instance that created it */
  bool alive;
  uint8_t mode;
  int32_t version;
  uint32_t ext_off; /* caller-owned: offset in the pools */
  int nent;
  entry ent[MAX_ENTRIES];
} galloc;

enum { OP_TASK, OP_BEGIN, OP_END, OP_DEP, OP_SET };
enum { OPF_MACRO = 1, OPF_DELAYED = 2, OPF_DUP = 4 };

typedef struct gop {
  uint8_t kind;
  uint8_t mode;  /* OP_BEGIN */
  uint8_t flags; /* OPF_* */
  int16_t a, b;  /* OP_TASK: a = task; OP_DEP: a = producer, b = consumer; OP_BEGIN: a = scope;
                  * OP_SET: pto2_set_tensor_data of the first element of task a's arg b */
} gop;

typedef struct program {
  int next, nalloc, ntasks, nops, nscopes;
  uint8_t flavor;
  galloc allocs[MAX_ALLOCS];
  gtask tasks[MAX_TASKS];
  gop ops[MAX_OPS];
  uint64_t edges_min, edges_max;
} program;

typedef struct limits {
  uint32_t window, dep_pool;
  uint64_t heap;
} limits;

/* --- task sets ---------------------------------------------------------- */

typedef struct tset {
  uint64_t w[TSET_WORDS];
} tset;

static inline void ts_add(tset *s, int t) { s->w[t >> 6] |= 1ull << (t & 63); }
static inline bool ts_has(const tset *s, int t) { return (s->w[t >> 6] >> (t & 63)) & 1u; }
static inline void ts_or(tset *d, const tset *s) {
  for (int i = 0; i < TSET_WORDS; i++) d->w[i] |= s->w[i];
}
static inline tset ts_minus(const tset *a, const tset *b) {
  tset r;
  for (int i = 0; i < TSET_WORDS; i++) r.w[i] = a->w[i] & ~b->w[i];
  return r;
}
static inline int ts_count(const tset *s) {
  int n = 0;
  for (int i = 0; i < TSET_WORDS; i++) n += __builtin_popcountll(s->w[i]);
  return n;
}
/* The lowest member >= from, or -1. */
static inline int ts_next(const tset *s, int from) {
  for (int i = from >> 6; i < TSET_WORDS; i++) {
    uint64_t w = s->w[i];
    if (i == from >> 6) w &= ~0ull << (from & 63);
    if (w) return i * 64 + __builtin_ctzll(w);
  }
  return -1;
}
static inline int ts_highest(const tset *s) {
  for (int i = TSET_WORDS - 1; i >= 0; i--)
    if (s->w[i]) return i * 64 + 63 - __builtin_clzll(s->w[i]);
  return -1;
}
#define TS_FOR(s, x) for (int x = ts_next((s), 0); x >= 0; x = ts_next((s), x + 1))

/* --- generator state ---------------------------------------------------- */

typedef struct gscope {
  uint8_t mode;
  int depth, id;
} gscope;

/* One ring, in task order.  Space from the oldest pinned task on cannot come
 * back before the orchestrator ends a scope. */
typedef struct gring {
  int n;      /* tasks submitted to the ring */
  int oldest; /* position of the oldest pinned task; n if none */
  int16_t task[MAX_TASKS];
  uint64_t heap_before[MAX_TASKS], deps_before[MAX_TASKS]; /* totals before each task */
  uint64_t heap2, deps; /* totals: twice the output bytes; entries charged */
  uint64_t reserved;    /* entries of add_dependency calls still to come */
} gring;

typedef struct pend {
  int16_t p, c;
  bool charge, dup;
} pend;

typedef struct gen {
  uint64_t s;
  program *p;
  limits lim;
  int max_tasks;
  gscope open[MAX_DEPTH + 1];
  int nopen;
  bool sopen[MAX_SCOPES];
  gring rings[PTO2_RING_COUNT];
  /* per task */
  tset anc[MAX_TASKS], prod[MAX_TASKS];
  int16_t pos[MAX_TASKS];
  bool deferred[MAX_TASKS]; /* held back now (cleared when its scope ends) */
  bool inc[MAX_TASKS];      /* cannot finish before an open scope ends */
  bool pinned[MAX_TASKS];   /* cannot retire before an open scope ends */
  /* per element of each allocation */
  int16_t lastw[MAX_ALLOCS][MAX_ELEMS];
  tset readers[MAX_ALLOCS][MAX_ELEMS]; /* since the last write */
  uint8_t touch[MAX_ALLOCS][MAX_ELEMS]; /* this task: 1 read, 2 written */
  pend pending[MAX_OPS];
  int npend;
} gen;

static uint64_t next64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static uint32_t rnd(gen *g, uint32_t n) {
  return n ? (uint32_t)(((next64(&g->s) >> 32) * (uint64_t)n) >> 32) : 0;
}
static bool chance(gen *g, uint32_t pct) { return rnd(g, 100) < pct; }

static unsigned ring_of(int depth) { return depth < 3 ? (unsigned)depth : 3u; }
/* --- geometry ----------------------------------------------------------- */

static void layout_strides(const layout *L, uint64_t st[3]) {
  uint64_t s = 1;
  for (int d = L->nd - 1; d >= 0; d--) {
    st[d] = s;
    s *= L->raw[d];
  }
}

static void access_bounds(access *a) {
  uint64_t st[3];
  layout_strides(&a->L, st);
  uint64_t lo = a->L.origin, last = a->L.origin;
  for (unsigned d = 0; d < a->L.nd; d++) {
    lo += a->off[d] * st[d];
    last += (a->off[d] + a->shp[d] - 1) * st[d];
  }
  a->lo = (uint32_t)lo;
  a->hi = (uint32_t)last + 1;
}

/* Calls fn on the flat index of every element of the access. */
#define FOR_EACH_ELEM(acc, var, ...)                                                \
  do {                                                                              \
    uint64_t st_[3];                                                                \
    layout_strides(&(acc)->L, st_);                                                 \
    uint32_t n_[3] = {1, 1, 1}, o_[3] = {0, 0, 0};                                  \
    uint64_t s3_[3] = {0, 0, 0};                                                    \
    for (unsigned d_ = 0; d_ < (acc)->L.nd; d_++) {                                 \
      unsigned k_ = 3 - (acc)->L.nd + d_;                                           \
      n_[k_] = (acc)->shp[d_];                                                      \
      o_[k_] = (acc)->off[d_];                                                      \
      s3_[k_] = st_[d_];                                                            \
    }                                                                               \
    for (uint32_t a_ = 0; a_ < n_[0]; a_++)                                         \
      for (uint32_t b_ = 0; b_ < n_[1]; b_++)                                       \
        for (uint32_t c_ = 0; c_ < n_[2]; c_++) {                                   \
          uint32_t var = (uint32_t)((acc)->L.origin + (a_ + o_[0]) * s3_[0] +       \
                                    (b_ + o_[1]) * s3_[1] + (c_ + o_[2]) * s3_[2]); \
          __VA_ARGS__;                                                              \
        }                                                                           \
  } while (0)

static bool same_layout(const layout *x, const layout *y) {
  if (x->nd != y->nd || x->origin != y->origin) return false;
  for (unsigned d = 0; d < x->nd; d++)
    if (x->raw[d] != y->raw[d]) return false;
  return true;
}

/* The TensorMap's overlap test (T5): 0 none, 1 COVERED, 2 other. */
static int classify(const access *e, const access *g) {
  bool intersect = e->lo < g->hi && g->lo < e->hi;
  if (e->version != g->version || !same_layout(&e->L, &g->L)) return intersect ? 2 : 0;
  if (!intersect) return 0;
  bool covered = true;
  for (unsigned d = 0; d < e->L.nd; d++) {
    uint32_t eb = e->off[d], ee = eb + e->shp[d], ib = g->off[d], ie = ib + g->shp[d];
    if (!(ee > ib && ie > eb)) return 0;
    covered = covered && ib <= eb && ee <= ie;
  }
  return covered ? 1 : 2;
}

static layout native_layout(const galloc *A) {
  layout L = {A->nd, {A->shape[0], A->shape[1], A->shape[2]}, 0};
  return L;
}

static uint32_t rand_extent(gen *g, uint32_t raw, bool small) {
  if (small) return 1 + rnd(g, raw / 3 + 1 < raw ? raw / 3 + 1 : raw);
  switch (rnd(g, 4)) {
    case 0: return raw;
    case 1: return 1 + rnd(g, raw < 2 ? raw : 2);
    default: return 1 + rnd(g, raw);
  }
}

static void rand_in_layout(gen *g, garg *ga, const layout *L, bool small) {
  ga->a.L = *L;
  for (unsigned d = 0; d < L->nd; d++) {
    ga->a.shp[d] = rand_extent(g, L->raw[d], small);
    ga->a.off[d] = rnd(g, L->raw[d] - ga->a.shp[d] + 1);
  }
}

static uint32_t rand_divisor(gen *g, uint32_t n) {
  uint32_t divs[64], k = 0;
  for (uint32_t d = 1; d <= n && k < 64; d++)
    if (n % d == 0) divs[k++] = d;
  return divs[rnd(g, k)];
}

/* A random access of allocation A (layout, view, how it is built). */
static void rand_access(gen *g, garg *ga, const galloc *A, bool small) {
  memset(&ga->a, 0, sizeof ga->a);
  ga->a.version = A->version;
  uint32_t r = rnd(g, 100);
  if (r < 10 && !small) {
    ga->how = HOW_WHOLE;
    ga->a.L = native_layout(A);
    for (unsigned d = 0; d < A->nd; d++) ga->a.shp[d] = A->shape[d];
  } else if (r < 80) {
    ga->how = HOW_VIEW;
    layout L = native_layout(A);
    rand_in_layout(g, ga, &L, small);
  } else if (r < 90) {
    ga->how = HOW_VIEW2;
    layout L = native_layout(A);
    rand_in_layout(g, ga, &L, small);
    for (unsigned d = 0; d < A->nd; d++) {
      uint32_t end = ga->a.off[d] + ga->a.shp[d];
      ga->mid_off[d] = rnd(g, ga->a.off[d] + 1);
      ga->mid_shp[d] = end + rnd(g, A->shape[d] - end + 1) - ga->mid_off[d];
    }
  } else {
    ga->how = HOW_RESHAPE;
    uint32_t rows = A->shape[0], rowsize = A->numel / rows;
    ga->nr = 1 + rnd(g, rows);
    ga->r0 = rnd(g, rows - ga->nr + 1);
    uint32_t count = ga->nr * rowsize;
    layout L = {(uint8_t)(1 + rnd(g, 3)), {1, 1, 1}, ga->r0 * rowsize};
    uint32_t left = count;
    for (unsigned d = 0; d + 1 < L.nd; d++) {
      L.raw[d] = rand_divisor(g, left);
      left /= L.raw[d];
    }
    L.raw[L.nd - 1] = left;
    ga->rs_whole = chance(g, 30) && !small;
    if (ga->rs_whole) {
      ga->a.L = L;
      for (unsigned d = 0; d < L.nd; d++) ga->a.shp[d] = L.raw[d];
    } else {
      rand_in_layout(g, ga, &L, small);
    }
  }
  access_bounds(&ga->a);
}

/* --- the model: kinds ---------------------------------------------------- */

static bool is_write(int kind) { return kind == K_INOUT || kind == K_OE || kind == K_INOUT_MD; }
static bool is_md(int kind) { return kind == K_INPUT_MD || kind == K_INOUT_MD; }
/* Looked up in the TensorMap (where the scope looks anything up). */
static bool looks_up(int kind) { return kind == K_INPUT || kind == K_INOUT; }
/* Recorded in the TensorMap (where the scope records anything). */
static bool records(int kind) { return kind == K_INOUT || kind == K_OE; }

/* For tasks with more than one invocation: no written element shared with
 * another argument. */
static bool multi_ok(gen *g, int aid, const garg *ga, bool multi) {
  if (!multi) return true;
  bool ok = true;
  bool w = is_write(ga->kind);
  FOR_EACH_ELEM(&ga->a, e, {
    if (g->touch[aid][e] & 2) ok = false;
    if (w && g->touch[aid][e]) ok = false;
  });
  return ok;
}

static void touch_elems(gen *g, int aid, const garg *ga) {
  uint8_t bit = is_write(ga->kind) ? 2 : 1;
  FOR_EACH_ELEM(&ga->a, e, g->touch[aid][e] |= bit);
}

static uint64_t out_bytes(const galloc *A) { return ((uint64_t)A->numel * 4 + 63) & ~63ull; }

static int pick_kind(gen *g, int mode) {
  switch (mode) {
    case MODE_RO: return chance(g, 75) ? K_INPUT : chance(g, 50) ? K_NODEP : K_INPUT_MD;
    case MODE_RW: return chance(g, 95) ? K_INOUT : K_INOUT_MD;
    case MODE_WO: return chance(g, 50) ? K_INPUT : chance(g, 70) ? K_OE : K_INOUT;
    default: {
      static const int kinds[] = {K_INPUT, K_INPUT, K_INOUT, K_INOUT,
                                  K_OE,    K_NODEP, K_INPUT_MD, K_INOUT_MD};
      return kinds[rnd(g, 8)];
    }
  }
}

static void new_shape(gen *g, galloc *A, bool external) {
  A->nd = (uint8_t)(1 + rnd(g, 3));
  A->shape[1] = A->shape[2] = 1;
  if (external) {
    if (A->nd == 1) A->shape[0] = 1 + rnd(g, 300);
    if (A->nd == 2) A->shape[0] = 1 + rnd(g, 20), A->shape[1] = 1 + rnd(g, 24);
    if (A->nd == 3)
      A->shape[0] = 1 + rnd(g, 6), A->shape[1] = 1 + rnd(g, 8), A->shape[2] = 1 + rnd(g, 10);
  } else {
    if (A->nd == 1) A->shape[0] = 1 + rnd(g, chance(g, 20) ? 256 : 64);
    if (A->nd == 2) A->shape[0] = 1 + rnd(g, 12), A->shape[1] = 1 + rnd(g, 16);
    if (A->nd == 3)
      A->shape[0] = 1 + rnd(g, 4), A->shape[1] = 1 + rnd(g, 6), A->shape[2] = 1 + rnd(g, 8);
  }
  A->numel = A->shape[0] * A->shape[1] * A->shape[2];
}

static galloc *new_alloc(gen *g, int creator, int depth, int scope) {
  program *p = g->p;
  int aid = p->nalloc++;
  galloc *A = &p->allocs[aid];
  A->creator = creator;
  A->depth = depth;
  A->scope = scope;
  A->alive = true;
  A->mode = (uint8_t)rnd(g, MODE_COUNT);
  if (creator >= 0 && A->mode == MODE_WO && chance(g, 50)) A->mode = MODE_RO;
  A->version = 0;
  A->nent = 0;
  new_shape(g, A, creator < 0);
  for (uint32_t e = 0; e < A->numel; e++) g->lastw[aid][e] = -1;
  memset(g->readers[aid], 0, A->numel * sizeof(tset));
  return A;
}

/* --- the model: producers, explicit edges, rings ------------------------- */

/* What one task collects while its arguments are chosen. */
typedef struct task_build {
  tset req;       /* earlier tasks it conflicts with */
  tset rw, war;   /* of those: last writers; readers since (coverage) */
  tset cov;       /* ancestors through the producers chosen so far */
  tset certain;   /* found producers the runtime always counts */
  tset uncertain; /* found through caller-owned memory only: counted unless retired */
  tset sub;       /* explicit producers at submit */
  tset later;     /* explicit producers through pto2_add_dependency */
  uint64_t bytes;
  int writes[MAX_ALLOCS]; /* entries this task will add per allocation */
  bool deferred;          /* held back until its scope ends */
  bool explicit_ok;       /* may get explicit producers */
  bool sub_ok, later_ok;  /* ... at submit, through add_dependency */
  bool scope_only;        /* ... only tasks of its own scope (MANUAL, held back) */
  uint8_t nresolved, nwar, ntransitive, nredundant, nlifetime;
} task_build;

static tset prod_all(const task_build *b) {
  tset s = b->certain;
  ts_or(&s, &b->uncertain);
  ts_or(&s, &b->sub);
  ts_or(&s, &b->later);
  return s;
}

/* Producers wired at submit: they take dependency entries of the task's ring. */
static tset prod_at_submit(const task_build *b) {
  tset s = b->certain;
  ts_or(&s, &b->uncertain);
  ts_or(&s, &b->sub);
  return s;
}

static void cover_with(gen *g, task_build *b, int x) {
  ts_add(&b->cov, x);
  ts_or(&b->cov, &g->anc[x]);
}

/* MANUAL: a tensor created by a task of the current manual scope. */
static bool manual_local(const gen *g, const gtask *t, const galloc *A) {
  return t->mode == PTO2_SCOPE_MANUAL && A->creator >= 0 &&
         g->p->tasks[A->creator].scope == t->scope;
}

/* Whether the runtime looks at this access at all (creator, TensorMap). */
static bool tracked(const gen *g, const gtask *t, const galloc *A) {
  return t->mode != PTO2_SCOPE_GRAPH && !manual_local(g, t, A);
}

/* The producers the runtime finds for one access. */
static void discover(gen *g, const gtask *t, const galloc *A, const garg *ga, task_build *b) {
  if (ga->kind == K_OUTPUT || !tracked(g, t, A)) return;
  if (A->creator >= 0) {
    ts_add(&b->certain, A->creator);
    cover_with(g, b, A->creator);
  }
  if (!looks_up(ga->kind)) return;
  for (int i = 0; i < A->nent; i++) {
    if (!classify(&A->ent[i].a, &ga->a)) continue;
    /* Entries on a created buffer live as long as the buffer; those on
     * caller-owned memory go when their writer retires. */
    ts_add(A->creator >= 0 ? &b->certain : &b->uncertain, A->ent[i].task);
    cover_with(g, b, A->ent[i].task);
  }
}

static bool allowed_producer(const gen *g, const gtask *t, const task_build *b, int x) {
  return !b->scope_only || g->p->tasks[x].scope == t->scope;
}

static void add_explicit(gen *g, task_build *b, int x) {
  if (b->sub_ok && (!b->later_ok || chance(g, 50)))
    ts_add(&b->sub, x);
  else
    ts_add(&b->later, x);
  cover_with(g, b, x);
}

/* An allowed task that orders m before the new task: m itself, or a later
 * task that has m as an ancestor; -1 if there is none. */
static int pick_cover(gen *g, const gtask *t, const task_build *b, int m) {
  if (allowed_producer(g, t, b, m) && chance(g, 75)) return m;
  int cand[MAX_TASKS], n = 0;
  for (int w = m; w < g->p->ntasks; w++)
    if (allowed_producer(g, t, b, w) && (w == m || ts_has(&g->anc[w], m))) cand[n++] = w;
  return n ? cand[rnd(g, (uint32_t)n)] : -1;
}

/* Adds explicit producers until every conflict is ordered, latest first. */
static bool cover_missing(gen *g, const gtask *t, task_build *b) {
  for (;;) {
    tset miss = ts_minus(&b->req, &b->cov);
    int m = ts_highest(&miss);
    if (m < 0) return true;
    if (!b->explicit_ok) return false;
    int x = pick_cover(g, t, b, m);
    if (x < 0) return false;
    add_explicit(g, b, x);
    b->nresolved++;
    b->nwar += ts_has(&b->war, m) && !ts_has(&b->rw, m);
    b->ntransitive += x != m;
  }
}

/* Whether every ring can still hold what cannot retire before an open scope
 * ends, with the new task (a slot of slack in each window). */
static bool fits(gen *g, const gtask *t, const task_build *b) {
  const program *p = g->p;
  unsigned r = ring_of(t->depth);
  tset prod = prod_all(b), at_submit = prod_at_submit(b);
  bool inc = b->deferred;
  TS_FOR(&prod, x) inc = inc || g->inc[x];
  tset later_new = ts_minus(&b->later, &at_submit);
  for (unsigned q = 0; q < PTO2_RING_COUNT; q++) {
    const gring *R = &g->rings[q];
    int start = R->oldest;
    if (inc)
      TS_FOR(&prod, x) {
        if (ring_of(p->tasks[x].depth) == q && g->pos[x] < start) start = g->pos[x];
      }
    uint64_t tasks = (uint64_t)(R->n - start), heap2 = 0, deps = R->reserved;
    if (start < R->n) {
      heap2 = R->heap2 - R->heap_before[start];
      deps += R->deps - R->deps_before[start];
    }
    if (q == r) {
      tasks++;
      heap2 += 2 * b->bytes;
      deps += (uint64_t)ts_count(&at_submit) + (uint64_t)ts_count(&later_new);
    }
    if (tasks + 1 > g->lim.window || heap2 > g->lim.heap || deps > g->lim.dep_pool) return false;
  }
  return true;
}

/* Adds one access to the task: its conflicts, found producers and the
 * explicit producers it needs.  False if the task would break a limit. */
static bool add_access(gen *g, const gtask *t, task_build *b, int aid, const garg *ga) {
  const galloc *A = &g->p->allocs[aid];
  bool w = is_write(ga->kind);
  FOR_EACH_ELEM(&ga->a, e, {
    int lw = g->lastw[aid][e];
    if (lw >= 0) ts_add(&b->rw, lw);
    if (w) ts_or(&b->war, &g->readers[aid][e]);
  });
  ts_or(&b->req, &b->rw);
  ts_or(&b->req, &b->war);
  discover(g, t, A, ga, b);
  /* Without creator retention a created buffer lives only as long as its
   * creator's consumers (README "Scopes"): ordering through other tasks is
   * not enough, the creator must be a direct producer. */
  if (ga->kind != K_OUTPUT && A->creator >= 0 && !tracked(g, t, A)) {
    tset prod = prod_all(b);
    if (!ts_has(&prod, A->creator)) {
      if (!b->explicit_ok || !allowed_producer(g, t, b, A->creator)) return false;
      add_explicit(g, b, A->creator);
      b->nlifetime++;
    }
  }
  if (!cover_missing(g, t, b)) return false;
  tset prod = prod_all(b);
  return ts_count(&prod) <= PTO2_MAX_FANIN && fits(g, t, b);
}

/* Recomputes which tasks cannot finish (inc) or retire (pinned) before an
 * open scope ends, and each ring's oldest pinned task.  Task order is a
 * topological order: every edge goes from an earlier task to a later one. */
static void recompute_pins(gen *g) {
  const program *p = g->p;
  for (int t = 0; t < p->ntasks; t++) {
    bool inc = g->deferred[t];
    TS_FOR(&g->prod[t], x) inc = inc || g->inc[x];
    g->inc[t] = inc;
    g->pinned[t] = inc || g->sopen[p->tasks[t].scope];
  }
  for (int t = 0; t < p->ntasks; t++)
    if (g->inc[t]) TS_FOR(&g->prod[t], x) g->pinned[x] = true;
  for (unsigned q = 0; q < PTO2_RING_COUNT; q++) {
    gring *R = &g->rings[q];
    R->oldest = R->n;
    for (int i = 0; i < R->n; i++)
      if (g->pinned[R->task[i]]) {
        R->oldest = i;
        break;
      }
  }
}

/* --- the generator ------------------------------------------------------ */

/* Ops left, keeping room for the OP_ENDs and add_dependency calls due. */
static bool ops_room(const gen *g, int need) {
  return g->p->nops + need + g->npend * 2 + MAX_DEPTH + 1 < MAX_OPS;
}

static void push_op(gen *g, uint8_t kind, uint8_t mode, uint8_t flags, int a, int b) {
  program *p = g->p;
  gop *o = &p->ops[p->nops++];
  o->kind = kind;
  o->mode = mode;
  o->flags = flags;
  o->a = (int16_t)a;
  o->b = (int16_t)b;
}

static void emit_dep(gen *g, const pend *e, bool delayed) {
  uint8_t fl = delayed ? OPF_DELAYED : 0;
  push_op(g, OP_DEP, 0, fl, e->p, e->c);
  if (e->dup) push_op(g, OP_DEP, 0, fl | OPF_DUP, e->p, e->c);
  if (e->charge) { /* charged to the newest task of the consumer's ring */
    gring *R = &g->rings[ring_of(g->p->tasks[e->c].depth)];
    R->deps++;
    R->reserved--;
  }
}

/* Whether pto2_add_dependency(., c) may be called here. */
static bool dep_valid_now(const gen *g, int c) {
  const gscope *in = &g->open[g->nopen - 1];
  const gtask *t = &g->p->tasks[c];
  if (t->mode == PTO2_SCOPE_MANUAL) return in->id == t->scope;
  return in->mode == PTO2_SCOPE_GRAPH;
}

/* Emits pending add_dependency calls: those of scope `scope` (all of them),
 * or, for scope < 0, a random part of those that may be made here. */
static void flush_pending(gen *g, int scope) {
  int kept = 0;
  for (int i = 0; i < g->npend; i++) {
    pend e = g->pending[i];
    bool go = scope >= 0 ? g->p->tasks[e.c].scope == scope
                         : dep_valid_now(g, e.c) && chance(g, 40);
    if (go)
      emit_dep(g, &e, true);
    else
      g->pending[kept++] = e;
  }
  g->npend = kept;
}

/* Applies a kept task to the model: TensorMap, element states, new allocs. */
static void apply_task(gen *g, const gtask *t, int ti) {
  program *p = g->p;
  for (unsigned i = 0; i < t->nargs; i++) {
    const garg *ga = &t->args[i];
    galloc *A = &p->allocs[ga->alloc];
    if (ga->kind != K_INOUT || !tracked(g, t, A)) continue;
    for (int j = 0; j < A->nent;) /* (T4) COVERED entries are superseded */
      if (classify(&A->ent[j].a, &ga->a) == 1)
        A->ent[j] = A->ent[--A->nent];
      else
        j++;
  }
  for (unsigned i = 0; i < t->nargs; i++) { /* reads first: a task's own write wins */
    const garg *ga = &t->args[i];
    if (ga->kind == K_OUTPUT || is_write(ga->kind)) continue;
    FOR_EACH_ELEM(&ga->a, e, ts_add(&g->readers[ga->alloc][e], ti));
  }
  for (unsigned i = 0; i < t->nargs; i++) {
    const garg *ga = &t->args[i];
    int aid = ga->alloc;
    galloc *A = &p->allocs[aid];
    if (ga->kind == K_OUTPUT) {
      A->alive = true;
      for (uint32_t e = 0; e < A->numel; e++) g->lastw[aid][e] = (int16_t)ti;
      continue;
    }
    if (!is_write(ga->kind)) continue;
    if (records(ga->kind) && tracked(g, t, A)) {
      A->ent[A->nent].task = ti;
      A->ent[A->nent++].a = ga->a;
    }
    FOR_EACH_ELEM(&ga->a, e, {
      g->lastw[aid][e] = (int16_t)ti;
      memset(&g->readers[aid][e], 0, sizeof(tset));
    });
  }
}

/* Tries to add one argument to t; false if no valid one was found. */
static bool gen_arg(gen *g, gtask *t, task_build *b, bool multi) {
  program *p = g->p;
  garg *ga = &t->args[t->nargs];
  memset(ga, 0, sizeof *ga);
  /* A new intermediate, usable once the task is submitted. */
  if (chance(g, 22) && p->nalloc < MAX_ALLOCS) {
    galloc *A = new_alloc(g, p->ntasks, t->depth, t->scope);
    task_build nb = *b;
    nb.bytes += out_bytes(A);
    if (!fits(g, t, &nb)) {
      p->nalloc--;
      return false;
    }
    b->bytes = nb.bytes;
    A->alive = false;
    ga->kind = K_OUTPUT;
    ga->alloc = (uint8_t)(p->nalloc - 1);
    ga->has_init = chance(g, 30);
    ga->init = (uint32_t)next64(&g->s);
    ga->a.L = native_layout(A);
    memcpy(ga->a.shp, A->shape, sizeof A->shape);
    access_bounds(&ga->a);
    t->nargs++;
    return true;
  }
  int cand[MAX_ALLOCS], nc = 0, ninter = 0;
  for (int i = 0; i < p->nalloc; i++)
    if (p->allocs[i].alive && p->allocs[i].creator >= 0) cand[nc++] = i, ninter++;
  for (int i = 0; i < p->nalloc; i++)
    if (p->allocs[i].alive && p->allocs[i].creator < 0) cand[nc++] = i;
  if (!nc) return false;
  for (int attempt = 0; attempt < 6; attempt++) {
    int aid = ninter && chance(g, 50) ? cand[rnd(g, (uint32_t)ninter)] : cand[rnd(g, (uint32_t)nc)];
    galloc *A = &p->allocs[aid];
    int kind = pick_kind(g, A->mode);
    ga->kind = (uint8_t)kind;
    ga->alloc = (uint8_t)aid;
    bool small = kind == K_OE || (A->mode == MODE_WO && kind == K_INOUT) || chance(g, 25);
    rand_access(g, ga, A, small);
    if (!multi_ok(g, aid, ga, multi)) continue;
    if (is_write(kind) && A->nent + b->writes[aid] >= MAX_ENTRIES) continue;
    task_build nb = *b;
    if (!add_access(g, t, &nb, aid, ga)) continue;
    if (is_write(kind)) nb.writes[aid]++;
    *b = nb;
    touch_elems(g, aid, ga);
    if (chance(g, 3) && A->version < 3) A->version++; /* later accesses use the new version */
    t->nargs++;
    return true;
  }
  return false;
}

/* Sometimes a few explicit edges no conflict needs: redundant ones, edges
 * to found producers (counted once), to finished tasks of ended scopes. */
static void add_extra_edges(gen *g, const gtask *t, task_build *b) {
  int n = g->p->ntasks;
  if (!b->explicit_ok || !n || !chance(g, 20)) return;
  for (int k = 1 + (int)rnd(g, 2); k > 0; k--) {
    int x = (int)rnd(g, (uint32_t)n);
    tset found = b->certain;
    ts_or(&found, &b->uncertain);
    TS_FOR(&found, y) if (chance(g, 30)) x = y; /* sometimes a found producer */
    if (!allowed_producer(g, t, b, x)) continue;
    task_build nb = *b;
    add_explicit(g, &nb, x);
    tset prod = prod_all(&nb);
    if (ts_count(&prod) > PTO2_MAX_FANIN || !fits(g, t, &nb)) continue;
    *b = nb;
    b->nredundant++;
  }
}

static void choose_lanes(gen *g, gtask *t) {
  t->lane_k[0] = t->lane_k[1] = t->lane_k[2] = -1;
  uint32_t r = rnd(g, 10);
  if (r < 4) {
    t->submit = 0;
    t->lane_k[0] = (int8_t)rnd(g, 2);
  } else if (r < 8) {
    t->submit = 1;
    t->lane_k[1] = (int8_t)(2 + rnd(g, 2));
  } else {
    t->submit = 2;
    unsigned mask = 1 + rnd(g, 7);
    if (mask & 1) t->lane_k[0] = (int8_t)rnd(g, 2);
    if (mask & 2) t->lane_k[1] = (int8_t)(2 + rnd(g, 2));
    if (mask & 4) t->lane_k[2] = (int8_t)(2 + rnd(g, 2));
  }
}

/* Lanes that run, after the runtime's normalisation of a lone AIV1. */
static unsigned active_mask(const gtask *t, int8_t lk[3]) {
  memcpy(lk, t->lane_k, 3);
  if (lk[0] < 0 && lk[1] < 0) lk[1] = lk[2], lk[2] = -1;
  unsigned m = 0;
  for (unsigned l = 0; l < 3; l++)
    if (lk[l] >= 0) m |= 1u << l;
  return m;
}

/* How the task may get explicit producers, by scope mode. */
static void plan_explicit(gen *g, const gtask *t, task_build *b) {
  switch (t->mode) {
    case PTO2_SCOPE_MANUAL:
      b->deferred = !chance(g, 30);
      b->explicit_ok = true;
      b->sub_ok = !b->deferred;
      b->later_ok = b->scope_only = b->deferred;
      break;
    case PTO2_SCOPE_GRAPH:
      b->deferred = b->explicit_ok = b->sub_ok = b->later_ok = true;
      break;
    default: b->explicit_ok = b->sub_ok = chance(g, 25);
  }
}

/* The producers given at submit, in random order, and how. */
static void plan_submit_deps(gen *g, gtask *t, const task_build *b) {
  t->nsub = 0;
  TS_FOR(&b->sub, x) t->sub[t->nsub++] = (int16_t)x;
  for (int i = t->nsub - 1; i > 0; i--) {
    int j = (int)rnd(g, (uint32_t)i + 1);
    int16_t tmp = t->sub[i];
    t->sub[i] = t->sub[j];
    t->sub[j] = tmp;
  }
  if (t->nsub && t->nsub < PTO2_MAX_FANIN && chance(g, 10)) {
    int16_t dup = t->sub[rnd(g, t->nsub)]; /* a duplicate */
    t->sub[t->nsub++] = dup;
  }
  t->deps_first = chance(g, 30);
  if (t->nsub) {
    t->deps_how = (uint8_t)(DH_ADD + rnd(g, g->p->ntasks > 0 ? 4 : 3));
  } else {
    /* MANUAL: explicit (even no) producers publish the task at submit. */
    bool manual = t->mode == PTO2_SCOPE_MANUAL;
    bool need = manual && !b->deferred, may = b->sub_ok && !manual && chance(g, 10);
    t->deps_how = need || may ? DH_EMPTY : DH_NONE;
  }
}

static void task_flags(gtask *t, int ti, unsigned wmask, bool multi) {
  uint64_t flags = (uint64_t)wmask << 32 | (uint64_t)multi << 35 | (uint64_t)t->nargs << 40 |
                   (uint64_t)(2 + t->nextra) << 48 | (uint64_t)ti << 56;
  for (unsigned i = 0; i < t->nargs; i++) {
    const garg *ga = &t->args[i];
    unsigned cls = ga->kind == K_INOUT || ga->kind == K_INOUT_MD ||
                           (ga->kind == K_OUTPUT && ga->has_init)
                       ? CLS_RMW
                   : ga->kind == K_OUTPUT || ga->kind == K_OE ? CLS_WRITE
                                                              : CLS_READ;
    flags |= (uint64_t)cls << (2 * i);
  }
  t->flags = flags;
}

/* Records a kept task: ring usage, edges, ancestors, the model, its op and
 * its add_dependency calls (now or later in the scope). */
static void commit_task(gen *g, gtask *t, const task_build *b) {
  program *p = g->p;
  int ti = p->ntasks;
  tset prod = prod_all(b), at_submit = prod_at_submit(b), certain = b->certain;
  ts_or(&certain, &b->sub);
  ts_or(&certain, &b->later);
  t->nprod = (uint8_t)ts_count(&prod);
  t->ncertain = (uint8_t)ts_count(&certain);
  t->deferred = b->deferred;
  t->nresolved = b->nresolved;
  t->nwar = b->nwar;
  t->ntransitive = b->ntransitive;
  t->nredundant = b->nredundant;
  t->nlifetime = b->nlifetime;
  p->edges_min += t->ncertain;
  p->edges_max += t->nprod;
  g->deferred[ti] = b->deferred;
  g->prod[ti] = prod;
  memset(&g->anc[ti], 0, sizeof(tset));
  TS_FOR(&prod, x) {
    ts_add(&g->anc[ti], x);
    ts_or(&g->anc[ti], &g->anc[x]);
  }
  gring *R = &g->rings[ring_of(t->depth)];
  g->pos[ti] = (int16_t)R->n;
  R->task[R->n] = (int16_t)ti;
  R->heap_before[R->n] = R->heap2;
  R->deps_before[R->n] = R->deps;
  R->n++;
  R->heap2 += 2 * b->bytes;
  R->deps += (uint64_t)ts_count(&at_submit);
  apply_task(g, t, ti);
  push_op(g, OP_TASK, 0, 0, ti, 0);
  p->ntasks++;
  t->nlater = (uint8_t)ts_count(&b->later);
  TS_FOR(&b->later, x) {
    pend e = {(int16_t)x, (int16_t)ti, !ts_has(&at_submit, x), chance(g, 10)};
    R->reserved += e.charge;
    if (chance(g, 60))
      emit_dep(g, &e, false);
    else
      g->pending[g->npend++] = e;
  }
  recompute_pins(g);
}

static bool gen_task(gen *g) {
  program *p = g->p;
  const gscope *sc = &g->open[g->nopen - 1];
  if (p->ntasks >= MAX_TASKS || p->ntasks >= g->max_tasks) return false;
  if (!ops_room(g, 1 + 2 * PTO2_MAX_FANIN)) return false;
  gtask *t = &p->tasks[p->ntasks];
  memset(t, 0, sizeof *t);
  t->depth = (uint8_t)sc->depth;
  t->mode = sc->mode;
  t->scope = (int16_t)sc->id;
  task_build b;
  memset(&b, 0, sizeof b);
  plan_explicit(g, t, &b);
  if (!fits(g, t, &b)) return false; /* this scope's ring is full */
  choose_lanes(g, t);
  int8_t lk[3];
  unsigned am = active_mask(t, lk);
  unsigned nlanes = (unsigned)__builtin_popcount(am);
  t->block_num = (uint8_t)(chance(g, 70) ? 1 : 2 + rnd(g, 2));
  bool multi = t->block_num * nlanes > 1;
  unsigned wmask = 0;
  if (nlanes > 1) {
    if (chance(g, 50)) {
      wmask = am;
    } else {
      unsigned pick = rnd(g, nlanes);
      for (unsigned l = 0; l < 3; l++)
        if ((am >> l) & 1u && pick-- == 0) wmask = 1u << l;
    }
  }
  uint32_t r = rnd(g, 100);
  unsigned want = r < 5 ? 0 : r < 65 ? 1 + rnd(g, 4) : r < 90 ? 5 + rnd(g, 4) : 9 + rnd(g, 8);
  for (int i = 0; i < p->nalloc; i++)
    if (p->allocs[i].alive) memset(g->touch[i], 0, p->allocs[i].numel);
  for (unsigned i = 0; i < want && t->nargs < PTO2_MAX_TENSOR_ARGS; i++) gen_arg(g, t, &b, multi);
  add_extra_edges(g, t, &b);
  plan_submit_deps(g, t, &b);
  t->salt = next64(&g->s);
  t->nextra = (uint8_t)rnd(g, 4);
  t->extra_how = (uint8_t)rnd(g, 4);
  for (unsigned i = 0; i < t->nextra; i++) {
    t->extra[i] = (int32_t)next64(&g->s);
    t->extra64[i] = t->extra_how == 2 ? (uint64_t)(uint32_t)t->extra[i] : next64(&g->s);
  }
  task_flags(t, p->ntasks, wmask, multi);
  commit_task(g, t, &b);
  return true;
}

/* The value OP_SET number `oi` writes (the same in both runs). */
static uint32_t set_value(int oi) { return 0x5e700000u ^ ((uint32_t)oi * 2654435761u); }

/* A blocking set on caller-owned memory, where every open scope is AUTO
 * (no held-back task could read the element later), into the view of a
 * recent task's argument: often a reader submitted after its writer
 * finished or its writer's scope ended, which links it to nobody; the set
 * must still wait for it.  The set needs no edges: it waits for every
 * earlier task using the element, and later tasks are submitted after it. */
static void gen_set(gen *g) {
  program *p = g->p;
  for (int i = 0; i < g->nopen; i++)
    if (g->open[i].mode != PTO2_SCOPE_AUTO) return;
  for (int ti = p->ntasks - 1; ti >= 0 && ti >= p->ntasks - 8; ti--) {
    const gtask *t = &p->tasks[ti];
    for (unsigned i = 0; i < t->nargs; i++) {
      const garg *ga = &t->args[i];
      if (ga->kind == K_OUTPUT || p->allocs[ga->alloc].creator >= 0) continue;
      if (!chance(g, ga->kind == K_INPUT ? 70 : 30)) continue;
      push_op(g, OP_SET, 0, 0, ti, (int)i);
      return;
    }
  }
}

static void begin_scope(gen *g, uint8_t mode) {
  program *p = g->p;
  int id = p->nscopes++;
  gscope *sc = &g->open[g->nopen++];
  sc->mode = mode;
  sc->depth = g->nopen - 1;
  sc->id = id;
  g->sopen[id] = true;
  push_op(g, OP_BEGIN, mode, chance(g, 50) ? OPF_MACRO : 0, id, 0);
}

static void end_scope(gen *g) {
  program *p = g->p;
  const gscope *sc = &g->open[g->nopen - 1];
  flush_pending(g, sc->id);
  push_op(g, OP_END, 0, 0, sc->id, 0);
  g->sopen[sc->id] = false;
  for (int i = 0; i < p->nalloc; i++)
    if (p->allocs[i].creator >= 0 && p->allocs[i].scope == sc->id) p->allocs[i].alive = false;
  for (int t = 0; t < p->ntasks; t++)
    if (p->tasks[t].scope == sc->id) g->deferred[t] = false;
  g->nopen--;
  recompute_pins(g);
}

static uint8_t child_mode(gen *g, uint8_t parent) {
  switch (g->p->flavor) {
    case FL_AUTO: return PTO2_SCOPE_AUTO;
    case FL_GRAPH: return PTO2_SCOPE_GRAPH;
    default: break;
  }
  uint32_t r = rnd(g, 100);
  if (parent == PTO2_SCOPE_GRAPH) return r < 35 ? PTO2_SCOPE_GRAPH : PTO2_SCOPE_AUTO;
  return r < 45 ? PTO2_SCOPE_AUTO : r < 80 ? PTO2_SCOPE_MANUAL : PTO2_SCOPE_GRAPH;
}

/* Whether a task could still go into the ring of scope depth d. */
static bool ring_has_room(const gen *g, int depth) {
  const gring *R = &g->rings[ring_of(depth)];
  return (uint64_t)(R->n - R->oldest) + 2 <= g->lim.window;
}

static void gen_scope(gen *g) {
  program *p = g->p;
  const gscope *sc = &g->open[g->nopen - 1];
  int depth = sc->depth;
  uint8_t mode = sc->mode;
  bool only_nest = depth == 0 && p->flavor == FL_GRAPH;
  int items = 1 + (int)rnd(g, depth == 0 ? 24 : 10);
  for (int i = 0; i < items && p->ntasks < g->max_tasks; i++) {
    if (g->npend && chance(g, 30)) flush_pending(g, -1);
    if (ops_room(g, 1) && chance(g, 8)) gen_set(g);
    bool can_nest = mode != PTO2_SCOPE_MANUAL && depth < MAX_DEPTH && ops_room(g, 2) &&
                    p->nscopes < MAX_SCOPES;
    bool nest = can_nest && (only_nest || chance(g, depth == 0 ? 30 : 22));
    if (!nest) {
      if (only_nest) break;
      if (gen_task(g)) continue;
      /* This scope's ring is full: a nested scope may still use another ring. */
      if (!can_nest || ring_of(depth + 1) == ring_of(depth) || !ring_has_room(g, depth + 1))
        break;
    }
    begin_scope(g, child_mode(g, mode));
    gen_scope(g);
    end_scope(g);
    sc = &g->open[g->nopen - 1];
  }
}

static void gen_program(program *p, uint64_t seed, const limits *lim) {
  static gen g;
  memset(&g, 0, offsetof(gen, lastw));
  g.npend = 0;
  g.s = seed;
  g.p = p;
  g.lim = *lim;
  uint32_t r = rnd(&g, 100);
  g.max_tasks = r < 10   ? 1 + (int)rnd(&g, 4)
                : r < 80 ? 8 + (int)rnd(&g, 40)
                         : 48 + (int)rnd(&g, MAX_TASKS - 48);
  r = rnd(&g, 100);
  p->flavor = r < 20 ? FL_AUTO : r < 85 ? FL_MIXED : FL_GRAPH;
  p->nalloc = p->ntasks = p->nops = p->nscopes = 0;
  p->edges_min = p->edges_max = 0;
  int next = 1 + (int)rnd(&g, MAX_EXT);
  for (int i = 0; i < next; i++) {
    galloc *A = new_alloc(&g, -1, -1, -1);
    A->ext_off = (uint32_t)i * POOL_STRIDE + rnd(&g, 16);
  }
  p->next = next;
  /* The root scope, opened by pto2_run() itself. */
  p->nscopes = 1;
  g.sopen[0] = true;
  g.open[0] = (gscope){PTO2_SCOPE_AUTO, 0, 0};
  g.nopen = 1;
  gen_scope(&g);
}

/* ------------------------------------------------------------------------ */
/* Running a program                                                         */
/* ------------------------------------------------------------------------ */

static uint32_t pool_rt[POOL_ELEMS], pool_seq[POOL_ELEMS];
static uint32_t seq_inter[MAX_ALLOCS][MAX_ELEMS];

/* The tensor for an access, built from the allocation's whole tensor. */
static pto2_tensor build_tensor(const pto2_tensor *base, const galloc *A, const garg *ga) {
  pto2_tensor t;
  switch (ga->how) {
    case HOW_WHOLE: t = *base; break;
    case HOW_VIEW: t = pto2_tensor_view(base, ga->a.shp, ga->a.off); break;
    case HOW_VIEW2: {
      pto2_tensor mid = pto2_tensor_view(base, ga->mid_shp, ga->mid_off);
      uint32_t rel[3] = {0, 0, 0};
      for (unsigned d = 0; d < A->nd; d++) rel[d] = ga->a.off[d] - ga->mid_off[d];
      t = pto2_tensor_view(&mid, ga->a.shp, rel);
      break;
    }
    default: {
      pto2_tensor src = *base;
      if (ga->r0 != 0 || ga->nr != A->shape[0]) {
        uint32_t shp[3] = {ga->nr, A->shape[1], A->shape[2]}, off[3] = {ga->r0, 0, 0};
        src = pto2_tensor_view(base, shp, off);
      }
      t = pto2_tensor_reshape(&src, ga->a.L.raw, ga->a.L.nd);
      if (!ga->rs_whole) t = pto2_tensor_view(&t, ga->a.shp, ga->a.off);
    }
  }
  t.version = ga->a.version;
  if (is_md(ga->kind)) t.manual_dep = true;
  return t;
}

typedef struct run_ctx {
  const program *p;
  pto2_tensor base[MAX_ALLOCS];
  pto2_task_id ids[MAX_TASKS];
  int pc;
  bool failed;
  char why[256];
  uint32_t drop_pct;   /* dropped-edge variant: leave out this share of explicit edges */
  uint64_t drop_state;
  uint32_t dropped;
} run_ctx;

/* Dropped-edge variant: true for an explicit edge to leave out. */
static bool drop_edge(run_ctx *c) {
  return c->drop_pct && next64(&c->drop_state) % 100 < c->drop_pct && ++c->dropped;
}

static void add_scalars(pto2_arg *a, const gtask *t) {
  pto2_arg_add_scalar(a, t->salt);
  pto2_arg_add_scalar(a, t->flags);
  switch (t->extra_how) {
    case 0:
      for (unsigned i = 0; i < t->nextra; i++) pto2_arg_add_scalar(a, t->extra64[i]);
      break;
    case 1: pto2_arg_add_scalars(a, t->extra64, t->nextra); break;
    case 2: pto2_arg_add_scalars_i32(a, t->extra, t->nextra); break;
    default: {
      pto2_arg src;
      pto2_arg_init(&src);
      pto2_arg_add_scalar(&src, 12345);
      pto2_arg_add_scalars(&src, t->extra64, t->nextra);
      pto2_arg_copy_scalars_from(a, &src, 1, t->nextra);
    }
  }
}

/* The producers at submit, in the builder style the generator chose. */
static void add_submit_deps(pto2_arg *a, const gtask *t, run_ctx *c) {
  pto2_task_id ids[PTO2_MAX_FANIN];
  for (unsigned i = 0; i < t->nsub; i++) ids[i] = c->ids[t->sub[i]];
  if (c->drop_pct && t->deps_how != DH_NONE) { /* keep the task explicit, with fewer producers */
    unsigned kept = 0;
    for (unsigned i = 0; i < t->nsub; i++)
      if (!drop_edge(c)) ids[kept++] = ids[i];
    pto2_arg_set_deps(a, ids, kept);
    return;
  }
  unsigned half = t->nsub / 2;
  switch (t->deps_how) {
    case DH_ADD:
      for (unsigned i = 0; i < t->nsub; i++) pto2_arg_add_dep(a, ids[i]);
      break;
    case DH_SET: pto2_arg_set_deps(a, ids, t->nsub); break;
    case DH_SPLIT:
      pto2_arg_set_deps(a, ids, half);
      for (unsigned i = half; i < t->nsub; i++) pto2_arg_add_dep(a, ids[i]);
      break;
    case DH_RESET: /* set_deps replaces what was added before */
      pto2_arg_add_dep(a, c->ids[0]);
      pto2_arg_set_deps(a, ids, t->nsub);
      break;
    case DH_EMPTY: pto2_arg_set_deps(a, NULL, 0); break;
    default: break;
  }
}

static pto2_task_id submit_task(pto2_runtime *rt, const gtask *t, pto2_arg *a) {
  bool manual = t->mode == PTO2_SCOPE_MANUAL;
  if (t->submit == 0)
    return manual ? pto2_submit_aic_manual(rt, kernel_ids[t->lane_k[0]], a)
                  : pto2_submit_aic(rt, kernel_ids[t->lane_k[0]], a);
  if (t->submit == 1)
    return manual ? pto2_submit_aiv_manual(rt, kernel_ids[t->lane_k[1]], a)
                  : pto2_submit_aiv(rt, kernel_ids[t->lane_k[1]], a);
  pto2_mixed_kernels mk;
  mk.aic = t->lane_k[0] >= 0 ? kernel_ids[t->lane_k[0]] : PTO2_NO_KERNEL;
  mk.aiv0 = t->lane_k[1] >= 0 ? kernel_ids[t->lane_k[1]] : PTO2_NO_KERNEL;
  mk.aiv1 = t->lane_k[2] >= 0 ? kernel_ids[t->lane_k[2]] : PTO2_NO_KERNEL;
  return manual ? pto2_submit_task_manual(rt, mk, a) : pto2_submit_task(rt, mk, a);
}

static void run_task(pto2_runtime *rt, run_ctx *c, int ti) {
  const program *p = c->p;
  const gtask *t = &p->tasks[ti];
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_tensor tv[PTO2_MAX_TENSOR_ARGS];
  pto2_create_info ci[PTO2_MAX_TENSOR_ARGS];
  if (t->deps_first) add_submit_deps(&a, t, c);
  for (unsigned i = 0; i < t->nargs; i++) {
    const garg *ga = &t->args[i];
    const galloc *A = &p->allocs[ga->alloc];
    if (ga->kind == K_OUTPUT) {
      ci[i] = pto2_create_info_make(A->shape, A->nd, PTO2_INT32);
      if (ga->has_init) pto2_create_info_set_initial(&ci[i], ga->init);
      pto2_arg_add_output(&a, &ci[i]);
      continue;
    }
    tv[i] = build_tensor(&c->base[ga->alloc], A, ga);
    switch (ga->kind) {
      case K_INPUT:
      case K_INPUT_MD: pto2_arg_add_input(&a, &tv[i]); break;
      case K_INOUT:
      case K_INOUT_MD: pto2_arg_add_inout(&a, &tv[i]); break;
      case K_OE: pto2_arg_add_output_existing(&a, &tv[i]); break;
      default: pto2_arg_add_no_dep(&a, &tv[i]);
    }
  }
  add_scalars(&a, t);
  if (!t->deps_first) add_submit_deps(&a, t, c);
  if (t->block_num > 1) pto2_arg_set_block_num(&a, t->block_num);
  pto2_task_id id = submit_task(rt, t, &a);
  if (!pto2_task_id_is_valid(id)) {
    c->failed = true;
    snprintf(c->why, sizeof c->why, "submit of task %d failed", ti);
    return;
  }
  c->ids[ti] = id;
  if (pto2_task_id_ring(id) != ring_of(t->depth)) {
    c->failed = true;
    snprintf(c->why, sizeof c->why, "task %d at scope depth %d ran on ring %u", ti, t->depth,
             pto2_task_id_ring(id));
    return;
  }
  unsigned out = 0;
  for (unsigned i = 0; i < t->nargs; i++) {
    const garg *ga = &t->args[i];
    if (ga->kind != K_OUTPUT) continue;
    const pto2_tensor *o = pto2_arg_output(&a, out++);
    const galloc *A = &p->allocs[ga->alloc];
    bool ok = o && pto2_tensor_is_valid(o) && o->owner.raw == id.raw && o->ndims == A->nd &&
              o->data == o->addr && pto2_tensor_numel(o) == A->numel;
    if (!ok) {
      c->failed = true;
      snprintf(c->why, sizeof c->why, "output %u of task %d is not the tensor asked for", out - 1,
               ti);
      return;
    }
    c->base[ga->alloc] = *o;
  }
  if (pto2_arg_output(&a, out) != NULL) {
    c->failed = true;
    snprintf(c->why, sizeof c->why, "task %d has more outputs than asked for", ti);
  }
}

static void run_block(pto2_runtime *rt, run_ctx *c);

static void run_scope(pto2_runtime *rt, run_ctx *c, const gop *op) {
  pto2_scope_mode mode = (pto2_scope_mode)op->mode;
  if (op->flags & OPF_MACRO) {
    bool ran = false;
    PTO2_SCOPE(rt, mode) {
      ran = true;
      run_block(rt, c);
    }
    if (!ran) c->failed = true, snprintf(c->why, sizeof c->why, "PTO2_SCOPE did not open");
    return;
  }
  if (pto2_scope_begin(rt, mode) != 0) {
    c->failed = true;
    snprintf(c->why, sizeof c->why, "pto2_scope_begin(%s) failed", scope_names[mode]);
    return;
  }
  run_block(rt, c);
  if (c->failed) return;
  if (pto2_scope_end(rt) != 0) {
    c->failed = true;
    snprintf(c->why, sizeof c->why, "pto2_scope_end of scope #%d failed", op->a);
  }
}

/* Runs ops from c->pc up to the matching OP_END (or the end). */
static void run_block(pto2_runtime *rt, run_ctx *c) {
  const program *p = c->p;
  while (c->pc < p->nops && !c->failed) {
    const gop *op = &p->ops[c->pc++];
    switch (op->kind) {
      case OP_END: return;
      case OP_BEGIN: run_scope(rt, c, op); break;
      case OP_DEP: {
        if (drop_edge(c)) break;
        int rc = pto2_add_dependency(rt, c->ids[op->a], c->ids[op->b]);
        if (rc) {
          c->failed = true;
          snprintf(c->why, sizeof c->why, "pto2_add_dependency(task %d, task %d) returned %d",
                   op->a, op->b, rc);
        }
        break;
      }
      case OP_SET: {
        const garg *ga = &p->tasks[op->a].args[op->b];
        pto2_tensor t = build_tensor(&c->base[ga->alloc], &p->allocs[ga->alloc], ga);
        const uint32_t zero[PTO2_MAX_DIMS] = {0};
        int rc = pto2_set_tensor_data(rt, &t, zero, set_value(c->pc - 1));
        if (rc) {
          c->failed = true;
          snprintf(c->why, sizeof c->why, "pto2_set_tensor_data (op %d) returned %d", c->pc - 1,
                   rc);
        }
        break;
      }
      default: run_task(rt, c, op->a);
    }
  }
}

static void orchestrate(pto2_runtime *rt, void *arg) {
  run_ctx *c = arg;
  const program *p = c->p;
  for (int i = 0; i < p->next; i++) {
    const galloc *A = &p->allocs[i];
    c->base[i] = pto2_tensor_external(pool_rt + A->ext_off, A->shape, A->nd, PTO2_INT32);
  }
  c->pc = 0;
  run_block(rt, c);
}

/* The same program, task by task, every invocation in turn. */
static void run_sequential(const program *p) {
  pto2_tensor base[MAX_ALLOCS];
  for (int i = 0; i < p->nalloc; i++) {
    const galloc *A = &p->allocs[i];
    uint32_t *mem = A->creator < 0 ? pool_seq + A->ext_off : seq_inter[i];
    base[i] = pto2_tensor_external(mem, A->shape, A->nd, PTO2_INT32);
  }
  for (int oi = 0; oi < p->nops; oi++) { /* program order */
    const gop *op = &p->ops[oi];
    if (op->kind == OP_SET) {
      const garg *ga = &p->tasks[op->a].args[op->b];
      pto2_tensor t = build_tensor(&base[ga->alloc], &p->allocs[ga->alloc], ga);
      *(uint32_t *)t.data = set_value(oi); /* the view's first element */
      continue;
    }
    if (op->kind != OP_TASK) continue;
    int ti = op->a;
    const gtask *t = &p->tasks[ti];
    pto2_tensor tv[PTO2_MAX_TENSOR_ARGS];
    for (unsigned i = 0; i < t->nargs; i++) {
      const garg *ga = &t->args[i];
      const galloc *A = &p->allocs[ga->alloc];
      if (ga->kind == K_OUTPUT) {
        for (uint32_t e = 0; e < A->numel; e++)
          seq_inter[ga->alloc][e] = ga->has_init ? ga->init : 0xdeadbeefu;
        tv[i] = base[ga->alloc];
      } else {
        tv[i] = build_tensor(&base[ga->alloc], A, ga);
      }
    }
    uint64_t sc[2 + 3] = {t->salt, t->flags};
    for (unsigned i = 0; i < t->nextra; i++) sc[2 + i] = t->extra64[i];
    int8_t lk[3];
    unsigned am = active_mask(t, lk);
    for (int b = 0; b < t->block_num; b++)
      for (unsigned l = 0; l < 3; l++) {
        if (!((am >> l) & 1u)) continue;
        pto2_kernel_ctx k;
        memset(&k, 0, sizeof k);
        k.tensors = tv;
        k.scalars = sc;
        k.tensor_count = t->nargs;
        k.scalar_count = 2u + t->nextra;
        k.block_idx = b;
        k.block_num = t->block_num;
        k.sub_block_id = l == 2 ? 1 : 0;
        k.user = (void *)&kinfos[lk[l]];
        int rc = equiv_kernel(&k);
        if (rc) TEST_FAIL("sequential kernel of task %d returned %d", ti, rc);
      }
  }
}

/* ------------------------------------------------------------------------ */
/* Reporting                                                                 */
/* ------------------------------------------------------------------------ */

static void dump_access(const garg *ga) {
  static const char *hows[] = {"whole", "view", "view-of-view", "reshape"};
  fprintf(stderr, " %s", hows[ga->how]);
  if (ga->how == HOW_RESHAPE)
    fprintf(stderr, "(rows %u+%u -> [%u,%u,%u] origin %u)", ga->r0, ga->nr, ga->a.L.raw[0],
            ga->a.L.raw[1], ga->a.L.raw[2], ga->a.L.origin);
  fprintf(stderr, " off [");
  for (unsigned d = 0; d < ga->a.L.nd; d++) fprintf(stderr, "%s%u", d ? "," : "", ga->a.off[d]);
  fprintf(stderr, "] shape [");
  for (unsigned d = 0; d < ga->a.L.nd; d++) fprintf(stderr, "%s%u", d ? "," : "", ga->a.shp[d]);
  fprintf(stderr, "] v%d", ga->a.version);
}

static void dump_task(const program *p, int ti, int depth) {
  const gtask *t = &p->tasks[ti];
  fprintf(stderr, "  %*stask %d: %s%s lanes [%d,%d,%d] blocks %u flags %016llx", 2 * depth, "",
          ti,
          t->submit == 0   ? "aic"
          : t->submit == 1 ? "aiv"
                           : "task",
          t->mode == PTO2_SCOPE_MANUAL ? "_manual" : "",
          t->lane_k[0] >= 0 ? kernel_ids[t->lane_k[0]] : -1,
          t->lane_k[1] >= 0 ? kernel_ids[t->lane_k[1]] : -1,
          t->lane_k[2] >= 0 ? kernel_ids[t->lane_k[2]] : -1, t->block_num,
          (unsigned long long)t->flags);
  fprintf(stderr, " %s, producers %u..%u", t->deferred ? "held back" : "published at submit",
          t->ncertain, t->nprod);
  if (t->deps_how != DH_NONE) {
    fprintf(stderr, ", deps at submit (%s%s) [", dh_names[t->deps_how],
            t->deps_first ? ", before the tensors" : "");
    for (unsigned i = 0; i < t->nsub; i++) fprintf(stderr, "%s%d", i ? "," : "", t->sub[i]);
    fprintf(stderr, "]");
  }
  fprintf(stderr, "\n");
  for (unsigned i = 0; i < t->nargs; i++) {
    fprintf(stderr, "  %*s  arg %u: %s alloc %u", 2 * depth, "", i, kind_names[t->args[i].kind],
            t->args[i].alloc);
    dump_access(&t->args[i]);
    fprintf(stderr, "\n");
  }
}

static void dump_program(const program *p) {
  fprintf(stderr, "  %s program, %d tasks, edges %llu..%llu\n", flavor_names[p->flavor],
          p->ntasks, (unsigned long long)p->edges_min, (unsigned long long)p->edges_max);
  for (int i = 0; i < p->nalloc; i++) {
    const galloc *A = &p->allocs[i];
    fprintf(stderr, "  alloc %d: %s [%u,%u,%u] nd %u, %s", i,
            A->creator < 0 ? "external" : "intermediate", A->shape[0], A->shape[1], A->shape[2],
            A->nd, mode_names[A->mode]);
    if (A->creator >= 0)
      fprintf(stderr, ", created by task %d in scope #%d (depth %d)", A->creator, A->scope,
              A->depth);
    fprintf(stderr, "\n");
  }
  int depth = 0;
  for (int oi = 0; oi < p->nops; oi++) {
    const gop *op = &p->ops[oi];
    switch (op->kind) {
      case OP_END:
        depth--;
        fprintf(stderr, "  %*s} #%d\n", 2 * depth, "", op->a);
        break;
      case OP_BEGIN:
        fprintf(stderr, "  %*s%s(%s) { #%d\n", 2 * depth, "",
                op->flags & OPF_MACRO ? "PTO2_SCOPE" : "scope_begin", scope_names[op->mode],
                op->a);
        depth++;
        break;
      case OP_DEP:
        fprintf(stderr, "  %*sadd_dependency(task %d -> task %d)%s%s\n", 2 * depth, "", op->a,
                op->b, op->flags & OPF_DELAYED ? " delayed" : "",
                op->flags & OPF_DUP ? " duplicate" : "");
        break;
      case OP_SET:
        fprintf(stderr, "  %*sset_tensor_data(first element of task %d arg %d) = 0x%08x\n",
                2 * depth, "", op->a, op->b, set_value(oi));
        break;
      default: dump_task(p, op->a, depth);
    }
  }
}

typedef struct cfgdef {
  const char *name;
  uint32_t threads, window, dep_pool, block_dim;
  uint64_t heap;
} cfgdef;

static const cfgdef configs[] = {
    {"tiny window 8, heap 4 KiB, 1 worker, 2 clusters", 1, 8, 16, 2, 4096},
    {"tiny window 16, heap 8 KiB, 2 workers, 1 cluster", 2, 16, 16, 1, 8192},
    {"tiny window 16, heap 16 KiB, 3 workers, 4 clusters", 3, 16, 16, 4, 16384},
    {"tiny window 8, heap 2 KiB, 1 worker, 1 cluster", 1, 8, 16, 1, 2048},
    {"tiny window 4, heap 1 KiB, 8 dependency entries, 2 workers, 2 clusters", 2, 4, 8, 2, 1024},
    {"default rings, 1 worker", 1, 0, 0, 0, 0},
    {"default rings, 2 workers", 2, 0, 0, 0, 0},
    {"default rings, 3 workers, 2 clusters", 3, 0, 0, 2, 0},
    {"tiny window 8, heap 4 KiB, no worker thread, 3 clusters", PTO2_WORKERS_NONE, 8, 16, 3, 4096},
};
enum { NCONFIGS = sizeof configs / sizeof configs[0] };

/* The first seed of this configuration's runtime: a failure may depend on
 * the ring positions the programs before it left behind. */
static uint64_t first_seed;

static void fail_program(const program *p, uint64_t seed, int cfg, const char *what) {
  fprintf(stderr, "FAILED: program seed %llu, configuration %d (%s): %s\n",
          (unsigned long long)seed, cfg,
          cfg < (int)NCONFIGS ? configs[cfg].name : "dropped-edge variant, default rings", what);
  fprintf(stderr,
          "reproduce: test_random_equiv 1 %llu %d (alone), or test_random_equiv %llu %llu %d "
          "(after the programs run before it on the same runtime)\n",
          (unsigned long long)seed, cfg, (unsigned long long)(seed - first_seed + 1),
          (unsigned long long)first_seed, cfg);
  dump_program(p);
  exit(1);
}

static void compare(const program *p, uint64_t seed, int cfg) {
  for (uint32_t i = 0; i < POOL_ELEMS; i++) {
    if (pool_rt[i] == pool_seq[i]) continue;
    char what[400];
    int buf = -1;
    for (int b = 0; b < p->next; b++)
      if (i >= p->allocs[b].ext_off && i < p->allocs[b].ext_off + p->allocs[b].numel) buf = b;
    if (buf < 0) {
      snprintf(what, sizeof what, "pool element %u (outside every buffer) is %08x, expected %08x",
               i, pool_rt[i], pool_seq[i]);
    } else {
      const galloc *A = &p->allocs[buf];
      uint32_t f = i - A->ext_off;
      uint32_t c = f % A->shape[2], b = f / A->shape[2] % A->shape[1],
               a = f / A->shape[2] / A->shape[1];
      snprintf(what, sizeof what,
               "buffer %d element %u ([%u,%u,%u] of [%u,%u,%u]) is %08x, sequential gives %08x",
               buf, f, a, b, c, A->shape[0], A->shape[1], A->shape[2], pool_rt[i], pool_seq[i]);
    }
    for (int t = 0; t < p->ntasks; t++)
      if (trace_rt[t] != trace_seq[t]) {
        size_t n = strlen(what);
        snprintf(what + n, sizeof what - n, "; task %d is the first that read other inputs", t);
        break;
      }
    fail_program(p, seed, cfg, what);
  }
}

static program prog;

/* What the programs covered, printed at the end. */
static struct {
  uint64_t programs[FL_COUNT], tasks, args[K_COUNT], hows[4], spmd, mixed, deep;
  uint64_t fanin16, fanin_max, inits, versions, multi_writer_lanes;
  uint64_t scopes[3], tasks_by_mode[3], manual_published, auto_explicit, auto_in_graph;
  uint64_t resolved, war, transitive, redundant, lifetime, sub_edges, sub_dups, deps_how[DH_COUNT];
  uint64_t add_deps, add_deps_delayed, add_deps_dup, edges_exact, edges_checked;
  uint64_t sets, sets_on_input; /* blocking sets, on a recent task's INPUT view */
  uint64_t full_window, full_deps, heap_wrap; /* runs that filled a ring (tiny rings) */
} cov;

static void count_task(const program *p, const gtask *t) {
  int8_t lk[3];
  unsigned am = active_mask(t, lk);
  cov.spmd += t->block_num > 1;
  cov.mixed += __builtin_popcount(am) > 1;
  cov.multi_writer_lanes += __builtin_popcount((unsigned)(t->flags >> 32) & 7u) > 1;
  cov.fanin16 += t->nprod == PTO2_MAX_FANIN;
  if (t->nprod > cov.fanin_max) cov.fanin_max = t->nprod;
  cov.deep += t->depth >= 4;
  cov.tasks_by_mode[t->mode]++;
  cov.manual_published += t->mode == PTO2_SCOPE_MANUAL && !t->deferred;
  cov.auto_explicit += t->mode == PTO2_SCOPE_AUTO && t->deps_how != DH_NONE;
  cov.resolved += t->nresolved;
  cov.war += t->nwar;
  cov.transitive += t->ntransitive;
  cov.redundant += t->nredundant;
  cov.lifetime += t->nlifetime;
  cov.sub_edges += t->nsub;
  cov.deps_how[t->deps_how]++;
  for (unsigned i = 1; i < t->nsub; i++)
    for (unsigned j = 0; j < i; j++) cov.sub_dups += t->sub[i] == t->sub[j];
  for (unsigned j = 0; j < t->nargs; j++) {
    cov.args[t->args[j].kind]++;
    if (t->args[j].kind != K_OUTPUT) cov.hows[t->args[j].how]++;
    cov.inits += t->args[j].kind == K_OUTPUT && t->args[j].has_init;
    cov.versions += t->args[j].a.version > 0;
  }
  (void)p;
}

static void count_coverage(const program *p) {
  cov.programs[p->flavor]++;
  cov.tasks += (uint64_t)p->ntasks;
  for (int i = 0; i < p->ntasks; i++) count_task(p, &p->tasks[i]);
  uint8_t modes[MAX_DEPTH + 2] = {PTO2_SCOPE_AUTO};
  int depth = 0;
  for (int i = 0; i < p->nops; i++) {
    const gop *op = &p->ops[i];
    if (op->kind == OP_BEGIN) {
      cov.scopes[op->mode]++;
      modes[++depth] = op->mode;
    } else if (op->kind == OP_END) {
      depth--;
    } else if (op->kind == OP_SET) {
      cov.sets++;
      cov.sets_on_input += p->tasks[op->a].args[op->b].kind == K_INPUT;
    } else if (op->kind == OP_DEP) {
      cov.add_deps++;
      cov.add_deps_delayed += (op->flags & OPF_DELAYED) != 0;
      cov.add_deps_dup += (op->flags & OPF_DUP) != 0;
    } else if (modes[depth] == PTO2_SCOPE_AUTO) {
      for (int d = 0; d < depth; d++)
        if (modes[d] == PTO2_SCOPE_GRAPH) {
          cov.auto_in_graph++;
          break;
        }
    }
  }
}

/* Dropped-edge variant: programs run, hazards among them, results that
 * differ from sequential execution (each must have a hazard). */
static struct {
  uint64_t programs, dropped, hazardous, differ;
} drops;

static bool pool_differs(void) { return memcmp(pool_rt, pool_seq, sizeof pool_rt) != 0; }

/* The program with a share of its explicit edges left out, under the
 * hazard checker (warn): where the result differs from sequential
 * execution, the checker must have reported a hazard. */
static void run_dropped(pto2_runtime *rt, uint64_t seed, int cfg, const limits *lim,
                        uint32_t pct) {
  program *p = &prog;
  gen_program(p, seed, lim);
  uint64_t s = seed ^ 0x5bd1e995u;
  for (uint32_t i = 0; i < POOL_ELEMS; i++) pool_rt[i] = pool_seq[i] = (uint32_t)next64(&s);
  static run_ctx c;
  memset(&c, 0, sizeof c);
  c.p = p;
  c.drop_pct = pct;
  c.drop_state = seed * 0x2545F4914F6CDD1Dull;
  trace_tab = trace_rt;
  int rc = pto2_run(rt, orchestrate, &c, NULL);
  trace_tab = trace_seq;
  if (rc != 0 || c.failed) {
    char what[512];
    snprintf(what, sizeof what, "dropped-edge run returned %d (%s): %s; %s", rc, pto2_err_name(rc),
             pto2_error_message(rt), c.failed ? c.why : "");
    fail_program(p, seed, cfg, what);
  }
  run_sequential(p);
  bool differs = pool_differs();
  uint32_t hazards = pto2_hazard_count(rt);
  drops.programs++;
  drops.dropped += c.dropped;
  drops.hazardous += hazards > 0;
  drops.differ += differs;
  if (differs && !hazards)
    fail_program(p, seed, cfg,
                 "with explicit edges left out the result differs from sequential execution, "
                 "but the hazard checker reported nothing");
  if (!c.dropped && hazards) fail_program(p, seed, cfg, "a hazard without any edge left out");
}

static void run_program(pto2_runtime *rt, uint64_t seed, int cfg, const limits *lim) {
  program *p = &prog;
  gen_program(p, seed, lim);
  uint64_t s = seed ^ 0x5bd1e995u;
  for (uint32_t i = 0; i < POOL_ELEMS; i++) pool_rt[i] = pool_seq[i] = (uint32_t)next64(&s);
  static run_ctx c;
  memset(&c, 0, sizeof c);
  c.p = p;
  pto2_run_stats st;
  memset(trace_rt, 0, sizeof trace_rt);
  memset(trace_seq, 0, sizeof trace_seq);
  trace_tab = trace_rt;
  int rc = pto2_run(rt, orchestrate, &c, &st);
  trace_tab = trace_seq;
  char what[512];
  if (rc != 0 || c.failed) {
    snprintf(what, sizeof what, "pto2_run returned %d (%s): %s; %s", rc, pto2_err_name(rc),
             pto2_error_message(rt), c.failed ? c.why : "");
    fail_program(p, seed, cfg, what);
  }
  if (st.tasks != (uint64_t)p->ntasks || st.edges < p->edges_min || st.edges > p->edges_max) {
    snprintf(what, sizeof what, "stats: %llu tasks (program has %d), %llu edges (expected %llu..%llu)",
             (unsigned long long)st.tasks, p->ntasks, (unsigned long long)st.edges,
             (unsigned long long)p->edges_min, (unsigned long long)p->edges_max);
    fail_program(p, seed, cfg, what);
  }
  cov.edges_checked += st.edges;
  cov.edges_exact += p->edges_min == p->edges_max;
  run_sequential(p);
  compare(p, seed, cfg);
  count_coverage(p);
  bool window = false, deps = false, heap = false;
  for (unsigned r = 0; r < PTO2_RING_COUNT; r++) {
    window = window || st.ring_task_high_water[r] == lim->window;
    deps = deps || st.ring_dep_high_water[r] == lim->dep_pool;
    heap = heap || st.ring_heap_high_water[r] > lim->heap / 2;
  }
  cov.full_window += window;
  cov.full_deps += deps;
  cov.heap_wrap += heap;
}

#define U(x) ((unsigned long long)(x))

static void print_coverage(void) {
  printf("programs: AUTO only %llu, mixed %llu, GRAPH only %llu; exact edge count %llu\n",
         U(cov.programs[FL_AUTO]), U(cov.programs[FL_MIXED]), U(cov.programs[FL_GRAPH]),
         U(cov.edges_exact));
  printf("scopes: AUTO %llu, MANUAL %llu, GRAPH %llu; tasks %llu: AUTO %llu (%llu with deps at "
         "submit, %llu inside GRAPH), MANUAL %llu (%llu published at submit), GRAPH %llu\n",
         U(cov.scopes[0]), U(cov.scopes[1]), U(cov.scopes[2]), U(cov.tasks),
         U(cov.tasks_by_mode[0]), U(cov.auto_explicit), U(cov.auto_in_graph),
         U(cov.tasks_by_mode[1]), U(cov.manual_published), U(cov.tasks_by_mode[2]));
  printf("explicit edges: creators of buffers used without creator retention %llu; conflicts "
         "ordered %llu (WAR only %llu, through another task %llu), extra %llu; at submit %llu (duplicates %llu; add_dep %llu, set_deps %llu, split %llu, "
         "reset %llu, empty %llu); add_dependency %llu (delayed %llu, duplicate %llu)\n",
         U(cov.lifetime), U(cov.resolved), U(cov.war), U(cov.transitive), U(cov.redundant),
         U(cov.sub_edges),
         U(cov.sub_dups), U(cov.deps_how[DH_ADD]), U(cov.deps_how[DH_SET]),
         U(cov.deps_how[DH_SPLIT]), U(cov.deps_how[DH_RESET]), U(cov.deps_how[DH_EMPTY]),
         U(cov.add_deps), U(cov.add_deps_delayed), U(cov.add_deps_dup));
  printf("blocking sets %llu (%llu into a recent reader's view)\n", U(cov.sets),
         U(cov.sets_on_input));
  printf("tasks: SPMD %llu, mixed %llu with %llu multi-lane writers, depth>=4 %llu; "
         "16 producers (bound) %llu, max %llu; edges counted %llu\n",
         U(cov.spmd), U(cov.mixed), U(cov.multi_writer_lanes), U(cov.deep), U(cov.fanin16),
         U(cov.fanin_max), U(cov.edges_checked));
  printf("args: INPUT %llu, OUTPUT %llu (initial value %llu), INOUT %llu, OUTPUT_EXISTING %llu, "
         "NO_DEP %llu, INPUT manual_dep %llu, INOUT manual_dep %llu, version>0 %llu\n",
         U(cov.args[K_INPUT]), U(cov.args[K_OUTPUT]), U(cov.inits), U(cov.args[K_INOUT]),
         U(cov.args[K_OE]), U(cov.args[K_NODEP]), U(cov.args[K_INPUT_MD]),
         U(cov.args[K_INOUT_MD]), U(cov.versions));
  printf("tensors: whole %llu, view %llu, view of view %llu, reshape %llu\n", U(cov.hows[0]),
         U(cov.hows[1]), U(cov.hows[2]), U(cov.hows[3]));
  printf("runs that filled a task window %llu, a dependency pool %llu, half a heap %llu\n",
         U(cov.full_window), U(cov.full_deps), U(cov.heap_wrap));
}

int main(int argc, char **argv) {
  int programs = DEFAULT_PROGRAMS;
  const char *scale = getenv("PTO2_TEST_SCALE");
  if (scale && !strcmp(scale, "small")) programs = programs / 10 + 1;
  if (argc > 1) programs = atoi(argv[1]);
  uint64_t seed = argc > 2 ? strtoull(argv[2], 0, 0) : 20261124u;
  first_seed = seed;
  int only = argc > 3 ? atoi(argv[3]) : -1;
  if (only >= (int)NCONFIGS)
    TEST_FAIL("configuration %d does not exist (0..%d)", only, NCONFIGS - 1);

  int passed = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int ci = 0; ci < (int)NCONFIGS; ci++) {
    if (only >= 0 && ci != only) continue;
    const cfgdef *d = &configs[ci];
    pto2_config cfg = {0};
    cfg.worker_threads = d->threads;
    cfg.task_window = d->window;
    cfg.heap_size = d->heap;
    cfg.dep_pool = d->dep_pool;
    cfg.block_dim = d->block_dim;
    cfg.stall_timeout_ms = 5000;
    cfg.log_level = PTO2_LOG_ERROR;
    /* Every other configuration under the hazard checker: a correct
     * program reports nothing (a hazard fails the run). */
    cfg.hazard_check = ci % 2 ? PTO2_HAZARD_CHECK_OFF : PTO2_HAZARD_CHECK_FAIL;
    pto2_runtime *rt;
    ASSERT_EQ_INT(pto2_runtime_create(&cfg, &rt), 0);
    for (int k = 0; k < NKERNELS; k++)
      ASSERT_EQ_INT(
          pto2_kernel_register(rt, kernel_ids[k], kinfos[k].aic ? PTO2_CORE_AIC : PTO2_CORE_AIV,
                               kinfos[k].aic ? "equiv_aic" : "equiv_aiv", equiv_kernel,
                               (void *)&kinfos[k]),
          0);
    pto2_config eff;
    pto2_runtime_get_config(rt, &eff);
    limits lim = {eff.task_window, eff.dep_pool, eff.heap_size};
    for (int i = 0; i < programs; i++) {
      run_program(rt, seed + (uint64_t)i, ci, &lim);
      passed++;
    }
    pto2_runtime_destroy(rt);
  }
#if defined(__SANITIZE_THREAD__)
  /* Its programs race on purpose: ThreadSanitizer would (rightly) report
   * every one.  Release and AddressSanitizer builds run it. */
  bool racy_ok = false;
#else
  bool racy_ok = true;
#endif
  if (only < 0 && racy_ok) {
    /* The dropped-edge variant, on default rings (fewer edges pin less). */
    pto2_config cfg = {0};
    cfg.worker_threads = 2;
    cfg.stall_timeout_ms = 5000;
    cfg.log_level = PTO2_LOG_SILENT;
    cfg.hazard_check = PTO2_HAZARD_CHECK_WARN;
    pto2_runtime *rt;
    ASSERT_EQ_INT(pto2_runtime_create(&cfg, &rt), 0);
    for (int k = 0; k < NKERNELS; k++)
      ASSERT_EQ_INT(
          pto2_kernel_register(rt, kernel_ids[k], kinfos[k].aic ? PTO2_CORE_AIC : PTO2_CORE_AIV,
                               kinfos[k].aic ? "equiv_aic" : "equiv_aiv", equiv_kernel,
                               (void *)&kinfos[k]),
          0);
    pto2_config eff;
    pto2_runtime_get_config(rt, &eff);
    limits lim = {eff.task_window, eff.dep_pool, eff.heap_size};
    first_seed = seed;
    for (int i = 0; i < programs / 2; i++) {
      run_dropped(rt, seed + (uint64_t)i, NCONFIGS, &lim, i % 2 ? 10 : 40);
      passed++;
    }
    pto2_runtime_destroy(rt);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
  print_coverage();
  printf("dropped-edge variant: %llu programs, %llu explicit edges left out; %llu with a hazard "
         "reported, %llu whose result differed (each among them)\n",
         U(drops.programs), U(drops.dropped), U(drops.hazardous), U(drops.differ));
  printf("test_random_equiv: %d passed, 0 failed (%.1f s)\n", passed, secs);
  return 0;
}
