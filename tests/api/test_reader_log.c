/*
 * The reader log of strict AUTO (src/deps/readlog.h): readers of caller
 * memory are appended to a per-allocation log, pruned lazily; writers walk
 * it, and an allocation with many live readers at a write is moved to the
 * indexed reader map.  Randomized programs stress exactly that:
 *
 *  - bursts of readers of one allocation (a few, around the indexing
 *    threshold, and thousands: the log grows, is compacted, is indexed),
 *    then writers (INOUT and OUTPUT_EXISTING) of overlapping and disjoint
 *    regions (row ranges, column halves), over two allocations;
 *  - in nested strict scopes, small rings (they wrap many times), slow
 *    readers (so many are in flight when a writer comes), 1 or 3 workers.
 *
 * Every kernel first checks that every earlier task of the program whose
 * region conflicts with its own (overlapping elements, one of the two
 * writes) has finished: a missed write-after-read edge fails there whatever
 * the timing.  The final memory must then match the program run
 * sequentially, bit for bit.
 *
 * Usage: test_reader_log [programs per configuration] [seed]
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pto2/pto2.h"
#include "test.h"

enum { ROWS = 64, COLS = 8, NALLOC = 2, MAX_TASKS = 6000, SCOPE_MAX = 24 };

typedef struct op {
  uint8_t alloc, kind; /* pto2_arg_kind: INPUT, INOUT or OUTPUT_EXISTING */
  uint8_t r0, nr, c0, nc;
  uint8_t slow;
  uint8_t depth; /* scope depth to submit at: 1..3 */
  uint32_t conf_first, conf_count; /* earlier conflicting tasks, in conf[] */
} op;

static op ops[MAX_TASKS];
static uint32_t nops;
static uint32_t *conf;
static uint64_t conf_len, conf_cap;
static atomic_int done[MAX_TASKS];
static atomic_int bad_task; /* first task that started before a conflicting one finished, + 1 */

static int32_t A[NALLOC][ROWS * COLS], OUT[MAX_TASKS][COLS];
static int32_t refA[NALLOC][ROWS * COLS], refOUT[MAX_TASKS][COLS];

static uint32_t rnd(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return (uint32_t)(*s >> 11);
}

static inline uint32_t mix(uint32_t h, uint32_t v) {
  h ^= v + 0x9e3779b9u + (h << 6) + (h >> 2);
  return h * 0x85ebca6bu;
}

static bool overlaps(const op *a, const op *b) {
  return a->alloc == b->alloc && a->r0 < b->r0 + b->nr && b->r0 < a->r0 + a->nr &&
         a->c0 < b->c0 + b->nc && b->c0 < a->c0 + a->nc;
}

static void push_conf(uint32_t j) {
  if (conf_len == conf_cap) {
    conf_cap = conf_cap ? 2 * conf_cap : 4096;
    conf = realloc(conf, conf_cap * sizeof *conf);
    ASSERT_TRUE(conf != 0);
  }
  conf[conf_len++] = j;
}

static void random_region(uint64_t *s, op *o, uint32_t hot) {
  o->alloc = (uint8_t)(rnd(s) % 4 == 0 ? 1 - hot : hot);
  o->nr = (uint8_t)(1 + rnd(s) % (rnd(s) % 4 == 0 ? ROWS : 8));
  o->r0 = (uint8_t)(rnd(s) % (ROWS - o->nr + 1));
  switch (rnd(s) % 3) { /* whole rows, or a column half (disjoint from the other half) */
  case 0: o->c0 = 0, o->nc = COLS; break;
  case 1: o->c0 = 0, o->nc = COLS / 2; break;
  default: o->c0 = COLS / 2, o->nc = COLS / 2; break;
  }
}

