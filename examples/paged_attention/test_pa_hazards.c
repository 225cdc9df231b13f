/*
 * The hazard checker on paged attention.  Every correct orchestration (both
 * scenes, every lane, every case; PTO2_TEST_SCALE=small: the small cases)
 * reports nothing.  The manual lane with one explicit edge left out reports
 * exactly the conflict that edge ordered, or nothing when another path
 * still orders the two tasks.  Kernels are empty: the verdict never depends
 * on what ran when.
 */
#include <stdlib.h>
#include <string.h>

#include "pa_orch.h"
#include "test.h"

static pto2_runtime *make_runtime(void) {
  pto2_config cfg = {0};
  cfg.log_level = PTO2_LOG_SILENT;
  cfg.hazard_check = PTO2_HAZARD_CHECK_FAIL;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&cfg, &rt), 0);
  ASSERT_EQ_INT(pa_kernels_register(rt, true), 0);
  return rt;
}

static void all_clean(pto2_runtime *rt, const pa_case *c) {
  pa_inputs *in;
  ASSERT_EQ_INT(pa_inputs_create(c, PA_SEED_DEFAULT, &in), 0);
  for (int scene = 0; scene < PA_SCENE_COUNT; scene++)
    for (int lane = 0; lane < PA_LANE_COUNT; lane++) {
      pa_job job = {in, (pa_scene)scene, (pa_lane)lane, 0};
      pto2_run_stats st;
      int rc = pto2_run(rt, pa_orchestrate, &job, &st);
      if (rc || pto2_hazard_count(rt))
        TEST_FAIL("%s %s %s: rc %d, %u hazards: %s", c->name, pa_scene_name((pa_scene)scene),
                  pa_lane_name((pa_lane)lane), rc, pto2_hazard_count(rt), pto2_error_message(rt));
      ASSERT_EQ_U64(st.tasks, pa_expected_tasks(c, (pa_scene)scene));
      printf("  %-8s %-23s %-7s %6llu tasks: no hazard\n", c->name,
             pa_scene_name((pa_scene)scene), pa_lane_name((pa_lane)lane),
             (unsigned long long)st.tasks);
    }
  pa_inputs_destroy(in);
}

/* Small1, scene paged_attention, manual lane: the hub, then per block
 * QK -> SF -> PV -> UP with edges (QK,SF) (SF,PV) (SF,UP) (PV,UP) (prev,UP),
 * in that order; task ids follow the submits (hub = 0, block n = 1 + 4n..). */
static void dropped_edges(pto2_runtime *rt) {
  pa_inputs *in;
  ASSERT_EQ_INT(pa_inputs_create(pa_case_find("Small1"), PA_SEED_DEFAULT, &in), 0);
  static const struct {
    uint32_t skip, hazards;
    const char *first, *second;
  } expect[] = {
      {2, 1, "SF", "PV"},      /* PV reads the probabilities SF created */
      {3, 0, 0, 0},            /* SF -> PV -> UP still orders them */
      {4, 1, "PV", "UP"},      /* UP reads PV's partial output */
      {5, 3, "AIV_HUB", "UP"}, /* no UP (3 blocks) is ordered after the hub's initialisation */
      {10, 2, "UP", "UP"},     /* the second and third UP are not ordered after the first */
  };
  for (unsigned i = 0; i < sizeof expect / sizeof expect[0]; i++) {
    pa_job job = {in, PA_SCENE_BASE, PA_LANE_MANUAL, expect[i].skip};
    int rc = pto2_run(rt, pa_orchestrate, &job, 0);
    if (!expect[i].first) {
      ASSERT_EQ_INT(rc, 0);
      ASSERT_EQ_U64(pto2_hazard_count(rt), 0);
      printf("  edge %u left out: still ordered, no hazard\n", expect[i].skip);
      continue;
    }
    ASSERT_EQ_INT(rc, PTO2_E_HAZARD);
    ASSERT_EQ_U64(pto2_hazard_count(rt), expect[i].hazards);
    const pto2_hazard *h = pto2_hazard_get(rt, 0);
    char buf[1024];
    pto2_hazard_format(h, buf, sizeof buf);
    printf("  edge %u left out: %s\n", expect[i].skip, buf);
    ASSERT_EQ_INT(h->kind, PTO2_HAZARD_RAW);
    ASSERT_TRUE(!h->possible);
    ASSERT_TRUE(strcmp(h->first.kernel, expect[i].first) == 0);
    ASSERT_TRUE(strcmp(h->second.kernel, expect[i].second) == 0);
    ASSERT_EQ_INT(h->first.scope_mode, PTO2_SCOPE_MANUAL);
    ASSERT_EQ_INT(h->second.scope_mode, PTO2_SCOPE_MANUAL);
    ASSERT_TRUE(pto2_task_id_local(h->first.task) < pto2_task_id_local(h->second.task));
    ASSERT_EQ_U64(h->owner.raw, expect[i].skip == 10 ? h->owner.raw : h->first.task.raw);
    ASSERT_STR_CONTAINS(h->cause, "one MANUAL scope");
    ASSERT_STR_CONTAINS(pto2_error_message(rt), "missing explicit edge");
  }
  pa_inputs_destroy(in);
}

int main(void) {
  pto2_runtime *rt = make_runtime();
  const char *scale = getenv("PTO2_TEST_SCALE");
  bool small = scale && !strcmp(scale, "small");
  size_t n;
  const pa_case *all = pa_case_all(&n);
  printf("correct orchestrations\n");
  for (size_t i = 0; i < n; i++)
    if (!small || strncmp(all[i].name, "Case", 4) != 0) all_clean(rt, &all[i]);
  printf("manual lane with an edge left out\n");
  dropped_edges(rt);
  pto2_runtime_destroy(rt);
  TEST_PASS("test_pa_hazards");
}
