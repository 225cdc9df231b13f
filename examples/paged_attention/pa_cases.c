/* The paged-attention cases and the sizes derived from them. */
#include <string.h>

#include "pa.h"

static const int32_t ctx_8192[] = {8192};
static const int32_t ctx_33[] = {33};
static const int32_t ctx_128[] = {128};
static const int32_t ctx_varseq2[] = {33, 17};
static const int32_t ctx_varseq4[] = {33, 64, 128, 15};

#define CTX(a) a, (uint32_t)(sizeof a / sizeof a[0])
#define PRODUCTION(name, batch, heads, dim, block)                                     \
  {name, PTO2_BFLOAT16, batch, heads, dim, block, 32768, CTX(ctx_8192), 1e-3, 1e-3}
#define SMALL(name, batch, lens) {name, PTO2_FLOAT16, batch, 16, 16, 16, 256, CTX(lens), 1e-2, 1e-2}

static const pa_case cases[] = {
    PRODUCTION("Case1", 256, 16, 128, 128),
    PRODUCTION("Case2", 64, 64, 128, 64),
    PRODUCTION("Case3", 64, 64, 256, 64),
    SMALL("Small1", 1, ctx_33),
    SMALL("Small2", 1, ctx_128),
    SMALL("VarSeq2", 2, ctx_varseq2),
    SMALL("VarSeq4", 4, ctx_varseq4),
};

const pa_case *pa_case_all(size_t *count) {
  *count = sizeof cases / sizeof cases[0];
  return cases;
}

const pa_case *pa_case_find(const char *name) {
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (strcmp(cases[i].name, name) == 0) return &cases[i];
  return NULL;
}

uint32_t pa_case_q_tile(const pa_case *c) {
  return c->num_heads < PA_Q_TILE_MAX ? c->num_heads : PA_Q_TILE_MAX;
}

int32_t pa_case_context_len(const pa_case *c, uint32_t b) {
  return c->context_lens[b % c->context_len_count];
}

uint32_t pa_case_block_count(const pa_case *c, uint32_t b) {
  uint32_t len = (uint32_t)pa_case_context_len(c, b);
  return (len + c->block_size - 1) / c->block_size;
}

uint32_t pa_case_table_width(const pa_case *c) { return c->max_model_len / c->block_size; }

uint32_t pa_case_total_blocks(const pa_case *c) {
  uint32_t most = 0;
  for (uint32_t b = 0; b < c->batch && b < c->context_len_count; b++) {
    uint32_t n = pa_case_block_count(c, b);
    if (n > most) most = n;
  }
  return c->batch * most;
}
