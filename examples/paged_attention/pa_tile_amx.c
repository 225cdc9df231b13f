/*
 * AMX inner loops of the paged-attention products: TDPBF16PS on 16 x 16
 * fp32 result tiles, bf16 operands in 16-row tiles of 64 bytes.  Used when
 * the CPU reports AMX-TILE and AMX-BF16 (cpuid) and Linux grants the tile
 * state (arch_prctl ARCH_REQ_XCOMP_PERM), on top of the avx512bf16 ops:
 *
 *   QK  s^T = k * q^T: key rows are the A tiles, loaded straight from the
 *       cache; q^T in bf16 pairs (packed once per call) the B tiles; the
 *       result tiles go through a transpose into s.  Needs head_dim a
 *       multiple of 32 (<= 256) and a block size a multiple of 16.
 *   PV  o += p * v: p rows are the A tiles; each value block packed into
 *       pairs of rows is the B tiles; o is loaded into and stored from the
 *       result tiles.  Needs M a multiple of 16, the block size a multiple
 *       of 32 and head_dim a multiple of 16.
 *
 * Other shapes and dtypes go to the avx512bf16 ops.  Each call loads the
 * tile configuration and releases the tiles before it returns.
 */
#include <stdatomic.h>
#include <string.h>

#include "pa_tile.h"

