/*
 * Stress of the slot protocol, the retirement watermark, SPMD block claiming
 * and parking: random DAGs of AIC, AIV and mixed tasks (some SPMD), run with
 * tiny rings so slots, heap and dependency entries wrap many times.  Every
 * kernel invocation checks, when it starts, that every block and lane of
 * each of its producers has finished, and counts itself; after each run
 * every (task, block, lane) must have run exactly once.
 *
 * The same DAG is expressed four ways: GRAPH scopes with pto2_add_dependency,
 * AUTO scopes where task i writes element i of a buffer and reads the
 * elements of its producers (dependencies found by the TensorMap), and two
 * that add lifetime holds and mix the explicit-edge paths (docs/concurrency.md
 * S1-S3): GRAPH scopes, and MANUAL scopes whose tasks take their producers
 * either at submit (published at once) or by pto2_add_dependency (held back),
 * each nested in an AUTO scope whose first task ("anchor") creates a tensor.
 * There, tasks create small outputs and read the outputs of earlier tasks of
 * their scope (a hold on a held-back creator, registered without its lock,
 * or on a published one; an edge from a creator the consumer reads takes
 * over the hold) and the anchor's (a hold, or in MANUAL a producer, that may
 * be running or finished); edges from the previous scope link producers that
 * may be running, finished or retired.
 *
 * Usage: stress_runtime <threads> <iterations> <size>
 */
#include <stdatomic.h>
#include <stdint.h>

#include "pto2/pto2.h"
#include "test.h"

/* A GRAPH consumer pins its producers until its scope ends: with scopes of
 * 6 tasks and producers at most 6 back, at most 12 tasks are pinned, which
 * the smallest window (16) holds. */
enum { MAX_TASKS = 512, MAX_PRODUCERS = 6, SCOPE_TASKS = 6, LOOKBACK = 6 };

typedef struct dag {
  int n;
  int nprod[MAX_TASKS];
  int prod[MAX_TASKS][MAX_PRODUCERS];
  int blocks[MAX_TASKS];
  int lanes[MAX_TASKS]; /* 1 = AIC, 2 = AIV, 3 = mixed AIC + AIV0 + AIV1 */
} dag;

static dag g;
static atomic_int done[MAX_TASKS];    /* finished (block, lane) invocations */
static atomic_int violations;
static uint32_t cells[MAX_TASKS];     /* AUTO variant: task i writes cells[i] */
static pto2_task_id ids[MAX_TASKS];
static bool has_out[MAX_TASKS];       /* hold variants: task i created outs[i] */
static pto2_tensor outs[MAX_TASKS];

static int total_of(int t) { return g.blocks[t] * (g.lanes[t] == 3 ? 3 : 1); }

/* scalars: task index, then its producers */
static int check_kernel(const pto2_kernel_ctx *k) {
  int self = (int)k->scalars[0];
  for (uint32_t i = 1; i < k->scalar_count; i++) {
    int p = (int)k->scalars[i];
    if (atomic_load(&done[p]) != total_of(p)) atomic_fetch_add(&violations, 1);
  }
  if (k->block_idx < 0 || k->block_idx >= g.blocks[self]) atomic_fetch_add(&violations, 1);
  atomic_fetch_add(&done[self], 1);
  return 0;
}

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng_state >> 33) % n;
}

static void make_dag(int n) {
  g.n = n;
  for (int t = 0; t < n; t++) {
    g.nprod[t] = 0;
    int want = t ? (int)rnd(MAX_PRODUCERS + 1) : 0;
    for (int i = 0; i < want; i++) {
      int p = t - 1 - (int)rnd((uint32_t)(t < LOOKBACK ? t : LOOKBACK));
      bool dup = false;
      for (int j = 0; j < g.nprod[t]; j++) dup = dup || g.prod[t][j] == p;
      if (!dup) g.prod[t][g.nprod[t]++] = p;
    }
    g.blocks[t] = rnd(4) == 0 ? 1 + (int)rnd(4) : 1;
    g.lanes[t] = 1 + (int)rnd(3);
    atomic_store(&done[t], 0);
  }
}

static void fill_args(pto2_arg *a, int t) {
  pto2_arg_add_scalar(a, (uint64_t)t);
  for (int i = 0; i < g.nprod[t]; i++) pto2_arg_add_scalar(a, (uint64_t)g.prod[t][i]);
  pto2_arg_set_block_num(a, (uint32_t)g.blocks[t]);
}

static pto2_task_id submit(pto2_runtime *rt, int t, pto2_arg *a) {
  if (g.lanes[t] == 1) return pto2_submit_aic(rt, 0, a);
  if (g.lanes[t] == 2) return pto2_submit_aiv(rt, 1, a);
  pto2_mixed_kernels mk = {0, 1, 1};
  return pto2_submit_task(rt, mk, a);
}

