/*
 * Randomized sequential equivalence of AUTO scopes: random programs over a
 * few caller-owned buffers and runtime-created intermediates run through
 * pto2_run(), and separately by calling the same kernels in program order on
 * a copy of the memory; every caller-owned element (and the gaps between the
 * buffers) must match bit for bit.
 *
 * Programs only contain what the AUTO rules define (SPEC §7.1): every task
 * waits for the creator of each non-OUTPUT tensor and, for INPUT and INOUT,
 * for the earlier INOUT/OUTPUT_EXISTING writers of overlapping regions; no
 * WAR tracking; OUTPUT_EXISTING waits for no writer.  The generator keeps a
 * state per element (read by an untracked reader, written by a tracked
 * writer) and allows:
 *   INPUT            any element;
 *   NO_DEP, INPUT with manual_dep   elements no task has written (only the
 *                    creator retention orders them);
 *   INOUT            elements no untracked reader has read;
 *   OUTPUT_EXISTING  elements nobody has read or written;
 * and it models the TensorMap (entries per allocation, COVERED removal by
 * INOUT, version and layout rules of the overlap test) to bound each task's
 * distinct producers by 16.  Buffers lean to a mode (read-only, read-write
 * chains of INOUT on random views, write-once, mixed).  Views have 1-3
 * dimensions and come as whole tensors, views, views of views and views of
 * reshapes; tasks are AIC, AIV or mixed (2-3 lanes), some SPMD (block_num
 * 2-3: each element of a written view is written by exactly one block and
 * lane), with 0-3 extra scalars added in every builder style, inside nested
 * AUTO scopes (pto2_scope_begin/end and PTO2_SCOPE) up to depth 5, so every
 * ring is used and depths >= 3 share ring 3.
 *
 * Configurations: tiny rings (task window 8 or 16, heap 4-16 KiB, 16
 * dependency entries: back-pressure and wrap-around everywhere) and the
 * default rings, with 1, 2 and 3 worker threads and a few block_dims.  The
 * generator sizes each scope so that it fits its ring (task slots, heap with
 * worst-case wrap waste, dependency entries held by tasks that cannot retire
 * before a scope ends).  One runtime per configuration runs all programs.
 *
 * Usage: test_random_equiv [programs per configuration] [seed] [configuration]
 * PTO2_TEST_SCALE=small divides the default program count by 10.  A failing
 * program is reproduced by `test_random_equiv 1 <seed> <configuration>`.
 */
#include <stdbool.h>
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
  MAX_OPS = 3 * MAX_TASKS,
  MAX_DEPTH = 5, /* deepest scope; the root is depth 0 */
  POOL_STRIDE = MAX_ELEMS + 24,
  POOL_ELEMS = MAX_EXT * POOL_STRIDE,
  DEFAULT_PROGRAMS = 2500,
};

/* ------------------------------------------------------------------------ */
/* Kernels                                                                   */
/* ------------------------------------------------------------------------ */

/* scalars[0] = salt, scalars[1] = flags, then the extra scalars.
 * flags: bits 2i..2i+1 the class of tensor i; bits 32..34 the lanes that
 * write (0: a one-lane task); bit 35 more than one invocation; bits 40..44
 * the tensor count; bits 48..55 the scalar count. */
enum { CLS_READ = 0, CLS_WRITE = 1, CLS_RMW = 2 };

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

/* Argument kinds of the generator: the pto2 kinds plus INPUT with manual_dep. */
enum {
  K_INPUT = PTO2_ARG_INPUT,
  K_OUTPUT = PTO2_ARG_OUTPUT,
  K_INOUT = PTO2_ARG_INOUT,
  K_OE = PTO2_ARG_OUTPUT_EXISTING,
  K_NODEP = PTO2_ARG_NO_DEP,
  K_INPUT_MD = 5
};
static const char *kind_names[] = {"INPUT",           "OUTPUT", "INOUT",
                                   "OUTPUT_EXISTING", "NO_DEP", "INPUT(manual_dep)"};

