/*
 * The payload window (ring/ring.h, R4): a task's arguments live in a
 * payload taken from a window smaller than the task window.
 *  - a long run of small scopes cycles through at most the initial payload
 *    window's payloads, not one per task slot;
 *  - one scope holding more tasks than the payload window (AUTO, MANUAL
 *    and GRAPH; with and without a worker thread; run twice) makes the
 *    window grow: every task runs once and sees its own arguments, while
 *    the tasks that took payloads from the older blocks are still alive;
 *  - a growth whose allocation fails fails the run with PTO2_E_NO_MEMORY
 *    and a message, and the runtime runs the same program afterwards.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pto2/pto2.h"
#include "ring/ring.h"
#include "test.h"

enum { K_CHECK = 0 };
enum { BIG = 3000, LONG = 20000, SCOPE = 4 };

static int32_t out[LONG];
static const void *seen[LONG];
static atomic_int runs, bad;

static uint64_t magic(uint64_t n) { return n * 2654435761u ^ 0x5a5au; }

/* Task n: scalars {n, magic(n)}, tensor 0 a one-element view at n. */
static int check(const pto2_kernel_ctx *k) {
  uint64_t n = k->scalars[0];
  atomic_fetch_add(&runs, 1);
  if (n >= LONG || k->scalars[1] != magic(n) || k->tensor_count != 1 ||
      (int32_t *)k->tensors[0].data != &out[n]) {
    atomic_fetch_add(&bad, 1);
    return 0;
  }
  seen[n] = k->tensors;
  out[n]++;
  return 0;
}

static pto2_task_id submit_one(pto2_runtime *rt, pto2_scope_mode mode, const pto2_tensor *all,
                               uint32_t n) {
  const uint32_t shape[1] = {1}, off[1] = {n};
  pto2_tensor v = pto2_tensor_view(all, shape, off);
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_inout(&a, &v);
  pto2_arg_add_scalar(&a, n);
  pto2_arg_add_scalar(&a, magic(n));
  return mode == PTO2_SCOPE_MANUAL ? pto2_submit_aiv_manual(rt, K_CHECK, &a)
                                   : pto2_submit_aiv(rt, K_CHECK, &a);
}

typedef struct scene {
  pto2_scope_mode mode;
  uint32_t tasks, scope; /* tasks per scope */
} scene;

static void orch(pto2_runtime *rt, void *arg) {
  const scene *s = arg;
  const uint32_t shape[1] = {LONG};
  pto2_tensor all = pto2_tensor_external(out, shape, 1, PTO2_INT32);
  for (uint32_t n = 0; n < s->tasks; n++) {
    if (n % s->scope == 0 && pto2_scope_begin(rt, s->mode) != 0) return;
    if (!pto2_task_id_is_valid(submit_one(rt, s->mode, &all, n))) return;
    if ((n % s->scope == s->scope - 1 || n == s->tasks - 1) && pto2_scope_end(rt) != 0) return;
  }
}

static void reset(void) {
  memset(out, 0, sizeof out);
  memset(seen, 0, sizeof seen);
  atomic_store(&runs, 0);
  atomic_store(&bad, 0);
}

static void run_ok(pto2_runtime *rt, scene s, const char *what) {
  reset();
  pto2_run_stats st;
  int rc = pto2_run(rt, orch, &s, &st);
  if (rc) TEST_FAIL("%s: %s", what, pto2_error_message(rt));
  ASSERT_EQ_INT(atomic_load(&runs), s.tasks);
  ASSERT_EQ_INT(atomic_load(&bad), 0);
  for (uint32_t n = 0; n < s.tasks; n++)
    if (out[n] != 1) TEST_FAIL("%s: task %u ran %d times", what, n, out[n]);
}

static size_t distinct(uint32_t count) {
  const void **v = malloc(count * sizeof *v);
  ASSERT_TRUE(v != 0);
  memcpy(v, seen, count * sizeof *v);
  size_t d = 0;
  /* Few distinct values: a linear set is enough. */
  for (uint32_t i = 0; i < count; i++) {
    size_t j = 0;
    while (j < d && v[j] != v[i]) j++;
    if (j == d) v[d++] = v[i];
  }
  free(v);
  return d;
}

/* An allocator that refuses blocks of 1 MiB or more while `refuse` is set. */
static atomic_bool refuse;
static void *try_malloc(size_t n, void *u) {
  (void)u;
  return atomic_load(&refuse) && n >= (1u << 20) ? 0 : malloc(n);
}
static void *try_realloc(void *p, size_t n, void *u) {
  (void)u;
  return atomic_load(&refuse) && n >= (1u << 20) ? 0 : realloc(p, n);
}
static void try_free(void *p, void *u) {
  (void)u;
  free(p);
}

static pto2_runtime *create(uint32_t workers) {
  pto2_config c = {0};
  c.worker_threads = workers;
  c.block_dim = 4;
  c.log_level = PTO2_LOG_SILENT;
  c.allocator = (pto2_allocator){try_malloc, try_realloc, try_free, 0};
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  pto2_config in;
  pto2_runtime_get_config(rt, &in);
  if (in.task_window < 4 * PTO2__PAYLOAD_WINDOW) {
    /* PTO2_RING_TASK_WINDOW in the environment: the window cannot grow. */
    pto2_runtime_destroy(rt);
    exit(TEST_SKIP_CODE);
  }
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_CHECK, PTO2_CORE_AIV, "check", check, 0), 0);
  return rt;
}

int main(void) {
  const uint32_t workers[] = {1, PTO2_WORKERS_NONE};
  const pto2_scope_mode modes[] = {PTO2_SCOPE_AUTO, PTO2_SCOPE_MANUAL, PTO2_SCOPE_GRAPH};
  for (unsigned w = 0; w < 2; w++) {
    pto2_runtime *rt = create(workers[w]);

    /* Small scopes: the payloads in use stay within the first window. */
    run_ok(rt, (scene){PTO2_SCOPE_AUTO, LONG, SCOPE}, "small scopes");
    size_t d = distinct(LONG);
    if (d > PTO2__PAYLOAD_WINDOW)
      TEST_FAIL("%u tasks in scopes of %u used %zu payloads (window %u)", (unsigned)LONG,
                (unsigned)SCOPE, d, (unsigned)PTO2__PAYLOAD_WINDOW);

    /* One scope of BIG tasks: the window grows while they are alive. */
    for (unsigned m = 0; m < 3; m++)
      for (int again = 0; again < 2; again++) {
        run_ok(rt, (scene){modes[m], BIG, BIG}, "one big scope");
        if (distinct(BIG) != BIG) TEST_FAIL("live tasks shared a payload");
      }
    pto2_runtime_destroy(rt);

    /* A growth that cannot allocate fails the run, which says why. */
    rt = create(workers[w]);
    atomic_store(&refuse, true);
    reset();
    pto2_run_stats st;
    scene big = {PTO2_SCOPE_GRAPH, BIG, BIG};
    ASSERT_EQ_INT(pto2_run(rt, orch, &big, &st), PTO2_E_NO_MEMORY);
    ASSERT_STR_CONTAINS(pto2_error_message(rt), "payloads");
    atomic_store(&refuse, false);
    run_ok(rt, big, "after a failed growth");
    pto2_runtime_destroy(rt);
  }
  TEST_PASS("test_payload_window");
}