static pto2_task_id submit_manual(pto2_runtime *rt, int t, pto2_arg *a) {
  if (g.lanes[t] == 1) return pto2_submit_aic_manual(rt, 0, a);
  if (g.lanes[t] == 2) return pto2_submit_aiv_manual(rt, 1, a);
  pto2_mixed_kernels mk = {0, 1, 1};
  return pto2_submit_task_manual(rt, mk, a);
}

static int noop_kernel(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

static const uint32_t one_elem[1] = {1};

/* The anchor of an AUTO scope: creates a tensor the scopes nested in it read. */
static pto2_tensor submit_anchor(pto2_runtime *rt) {
  pto2_create_info ci = pto2_create_info_make(one_elem, 1, PTO2_FLOAT32);
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_output(&a, &ci);
  pto2_submit_aiv(rt, 2, &a);
  return a.outputs[0];
}

static bool is_producer(int t, int p) {
  for (int i = 0; i < g.nprod[t]; i++)
    if (g.prod[t][i] == p) return true;
  return false;
}

/* Hold variants: task t (of the scope starting at `base`) reads the anchor
 * (sometimes) and the outputs of up to two earlier tasks of its scope, more
 * often those of its producers, and creates an output itself (sometimes).
 * Reads only: the kernels do not touch the data. */
static void add_holds(pto2_arg *a, int t, int base, const pto2_tensor *anchor,
                      const pto2_create_info *ci) {
  if (rnd(2)) pto2_arg_add_input(a, anchor);
  for (int k = 0; k < 2 && t > base; k++) {
    int c = t - 1 - (int)rnd((uint32_t)(t - base));
    if (!has_out[c] || (!is_producer(t, c) && rnd(2))) continue;
    pto2_arg_add_input(a, &outs[c]); /* the same one twice: one hold */
  }
  has_out[t] = rnd(2) != 0;
  if (has_out[t]) pto2_arg_add_output(a, ci);
}

static void take_output(const pto2_arg *a, int t) {
  if (has_out[t]) outs[t] = a->outputs[0];
}

/* GRAPH scopes of SCOPE_TASKS tasks, two to an AUTO scope with an anchor. */
static void orch_graph_holds(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_create_info ci = pto2_create_info_make(one_elem, 1, PTO2_FLOAT32);
  for (int outer = 0; outer < g.n; outer += 2 * SCOPE_TASKS) {
    PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
      pto2_tensor anchor = submit_anchor(rt);
      for (int base = outer; base < outer + 2 * SCOPE_TASKS && base < g.n; base += SCOPE_TASKS) {
        PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
          for (int t = base; t < base + SCOPE_TASKS && t < g.n; t++) {
            pto2_arg a;
            pto2_arg_init(&a);
            add_holds(&a, t, base, &anchor, &ci); /* tensors before scalars */
            fill_args(&a, t);
            ids[t] = submit(rt, t, &a);
            take_output(&a, t);
            for (int i = 0; i < g.nprod[t]; i++)
              pto2_add_dependency(rt, ids[g.prod[t][i]], ids[t]);
          }
        }
      }
    }
  }
}

/* The same with MANUAL scopes: a task whose producers are all in its scope
 * takes them by pto2_add_dependency (held back) two times in three, else at
 * submit (published at once, perhaps before its held-back producers);
 * producers in an earlier scope only at submit. */
static void orch_manual_holds(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_create_info ci = pto2_create_info_make(one_elem, 1, PTO2_FLOAT32);
  for (int outer = 0; outer < g.n; outer += 2 * SCOPE_TASKS) {
    PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
      pto2_tensor anchor = submit_anchor(rt);
      for (int base = outer; base < outer + 2 * SCOPE_TASKS && base < g.n; base += SCOPE_TASKS) {
        PTO2_SCOPE(rt, PTO2_SCOPE_MANUAL) {
          for (int t = base; t < base + SCOPE_TASKS && t < g.n; t++) {
            bool local = true;
            for (int i = 0; i < g.nprod[t]; i++) local = local && g.prod[t][i] >= base;
            bool at_submit = !local || rnd(3) == 0;
            pto2_arg a;
            pto2_arg_init(&a);
            add_holds(&a, t, base, &anchor, &ci); /* tensors before scalars */
            fill_args(&a, t);
            for (int i = 0; at_submit && i < g.nprod[t]; i++) pto2_arg_add_dep(&a, ids[g.prod[t][i]]);
            ids[t] = submit_manual(rt, t, &a);
            take_output(&a, t);
            for (int i = 0; !at_submit && i < g.nprod[t]; i++)
              pto2_add_dependency(rt, ids[g.prod[t][i]], ids[t]);
          }
        }
      }
    }
  }
}

