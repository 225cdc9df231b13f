/*
 * The six paged-attention orchestrations (see pa_orch.h).  They share the
 * kernels, the data, the tensors and the order of submits; only how
 * dependencies are declared differs:
 *   auto    every edge comes from creator retention and the TensorMap;
 *   manual  explicit edges inside MANUAL scopes, the TensorMap only at the
 *           scope boundary (B: none left, D: the accumulators of the AUTO hub);
 *   graph   explicit edges only, in GRAPH scopes.
 */
#include "pa_orch.h"

typedef struct pa_ctx {
  const pa_inputs *in;
  const pa_case *c;
  pa_lane lane;
  uint32_t skip_edge, edges_made; /* see pa_job.skip_edge */
  uint32_t q_tile, width, bs, hd;
  pto2_tensor query2d, key2d, value2d, out2d, key_cache, value_cache;
  pto2_create_info tile2d, scalar, sij, pij;
} pa_ctx;

/* One (batch, head tile) chain in progress. */
typedef struct pa_chain {
  uint32_t b;
  pto2_tensor qi, out_view;
  pto2_tensor oi, li, mi;  /* the hub's accumulators */
  pto2_task_id prev;       /* the hub, then the last UP */
  int32_t ctx_len;
  uint32_t blocks;
} pa_chain;

const char *pa_lane_name(pa_lane lane) {
  static const char *names[PA_LANE_COUNT] = {"auto", "manual", "graph"};
  return lane < PA_LANE_COUNT ? names[lane] : "?";
}

const char *pa_scene_name(pa_scene scene) {
  return scene == PA_SCENE_UNROLL ? "paged_attention_unroll" : "paged_attention";
}

static pto2_create_info ci2(uint32_t rows, uint32_t cols, pto2_dtype dtype) {
  const uint32_t shape[2] = {rows, cols};
  return pto2_create_info_make(shape, 2, dtype);
}

static void ctx_init(pa_ctx *x, const pa_inputs *in, pa_lane lane) {
  const pa_case *c = in->pcase;
  pto2_tensor t[PA_TENSOR_COUNT];
  pa_inputs_tensors(in, t);
  x->in = in;
  x->c = c;
  x->lane = lane;
  x->q_tile = pa_case_q_tile(c);
  x->width = pa_case_table_width(c);
  x->bs = c->block_size;
  x->hd = c->head_dim;
  const uint32_t rows_q[2] = {c->batch * c->num_heads, c->head_dim};
  const uint32_t rows_kv[2] = {in->total_blocks * c->block_size, c->head_dim};
  x->query2d = pto2_tensor_reshape(&t[PA_T_QUERY], rows_q, 2);
  x->key2d = pto2_tensor_reshape(&t[PA_T_KEY_CACHE], rows_kv, 2);
  x->value2d = pto2_tensor_reshape(&t[PA_T_VALUE_CACHE], rows_kv, 2);
  x->out2d = pto2_tensor_reshape(&t[PA_T_OUT], rows_q, 2);
  x->key_cache = t[PA_T_KEY_CACHE];
  x->value_cache = t[PA_T_VALUE_CACHE];
  x->tile2d = ci2(x->q_tile, x->hd, PTO2_FLOAT32);
  const uint32_t rows[1] = {x->q_tile};
  x->scalar = pto2_create_info_make(rows, 1, PTO2_FLOAT32);
  x->sij = ci2(x->q_tile, x->bs, PTO2_FLOAT32);
  x->pij = ci2(x->q_tile, x->bs, c->dtype);
}

/* B marks the external tensors and their views manual_dep; C and D mark
 * out_view. */
static bool manual_dep_externals(const pa_ctx *x) { return x->lane == PA_LANE_MANUAL; }

static pto2_task_id submit(pto2_runtime *rt, bool manual, int32_t kernel, pto2_arg *a) {
  bool aic = kernel == PA_K_QK || kernel == PA_K_PV || kernel == PA_K_QK_UNROLL ||
             kernel == PA_K_PV_UNROLL || kernel == PA_K_AIC_HUB;
  if (manual) return aic ? pto2_submit_aic_manual(rt, kernel, a) : pto2_submit_aiv_manual(rt, kernel, a);
  return aic ? pto2_submit_aic(rt, kernel, a) : pto2_submit_aiv(rt, kernel, a);
}

