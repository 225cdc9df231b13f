/*
 * The hazard checker module (src/check/hazard.h) on its own: records fed by
 * hand, no runtime.  Exact overlap (column blocks that interleave, also
 * through a reshape), the byte-range fallback ("possible"), orders through
 * paths of edges and backward edges, pruning by a covering ordered write,
 * one report per pair, edges from tasks outside the run, blocking accesses.
 */
#include "check/hazard.h"
#include "util/alloc.h"
#include "test.h"

static const char *names(void *ctx, int32_t id) {
  (void)ctx;
  return id == 1 ? "one" : "other";
}

static float M[16 * 16];

static pto2_tensor ext(void) {
  const uint32_t s[2] = {16, 16};
  return pto2_tensor_external(M, s, 2, PTO2_FLOAT32);
}

static pto2_task_id tid(uint64_t local) { return (pto2_task_id){(UINT64_C(1) << 56) | local}; } /* ring 0 */

static const int8_t K1[3] = {1, -1, -1};

/* One access per task. */
static void task(pto2__hz *h, uint64_t local, unsigned kind, pto2_tensor t) {
  uint8_t k = (uint8_t)kind;
  ASSERT_EQ_INT(pto2__hz_task(h, tid(local), K1, PTO2_SCOPE_GRAPH, 1, 7, &k, &t, 1), 0);
}

static void edge(pto2__hz *h, uint64_t p, uint64_t c) {
  ASSERT_EQ_INT(pto2__hz_edge(h, tid(p), tid(c)), 0);
}