/* Bursts of readers, then a few writers; conflict lists by brute force. */
static void generate(uint64_t *s, uint32_t max_tasks) {
  nops = 0;
  conf_len = 0;
  while (nops < max_tasks) {
    uint32_t hot = rnd(s) % NALLOC, burst;
    switch (rnd(s) % 4) {
    case 0: burst = 1 + rnd(s) % 8; break;
    case 1: burst = 48 + rnd(s) % 96; break; /* around the indexing threshold */
    case 2: burst = 300 + rnd(s) % 400; break;
    default: burst = rnd(s) % 8 == 0 ? 2000 + rnd(s) % 1500 : 16 + rnd(s) % 32; break;
    }
    uint32_t writers = 1 + rnd(s) % 4;
    uint8_t depth = (uint8_t)(1 + rnd(s) % 3);
    for (uint32_t k = 0; k < burst + writers && nops < max_tasks; k++) {
      op *o = &ops[nops];
      memset(o, 0, sizeof *o);
      random_region(s, o, hot);
      o->kind = k < burst ? PTO2_ARG_INPUT
                : rnd(s) % 2 ? PTO2_ARG_INOUT
                             : PTO2_ARG_OUTPUT_EXISTING;
      o->slow = o->kind == PTO2_ARG_INPUT && rnd(s) % 4 == 0;
      if (rnd(s) % 16 == 0) depth = (uint8_t)(1 + rnd(s) % 3);
      o->depth = depth;
      o->conf_first = (uint32_t)conf_len;
      for (uint32_t j = 0; j < nops; j++)
        if ((o->kind != PTO2_ARG_INPUT || ops[j].kind != PTO2_ARG_INPUT) && overlaps(o, &ops[j]))
          push_conf(j);
      o->conf_count = (uint32_t)(conf_len - o->conf_first);
      nops++;
    }
  }
}

/* scalars: task index, run for real (1) or sequential reference (0).
 * tensors: the region, then (readers) the task's OUT row. */
static int k_task(const pto2_kernel_ctx *k) {
  uint32_t i = (uint32_t)k->scalars[0];
  const op *o = &ops[i];
  if (k->scalars[1]) {
    for (uint32_t c = 0; c < o->conf_count; c++)
      if (!atomic_load_explicit(&done[conf[o->conf_first + c]], memory_order_acquire)) {
        int expected = 0;
        atomic_compare_exchange_strong(&bad_task, &expected, (int)i + 1);
      }
    if (o->slow) {
      struct timespec ts = {0, 20 * 1000L};
      nanosleep(&ts, 0);
    }
  }
  const pto2_tensor *t = &k->tensors[0];
  uint32_t h = mix(0x1234u, i);
  if (o->kind == PTO2_ARG_INPUT) {
    for (uint32_t r = 0; r < t->shapes[0]; r++)
      for (uint32_t c = 0; c < t->shapes[1]; c++)
        h = mix(h, (uint32_t)((int32_t *)t->data)[r * pto2_tensor_stride(t, 0) + c]);
    int32_t *out = k->tensors[1].data;
    for (uint32_t c = 0; c < COLS; c++) out[c] = (int32_t)mix(h, c);
  } else {
    for (uint32_t r = 0; r < t->shapes[0]; r++)
      for (uint32_t c = 0; c < t->shapes[1]; c++) {
        int32_t *e = &((int32_t *)t->data)[r * pto2_tensor_stride(t, 0) + c];
        uint32_t old = o->kind == PTO2_ARG_INOUT ? (uint32_t)*e : 0;
        *e = (int32_t)mix(mix(h, old), r * 31 + c);
      }
  }
  if (k->scalars[1]) atomic_store_explicit(&done[i], 1, memory_order_release);
  return 0;
}

static void views(const op *o, int32_t (*a)[ROWS * COLS], int32_t (*out)[COLS], uint32_t i,
                  pto2_tensor *region, pto2_tensor *row) {
  const uint32_t s[2] = {ROWS, COLS}, so[2] = {1, COLS};
  pto2_tensor whole = pto2_tensor_external(a[o->alloc], s, 2, PTO2_INT32);
  *region = pto2_tensor_view2(&whole, o->nr, o->nc, o->r0, o->c0);
  *row = pto2_tensor_external(out[i], so, 2, PTO2_INT32);
}

static void submit_op(pto2_runtime *rt, uint32_t i) {
  const op *o = &ops[i];
  pto2_tensor region, row;
  views(o, A, OUT, i, &region, &row);
  pto2_arg a;
  pto2_arg_init(&a);
  if (o->kind == PTO2_ARG_INPUT) {
    pto2_arg_add_input(&a, &region);
    pto2_arg_add_output_existing(&a, &row);
  } else if (o->kind == PTO2_ARG_INOUT) {
    pto2_arg_add_inout(&a, &region);
  } else {
    pto2_arg_add_output_existing(&a, &region);
  }
  pto2_arg_add_scalar(&a, i);
  pto2_arg_add_scalar(&a, 1);
  pto2_submit_aiv(rt, 0, &a);
}