/* How the tensor of an access is built. */
enum { HOW_WHOLE, HOW_VIEW, HOW_VIEW2, HOW_RESHAPE };

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
  uint8_t submit;   /* 0 aic, 1 aiv, 2 pto2_submit_task */
  int8_t lane_k[3]; /* index into kernel_ids per lane, -1 unused (as submitted) */
  uint8_t block_num;
  uint8_t depth;
  uint64_t salt, flags;
  uint8_t nextra, extra_how;
  int32_t extra[3];
  uint64_t extra64[3];
  uint8_t nprod; /* bound on distinct producers */
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
  int depth;   /* scope that created it */
  bool alive;
  uint8_t mode;
  int32_t version;
  uint32_t ext_off; /* caller-owned: offset in the pools */
  uint8_t wr[MAX_ELEMS], rd[MAX_ELEMS];
  int nent;
  entry ent[MAX_ENTRIES];
} galloc;

enum { OP_END = -1, OP_BEGIN = -2, OP_BEGIN_MACRO = -3 };

typedef struct program {
  int next, nalloc, ntasks, nops;
  galloc allocs[MAX_ALLOCS];
  gtask tasks[MAX_TASKS];
  int ops[MAX_OPS];
  uint64_t edge_bound;
} program;

typedef struct limits {
  uint32_t window, dep_pool;
  uint64_t heap;
} limits;

typedef struct pin {
  uint32_t tasks, deps;
  uint64_t heap2;
} pin;

