/* Input buffers of a paged-attention case, generated from a seed with
 * splitmix64 so that every run of a case sees the same bits. */
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "pa.h"

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* A uniform value in [lo, hi) from the top 24 bits of a 32-bit word. */
static float uniform(uint32_t word, float lo, float hi) {
  return lo + (hi - lo) * (float)(word >> 8) * 0x1p-24f;
}

static uint16_t narrow(float f, pto2_dtype dtype) {
  return dtype == PTO2_BFLOAT16 ? pto2_f32_to_bf16(f) : pto2_f32_to_fp16(f);
}

/* n values uniform in [lo, hi), two per 64-bit random word. */
static void fill_uniform(uint64_t *rng, uint16_t *dst, size_t n, pto2_dtype dtype, float lo,
                         float hi) {
  size_t i = 0;
  for (; i + 2 <= n; i += 2) {
    uint64_t w = splitmix64(rng);
    dst[i] = narrow(uniform((uint32_t)w, lo, hi), dtype);
    dst[i + 1] = narrow(uniform((uint32_t)(w >> 32), lo, hi), dtype);
  }
  if (i < n) dst[i] = narrow(uniform((uint32_t)splitmix64(rng), lo, hi), dtype);
}

/* n block ids in [0, bound) (multiply-shift: a tiny bias is harmless). */
static void fill_block_ids(uint64_t *rng, int32_t *dst, size_t n, uint32_t bound) {
  for (size_t i = 0; i < n; i++)
    dst[i] = (int32_t)(((splitmix64(rng) >> 32) * bound) >> 32);
}

static bool case_is_valid(const pa_case *c) {
  if (c->dtype != PTO2_BFLOAT16 && c->dtype != PTO2_FLOAT16) return false;
  if (!c->batch || !c->num_heads || !c->head_dim || !c->block_size || !c->context_len_count)
    return false;
  if (c->max_model_len % c->block_size) return false;
  for (uint32_t i = 0; i < c->context_len_count; i++)
    if (c->context_lens[i] < 1 || (uint32_t)c->context_lens[i] > c->max_model_len) return false;
  return true;
}

static size_t query_count(const pa_case *c) {
  return (size_t)c->batch * c->num_heads * c->head_dim;
}

static size_t cache_count(const pa_inputs *in) {
  return (size_t)in->total_blocks * in->pcase->block_size * in->pcase->head_dim;
}

static size_t table_count(const pa_case *c) { return (size_t)c->batch * pa_case_table_width(c); }

/* aligned_alloc needs a size that is a multiple of the alignment. */
static void *alloc_64(size_t bytes) { return aligned_alloc(64, (bytes + 63) & ~(size_t)63); }

/* The key and value caches: the kernels read their blocks in table order,
 * i.e. at random, so a cache of at least 4 MiB is 2 MiB-aligned and asks
 * Linux for transparent huge pages (one TLB entry per 2 MiB instead of one
 * per 4 KiB block part; ignored where THP is off, as serving systems that
 * keep such caches also do). */
static void *alloc_cache(size_t bytes) {
  enum { HUGE_PAGE = 2u << 20 };
  if (bytes < 2u * HUGE_PAGE) return alloc_64(bytes);
  size_t size = (bytes + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
  void *p = aligned_alloc(HUGE_PAGE, size);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (p) (void)madvise(p, size, MADV_HUGEPAGE); /* advice only: failure changes nothing */
#endif
  return p;
}

static int alloc_buffers(pa_inputs *in) {
  const pa_case *c = in->pcase;
  in->query = alloc_64(query_count(c) * 2);
  in->key_cache = alloc_cache(cache_count(in) * 2);
  in->value_cache = alloc_cache(cache_count(in) * 2);
  in->block_table = alloc_64(table_count(c) * sizeof(int32_t));
  in->context_lens = alloc_64(c->batch * sizeof(int32_t));
  in->out = alloc_64(pa_inputs_out_count(in) * sizeof(float));
  if (!in->query || !in->key_cache || !in->value_cache || !in->block_table || !in->context_lens ||
      !in->out)
    return PTO2_E_NO_MEMORY;
  return 0;
}

static void generate(pa_inputs *in) {
  const pa_case *c = in->pcase;
  uint64_t rng = in->seed;
  fill_uniform(&rng, in->query, query_count(c), c->dtype, -0.5f, 0.5f);
  fill_uniform(&rng, in->key_cache, cache_count(in), c->dtype, -0.5f, 0.5f);
  fill_uniform(&rng, in->value_cache, cache_count(in), c->dtype, -1.0f, 1.0f);
  fill_block_ids(&rng, in->block_table, table_count(c), in->total_blocks);
  for (uint32_t b = 0; b < c->batch; b++) in->context_lens[b] = pa_case_context_len(c, b);
  pa_inputs_clear_out(in);
}

int pa_inputs_create(const pa_case *c, uint64_t seed, pa_inputs **out) {
  if (!c || !out || !case_is_valid(c)) return PTO2_E_INVALID_ARGS;
  pa_inputs *in = calloc(1, sizeof *in);
  if (!in) return PTO2_E_NO_MEMORY;
  in->pcase = c;
  in->seed = seed;
  in->total_blocks = pa_case_total_blocks(c);
  in->scale = 1.0f;
  int rc = alloc_buffers(in);
  if (rc) goto fail;
  generate(in);
  *out = in;
  return 0;
fail:
  pa_inputs_destroy(in);
  return rc;
}

void pa_inputs_destroy(pa_inputs *in) {
  if (!in) return;
  free(in->query);
  free(in->key_cache);
  free(in->value_cache);
  free(in->block_table);
  free(in->context_lens);
  free(in->out);
  free(in);
}

size_t pa_inputs_out_count(const pa_inputs *in) { return query_count(in->pcase); }

void pa_inputs_clear_out(pa_inputs *in) {
  memset(in->out, 0, pa_inputs_out_count(in) * sizeof(float));
}

void pa_inputs_tensors(const pa_inputs *in, pto2_tensor t[PA_TENSOR_COUNT]) {
  const pa_case *c = in->pcase;
  const uint32_t rows[3] = {c->batch, c->num_heads, c->head_dim};
  const uint32_t cache[4] = {in->total_blocks, c->block_size, 1, c->head_dim};
  const uint32_t table[2] = {c->batch, pa_case_table_width(c)};
  t[PA_T_QUERY] = pto2_tensor_external(in->query, rows, 3, c->dtype);
  t[PA_T_KEY_CACHE] = pto2_tensor_external(in->key_cache, cache, 4, c->dtype);
  t[PA_T_VALUE_CACHE] = pto2_tensor_external(in->value_cache, cache, 4, c->dtype);
  t[PA_T_BLOCK_TABLE] = pto2_tensor_external(in->block_table, table, 2, PTO2_INT32);
  t[PA_T_CONTEXT_LENS] = pto2_tensor_external(in->context_lens, &c->batch, 1, PTO2_INT32);
  t[PA_T_OUT] = pto2_tensor_external(in->out, rows, 3, PTO2_FLOAT32);
}