/* Opens strict scopes down to each task's depth; a scope holds at most
 * SCOPE_MAX tasks, so small rings can retire behind it. */
static void orch(pto2_runtime *rt, void *arg) {
  (void)arg;
  uint32_t depth = 0, in_scope[4] = {0};
  for (uint32_t i = 0; i < nops && !pto2_is_fatal(rt); i++) {
    uint32_t want = ops[i].depth;
    while (depth > want || (depth && in_scope[depth] >= SCOPE_MAX)) {
      pto2_scope_end(rt);
      depth--;
    }
    while (depth < want) {
      pto2_scope_begin(rt, PTO2_SCOPE_AUTO_STRICT);
      in_scope[++depth] = 0;
    }
    submit_op(rt, i);
    in_scope[depth]++;
  }
  while (depth--) pto2_scope_end(rt);
}

static void reference(void) {
  for (uint32_t i = 0; i < nops; i++) {
    pto2_tensor t[2];
    views(&ops[i], refA, refOUT, i, &t[0], &t[1]);
    uint64_t sc[2] = {i, 0};
    pto2_kernel_ctx k = {.tensors = t, .scalars = sc, .tensor_count = 2, .scalar_count = 2};
    k_task(&k);
  }
}

int main(int argc, char **argv) {
  const char *scale = getenv("PTO2_TEST_SCALE");
  bool small = scale && !strcmp(scale, "small");
  uint32_t programs = argc > 1 ? (uint32_t)atoi(argv[1]) : small ? 2 : 4;
  uint64_t seed = argc > 2 ? strtoull(argv[2], 0, 0) : (uint64_t)time(0);
  uint32_t max_tasks = small ? 2500 : MAX_TASKS;
  printf("test_reader_log: seed %llu (rerun: test_reader_log %u %llu)\n",
         (unsigned long long)seed, programs, (unsigned long long)seed);
  static const uint32_t workers[] = {1, 3};
  static const uint32_t windows[] = {64, 256};
  uint64_t total = 0;
  for (unsigned w = 0; w < 2; w++)
    for (unsigned win = 0; win < 2; win++) {
      pto2_config cfg = {0};
      cfg.block_dim = 2;
      cfg.worker_threads = workers[w];
      cfg.task_window = windows[win];
      cfg.log_level = PTO2_LOG_SILENT;
      pto2_runtime *rt;
      ASSERT_EQ_INT(pto2_runtime_create(&cfg, &rt), 0);
      ASSERT_EQ_INT(pto2_kernel_register(rt, 0, PTO2_CORE_AIV, "task", k_task, 0), 0);
      for (uint32_t p = 0; p < programs; p++) {
        uint64_t s = seed * 1000003u + (uint64_t)(w * 2 + win) * 7919u + p + 1;
        generate(&s, max_tasks);
        for (unsigned a = 0; a < NALLOC; a++)
          for (uint32_t e = 0; e < ROWS * COLS; e++) A[a][e] = refA[a][e] = (int32_t)(a * 100003u + e);
        memset(OUT, 0, sizeof OUT);
        memset(refOUT, 0, sizeof refOUT);
        for (uint32_t i = 0; i < nops; i++) atomic_store(&done[i], 0);
        atomic_store(&bad_task, 0);
        int rc = pto2_run(rt, orch, 0, 0);
        if (rc) TEST_FAIL("program %u (workers %u, window %u): %s", p, workers[w], windows[win],
                          pto2_error_message(rt));
        int bad = atomic_load(&bad_task);
        if (bad)
          TEST_FAIL("program %u (workers %u, window %u): task %d (%s) started before an earlier "
                    "conflicting task finished",
                    p, workers[w], windows[win], bad - 1,
                    ops[bad - 1].kind == PTO2_ARG_INPUT ? "reader" : "writer");
        reference();
        ASSERT_TRUE(memcmp(A, refA, sizeof A) == 0);
        ASSERT_TRUE(memcmp(OUT, refOUT, sizeof(OUT[0]) * nops) == 0);
        total += nops;
      }
      pto2_runtime_destroy(rt);
    }
  free(conf);
  printf("  %llu tasks in %u programs x 4 configurations: no task started early, sequential "
         "result\n",
         (unsigned long long)total, programs);
  TEST_PASS("test_reader_log");
}
