/*
 * Tracing: a traced run writes valid Chrome trace-event JSON with one
 * complete event per kernel invocation on the core that ran it (a mixed
 * task gives one per lane, an SPMD task one per block) and the same on its
 * executor thread's lane; a named orchestrator lane with one span per scope
 * and per submit; the task's facts as args; one flow arrow (start and end)
 * per dependency edge; counters.  Truncation is never silent: the API
 * returns the dropped count and the file states it; the flow limit is
 * stated too.  The trace and the graph of one run carry the same non-empty
 * run_id, another run's differs.  A run after pto2_trace_disable() records
 * nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_check.h"
#include "pto2/pto2.h"
#include "test.h"

static int noop(const pto2_kernel_ctx *k) {
  (void)k;
  return 0;
}

static float ext[64];

/* 9 single tasks and 8 edges (3 creator, 2 TensorMap, 3 explicit), then a
 * mixed task (3 lanes) and an SPMD task (4 blocks). */
static void program(pto2_runtime *rt, void *arg) {
  bool extras = arg != 0;
  const uint32_t shape[1] = {64};
  pto2_tensor x = pto2_tensor_external(ext, shape, 1, PTO2_FLOAT32);
  pto2_create_info ci = pto2_create_info_make(shape, 1, PTO2_FLOAT32);
  PTO2_SCOPE(rt, PTO2_SCOPE_AUTO) {
    pto2_scope_label(rt, "first");
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_output(&a, &ci);
    pto2_submit_aiv(rt, 1, &a); /* t0 */
    pto2_tensor y = *pto2_arg_output(&a, 0);
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &y);
    pto2_arg_add_inout(&a, &x);
    pto2_submit_aiv(rt, 1, &a); /* t1: creator t0 */
    pto2_arg_init(&a);
    pto2_arg_add_inout(&a, &x);
    pto2_submit_aiv(rt, 1, &a); /* t2: TensorMap t1 */
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &x);
    pto2_arg_add_input(&a, &y);
    pto2_submit_aiv(rt, 1, &a); /* t3: TensorMap t2, creator t0 */
    pto2_arg_init(&a);
    pto2_arg_add_input(&a, &y);
    pto2_submit_aiv(rt, 1, &a); /* t4: creator t0 */
  }
  PTO2_SCOPE(rt, PTO2_SCOPE_GRAPH) {
    pto2_task_id t[4];
    for (int i = 0; i < 4; i++) {
      pto2_arg a;
      pto2_arg_init(&a);
      t[i] = pto2_submit_aiv(rt, 1, &a);
    }
    pto2_add_dependency(rt, t[0], t[1]);
    pto2_add_dependency(rt, t[1], t[2]);
    pto2_add_dependency(rt, t[0], t[3]);
  }
  if (!extras) return;
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_mixed_kernels mk = {0, 1, 1};
  pto2_submit_task(rt, mk, &a); /* 3 lanes */
  pto2_arg_init(&a);
  pto2_arg_set_block_num(&a, 4);
  pto2_submit_aic(rt, 0, &a); /* 4 blocks */
}

static char *text;

static size_t read_file(const char *path) {
  FILE *f = fopen(path, "r");
  ASSERT_TRUE(f != NULL);
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  free(text);
  text = malloc((size_t)len + 1);
  ASSERT_TRUE(text != NULL);
  size_t n = fread(text, 1, (size_t)len, f);
  fclose(f);
  text[n] = 0;
  return n;
}

static int count(const char *needle) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, needle)); p++) n++;
  return n;
}

/* The "run_id" of the file read last. */
static void run_id_of_text(char id[64]) {
  const char *p = strstr(text, "\"run_id\":\"");
  ASSERT_TRUE(p != NULL);
  p += strlen("\"run_id\":\"");
  size_t n = strcspn(p, "\"");
  ASSERT_TRUE(n > 0 && n < 64);
  memcpy(id, p, n);
  id[n] = 0;
}

