/*
 * Paged attention as a pto2 plugin (libpto2_pa.so): the kernels of pa.h and
 * an orchestration entry point over caller-provided tensors, for hosts such
 * as the Python package (python3 -m pto2.bench).
 *
 * Tensors, in order:
 *   query        [batch, num_heads, head_dim]           float16 or bfloat16
 *   key_cache    [total_blocks, block_size, 1, head_dim] same dtype
 *   value_cache  same shape and dtype
 *   block_table  [batch, table_width] int32             block ids < total_blocks
 *   context_lens [batch] int32                          1 .. table_width * block_size
 *   out          [batch, num_heads, head_dim] float32   written
 * Scalars (optional): lane (0 auto, 1 manual, 2 graph; default 0), scene
 * (0 paged_attention, 1 paged_attention_unroll; default 0), scale (float32
 * bits; default 1.0).
 * out[b, h] = softmax(scale * q[b, h] . K_b^T) V_b over the first
 * context_lens[b] positions of batch b's blocks.
 */
#include <stdio.h>

#include "pa.h"
#include "pa_orch.h"
#include "pto2/plugin.h"

static int pa_plugin_register(pto2_runtime *rt) { return pa_kernels_register(rt, false); }

static bool shape_is(const pto2_tensor *t, uint32_t ndims, const uint32_t *shape) {
  if (t->ndims != ndims) return false;
  for (uint32_t d = 0; d < ndims; d++)
    if (t->shapes[d] != shape[d]) return false;
  return true;
}

/* Fails the run with a message naming the problem. */
static void bad(pto2_runtime *rt, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "paged attention plugin: %s", what);
  pto2_abort_run(rt, msg);
}

static void pa_plugin_orchestrate(pto2_runtime *rt, const pto2_plugin_args *a) {
  if (a->tensor_count != PA_TENSOR_COUNT) {
    bad(rt, "expected 6 tensors: query, key_cache, value_cache, block_table, context_lens, out");
    return;
  }
  const pto2_tensor *t = a->tensors;
  for (unsigned i = 0; i < PA_TENSOR_COUNT; i++)
    if (!pto2_tensor_is_valid(&t[i])) {
      bad(rt, "a tensor is invalid");
      return;
    }
  const pto2_tensor *q = &t[PA_T_QUERY], *k = &t[PA_T_KEY_CACHE], *v = &t[PA_T_VALUE_CACHE];
  const pto2_tensor *bt = &t[PA_T_BLOCK_TABLE], *cl = &t[PA_T_CONTEXT_LENS], *o = &t[PA_T_OUT];
  if (q->ndims != 3 || (q->dtype != PTO2_FLOAT16 && q->dtype != PTO2_BFLOAT16)) {
    bad(rt, "query must be [batch, num_heads, head_dim] float16 or bfloat16");
    return;
  }
  const uint32_t batch = q->shapes[0], heads = q->shapes[1], dim = q->shapes[2];
  if (k->ndims != 4 || k->shapes[2] != 1 || k->shapes[3] != dim || k->dtype != q->dtype ||
      !shape_is(v, 4, k->shapes) || v->dtype != q->dtype) {
    bad(rt, "key_cache and value_cache must be [total_blocks, block_size, 1, head_dim] of the "
            "query's dtype");
    return;
  }
  const uint32_t total_blocks = k->shapes[0], block_size = k->shapes[1];
  if (bt->ndims != 2 || bt->shapes[0] != batch || bt->dtype != PTO2_INT32) {
    bad(rt, "block_table must be [batch, table_width] int32");
    return;
  }
  const uint32_t width = bt->shapes[1];
  if (!shape_is(cl, 1, &batch) || cl->dtype != PTO2_INT32) {
    bad(rt, "context_lens must be [batch] int32");
    return;
  }
  if (!shape_is(o, 3, q->shapes) || o->dtype != PTO2_FLOAT32) {
    bad(rt, "out must be [batch, num_heads, head_dim] float32");
    return;
  }
  const int32_t *lens = (const int32_t *)cl->data;
  for (uint32_t b = 0; b < batch; b++)
    if (lens[b] < 1 || (uint64_t)lens[b] > (uint64_t)width * block_size) {
      bad(rt, "context_lens[b] must be between 1 and table_width * block_size");
      return;
    }
  const int32_t *table = (const int32_t *)bt->data;
  for (uint32_t b = 0; b < batch; b++)
    for (uint32_t i = 0; i < ((uint32_t)lens[b] + block_size - 1) / block_size; i++)
      if (table[(uint64_t)b * width + i] < 0 || (uint32_t)table[(uint64_t)b * width + i] >= total_blocks) {
        char msg[160];
        snprintf(msg, sizeof msg, "block_table[%u][%u] = %d is outside the cache (%u blocks)", b,
                 i, (int)table[(uint64_t)b * width + i], total_blocks);
        bad(rt, msg);
        return;
      }
  uint32_t lane = a->scalar_count > 0 ? (uint32_t)a->scalars[0] : 0;
  uint32_t scene = a->scalar_count > 1 ? (uint32_t)a->scalars[1] : 0;
  if (lane >= PA_LANE_COUNT || scene >= PA_SCENE_COUNT) {
    bad(rt, "lane must be 0..2 and scene 0..1");
    return;
  }
  pa_case c = {"plugin", (pto2_dtype)q->dtype, batch, heads, dim, block_size, width * block_size,
               lens, batch, 0, 0};
  pa_inputs in = {&c, 0, total_blocks, 1.0f, q->data, k->data, v->data,
                  (int32_t *)bt->data, (int32_t *)cl->data, (float *)o->data};
  if (a->scalar_count > 2) in.scale = pto2_f32_from_u64(a->scalars[2]);
  pa_job job = {&in, (pa_scene)scene, (pa_lane)lane, 0};
  pa_orchestrate(rt, &job);
}

PTO2_PLUGIN(pa_plugin_register, pa_plugin_orchestrate);
