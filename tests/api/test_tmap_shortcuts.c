/*
 * Shortcuts of the AUTO lane's TensorMap path that must not change which
 * edges a task gets (src/deps/tensormap.h):
 *
 *  - (T6) a read of a runtime-created buffer whose creator has no
 *    TensorMap entry skips the lookup.  Caller memory laid over a created
 *    buffer (an external tensor at the buffer's address) is keyed like the
 *    buffer but chained to its writer: a read of the buffer must still find
 *    that writer.
 *
 *  - (T7) an INOUT access that covers an entry with exactly its region
 *    takes the entry over when it records its write, instead of removing
 *    it and inserting its own.  Later arguments of the same task that meet
 *    the entry (the same region again, a larger region, a read) must see
 *    what they would see had it been removed, and later tasks only the
 *    new writer: an in-place accumulator, one tensor passed twice as
 *    INOUT, an exact and a covering INOUT in either order, exact rewrites
 *    of the rows of an allocation indexed by an interval tree.
 *
 * Each case runs untraced and traced (the recorded path keeps the plain
 * removal and insert).  Edges are counted by the run statistics (pto2_run_stats.edges), which
 * count distinct producer -> consumer pairs whatever the timing.
 */
#include <stdint.h>
#include <string.h>

#include "pto2/pto2.h"
#include "test.h"

static int noop(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

static pto2_tensor ext1(void *p, uint32_t n) {
  const uint32_t shape[1] = {n};
  return pto2_tensor_external(p, shape, 1, PTO2_FLOAT32);
}

static pto2_create_info ci1(uint32_t n) {
  const uint32_t shape[1] = {n};
  return pto2_create_info_make(shape, 1, PTO2_FLOAT32);
}

static pto2_task_id submit1(pto2_runtime *rt, unsigned kind, const void *x) {
  pto2_arg a;
  pto2_arg_init(&a);
  if (kind == PTO2_ARG_INPUT) pto2_arg_add_input(&a, x);
  else if (kind == PTO2_ARG_INOUT) pto2_arg_add_inout(&a, x);
  else pto2_arg_add_output(&a, x);
  return pto2_submit_aiv(rt, 0, &a);
}

/* A task that creates a buffer of n floats; returns the created tensor. */
static pto2_tensor create1(pto2_runtime *rt, uint32_t n) {
  pto2_create_info ci = ci1(n);
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_output(&a, &ci);
  pto2_submit_aiv(rt, 0, &a);
  return a.outputs[0];
}

/* T6: A creates X; W writes X through an external tensor at X's address;
 * R reads X.  R: creator edge A -> R and TensorMap edge W -> R. */
static void alias_orch(pto2_runtime *rt, void *arg) {
  (void)arg;
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
    pto2_tensor x = create1(rt, 16);
    pto2_tensor alias = ext1(x.data, 16);
    submit1(rt, PTO2_ARG_INOUT, &alias);
    submit1(rt, PTO2_ARG_INPUT, &x);
  }
}

static float ext_x[16 * 4], ext_y[16 * 4];

static pto2_task_id submit_args(pto2_runtime *rt, unsigned n, const unsigned *kinds,
                                const pto2_tensor *const *ts) {
  pto2_arg a;
  pto2_arg_init(&a);
  for (unsigned i = 0; i < n; i++) {
    if (kinds[i] == PTO2_ARG_INPUT) pto2_arg_add_input(&a, ts[i]);
    else pto2_arg_add_inout(&a, ts[i]);
  }
  return pto2_submit_aiv(rt, 0, &a);
}

/* (T7) An accumulator created by a hub, updated in place three times, then
 * read: each update waits for the previous one (and the hub), the reader
 * for the last.  Edges: 1 + 2 + 2 + 2. */
static void accumulate_orch(pto2_runtime *rt, void *arg) {
  (void)arg;
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
    pto2_tensor acc = create1(rt, 16);
    for (int i = 0; i < 3; i++) submit1(rt, PTO2_ARG_INOUT, &acc);
    submit1(rt, PTO2_ARG_INPUT, &acc);
  }
}

/* (T7) W1 writes x; W2 passes x twice as INOUT, then reads it; R reads x
 * and must find W2 only.  Edges: W1 -> W2, W2 -> R. */