int main(void) {
  pto2_config c = {0};
  c.block_dim = 4;
  c.log_level = PTO2_LOG_ERROR;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 0, PTO2_CORE_AIC, "cube_op", noop, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, 1, PTO2_CORE_AIV, "vec_op", noop, 0), 0);
  const char *path = "test_trace.json";

  ASSERT_EQ_INT(pto2_trace_write(rt, path), PTO2_E_INVALID_ARGS); /* not enabled */
  ASSERT_EQ_INT(pto2_trace_enable(rt, 0), PTO2_E_INVALID_ARGS);
  ASSERT_EQ_INT(pto2_trace_enable(rt, 1000), 0);

  /* Single-lane, single-block tasks: one complete event per task. */
  pto2_run_stats st;
  ASSERT_EQ_INT(pto2_run(rt, program, 0, &st), 0);
  ASSERT_EQ_U64(st.tasks, 9);
  ASSERT_EQ_U64(st.edges, 8);
  ASSERT_EQ_INT(pto2_trace_write(rt, path), 0);
  read_file(path);
  ASSERT_TRUE(json_valid(text));
  ASSERT_EQ_INT(count("\"cat\":\"kernel\""), (int)st.tasks);
  ASSERT_EQ_INT(count("\"cat\":\"executor\""), (int)st.tasks);
  ASSERT_EQ_INT(count("\"ph\":\"s\""), (int)st.edges);
  ASSERT_EQ_INT(count("\"ph\":\"f\""), (int)st.edges);
  ASSERT_EQ_INT(count("\"cat\":\"submit\""), (int)st.tasks);
  ASSERT_EQ_INT(count("\"cat\":\"scope\""), 2);
  ASSERT_EQ_INT(count("\"name\":\"scope AUTO first\""), 1);
  ASSERT_EQ_INT(count("\"name\":\"scope GRAPH\""), 1);
  ASSERT_EQ_INT(count("\"tid\":0,\"args\":{\"name\":\"orchestrator\"}"), 1);
  ASSERT_EQ_INT(count("\"name\":\"executor 0 (caller of pto2_run)\""), 1);
  ASSERT_EQ_INT(count("\"name\":\"AIV 3.1\""), 1); /* core names: 4 clusters */
  ASSERT_EQ_INT(count("\"ready_us\":"), (int)st.tasks);
  ASSERT_EQ_INT(count("\"mode\":\"GRAPH\""), 4);
  ASSERT_EQ_INT(count("\"producers\":[]"), 2); /* t0 and the first GRAPH task */
  ASSERT_TRUE(count("\"name\":\"ready queue\"") >= 1);
  ASSERT_EQ_INT(count("\"dropped_total\":0,"), 1);
  ASSERT_EQ_INT(count("TRUNCATED"), 0);
  ASSERT_EQ_U64(pto2_trace_dropped(rt), 0);
  ASSERT_EQ_U64(st.trace_dropped, 0);
  ASSERT_EQ_U64(st.edges_by_reason[0], 3); /* creator */
  ASSERT_EQ_U64(st.edges_by_reason[1], 2); /* TensorMap */
  ASSERT_EQ_U64(st.edges_by_reason[3], 3); /* pto2_add_dependency */

  /* One run id in the trace and the graph of a run; another run's differs. */
  char trace_id[64], graph_id[64], next_id[64];
  run_id_of_text(trace_id);
  ASSERT_EQ_INT(pto2_graph_write(rt, "test_trace_graph.json"), 0);
  read_file("test_trace_graph.json");
  ASSERT_TRUE(json_valid(text));
  run_id_of_text(graph_id);
  remove("test_trace_graph.json");
  ASSERT_STR_CONTAINS(trace_id, graph_id);
  ASSERT_EQ_U64(strlen(trace_id), strlen(graph_id));

  /* Mixed and SPMD tasks: one event per lane and per block. */
  ASSERT_EQ_INT(pto2_run(rt, program, rt, &st), 0);
  ASSERT_EQ_INT(pto2_trace_write(rt, path), 0);
  read_file(path);
  ASSERT_TRUE(json_valid(text));
  ASSERT_EQ_INT(count("\"cat\":\"kernel\""), 9 + 3 + 4);
  ASSERT_EQ_INT(count("\"block\":3"), 1);
  run_id_of_text(next_id);
  ASSERT_TRUE(strcmp(next_id, trace_id) != 0);

  /* The flow limit: one arrow, the others counted as omitted. */
  pto2_trace_options opt = {0};
  opt.max_flows = 1;
  ASSERT_EQ_INT(pto2_trace_enable_opts(rt, &opt), 0);
  ASSERT_EQ_INT(pto2_run(rt, program, 0, &st), 0);
  ASSERT_EQ_INT(pto2_trace_write(rt, path), 0);
  read_file(path);
  ASSERT_TRUE(json_valid(text));
  ASSERT_EQ_INT(count("\"ph\":\"s\""), 1);
  ASSERT_EQ_INT(count("\"flows\":1,\"flows_omitted\":7,"), 1);

  /* Truncation: capacity 2 per buffer; the API and the file say how much
   * was dropped, and the file stays valid. */
  ASSERT_EQ_INT(pto2_trace_enable(rt, 2), 0);
  ASSERT_EQ_INT(pto2_run(rt, program, 0, &st), 0);
  uint64_t dropped = pto2_trace_dropped(rt);
  ASSERT_TRUE(dropped > 0);
  ASSERT_EQ_U64(st.trace_dropped, dropped);
  ASSERT_EQ_INT(pto2_trace_write(rt, path), 0);
  read_file(path);
  ASSERT_TRUE(json_valid(text));
  char want[96];
  snprintf(want, sizeof want, "\"dropped_total\":%llu,", (unsigned long long)dropped);
  ASSERT_EQ_INT(count(want), 1);
  ASSERT_EQ_INT(count("\"name\":\"TRUNCATED: "), 1);
  ASSERT_EQ_INT(count("\"tasks\":7,"), 1); /* dropped: 9 submitted, 2 recorded */
  pto2_config eff;
  pto2_runtime_get_config(rt, &eff);
  int kernels = count("\"cat\":\"kernel\"");
  ASSERT_TRUE(kernels >= 2 && kernels <= 2 * (int)(eff.worker_threads + 1));

  pto2_trace_disable(rt);
  ASSERT_EQ_INT(pto2_run(rt, program, 0, &st), 0);
  ASSERT_EQ_U64(pto2_trace_dropped(rt), 0);
  ASSERT_EQ_U64(st.edges_by_reason[0], 0); /* recording only */
  ASSERT_EQ_INT(pto2_trace_write(rt, path), PTO2_E_INVALID_ARGS);
  remove(path);
  free(text);
  pto2_runtime_destroy(rt);
  TEST_PASS("test_trace");
}