static void chain_init(const pa_ctx *x, pa_chain *ch, uint32_t b, uint32_t q, bool unroll) {
  uint32_t cur = b * x->c->num_heads + q * x->q_tile;
  ch->b = b;
  ch->qi = pto2_tensor_view2(&x->query2d, x->q_tile, x->hd, cur, 0);
  ch->out_view = pto2_tensor_view2(&x->out2d, x->q_tile, x->hd, cur, 0);
  ch->qi.manual_dep = manual_dep_externals(x);
  ch->out_view.manual_dep = manual_dep_externals(x) || unroll;
  ch->ctx_len = pa_case_context_len(x->c, b);
  ch->blocks = pa_case_block_count(x->c, b);
}

/* The hub creates the accumulators (oi, li, mi) of one chain. */
static void submit_hub(const pa_ctx *x, pto2_runtime *rt, pa_chain *ch, bool manual) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_output(&a, &x->tile2d);
  pto2_arg_add_output(&a, &x->scalar);
  pto2_arg_add_output(&a, &x->scalar);
  ch->prev = submit(rt, manual, PA_K_AIV_HUB, &a);
  ch->oi = a.outputs[0];
  ch->li = a.outputs[1];
  ch->mi = a.outputs[2];
}

static pto2_task_id submit_update(pto2_runtime *rt, pa_chain *ch, bool manual,
                                  const pto2_tensor *mij, const pto2_tensor *lij,
                                  const pto2_tensor *oi_new, bool first, bool last) {
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_input(&a, mij);
  pto2_arg_add_input(&a, lij);
  pto2_arg_add_input(&a, oi_new);
  pto2_arg_add_inout(&a, &ch->mi);
  pto2_arg_add_inout(&a, &ch->li);
  pto2_arg_add_inout(&a, &ch->oi);
  pto2_arg_add_inout(&a, &ch->out_view);
  pto2_arg_add_scalar(&a, first);
  pto2_arg_add_scalar(&a, last);
  return submit(rt, manual, PA_K_UP, &a);
}

static bool explicit_edges(const pa_ctx *x) { return x->lane != PA_LANE_AUTO; }

static void edge(pa_ctx *x, pto2_runtime *rt, pto2_task_id from, pto2_task_id to) {
  if (!explicit_edges(x) || ++x->edges_made == x->skip_edge) return;
  pto2_add_dependency(rt, from, to);
}

/* QK -> SF -> PV -> UP over key/value block n (variants A, B, E). */
static void submit_block(pa_ctx *x, pto2_runtime *rt, pa_chain *ch, uint32_t n) {
  bool manual = x->lane == PA_LANE_MANUAL;
  int32_t blk = x->in->block_table[ch->b * x->width + n];
  uint32_t valid = (uint32_t)ch->ctx_len - n * x->bs;
  if (valid > x->bs) valid = x->bs;
  pto2_tensor kj = pto2_tensor_view2(&x->key2d, x->bs, x->hd, (uint32_t)blk * x->bs, 0);
  pto2_tensor vj = pto2_tensor_view2(&x->value2d, x->bs, x->hd, (uint32_t)blk * x->bs, 0);
  kj.manual_dep = vj.manual_dep = manual_dep_externals(x);
  pto2_arg a;

  pto2_arg_init(&a);
  pto2_arg_add_input(&a, &ch->qi);
  pto2_arg_add_input(&a, &kj);
  pto2_arg_add_output(&a, &x->sij);
  pto2_task_id qk = submit(rt, manual, PA_K_QK, &a);
  pto2_tensor sij_valid = pto2_tensor_view2(&a.outputs[0], x->q_tile, valid, 0, 0);

  pto2_arg_init(&a);
  pto2_arg_add_input(&a, &sij_valid);
  pto2_arg_add_output(&a, &x->pij);
  pto2_arg_add_output(&a, &x->scalar);
  pto2_arg_add_output(&a, &x->scalar);
  pto2_arg_add_scalar(&a, pto2_u64_from_f32(x->in->scale));
  pto2_task_id sf = submit(rt, manual, PA_K_SF, &a);
  pto2_tensor pij = a.outputs[0], mij = a.outputs[1], lij = a.outputs[2];
  edge(x, rt, qk, sf);

  pto2_arg_init(&a);
  pto2_arg_add_input(&a, &pij);
  pto2_arg_add_input(&a, &vj);
  pto2_arg_add_output(&a, &x->tile2d);
  pto2_task_id pv = submit(rt, manual, PA_K_PV, &a);
  pto2_tensor oi_new = a.outputs[0];
  edge(x, rt, sf, pv);

  pto2_task_id up = submit_update(rt, ch, manual, &mij, &lij, &oi_new, n == 0, n + 1 == ch->blocks);
  edge(x, rt, sf, up);
  edge(x, rt, pv, up);
  edge(x, rt, ch->prev, up);
  ch->prev = up;
}

