/*
 * Paged attention through every lane: for each small case and both scenes,
 * the auto, manual and graph orchestrations run the same kernels on the same
 * data; each output must match the golden reference (allclose), the three
 * lanes' outputs must be bit-identical, and the runtime's task and edge
 * counts must equal pa_expected_tasks/edges().  Repeated on small rings (back-pressure and
 * wrap-around) and with one and two worker threads.
 */
#include <stdlib.h>
#include <string.h>

#include "pa_orch.h"
#include "test.h"

static int checks;

static void run_lanes(pto2_runtime *rt, const pa_case *c, pa_scene scene, const float *golden) {
  pa_inputs *in;
  ASSERT_EQ_INT(pa_inputs_create(c, PA_SEED_DEFAULT, &in), 0);
  size_t n = pa_inputs_out_count(in);
  float *first = malloc(n * sizeof *first);
  ASSERT_TRUE(first != NULL);
  for (int lane = 0; lane < PA_LANE_COUNT; lane++) {
    pa_inputs_clear_out(in);
    pa_job job = {in, scene, (pa_lane)lane, 0};
    pto2_run_stats st;
    int rc = pto2_run(rt, pa_orchestrate, &job, &st);
    if (rc) TEST_FAIL("%s %s %s: %s", c->name, pa_scene_name(scene), pa_lane_name(lane), pto2_error_message(rt));
    ASSERT_EQ_U64(st.tasks, pa_expected_tasks(c, scene));
    ASSERT_EQ_U64(st.edges, pa_expected_edges(c, scene, (pa_lane)lane));
    pa_compare_result cmp = pa_compare(in->out, golden, n, c->rtol, c->atol);
    if (!cmp.pass)
      TEST_FAIL("%s %s %s: max abs err %g", c->name, pa_scene_name(scene), pa_lane_name(lane),
                cmp.max_abs_err);
    if (lane == 0) memcpy(first, in->out, n * sizeof *first);
    else if (memcmp(first, in->out, n * sizeof *first) != 0)
      TEST_FAIL("%s %s: %s output differs from auto", c->name, pa_scene_name(scene), pa_lane_name(lane));
    checks += 4;
  }
  free(first);
  pa_inputs_destroy(in);
}

static void run_config(const pto2_config *cfg) {
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(cfg, &rt), 0);
  ASSERT_EQ_INT(pa_kernels_register(rt, false), 0);
  const char *names[] = {"Small1", "Small2", "VarSeq2", "VarSeq4"};
  for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
    const pa_case *c = pa_case_find(names[i]);
    ASSERT_TRUE(c != NULL);
    pa_inputs *in;
    ASSERT_EQ_INT(pa_inputs_create(c, PA_SEED_DEFAULT, &in), 0);
    float *golden = malloc(pa_inputs_out_count(in) * sizeof *golden);
    ASSERT_TRUE(golden != NULL);
    ASSERT_EQ_INT(pa_golden_compute(in, golden), 0);
    pa_inputs_destroy(in);
    run_lanes(rt, c, PA_SCENE_BASE, golden);
    run_lanes(rt, c, PA_SCENE_UNROLL, golden);
    free(golden);
  }
  pto2_runtime_destroy(rt);
}

int main(void) {
  pto2_config c = {0};
  c.log_level = PTO2_LOG_ERROR;
  run_config(&c);
  c.worker_threads = 2;
  run_config(&c);
  /* Small rings: a (b, q) chain of VarSeq4 has 33 tasks in one scope. */
  c.worker_threads = 1;
  c.task_window = 64;
  c.heap_size = 65536;
  c.dep_pool = 64;
  run_config(&c);
  printf("test_pa_lanes: %d passed, 0 failed\n", checks);
  return 0;
}