#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__)) && \
    (defined(__clang__) || __GNUC__ >= 11)
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PA_AMX __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16,fma")))
#define PA_AMX_INLINE                          \
  static inline __attribute__((always_inline, \
                               target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16,fma")))

enum {
  T = 16,          /* rows of a tile; fp32 / bf16-pair columns of a tile */
  TB = 64,         /* bytes per tile row */
  QK_M = 64,       /* q rows per packed chunk */
  QK_N = 128,      /* key rows per result chunk */
  MAX_K = 256,     /* head_dim of one packed q */
  VP_WORDS = 8192, /* packed value pairs per chunk (32 KiB) */
};

typedef struct tile_config {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} tile_config;

/* All eight tiles 16 rows x 64 bytes. */
PA_AMX_INLINE void tiles_begin(void) {
  _Alignas(64) tile_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.palette = 1;
  for (int i = 0; i < 8; i++) cfg.colsb[i] = TB, cfg.rows[i] = T;
  _tile_loadconfig(&cfg);
}

/* The product of one blocking of c[ti x tj tiles] += a[ti x kk] * b[kk x tj]
 * (tiles of a at a + i*16*as + k*64, of b at b + k*16*bs + j*64, of c at
 * c + i*16*cs + j*64; strides in bytes).  c starts at zero unless load_c. */
typedef struct amx_gemm {
  const char *a, *b;
  char *c;
  size_t as, bs, cs;
  uint32_t kk;
  int load_c;
} amx_gemm;

#define A_AT(g, i, k) ((g)->a + (size_t)(i) * T * (g)->as + (size_t)(k) * TB)
#define B_AT(g, k, j) ((g)->b + (size_t)(k) * T * (g)->bs + (size_t)(j) * TB)
#define C_AT(g, i, j) ((g)->c + (size_t)(i) * T * (g)->cs + (size_t)(j) * TB)
#define C_IN(g, t, i, j)                                             \
  do {                                                               \
    if ((g)->load_c) _tile_loadd(t, C_AT(g, i, j), (long)(g)->cs);   \
    else _tile_zero(t);                                              \
  } while (0)

/* tmm0..3 = c(i..i+1, j..j+1); tmm4,5 a; tmm6,7 b. */
PA_AMX static void gemm_2x2(const amx_gemm *g, uint32_t i, uint32_t j) {
  C_IN(g, 0, i, j);
  C_IN(g, 1, i, j + 1);
  C_IN(g, 2, i + 1, j);
  C_IN(g, 3, i + 1, j + 1);
  for (uint32_t k = 0; k < g->kk; k++) {
    _tile_loadd(4, A_AT(g, i, k), (long)g->as);
    _tile_loadd(6, B_AT(g, k, j), (long)g->bs);
    _tile_loadd(7, B_AT(g, k, j + 1), (long)g->bs);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_loadd(5, A_AT(g, i + 1, k), (long)g->as);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, C_AT(g, i, j), (long)g->cs);
  _tile_stored(1, C_AT(g, i, j + 1), (long)g->cs);
  _tile_stored(2, C_AT(g, i + 1, j), (long)g->cs);
  _tile_stored(3, C_AT(g, i + 1, j + 1), (long)g->cs);
}

/* tmm0..3 = c(i..i+3, j); tmm4 b; tmm5..7 a. */
PA_AMX static void gemm_4x1(const amx_gemm *g, uint32_t i, uint32_t j) {
  C_IN(g, 0, i, j);
  C_IN(g, 1, i + 1, j);
  C_IN(g, 2, i + 2, j);
  C_IN(g, 3, i + 3, j);
  for (uint32_t k = 0; k < g->kk; k++) {
    _tile_loadd(4, B_AT(g, k, j), (long)g->bs);
    _tile_loadd(5, A_AT(g, i, k), (long)g->as);
    _tile_dpbf16ps(0, 5, 4);
    _tile_loadd(6, A_AT(g, i + 1, k), (long)g->as);
    _tile_dpbf16ps(1, 6, 4);
    _tile_loadd(7, A_AT(g, i + 2, k), (long)g->as);
    _tile_dpbf16ps(2, 7, 4);
    _tile_loadd(5, A_AT(g, i + 3, k), (long)g->as);
    _tile_dpbf16ps(3, 5, 4);
  }
  _tile_stored(0, C_AT(g, i, j), (long)g->cs);
  _tile_stored(1, C_AT(g, i + 1, j), (long)g->cs);
  _tile_stored(2, C_AT(g, i + 2, j), (long)g->cs);
  _tile_stored(3, C_AT(g, i + 3, j), (long)g->cs);
}

/* tmm0..3 = c(i, j..j+3); tmm4 a; tmm5..7 b. */
PA_AMX static void gemm_1x4(const amx_gemm *g, uint32_t i, uint32_t j) {
  C_IN(g, 0, i, j);
  C_IN(g, 1, i, j + 1);
  C_IN(g, 2, i, j + 2);
  C_IN(g, 3, i, j + 3);
  for (uint32_t k = 0; k < g->kk; k++) {
    _tile_loadd(4, A_AT(g, i, k), (long)g->as);
    _tile_loadd(5, B_AT(g, k, j), (long)g->bs);
    _tile_dpbf16ps(0, 4, 5);
    _tile_loadd(6, B_AT(g, k, j + 1), (long)g->bs);
    _tile_dpbf16ps(1, 4, 6);
    _tile_loadd(7, B_AT(g, k, j + 2), (long)g->bs);
    _tile_dpbf16ps(2, 4, 7);
    _tile_loadd(5, B_AT(g, k, j + 3), (long)g->bs);
    _tile_dpbf16ps(3, 4, 5);
  }
  _tile_stored(0, C_AT(g, i, j), (long)g->cs);
  _tile_stored(1, C_AT(g, i, j + 1), (long)g->cs);
  _tile_stored(2, C_AT(g, i, j + 2), (long)g->cs);
  _tile_stored(3, C_AT(g, i, j + 3), (long)g->cs);
}

PA_AMX static void gemm_1x1(const amx_gemm *g, uint32_t i, uint32_t j) {
  C_IN(g, 0, i, j);
  for (uint32_t k = 0; k < g->kk; k++) {
    _tile_loadd(4, A_AT(g, i, k), (long)g->as);
    _tile_loadd(5, B_AT(g, k, j), (long)g->bs);
    _tile_dpbf16ps(0, 4, 5);
  }
  _tile_stored(0, C_AT(g, i, j), (long)g->cs);
}

/* Result tiles i in [i0, i1) of column j: fours, then ones. */
static void column_strip(const amx_gemm *g, uint32_t i0, uint32_t i1, uint32_t j) {
  uint32_t i = i0;
  for (; i + 4 <= i1; i += 4) gemm_4x1(g, i, j);
  for (; i < i1; i++) gemm_1x1(g, i, j);
}

/* Result tiles j in [j0, j1) of row i: fours, then ones. */
static void row_strip(const amx_gemm *g, uint32_t i, uint32_t j0, uint32_t j1) {
  uint32_t j = j0;
  for (; j + 4 <= j1; j += 4) gemm_1x4(g, i, j);
  for (; j < j1; j++) gemm_1x1(g, i, j);
}

/* Every result tile of ti x tj, each once. */
static void gemm(const amx_gemm *g, uint32_t ti, uint32_t tj) {
  if (ti == 1) {
    row_strip(g, 0, 0, tj);
    return;
  }
  if (tj == 1) {
    column_strip(g, 0, ti, 0);
    return;
  }
  uint32_t ie = ti & ~1u, je = tj & ~1u;
  for (uint32_t j = 0; j < je; j += 2)
    for (uint32_t i = 0; i < ie; i += 2) gemm_2x2(g, i, j);
  if (je < tj) column_strip(g, 0, ie, je);
  if (ie < ti) row_strip(g, ie, 0, tj);
}

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

PA_AMX static void qk_amx(const pa_mat *q, uint32_t count, const pa_mat *k, const pa_mat *s) {
  if (!count) return;
  if (q->dtype != PTO2_BFLOAT16 || q->cols % 32 || q->cols > MAX_K) {
    pa__qk_bf16dp(q, count, k, s);
    return;
  }
  _Alignas(64) uint32_t qv[MAX_K / 2 * QK_M];
  _Alignas(64) float t[QK_N * QK_M];
  tiles_begin();
  for (uint32_t m0 = 0; m0 < q->rows; m0 += QK_M) {
    uint32_t mrows = min_u32(QK_M, q->rows - m0), ld = (mrows + T - 1) / T * T;
    pa__pack_q_pairs(q, 0, q->cols / 2, m0, mrows, ld, qv);
    for (uint32_t i = 0; i < count; i++) {
      if (k[i].dtype != PTO2_BFLOAT16 || k[i].rows % T) {
        pa__qk_bf16dp(&(pa_mat){.data = (uint16_t *)q->data + (size_t)m0 * q->stride,
                                .dtype = q->dtype, .rows = mrows, .cols = q->cols,
                                .stride = q->stride},
                      1, &k[i],
                      &(pa_mat){.data = (float *)s[i].data + (size_t)m0 * s[i].stride,
                                .dtype = PTO2_FLOAT32, .rows = mrows, .cols = s[i].cols,
                                .stride = s[i].stride});
        continue;
      }
      for (uint32_t n0 = 0; n0 < k[i].rows; n0 += QK_N) {
        uint32_t nrows = min_u32(QK_N, k[i].rows - n0);
        amx_gemm g = {.a = (const char *)k[i].data + (size_t)n0 * k[i].stride * 2,
                      .as = k[i].stride * 2,
                      .b = (const char *)qv,
                      .bs = ld * 4,
                      .c = (char *)t,
                      .cs = ld * 4,
                      .kk = q->cols / 32,
                      .load_c = 0};
        gemm(&g, nrows / T, ld / T);
        pa__store_transposed(t, ld, nrows, &s[i], m0, mrows, n0);
      }
    }
  }
  _tile_release();
}

PA_AMX static void pv_amx(const pa_mat *o, uint32_t count, const pa_mat *p, const pa_mat *v) {
  if (!count) return;
  if (p[0].dtype != PTO2_BFLOAT16 || v[0].dtype != PTO2_BFLOAT16 || o->rows % T ||
      p[0].cols % (2 * T) || o->cols % T) {
    pa__pv_bf16dp(o, count, p, v);
    return;
  }
  _Alignas(64) uint32_t vp[VP_WORDS];
  tiles_begin();
  for (uint32_t i = 0; i < count; i++) {
    for (uint32_t c0 = 0; c0 < o->cols; c0 += MAX_K) {
      uint32_t cols = min_u32(MAX_K, o->cols - c0);
      uint32_t chunk = VP_WORDS / cols * 2 / (2 * T) * (2 * T); /* value rows per pack */
      for (uint32_t n0 = 0; n0 < p[i].cols; n0 += chunk) {
        uint32_t nrows = min_u32(chunk, p[i].cols - n0);
        pa__pack_v_pairs(&v[i], n0, nrows / 2, c0, cols, cols, vp);
        amx_gemm g = {.a = (const char *)p[i].data + (size_t)n0 * 2,
                      .as = p[i].stride * 2,
                      .b = (const char *)vp,
                      .bs = cols * 4,
                      .c = (char *)o->data + (size_t)c0 * 4,
                      .cs = o->stride * 4,
                      .kk = nrows / (2 * T),
                      .load_c = 1};
        gemm(&g, o->rows / T, cols / T);
      }
    }
  }
  _tile_release();
}

static const pa_tile_ops amx_ops = {
    .qk = qk_amx, .pv = pv_amx, .softmax = pa__softmax_bf16, .update = pa__update_avx512};

/* 0 unknown, 1 usable, 2 not. */
static _Atomic int amx_state;

static int amx_usable(void) {
  unsigned a, b, c, d;
  if (!pa__tile_ops_avx512bf16()) return 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  if (!(d & (1u << 22)) || !(d & (1u << 24))) return 0; /* AMX-BF16, AMX-TILE */
  /* ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA: the process may use tiles. */
  return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
}

const pa_tile_ops *pa__tile_ops_amx(void) {
  int st = atomic_load_explicit(&amx_state, memory_order_relaxed);
  if (!st) {
    /* Racing first calls both ask; the request is idempotent.  Relaxed: the
     * permission is process state in the kernel, granted before the store. */
    st = amx_usable() ? 1 : 2;
    atomic_store_explicit(&amx_state, st, memory_order_relaxed);
  }
  return st == 1 ? &amx_ops : NULL;
}

#else

const pa_tile_ops *pa__tile_ops_amx(void) { return NULL; }

#endif