/* QK -> SF -> PV -> UP over a group of up to PA_UNROLL blocks (C, D, F). */
static void submit_group(pa_ctx *x, pto2_runtime *rt, pa_chain *ch, uint32_t bn) {
  bool manual = x->lane == PA_LANE_MANUAL;
  uint32_t n_blocks = ch->blocks - bn < PA_UNROLL ? ch->blocks - bn : PA_UNROLL;
  uint32_t valid_last = (uint32_t)ch->ctx_len - (bn + n_blocks - 1) * x->bs;
  if (valid_last > x->bs) valid_last = x->bs;
  uint64_t bt = (uint64_t)(uintptr_t)&x->in->block_table[ch->b * x->width + bn];
  pto2_create_info sij_buf = ci2(x->q_tile, n_blocks * x->bs, PTO2_FLOAT32);
  pto2_create_info pij_buf = ci2(x->q_tile, n_blocks * x->bs, x->c->dtype);
  pto2_arg a;

  pto2_arg_init(&a);
  pto2_arg_add_input(&a, &ch->qi);
  pto2_arg_add_input(&a, &x->key_cache);
  pto2_arg_add_output(&a, &sij_buf);
  pto2_arg_add_scalar(&a, n_blocks);
  pto2_arg_add_scalar(&a, bt);
  pto2_task_id qk = submit(rt, manual, PA_K_QK_UNROLL, &a);
  pto2_tensor sij = a.outputs[0];

  pto2_arg_init(&a);
  pto2_arg_add_input(&a, &sij);
  pto2_arg_add_output(&a, &pij_buf);
  pto2_arg_add_output(&a, &x->scalar);
  pto2_arg_add_output(&a, &x->scalar);
  pto2_arg_add_scalar(&a, pto2_u64_from_f32(x->in->scale));
  pto2_arg_add_scalar(&a, n_blocks);
  pto2_arg_add_scalar(&a, valid_last);
  pto2_task_id sf = submit(rt, manual, PA_K_SF_UNROLL, &a);
  pto2_tensor pij = a.outputs[0], mij = a.outputs[1], lij = a.outputs[2];
  edge(x, rt, qk, sf);

  pto2_arg_init(&a);
  pto2_arg_add_input(&a, &pij);
  pto2_arg_add_input(&a, &x->value_cache);
  pto2_arg_add_output(&a, &x->tile2d);
  pto2_arg_add_scalar(&a, n_blocks);
  pto2_arg_add_scalar(&a, bt);
  pto2_task_id pv = submit(rt, manual, PA_K_PV_UNROLL, &a);
  pto2_tensor oi_new = a.outputs[0];
  edge(x, rt, sf, pv);

  pto2_task_id up = submit_update(rt, ch, manual, &mij, &lij, &oi_new, bn == 0,
                                  bn + n_blocks >= ch->blocks);
  edge(x, rt, sf, up);
  edge(x, rt, pv, up);
  if (x->lane == PA_LANE_GRAPH) edge(x, rt, ch->prev, up); /* D finds it in the TensorMap */
  ch->prev = up;
}

/* A: a scope per (b, q) holding the hub, and a nested scope per block. */
static void chain_auto(pa_ctx *x, pto2_runtime *rt, pa_chain *ch) {
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
    submit_hub(x, rt, ch, false);
    for (uint32_t n = 0; n < ch->blocks; n++) {
      PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) { submit_block(x, rt, ch, n); }
    }
  }
}

