/*
 * The dependency-graph dump of paged attention, checked against the
 * structure of the orchestrations (pa_orch.c), not against the dump: for
 * Small1 and VarSeq4, both scenes and every lane, the recorded edges with
 * their reasons equal the edges each chain must have:
 *
 *   per step (block, or group of blocks) of a chain hub, QK, SF, PV, UP:
 *     auto (A, C)    QK->SF, SF->PV, SF->UP, PV->UP, hub->UP by creator;
 *                    previous UP->UP by TensorMap (every step but the first)
 *     manual, base (B) and graph (E, F)
 *                    QK->SF, SF->PV, SF->UP, PV->UP and previous UP (or the
 *                    hub)->UP by pto2_add_dependency
 *     manual, unroll (D)
 *                    QK->SF, SF->PV, SF->UP, PV->UP by pto2_add_dependency;
 *                    hub->UP by creator, previous UP->UP by TensorMap
 *
 * and the counts equal the runtime's.  Statistics add up: per-kernel calls
 * sum to the tasks, kernel time per core and in all fits in the elapsed
 * time, the critical path is no longer than the run.  The JSON dump is
 * valid, its counts equal the runtime's; the DOT dump has one arrow per edge
 * and hold.
 */
#include <stdlib.h>
#include <string.h>

#include "json_check.h"
#include "pa_orch.h"
#include "test.h"

typedef struct edge {
  uint64_t from, to;
  uint32_t why;
} edge;

static int cmp_edge(const void *a, const void *b) {
  const edge *x = a, *y = b;
  if (x->from != y->from) return x->from < y->from ? -1 : 1;
  if (x->to != y->to) return x->to < y->to ? -1 : 1;
  return x->why < y->why ? -1 : x->why > y->why;
}

static int kernel_of(const pto2_graph_task *t) {
  return t->kernel[0] != PTO2_NO_KERNEL ? t->kernel[0] : t->kernel[1];
}

static edge *expected_edges(pto2_runtime *rt, pa_scene scene, pa_lane lane, size_t *n) {
  size_t ntasks = pto2_graph_task_count(rt);
  edge *e = malloc((6 * ntasks + 1) * sizeof *e);
  ASSERT_TRUE(e != NULL);
  const uint32_t ADD = PTO2_EDGE_ADD_DEPENDENCY, CREATOR = PTO2_EDGE_CREATOR,
                 TMAP = PTO2_EDGE_TENSORMAP;
  bool explicit_chain = lane == PA_LANE_GRAPH || (lane == PA_LANE_MANUAL && scene == PA_SCENE_BASE);
  uint32_t inner = lane == PA_LANE_AUTO ? CREATOR : ADD; /* QK->SF, SF->PV, SF->UP, PV->UP */
  size_t k = 0;
  uint64_t hub = 0, prev = 0;
  bool first_step = true;
  for (size_t i = 0; i < ntasks;) {
    pto2_graph_task t[4];
    ASSERT_EQ_INT(pto2_graph_task_get(rt, i, &t[0]), 0);
    if (kernel_of(&t[0]) == PA_K_AIV_HUB) {
      hub = prev = t[0].id.raw;
      first_step = true;
      i++;
      continue;
    }
    ASSERT_TRUE(i + 4 <= ntasks);
    for (int j = 0; j < 4; j++) ASSERT_EQ_INT(pto2_graph_task_get(rt, i + j, &t[j]), 0);
    int base = scene == PA_SCENE_UNROLL ? PA_K_QK_UNROLL : PA_K_QK;
    ASSERT_EQ_INT(kernel_of(&t[0]), base);
    ASSERT_EQ_INT(kernel_of(&t[1]), base + 1);
    ASSERT_EQ_INT(kernel_of(&t[2]), base + 2);
    ASSERT_EQ_INT(kernel_of(&t[3]), PA_K_UP);
    uint64_t qk = t[0].id.raw, sf = t[1].id.raw, pv = t[2].id.raw, up = t[3].id.raw;
    e[k++] = (edge){qk, sf, inner};
    e[k++] = (edge){sf, pv, inner};
    e[k++] = (edge){sf, up, inner};
    e[k++] = (edge){pv, up, inner};
    if (explicit_chain) {
      e[k++] = (edge){prev, up, ADD};
    } else {
      e[k++] = (edge){hub, up, CREATOR};
      if (!first_step) e[k++] = (edge){prev, up, TMAP};
    }
    prev = up;
    first_step = false;
    i += 4;
  }
  *n = k;
  return e;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  ASSERT_TRUE(f != NULL);
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)len + 1);
  ASSERT_TRUE(s != NULL);
  s[fread(s, 1, (size_t)len, f)] = 0;
  fclose(f);
  return s;
}

static uint64_t sum_field(const char *text, const char *field) {
  uint64_t sum = 0;
  for (const char *p = text; (p = strstr(p, field)); p += strlen(field))
    sum += strtoull(p + strlen(field), 0, 10);
  return sum;
}

static int count(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, needle)); p++) n++;
  return n;
}