int main(void) {
  pto2__hz *h = pto2__hz_create(names, 0, &pto2__libc_allocator);
  ASSERT_TRUE(h != NULL);
  pto2_tensor m = ext();
  pto2_tensor left = pto2_tensor_view2(&m, 16, 8, 0, 0), right = pto2_tensor_view2(&m, 16, 8, 0, 8);
  const uint32_t s3[3] = {16, 2, 8}, o3[3] = {0, 1, 0}, v3[3] = {16, 1, 8};
  pto2_tensor m3 = pto2_tensor_reshape(&m, s3, 3);
  const uint32_t z3[3] = {0, 0, 0};
  pto2_tensor right3 = pto2_tensor_view(&m3, v3, o3), left3 = pto2_tensor_view(&m3, v3, z3);

  /* Interleaving column blocks never conflict: same layout and reshaped. */
  pto2__hz_run_begin(h);
  task(h, 0, PTO2_ARG_INPUT, left);
  task(h, 1, PTO2_ARG_OUTPUT_EXISTING, right);
  task(h, 2, PTO2_ARG_OUTPUT_EXISTING, right3);
  edge(h, 1, 2);
  ASSERT_EQ_INT(pto2__hz_check(h), 0);

  /* The same through the other layout's left half: a certain WAR. */
  pto2__hz_run_begin(h);
  task(h, 10, PTO2_ARG_INPUT, left);
  task(h, 11, PTO2_ARG_OUTPUT_EXISTING, left3);
  ASSERT_EQ_INT(pto2__hz_check(h), 1);
  const pto2_hazard *z = pto2__hz_get(h, 0);
  ASSERT_EQ_INT(z->kind, PTO2_HAZARD_WAR);
  ASSERT_TRUE(!z->possible);
  ASSERT_EQ_U64(z->first.task.raw, tid(10).raw);
  ASSERT_EQ_U64(z->second.task.raw, tid(11).raw);
  ASSERT_STR_CONTAINS(z->first.kernel, "one");
  ASSERT_STR_CONTAINS(z->cause, "GRAPH scope");

  /* Ordered through a path (0 -> 1 -> 2), and through a backward edge. */
  pto2__hz_run_begin(h);
  task(h, 20, PTO2_ARG_OUTPUT_EXISTING, m);
  task(h, 21, PTO2_ARG_INPUT, pto2_tensor_view2(&m, 1, 16, 5, 0));
  task(h, 22, PTO2_ARG_INOUT, pto2_tensor_view2(&m, 2, 2, 4, 4));
  task(h, 23, PTO2_ARG_INPUT, pto2_tensor_view2(&m, 16, 1, 0, 0));
  edge(h, 20, 21);
  edge(h, 21, 22);
  edge(h, 23, 20); /* 23 runs before 20: ordered the other way */
  ASSERT_EQ_INT(pto2__hz_check(h), 0);

  /* A covering write ordered after earlier writers replaces them; a later
   * unordered reader is reported once, against the newest writer. */
  pto2__hz_run_begin(h);
  task(h, 30, PTO2_ARG_OUTPUT_EXISTING, pto2_tensor_view2(&m, 4, 4, 0, 0));
  task(h, 31, PTO2_ARG_OUTPUT_EXISTING, pto2_tensor_view2(&m, 4, 4, 4, 4));
  task(h, 32, PTO2_ARG_INOUT, m);
  task(h, 33, PTO2_ARG_INPUT, m);
  edge(h, 30, 32);
  edge(h, 31, 32);
  ASSERT_EQ_INT(pto2__hz_check(h), 1);
  ASSERT_EQ_U64(pto2__hz_get(h, 0)->first.task.raw, tid(32).raw);
  ASSERT_EQ_INT(pto2__hz_get(h, 0)->kind, PTO2_HAZARD_RAW);

  /* Two conflicts between one pair: one report.  An edge from a task of
   * an earlier run is ignored (it finished before this run began). */
  pto2__hz_run_begin(h);
  task(h, 40, PTO2_ARG_OUTPUT_EXISTING, m);
  {
    uint8_t k[2] = {PTO2_ARG_INPUT, PTO2_ARG_INOUT};
    pto2_tensor t[2] = {left, right};
    ASSERT_EQ_INT(pto2__hz_task(h, tid(41), K1, PTO2_SCOPE_AUTO, 0, 1, k, t, 2), 0);
  }
  edge(h, 5, 41);
  ASSERT_EQ_INT(pto2__hz_check(h), 1);
  ASSERT_EQ_INT(pto2__hz_get(h, 0)->first.scope_mode, PTO2_SCOPE_GRAPH);
  ASSERT_EQ_INT(pto2__hz_get(h, 0)->second.scope_mode, PTO2_SCOPE_AUTO);

  /* Blocking accesses: a set waits for every earlier task in flight with
   * an overlapping argument (a reader too), and a task after the set is
   * ordered after it; a get after a writer the TensorMap does not record
   * (manual_dep) is an unordered RAW. */
  pto2__hz_run_begin(h);
  task(h, 50, PTO2_ARG_INPUT, m);
  const uint32_t idx[2] = {3, 3}, seqs[1] = {7};
  ASSERT_EQ_INT(pto2__hz_orch_access(h, &m, idx, true, PTO2_SCOPE_AUTO, 0, seqs), 0);
  task(h, 51, PTO2_ARG_INPUT, m);
  ASSERT_EQ_INT(pto2__hz_check(h), 0);
  pto2__hz_run_begin(h);
  pto2_tensor md = m;
  md.manual_dep = true;
  {
    uint8_t k = PTO2_ARG_INOUT;
    ASSERT_EQ_INT(pto2__hz_task(h, tid(52), K1, PTO2_SCOPE_AUTO, 0, 7, &k, &md, 1), 0);
  }
  ASSERT_EQ_INT(pto2__hz_orch_access(h, &m, idx, false, PTO2_SCOPE_AUTO, 0, seqs), 0);
  ASSERT_EQ_INT(pto2__hz_check(h), 1);
  ASSERT_EQ_INT(pto2__hz_get(h, 0)->kind, PTO2_HAZARD_RAW);
  ASSERT_EQ_U64(pto2__hz_get(h, 0)->first.task.raw, tid(52).raw);
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2__hz_get(h, 0)->second.task));

  /* Different layouts with more pieces than the limit: "possible". */
  static float big[70000 * 2];
  const uint32_t bs[2] = {70000, 2}, flat[1] = {140000}, one[1] = {1}, at1[1] = {1};
  pto2_tensor b = pto2_tensor_external(big, bs, 2, PTO2_FLOAT32);
  pto2_tensor b1 = pto2_tensor_reshape(&b, flat, 1);
  pto2__hz_run_begin(h);
  task(h, 60, PTO2_ARG_INPUT, pto2_tensor_view2(&b, 70000, 1, 0, 0));
  task(h, 61, PTO2_ARG_OUTPUT_EXISTING, pto2_tensor_view(&b1, one, at1));
  ASSERT_EQ_INT(pto2__hz_check(h), 1);
  ASSERT_TRUE(pto2__hz_get(h, 0)->possible);
  ASSERT_TRUE(pto2__hz_bytes(h) > 0);

  pto2__hz_destroy(h);
  TEST_PASS("test_hazard_module");
}