static void chain_body(pa_ctx *x, pto2_runtime *rt, pa_chain *ch, bool manual) {
  submit_hub(x, rt, ch, manual);
  for (uint32_t n = 0; n < ch->blocks; n++) submit_block(x, rt, ch, n);
}

/* B: an AUTO scope per (b, q) holding one MANUAL scope with the whole
 * chain; E: one GRAPH scope per (b, q). */
static void chain_explicit(pa_ctx *x, pto2_runtime *rt, pa_chain *ch) {
  if (x->lane == PA_LANE_GRAPH) {
    PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) { chain_body(x, rt, ch, false); }
    return;
  }
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
    PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) { chain_body(x, rt, ch, true); }
  }
}

/* C: hub and groups in one AUTO scope; D: AUTO hub, a MANUAL scope per
 * group; F: everything in one GRAPH scope. */
static void chain_unroll(pa_ctx *x, pto2_runtime *rt, pa_chain *ch) {
  pto2_scope_mode outer = x->lane == PA_LANE_GRAPH ? PTO2_SCOPE_GRAPH : PTO2_SCOPE_AUTO;
  PTO2_SCOPE(rt, outer) {
    submit_hub(x, rt, ch, false);
    for (uint32_t bn = 0; bn < ch->blocks; bn += PA_UNROLL) {
      if (x->lane == PA_LANE_MANUAL) {
        PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) { submit_group(x, rt, ch, bn); }
      } else {
        submit_group(x, rt, ch, bn);
      }
    }
  }
}

void pa_orchestrate(pto2_runtime *rt, void *arg) {
  const pa_job *job = arg;
  pa_ctx x;
  ctx_init(&x, job->in, job->lane);
  x.skip_edge = job->skip_edge;
  x.edges_made = 0;
  uint32_t q_loop = (x.c->num_heads + x.q_tile - 1) / x.q_tile;
  bool unroll = job->scene == PA_SCENE_UNROLL;
  for (uint32_t b = 0; b < x.c->batch && !pto2_is_fatal(rt); b++) {
    for (uint32_t q = 0; q < q_loop; q++) {
      pa_chain ch;
      chain_init(&x, &ch, b, q, unroll);
      if (unroll) chain_unroll(&x, rt, &ch);
      else if (job->lane == PA_LANE_AUTO) chain_auto(&x, rt, &ch);
      else chain_explicit(&x, rt, &ch);
    }
  }
}

/* ------------------------------------------------------------------------ */
/* Expected counts                                                          */
/* ------------------------------------------------------------------------ */

static uint64_t steps_of(const pa_case *c, uint32_t b, pa_scene scene) {
  uint32_t blocks = pa_case_block_count(c, b);
  return scene == PA_SCENE_UNROLL ? (blocks + PA_UNROLL - 1) / PA_UNROLL : blocks;
}

static uint64_t q_loop_of(const pa_case *c) {
  return (c->num_heads + pa_case_q_tile(c) - 1) / pa_case_q_tile(c);
}

uint64_t pa_expected_tasks(const pa_case *c, pa_scene scene) {
  uint64_t tasks = 0;
  for (uint32_t b = 0; b < c->batch; b++) tasks += 1 + 4 * steps_of(c, b, scene);
  return tasks * q_loop_of(c);
}

/* Per chain of s steps: auto 6s - 1 (3 chained in, plus the hub and the
 * previous UP for every UP but the first); B, E, F 5s (explicit); D 4s
 * explicit + 2s - 1 found at the boundary. */
uint64_t pa_expected_edges(const pa_case *c, pa_scene scene, pa_lane lane) {
  uint64_t edges = 0;
  for (uint32_t b = 0; b < c->batch; b++) {
    uint64_t s = steps_of(c, b, scene);
    bool five = lane == PA_LANE_GRAPH || (lane == PA_LANE_MANUAL && scene == PA_SCENE_BASE);
    edges += five ? 5 * s : 6 * s - 1;
  }
  return edges * q_loop_of(c);
}