static void orch_graph(pto2_runtime *rt, void *arg) {
  (void)arg;
  for (int base = 0; base < g.n; base += SCOPE_TASKS) {
    PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
      for (int t = base; t < base + SCOPE_TASKS && t < g.n; t++) {
        pto2_arg a;
        pto2_arg_init(&a);
        fill_args(&a, t);
        ids[t] = submit(rt, t, &a);
        for (int i = 0; i < g.nprod[t]; i++) pto2_add_dependency(rt, ids[g.prod[t][i]], ids[t]);
      }
    }
  }
}

static void orch_auto(pto2_runtime *rt, void *arg) {
  (void)arg;
  const uint32_t shape[1] = {MAX_TASKS};
  pto2_tensor all = pto2_tensor_external(cells, shape, 1, PTO2_INT32);
  for (int base = 0; base < g.n; base += SCOPE_TASKS) {
    PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
      for (int t = base; t < base + SCOPE_TASKS && t < g.n; t++) {
        pto2_tensor views[MAX_PRODUCERS + 1];
        pto2_arg a;
        pto2_arg_init(&a);
        for (int i = 0; i < g.nprod[t]; i++) {
          const uint32_t one[1] = {1}, at[1] = {(uint32_t)g.prod[t][i]};
          views[i] = pto2_tensor_view(&all, one, at);
          pto2_arg_add_input(&a, &views[i]);
        }
        const uint32_t one[1] = {1}, at[1] = {(uint32_t)t};
        views[g.nprod[t]] = pto2_tensor_view(&all, one, at);
        pto2_arg_add_output_existing(&a, &views[g.nprod[t]]);
        fill_args(&a, t);
        submit(rt, t, &a);
      }
    }
  }
}

static void check_run(pto2_runtime *rt, int rc, const char *lane, uint64_t seed) {
  if (rc != 0) TEST_FAIL("%s run failed (seed %llu): %s", lane, (unsigned long long)seed,
                         pto2_error_message(rt));
  if (atomic_load(&violations))
    TEST_FAIL("%s: %d kernels started before a producer finished (seed %llu)", lane,
              atomic_load(&violations), (unsigned long long)seed);
  for (int t = 0; t < g.n; t++)
    if (atomic_load(&done[t]) != total_of(t))
      TEST_FAIL("%s: task %d ran %d of %d invocations (seed %llu)", lane, t,
                atomic_load(&done[t]), total_of(t), (unsigned long long)seed);
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 3;
  int iterations = argc > 2 ? atoi(argv[2]) : 1000;
  int size = argc > 3 ? atoi(argv[3]) : 200;
  if (size > MAX_TASKS) size = MAX_TASKS;
  const char *scale = getenv("PTO2_TEST_SCALE");
  if (scale && !strcmp(scale, "small")) iterations = iterations / 10 + 1;

  const uint32_t windows[] = {16, 32, 4096};
  for (unsigned w = 0; w < sizeof windows / sizeof windows[0]; w++) {
    pto2_config c = {0};
    c.worker_threads = (uint32_t)threads;
    c.task_window = windows[w];
    c.heap_size = 2048; /* outputs of the hold variants: 64 bytes each */
    c.dep_pool = 64;
    c.log_level = PTO2_LOG_ERROR;
    pto2_runtime *rt;
    ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
    ASSERT_EQ_INT(pto2_kernel_register(rt, 0, PTO2_CORE_AIC, "check_aic", check_kernel, 0), 0);
    ASSERT_EQ_INT(pto2_kernel_register(rt, 1, PTO2_CORE_AIV, "check_aiv", check_kernel, 0), 0);
    ASSERT_EQ_INT(pto2_kernel_register(rt, 2, PTO2_CORE_AIV, "anchor", noop_kernel, 0), 0);
    for (int it = 0; it < iterations; it++) {
      uint64_t seed = (uint64_t)w * 1000003u + (uint64_t)it;
      rng_state = seed;
      make_dag(size);
      check_run(rt, pto2_run(rt, orch_graph, 0, 0), "graph", seed);
      for (int t = 0; t < g.n; t++) atomic_store(&done[t], 0);
      check_run(rt, pto2_run(rt, orch_auto, 0, 0), "auto", seed);
      for (int t = 0; t < g.n; t++) atomic_store(&done[t], 0);
      check_run(rt, pto2_run(rt, orch_graph_holds, 0, 0), "graph with holds", seed);
      for (int t = 0; t < g.n; t++) atomic_store(&done[t], 0);
      check_run(rt, pto2_run(rt, orch_manual_holds, 0, 0), "manual with holds", seed);
    }
    pto2_runtime_destroy(rt);
  }
  printf("stress_runtime: %d passed, 0 failed\n", iterations * 4 * 3);
  return 0;
}