typedef struct gen {
  uint64_t s;
  program *p;
  limits lim;
  pin pins[PTO2_RING_COUNT];
  int max_tasks;
  uint8_t touch[MAX_ALLOCS][MAX_ELEMS]; /* this task: 1 read, 2 written */
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

/* --- the model ---------------------------------------------------------- */

static bool is_write(int kind) { return kind == K_INOUT || kind == K_OE; }
static bool is_untracked_read(int kind) { return kind == K_NODEP || kind == K_INPUT_MD; }

/* Element rules (see the file comment) and, for tasks with more than one
 * invocation, no written element shared with another argument. */
static bool elems_ok(gen *g, const galloc *A, int aid, const garg *ga, bool multi) {
  bool ok = true;
  int kind = ga->kind;
  FOR_EACH_ELEM(&ga->a, e, {
    if (is_untracked_read(kind) && A->wr[e]) ok = false;
    if (kind == K_INOUT && A->rd[e]) ok = false;
    if (kind == K_OE && (A->rd[e] || A->wr[e])) ok = false;
    if (multi && (g->touch[aid][e] & 2)) ok = false;
    if (multi && is_write(kind) && g->touch[aid][e]) ok = false;
  });
  return ok;
}

static void touch_elems(gen *g, int aid, const garg *ga) {
  uint8_t bit = is_write(ga->kind) ? 2 : 1;
  FOR_EACH_ELEM(&ga->a, e, g->touch[aid][e] |= bit);
}

static bool add_prod(int *set, int *n, int t) {
  for (int i = 0; i < *n; i++)
    if (set[i] == t) return true;
  if (*n == PTO2_MAX_FANIN) return false;
  set[(*n)++] = t;
  return true;
}

/* Adds the producers of an access to set; false if there would be > 16. */
static bool access_producers(const galloc *A, const garg *ga, int *set, int *n) {
  if (A->creator >= 0 && !add_prod(set, n, A->creator)) return false;
  if (ga->kind != K_INPUT && ga->kind != K_INOUT) return true;
  for (int i = 0; i < A->nent; i++)
    if (classify(&A->ent[i].a, &ga->a) && !add_prod(set, n, A->ent[i].task)) return false;
  return true;
}

static uint64_t out_bytes(const galloc *A) { return ((uint64_t)A->numel * 4 + 63) & ~63ull; }

static int pick_kind(gen *g, int mode) {
  switch (mode) {
    case MODE_RO: return chance(g, 75) ? K_INPUT : chance(g, 50) ? K_NODEP : K_INPUT_MD;
    case MODE_RW: return K_INOUT;
    case MODE_WO: return chance(g, 50) ? K_INPUT : chance(g, 70) ? K_OE : K_INOUT;
    default: {
      static const int kinds[] = {K_INPUT, K_INPUT, K_INOUT, K_INOUT, K_OE, K_NODEP, K_INPUT_MD};
      return kinds[rnd(g, 7)];
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

static galloc *new_alloc(gen *g, int creator, int depth) {
  program *p = g->p;
  galloc *A = &p->allocs[p->nalloc++];
  A->creator = creator;
  A->depth = depth;
  A->alive = true;
  A->mode = (uint8_t)rnd(g, MODE_COUNT);
  if (creator >= 0 && A->mode == MODE_WO && chance(g, 50)) A->mode = MODE_RO;
  A->version = 0;
  A->nent = 0;
  new_shape(g, A, creator < 0);
  memset(A->wr, 0, A->numel);
  memset(A->rd, 0, A->numel);
  return A;
}

typedef struct task_build {
  int prod[PTO2_MAX_FANIN];
  int nprod;
  uint64_t bytes;
  int writes[MAX_ALLOCS]; /* entries this task will add per allocation */
} task_build;

/* Tries to add one argument to t; false if no valid one was found. */
static bool gen_arg(gen *g, gtask *t, task_build *b, bool multi, unsigned ring) {
  program *p = g->p;
  garg *ga = &t->args[t->nargs];
  memset(ga, 0, sizeof *ga);
  const pin *pn = &g->pins[ring];
  /* A new intermediate, usable once the task is submitted. */
  if (chance(g, 22) && p->nalloc < MAX_ALLOCS) {
    galloc *A = new_alloc(g, p->ntasks, t->depth);
    uint64_t bytes = b->bytes + out_bytes(A);
    if (pn->heap2 + 2 * bytes > g->lim.heap) {
      p->nalloc--;
      return false;
    }
    A->alive = false;
    ga->kind = K_OUTPUT;
    ga->alloc = (uint8_t)(p->nalloc - 1);
    ga->has_init = chance(g, 30);
    ga->init = (uint32_t)next64(&g->s);
    ga->a.L = native_layout(A);
    memcpy(ga->a.shp, A->shape, sizeof A->shape);
    access_bounds(&ga->a);
    b->bytes = bytes;
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
    if (!elems_ok(g, A, aid, ga, multi)) continue;
    if (is_write(kind) && A->nent + b->writes[aid] >= MAX_ENTRIES) continue;
    int set[PTO2_MAX_FANIN], n = b->nprod;
    memcpy(set, b->prod, sizeof set);
    if (!access_producers(A, ga, set, &n)) continue;
    if (pn->deps + (uint32_t)n > g->lim.dep_pool) continue;
    memcpy(b->prod, set, sizeof set);
    b->nprod = n;
    if (is_write(kind)) b->writes[aid]++;
    touch_elems(g, aid, ga);
    if (chance(g, 3) && A->version < 3) A->version++; /* later accesses use the new version */
    t->nargs++;
    return true;
  }
  return false;
}

/* Applies a kept task to the model: TensorMap, element states, new allocs. */
static void apply_task(gen *g, const gtask *t) {
  program *p = g->p;
  for (unsigned i = 0; i < t->nargs; i++) {
    const garg *ga = &t->args[i];
    galloc *A = &p->allocs[ga->alloc];
    if (ga->kind != K_INOUT) continue;
    for (int j = 0; j < A->nent;) /* (T4) COVERED entries are superseded */
      if (classify(&A->ent[j].a, &ga->a) == 1)
        A->ent[j] = A->ent[--A->nent];
      else
        j++;
  }
  for (unsigned i = 0; i < t->nargs; i++) {
    const garg *ga = &t->args[i];
    galloc *A = &p->allocs[ga->alloc];
    if (ga->kind == K_OUTPUT) {
      A->alive = true;
      continue;
    }
    if (is_write(ga->kind)) {
      A->ent[A->nent].task = p->ntasks;
      A->ent[A->nent++].a = ga->a;
      FOR_EACH_ELEM(&ga->a, e, A->wr[e] = 1);
    } else {
      FOR_EACH_ELEM(&ga->a, e, A->rd[e] = 1);
    }
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

static bool gen_task(gen *g, int depth) {
  program *p = g->p;
  unsigned ring = ring_of(depth);
  pin *pn = &g->pins[ring];
  if (p->ntasks >= MAX_TASKS || p->ntasks >= g->max_tasks) return false;
  if (pn->tasks + 2 > g->lim.window) return false; /* keep a slot of slack */
  gtask *t = &p->tasks[p->ntasks];
  memset(t, 0, sizeof *t);
  t->depth = (uint8_t)depth;
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
  task_build b;
  memset(&b, 0, sizeof b);
  int nalloc0 = p->nalloc;
  for (int i = 0; i < nalloc0; i++)
    if (p->allocs[i].alive) memset(g->touch[i], 0, p->allocs[i].numel);
  for (unsigned i = 0; i < want && t->nargs < PTO2_MAX_TENSOR_ARGS; i++)
    gen_arg(g, t, &b, multi, ring);
  t->nprod = (uint8_t)b.nprod;
  t->salt = next64(&g->s);
  t->nextra = (uint8_t)rnd(g, 4);
  t->extra_how = (uint8_t)rnd(g, 4);
  for (unsigned i = 0; i < t->nextra; i++) {
    t->extra[i] = (int32_t)next64(&g->s);
    t->extra64[i] = t->extra_how == 2 ? (uint64_t)(uint32_t)t->extra[i] : next64(&g->s);
  }
  uint64_t flags = (uint64_t)wmask << 32 | (uint64_t)multi << 35 | (uint64_t)t->nargs << 40 |
                   (uint64_t)(2 + t->nextra) << 48;
  for (unsigned i = 0; i < t->nargs; i++) {
    const garg *ga = &t->args[i];
    unsigned cls = ga->kind == K_INOUT || (ga->kind == K_OUTPUT && ga->has_init) ? CLS_RMW
                   : ga->kind == K_OUTPUT || ga->kind == K_OE                    ? CLS_WRITE
                                                                                 : CLS_READ;
    flags |= (uint64_t)cls << (2 * i);
  }
  t->flags = flags;
  apply_task(g, t);
  pn->tasks++;
  pn->deps += t->nprod;
  pn->heap2 += 2 * b.bytes;
  p->edge_bound += t->nprod;
  p->ops[p->nops++] = p->ntasks++;
  return true;
}

static void end_scope(gen *g, int depth) {
  program *p = g->p;
  p->ops[p->nops++] = OP_END;
  for (int i = 0; i < p->nalloc; i++)
    if (p->allocs[i].creator >= 0 && p->allocs[i].depth == depth) p->allocs[i].alive = false;
  if (depth <= 3) memset(&g->pins[ring_of(depth)], 0, sizeof(pin));
}

/* Ops left for a task or a scope, keeping room for the OP_ENDs still due. */
static bool ops_room(const program *p, int need) { return p->nops + need + MAX_DEPTH < MAX_OPS; }

static void gen_scope(gen *g, int depth) {
  program *p = g->p;
  int items = 1 + (int)rnd(g, depth == 0 ? 24 : 10);
  for (int i = 0; i < items && p->ntasks < g->max_tasks; i++) {
    bool can_nest = depth < MAX_DEPTH && ops_room(p, 2);
    bool nest = can_nest && chance(g, depth == 0 ? 30 : 22);
    if (!nest) {
      if (ops_room(p, 1) && gen_task(g, depth)) continue;
      /* This scope's ring is full: a nested scope may still use another ring. */
      const pin *child = &g->pins[ring_of(depth + 1)];
      if (!can_nest || ring_of(depth + 1) == ring_of(depth) || child->tasks + 2 > g->lim.window)
        break;
    }
    p->ops[p->nops++] = chance(g, 50) ? OP_BEGIN : OP_BEGIN_MACRO;
    gen_scope(g, depth + 1);
    end_scope(g, depth + 1);
  }
}

static void gen_program(program *p, uint64_t seed, const limits *lim) {
  static gen g;
  memset(&g, 0, sizeof g);
  g.s = seed;
  g.p = p;
  g.lim = *lim;
  uint32_t r = rnd(&g, 100);
  g.max_tasks = r < 10   ? 1 + (int)rnd(&g, 4)
                : r < 80 ? 8 + (int)rnd(&g, 40)
                         : 48 + (int)rnd(&g, MAX_TASKS - 48);
  p->nalloc = p->ntasks = p->nops = 0;
  p->edge_bound = 0;
  int next = 1 + (int)rnd(&g, MAX_EXT);
  for (int i = 0; i < next; i++) {
    galloc *A = new_alloc(&g, -1, -1);
    A->ext_off = (uint32_t)i * POOL_STRIDE + rnd(&g, 16);
  }
  p->next = next;
  gen_scope(&g, 0);
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
  if (ga->kind == K_INPUT_MD) t.manual_dep = true;
  return t;
}

typedef struct run_ctx {
  const program *p;
  pto2_tensor base[MAX_ALLOCS];
  int pc;
  bool failed;
  char why[256];
} run_ctx;

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

static void run_task(pto2_runtime *rt, run_ctx *c, int ti) {
  const program *p = c->p;
  const gtask *t = &p->tasks[ti];
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_tensor tv[PTO2_MAX_TENSOR_ARGS];
  pto2_create_info ci[PTO2_MAX_TENSOR_ARGS];
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
      case K_INOUT: pto2_arg_add_inout(&a, &tv[i]); break;
      case K_OE: pto2_arg_add_output_existing(&a, &tv[i]); break;
      default: pto2_arg_add_no_dep(&a, &tv[i]);
    }
  }
  add_scalars(&a, t);
  if (t->block_num > 1) pto2_arg_set_block_num(&a, t->block_num);
  pto2_task_id id;
  if (t->submit == 0) {
    id = pto2_submit_aic(rt, kernel_ids[t->lane_k[0]], &a);
  } else if (t->submit == 1) {
    id = pto2_submit_aiv(rt, kernel_ids[t->lane_k[1]], &a);
  } else {
    pto2_mixed_kernels mk;
    mk.aic = t->lane_k[0] >= 0 ? kernel_ids[t->lane_k[0]] : PTO2_NO_KERNEL;
    mk.aiv0 = t->lane_k[1] >= 0 ? kernel_ids[t->lane_k[1]] : PTO2_NO_KERNEL;
    mk.aiv1 = t->lane_k[2] >= 0 ? kernel_ids[t->lane_k[2]] : PTO2_NO_KERNEL;
    id = pto2_submit_task(rt, mk, &a);
  }
  if (!pto2_task_id_is_valid(id)) {
    c->failed = true;
    snprintf(c->why, sizeof c->why, "submit of task %d failed", ti);
    return;
  }
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

/* Runs ops from c->pc up to the matching OP_END (or the end). */
static void run_block(pto2_runtime *rt, run_ctx *c) {
  const program *p = c->p;
  while (c->pc < p->nops && !c->failed) {
    int op = p->ops[c->pc++];
    if (op == OP_END) return;
    if (op == OP_BEGIN_MACRO) {
      bool ran = false;
      PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
        ran = true;
        run_block(rt, c);
      }
      if (!ran) c->failed = true, snprintf(c->why, sizeof c->why, "PTO2_SCOPE did not open");
    } else if (op == OP_BEGIN) {
      if (pto2_scope_begin(rt, PTO2_SCOPE_AUTO) != 0) {
        c->failed = true;
        snprintf(c->why, sizeof c->why, "pto2_scope_begin failed");
        return;
      }
      run_block(rt, c);
      if (c->failed) return;
      if (pto2_scope_end(rt) != 0) {
        c->failed = true;
        snprintf(c->why, sizeof c->why, "pto2_scope_end failed");
      }
    } else {
      run_task(rt, c, op);
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
  for (int oi = 0; oi < p->nops; oi++) {
    if (p->ops[oi] < 0) continue;
    const gtask *t = &p->tasks[p->ops[oi]];
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
        if (rc) TEST_FAIL("sequential kernel of task %d returned %d", p->ops[oi], rc);
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

static void dump_program(const program *p) {
  for (int i = 0; i < p->nalloc; i++) {
    const galloc *A = &p->allocs[i];
    fprintf(stderr, "  alloc %d: %s [%u,%u,%u] nd %u, %s", i,
            A->creator < 0 ? "external" : "intermediate", A->shape[0], A->shape[1], A->shape[2],
            A->nd, mode_names[A->mode]);
    if (A->creator >= 0) fprintf(stderr, ", created by task %d at depth %d", A->creator, A->depth);
    fprintf(stderr, "\n");
  }
  int depth = 0;
  for (int oi = 0; oi < p->nops; oi++) {
    int op = p->ops[oi];
    if (op == OP_END) {
      depth--;
      fprintf(stderr, "  %*s}\n", 2 * depth, "");
      continue;
    }
    if (op < 0) {
      fprintf(stderr, "  %*s%s {\n", 2 * depth, "", op == OP_BEGIN ? "scope_begin" : "PTO2_SCOPE");
      depth++;
      continue;
    }
    const gtask *t = &p->tasks[op];
    fprintf(stderr, "  %*stask %d: %s lanes [%d,%d,%d] blocks %u flags %016llx producers<=%u\n",
            2 * depth, "", op,
            t->submit == 0   ? "aic"
            : t->submit == 1 ? "aiv"
                             : "task",
            t->lane_k[0] >= 0 ? kernel_ids[t->lane_k[0]] : -1,
            t->lane_k[1] >= 0 ? kernel_ids[t->lane_k[1]] : -1,
            t->lane_k[2] >= 0 ? kernel_ids[t->lane_k[2]] : -1, t->block_num,
            (unsigned long long)t->flags, t->nprod);
    for (unsigned i = 0; i < t->nargs; i++) {
      fprintf(stderr, "  %*s  arg %u: %s alloc %u", 2 * depth, "", i, kind_names[t->args[i].kind],
              t->args[i].alloc);
      dump_access(&t->args[i]);
      fprintf(stderr, "\n");
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
    {"default rings, 1 worker", 1, 0, 0, 0, 0},
    {"default rings, 2 workers", 2, 0, 0, 0, 0},
    {"default rings, 3 workers, 2 clusters", 3, 0, 0, 2, 0},
};
enum { NCONFIGS = sizeof configs / sizeof configs[0] };

static void fail_program(const program *p, uint64_t seed, int cfg, const char *what) {
  fprintf(stderr, "FAILED: program seed %llu, configuration %d (%s): %s\n",
          (unsigned long long)seed, cfg, configs[cfg].name, what);
  fprintf(stderr, "reproduce: test_random_equiv 1 %llu %d\n", (unsigned long long)seed, cfg);
  dump_program(p);
  exit(1);
}

static void compare(const program *p, uint64_t seed, int cfg) {
  for (uint32_t i = 0; i < POOL_ELEMS; i++) {
    if (pool_rt[i] == pool_seq[i]) continue;
    char what[256];
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
    fail_program(p, seed, cfg, what);
  }
}

static program prog;

/* What the programs covered, printed at the end. */
static struct {
  uint64_t tasks, args[6], hows[4], spmd, mixed, scopes, deep, fanin16, fanin_max, inits, versions;
  uint64_t multi_writer_lanes;
  uint64_t full_window, full_deps, heap_wrap; /* runs that filled a ring (tiny rings) */
} cov;

static void count_coverage(const program *p) {
  cov.tasks += (uint64_t)p->ntasks;
  for (int i = 0; i < p->ntasks; i++) {
    const gtask *t = &p->tasks[i];
    int8_t lk[3];
    unsigned am = active_mask(t, lk);
    cov.spmd += t->block_num > 1;
    cov.mixed += __builtin_popcount(am) > 1;
    cov.multi_writer_lanes += __builtin_popcount((unsigned)(t->flags >> 32) & 7u) > 1;
    cov.fanin16 += t->nprod == PTO2_MAX_FANIN;
    if (t->nprod > cov.fanin_max) cov.fanin_max = t->nprod;
    cov.deep += t->depth >= 4;
    for (unsigned j = 0; j < t->nargs; j++) {
      cov.args[t->args[j].kind]++;
      if (t->args[j].kind != K_OUTPUT) cov.hows[t->args[j].how]++;
      cov.inits += t->args[j].kind == K_OUTPUT && t->args[j].has_init;
      cov.versions += t->args[j].a.version > 0;
    }
  }
  for (int i = 0; i < p->nops; i++) cov.scopes += p->ops[i] == OP_END;
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
  int rc = pto2_run(rt, orchestrate, &c, &st);
  char what[512];
  if (rc != 0 || c.failed) {
    snprintf(what, sizeof what, "pto2_run returned %d (%s): %s; %s", rc, pto2_err_name(rc),
             pto2_error_message(rt), c.failed ? c.why : "");
    fail_program(p, seed, cfg, what);
  }
  if (st.tasks != (uint64_t)p->ntasks || st.edges > p->edge_bound) {
    snprintf(what, sizeof what, "stats: %llu tasks (program has %d), %llu edges (bound %llu)",
             (unsigned long long)st.tasks, p->ntasks, (unsigned long long)st.edges,
             (unsigned long long)p->edge_bound);
    fail_program(p, seed, cfg, what);
  }
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

int main(int argc, char **argv) {
  int programs = DEFAULT_PROGRAMS;
  const char *scale = getenv("PTO2_TEST_SCALE");
  if (scale && !strcmp(scale, "small")) programs = programs / 10 + 1;
  if (argc > 1) programs = atoi(argv[1]);
  uint64_t seed = argc > 2 ? strtoull(argv[2], 0, 0) : 20261124u;
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
    cfg.log_level = PTO2_LOG_ERROR;
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
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
  printf(
      "tasks %llu (SPMD %llu, mixed %llu with %llu multi-lane writers, depth>=4 %llu), "
      "scopes %llu\nargs: INPUT %llu, OUTPUT %llu (initial value %llu), INOUT %llu, "
      "OUTPUT_EXISTING %llu, NO_DEP %llu, INPUT manual_dep %llu, version>0 %llu\n"
      "tensors: whole %llu, view %llu, view of view %llu, reshape %llu; "
      "tasks with 16 producers (bound) %llu, max %llu\n"
      "runs that filled a task window %llu, a dependency pool %llu, half a heap %llu\n",
      (unsigned long long)cov.tasks, (unsigned long long)cov.spmd, (unsigned long long)cov.mixed,
      (unsigned long long)cov.multi_writer_lanes, (unsigned long long)cov.deep,
      (unsigned long long)cov.scopes, (unsigned long long)cov.args[K_INPUT],
      (unsigned long long)cov.args[K_OUTPUT], (unsigned long long)cov.inits,
      (unsigned long long)cov.args[K_INOUT], (unsigned long long)cov.args[K_OE],
      (unsigned long long)cov.args[K_NODEP], (unsigned long long)cov.args[K_INPUT_MD],
      (unsigned long long)cov.versions, (unsigned long long)cov.hows[0],
      (unsigned long long)cov.hows[1], (unsigned long long)cov.hows[2],
      (unsigned long long)cov.hows[3], (unsigned long long)cov.fanin16,
      (unsigned long long)cov.fanin_max, (unsigned long long)cov.full_window,
      (unsigned long long)cov.full_deps, (unsigned long long)cov.heap_wrap);
  printf("test_random_equiv: %d passed, 0 failed (%.1f s)\n", passed, secs);
  return 0;
}