static void check_run(pto2_runtime *rt, const pa_case *c, pa_scene scene, pa_lane lane) {
  pa_inputs *in;
  ASSERT_EQ_INT(pa_inputs_create(c, PA_SEED_DEFAULT, &in), 0);
  pa_job job = {in, scene, lane, 0};
  pto2_run_stats st;
  if (pto2_run(rt, pa_orchestrate, &job, &st))
    TEST_FAIL("%s %s %s: %s", c->name, pa_scene_name(scene), pa_lane_name(lane),
              pto2_error_message(rt));
  ASSERT_EQ_U64(pto2_trace_dropped(rt), 0);
  ASSERT_EQ_U64(pto2_graph_task_count(rt), st.tasks);
  ASSERT_EQ_U64(pto2_graph_edge_count(rt), st.edges);
  ASSERT_EQ_U64(st.tasks, pa_expected_tasks(c, scene));

  size_t n;
  edge *want = expected_edges(rt, scene, lane, &n);
  ASSERT_EQ_U64(n, st.edges);
  edge *got = malloc((n + 1) * sizeof *got);
  ASSERT_TRUE(got != NULL);
  for (size_t i = 0; i < n; i++) {
    pto2_graph_edge g;
    ASSERT_EQ_INT(pto2_graph_edge_get(rt, i, &g), 0);
    got[i] = (edge){g.producer.raw, g.consumer.raw, g.reasons};
  }
  qsort(want, n, sizeof *want, cmp_edge);
  qsort(got, n, sizeof *got, cmp_edge);
  for (size_t i = 0; i < n; i++)
    if (cmp_edge(&want[i], &got[i]))
      TEST_FAIL("%s %s %s: edge %zu: want %llx->%llx (%u), got %llx->%llx (%u)", c->name,
                pa_scene_name(scene), pa_lane_name(lane), i, (unsigned long long)want[i].from,
                (unsigned long long)want[i].to, want[i].why, (unsigned long long)got[i].from,
                (unsigned long long)got[i].to, got[i].why);
  ASSERT_EQ_INT(pto2_graph_edge_get(rt, n, &(pto2_graph_edge){0}), PTO2_E_INVALID_ARGS);

  /* Every task ran after it was submitted and became ready. */
  for (size_t i = 0; i < st.tasks; i++) {
    pto2_graph_task t;
    ASSERT_EQ_INT(pto2_graph_task_get(rt, i, &t), 0);
    ASSERT_TRUE(t.ready_ns > 0 && t.start_ns >= t.ready_ns && t.end_ns >= t.start_ns);
    ASSERT_TRUE(t.ready_ns >= t.submit_ns);
  }

  /* Statistics add up. */
  pto2_config eff;
  pto2_runtime_get_config(rt, &eff);
  uint32_t cores = 3 * eff.block_dim;
  ASSERT_TRUE(st.busy_ns <= st.elapsed_ns * cores);
  ASSERT_TRUE(st.critical_path_ns > 0 && st.critical_path_ns <= st.elapsed_ns);
  uint64_t reasons = 0;
  for (int b = 0; b < PTO2_EDGE_REASON_COUNT; b++) reasons += st.edges_by_reason[b];
  ASSERT_EQ_U64(reasons, st.edges); /* one reason per edge in paged attention */

  const char *path = "test_pa_graph.json";
  ASSERT_EQ_INT(pto2_graph_write(rt, path), 0);
  char *text = slurp(path);
  ASSERT_TRUE(json_valid(text));
  char want_counts[128];
  snprintf(want_counts, sizeof want_counts, "\"run\":{\"tasks\":%llu,\"edges\":%llu,",
           (unsigned long long)st.tasks, (unsigned long long)st.edges);
  ASSERT_EQ_INT(count(text, want_counts), 1);
  ASSERT_EQ_U64(sum_field(text, "\"calls\":"), st.tasks);
  ASSERT_EQ_INT(count(text, "\"from\":"), (int)st.edges);
  const char *busy = strstr(text, "\"core_busy_ns\":[");
  ASSERT_TRUE(busy != NULL);
  uint64_t total = 0;
  for (const char *p = busy + 16; *p != ']';) {
    char *end;
    uint64_t v = strtoull(p, &end, 10);
    ASSERT_TRUE(v <= st.elapsed_ns);
    total += v;
    p = *end == ',' ? end + 1 : end;
  }
  ASSERT_EQ_U64(total, st.busy_ns);
  free(text);
  remove(path);

  path = "test_pa_graph.dot";
  ASSERT_EQ_INT(pto2_graph_write_dot(rt, path, 0), 0);
  text = slurp(path);
  ASSERT_EQ_INT(count(text, " -> "), (int)(st.edges + pto2_graph_hold_count(rt)));
  free(text);
  remove(path);
  ASSERT_EQ_INT(pto2_graph_write_dot(rt, path, 2), PTO2_E_INVALID_ARGS); /* too large */

  free(want);
  free(got);
  pa_inputs_destroy(in);
}

int main(void) {
  pto2_config cfg = {0};
  cfg.log_level = PTO2_LOG_ERROR;
  cfg.block_dim = 4;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&cfg, &rt), 0);
  ASSERT_EQ_INT(pa_kernels_register(rt, false), 0);
  ASSERT_EQ_U64(pto2_graph_task_count(rt), 0);
  ASSERT_EQ_INT(pto2_graph_write(rt, "never.json"), PTO2_E_INVALID_ARGS);
  ASSERT_EQ_INT(pto2_trace_enable(rt, 1u << 16), 0);
  int runs = 0;
  const char *names[] = {"Small1", "VarSeq4"};
  for (int i = 0; i < 2; i++)
    for (int s = 0; s < PA_SCENE_COUNT; s++)
      for (int l = 0; l < PA_LANE_COUNT; l++, runs++)
        check_run(rt, pa_case_find(names[i]), (pa_scene)s, (pa_lane)l);
  pto2_runtime_destroy(rt);
  printf("test_pa_graph: %d runs checked\n", runs);
  return 0;
}