static void twice_orch(pto2_runtime *rt, void *arg) {
  (void)arg;
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
    const uint32_t shape[2] = {16, 4};
    pto2_tensor x = pto2_tensor_external(ext_x, shape, 2, PTO2_FLOAT32);
    submit1(rt, PTO2_ARG_INOUT, &x);
    const unsigned kinds[3] = {PTO2_ARG_INOUT, PTO2_ARG_INOUT, PTO2_ARG_INPUT};
    const pto2_tensor *ts[3] = {&x, &x, &x};
    submit_args(rt, 3, kinds, ts);
    submit1(rt, PTO2_ARG_INPUT, &x);
  }
}

/* (T7) An exact and a covering INOUT in one task, in both orders:
 * W1 writes rows 0..7 of y; W2 writes rows 0..7 and all of y; R1, R2 read
 * rows 0..7 and 8..15 (W2 only); W3 writes all of y and rows 0..7; R3
 * reads rows 0..7 (W3 only).  Edges: W1 -> W2, W2 -> R1, W2 -> R2,
 * W2 -> W3, W3 -> R3. */
static void cover_orch(pto2_runtime *rt, void *arg) {
  (void)arg;
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
    const uint32_t shape[2] = {16, 4};
    pto2_tensor y = pto2_tensor_external(ext_y, shape, 2, PTO2_FLOAT32);
    pto2_tensor top = pto2_tensor_view2(&y, 8, 4, 0, 0);
    pto2_tensor bottom = pto2_tensor_view2(&y, 8, 4, 8, 0);
    submit1(rt, PTO2_ARG_INOUT, &top);
    const unsigned kinds[2] = {PTO2_ARG_INOUT, PTO2_ARG_INOUT};
    const pto2_tensor *exact_first[2] = {&top, &y};
    submit_args(rt, 2, kinds, exact_first);
    submit1(rt, PTO2_ARG_INPUT, &top);
    submit1(rt, PTO2_ARG_INPUT, &bottom);
    const pto2_tensor *cover_first[2] = {&y, &top};
    submit_args(rt, 2, kinds, cover_first);
    submit1(rt, PTO2_ARG_INPUT, &top);
  }
}

/* (T7) in an allocation with an interval tree (16 entries or more): 18
 * rows of z written, each rewritten exactly (taken over through the
 * tree's result), each read (the rewriter only), then rows 0..7 read at
 * once.  Edges: 18 + 18 + 8. */
static float ext_z[18 * 4];
static void tree_orch(pto2_runtime *rt, void *arg) {
  (void)arg;
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
    const uint32_t shape[2] = {18, 4};
    pto2_tensor z = pto2_tensor_external(ext_z, shape, 2, PTO2_FLOAT32);
    pto2_tensor row[18];
    for (uint32_t r = 0; r < 18; r++) row[r] = pto2_tensor_view2(&z, 1, 4, r, 0);
    for (int pass = 0; pass < 2; pass++)
      for (uint32_t r = 0; r < 18; r++) submit1(rt, PTO2_ARG_INOUT, &row[r]);
    for (uint32_t r = 0; r < 18; r++) submit1(rt, PTO2_ARG_INPUT, &row[r]);
    pto2_tensor top = pto2_tensor_view2(&z, 8, 4, 0, 0);
    submit1(rt, PTO2_ARG_INPUT, &top);
  }
}

static void run(pto2_runtime *rt, void (*orch)(pto2_runtime *, void *), void *arg,
                uint64_t tasks, uint64_t edges) {
  pto2_run_stats st;
  if (pto2_run(rt, orch, arg, &st)) TEST_FAIL("run failed: %s", pto2_error_message(rt));
  ASSERT_EQ_U64(st.tasks, tasks);
  ASSERT_EQ_U64(st.edges, edges);
}

int main(void) {
  pto2_config c = {0};
  c.block_dim = 2;
  c.log_level = PTO2_LOG_ERROR;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 0, PTO2_CORE_AIV, "noop", noop, 0), 0);
  for (int traced = 0; traced < 2; traced++) {
    if (traced) ASSERT_EQ_INT(pto2_trace_enable_opts(rt, 0), 0);
    run(rt, alias_orch, 0, 3, 2);
    run(rt, accumulate_orch, 0, 5, 7);
    run(rt, twice_orch, 0, 3, 2);
    run(rt, cover_orch, 0, 6, 5);
    run(rt, tree_orch, 0, 55, 44);
  }
  pto2_runtime_destroy(rt);
  printf("test_tmap_shortcuts: ok\n");
  return 0;
}
