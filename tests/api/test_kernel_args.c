/*
 * What a kernel sees of its arguments (pto2_kernel_ctx): every field of
 * every tensor argument as submitted (dimensions beyond ndims read as zero)
 * and every scalar, whatever the mix of ranks, for the largest argument
 * list (16 tensors of rank 5 and 128 scalars) and for every lane of a mixed
 * task and every block of an SPMD task, in AUTO, MANUAL and GRAPH scopes,
 * with worker threads and without: what the payload stores and the
 * executor hands to the kernel must be exactly what was submitted.
 *
 * Also: a blocking pto2_set_tensor_data finds an in-flight reader of its
 * tensor when the tensor is not the reader's first argument and the
 * arguments before it have other ranks.
 */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "pto2/pto2.h"
#include "test.h"

enum { K_CHECK_AIC = 0, K_CHECK_AIV = 1, K_SLOW_READ = 2 };
enum { TASKS_MAX = 64 };

/* Expected arguments per task (scalars[0] is the task's index here). */
typedef struct expected {
  unsigned tensor_count, scalar_count;
  pto2_tensor tensors[PTO2_MAX_TENSOR_ARGS];
  uint64_t scalars[PTO2_MAX_SCALAR_ARGS];
  bool created[PTO2_MAX_TENSOR_ARGS]; /* known only after submit: outputs */
} expected;

static expected want[TASKS_MAX];
/* GRAPH and MANUAL scopes start their tasks at the scope's end, after the
 * orchestration filled in the created tensors; an AUTO task may run before
 * its submit returns, so there only the other arguments are compared. */
static bool check_created;
static atomic_int invocations, mismatches;
static char first_mismatch[256];

static bool same_tensor(const pto2_tensor *a, const pto2_tensor *b, const char **what) {
#define SAME(f)                 \
  if (a->f != b->f) {           \
    *what = #f;                 \
    return false;               \
  }
  SAME(addr) SAME(data) SAME(nbytes) SAME(owner.raw) SAME(version) SAME(ndims) SAME(dtype)
  SAME(manual_dep)
  for (unsigned d = 0; d < PTO2_MAX_DIMS; d++) {
    SAME(shapes[d]) SAME(raw_shapes[d]) SAME(offsets[d])
  }
#undef SAME
  return true;
}

static void mismatch(const char *msg) {
  if (atomic_fetch_add(&mismatches, 1) == 0)
    snprintf(first_mismatch, sizeof first_mismatch, "%s", msg);
}

static int check_kernel(const pto2_kernel_ctx *k) {
  atomic_fetch_add(&invocations, 1);
  if (k->scalar_count < 1 || k->scalars[0] >= TASKS_MAX) {
    mismatch("no task index");
    return 0;
  }
  const expected *e = &want[k->scalars[0]];
  char msg[200];
  if (k->tensor_count != e->tensor_count || k->scalar_count != e->scalar_count) {
    snprintf(msg, sizeof msg, "task %u: counts %u/%u, want %u/%u", (unsigned)k->scalars[0],
             k->tensor_count, k->scalar_count, e->tensor_count, e->scalar_count);
    mismatch(msg);
    return 0;
  }
  for (unsigned i = 0; i < e->tensor_count; i++) {
    if (e->created[i] && !check_created) continue;
    const char *what = "";
    if (!same_tensor(&k->tensors[i], &e->tensors[i], &what)) {
      snprintf(msg, sizeof msg, "task %u tensor %u: %s differs", (unsigned)k->scalars[0], i,
               what);
      mismatch(msg);
    }
  }
  for (unsigned i = 0; i < e->scalar_count; i++)
    if (k->scalars[i] != e->scalars[i]) {
      snprintf(msg, sizeof msg, "task %u scalar %u differs", (unsigned)k->scalars[0], i);
      mismatch(msg);
    }
  return 0;
}

static float buf[4096];
static int32_t ibuf[4096];

/* A tensor of rank `rank` over buf (or ibuf), viewed at an offset, with
 * non-default version and manual_dep. */
static pto2_tensor tensor_of_rank(unsigned rank, unsigned salt) {
  static const uint32_t raw[PTO2_MAX_DIMS][PTO2_MAX_DIMS] = {
      {4000}, {50, 80}, {10, 20, 16}, {4, 5, 6, 30}, {2, 3, 4, 5, 16}};
  uint32_t shapes[PTO2_MAX_DIMS], offsets[PTO2_MAX_DIMS];
  for (unsigned d = 0; d < rank; d++) {
    offsets[d] = (salt + d) % 2;
    shapes[d] = raw[rank - 1][d] - offsets[d] - (d % 2);
  }
  pto2_tensor base = salt % 3 == 0
                         ? pto2_tensor_external(ibuf, raw[rank - 1], rank, PTO2_INT32)
                         : pto2_tensor_external(buf, raw[rank - 1], rank, PTO2_FLOAT32);
  ASSERT_TRUE(pto2_tensor_is_valid(&base));
  pto2_tensor v = pto2_tensor_view(&base, shapes, offsets);
  ASSERT_TRUE(pto2_tensor_is_valid(&v));
  v.version = (int32_t)salt;
  v.manual_dep = salt % 2 == 1;
  return v;
}

typedef struct plan {
  pto2_scope_mode mode;
  unsigned tasks;
} plan;

static int32_t kernel_of(unsigned task) { return task % 2 ? K_CHECK_AIV : K_CHECK_AIC; }

static pto2_task_id submit(pto2_runtime *rt, pto2_scope_mode mode, unsigned task, pto2_arg *a) {
  pto2_mixed_kernels mk = {PTO2_NO_KERNEL, PTO2_NO_KERNEL, PTO2_NO_KERNEL};
  if (task % 4 == 3) { /* mixed: every lane sees the arguments */
    mk.aic = K_CHECK_AIC;
    mk.aiv0 = mk.aiv1 = K_CHECK_AIV;
  } else if (kernel_of(task) == K_CHECK_AIC) {
    mk.aic = K_CHECK_AIC;
  } else {
    mk.aiv0 = K_CHECK_AIV;
  }
  return mode == PTO2_SCOPE_MANUAL ? pto2_submit_task_manual(rt, mk, a)
                                   : pto2_submit_task(rt, mk, a);
}

/* Task t's arguments: a mix of ranks and kinds; task 0 the largest list. */
static void args_orch(pto2_runtime *rt, void *arg) {
  const plan *p = arg;
  pto2_tensor keep[TASKS_MAX][PTO2_MAX_TENSOR_ARGS];
  pto2_create_info ci[PTO2_MAX_TENSOR_ARGS];
  pto2_tensor created[8];
  unsigned ncreated = 0;
  PTO2_SCOPE(rt, p->mode) {
    for (unsigned t = 0; t < p->tasks; t++) {
      expected *e = &want[t];
      memset(e, 0, sizeof *e);
      pto2_arg a;
      pto2_arg_init(&a);
      unsigned n = t == 0 ? PTO2_MAX_TENSOR_ARGS : 1 + (t * 7) % PTO2_MAX_TENSOR_ARGS;
      for (unsigned i = 0; i < n; i++) {
        unsigned rank = t == 0 ? PTO2_MAX_DIMS : 1 + (t + i * 3) % PTO2_MAX_DIMS;
        pto2_tensor *x = &keep[t][i];
        if ((t + i) % 5 == 4) { /* an OUTPUT */
          uint32_t shapes[PTO2_MAX_DIMS] = {3, 2, 2, 2, 2};
          ci[i] = pto2_create_info_make(shapes, rank, (t + i) % 2 ? PTO2_BFLOAT16 : PTO2_INT64);
          ci[i].manual_dep = (t + i) % 3 == 0;
          pto2_arg_add_output(&a, &ci[i]);
          e->created[i] = true;
          continue;
        }
        if ((t + i) % 7 == 6 && ncreated) { /* a created tensor, or a view of one */
          *x = created[(t + i) % ncreated];
          if (x->ndims == 2) *x = pto2_tensor_view2(x, 1, 1, 1, 1);
        } else {
          *x = tensor_of_rank(rank, t + i);
        }
        e->tensors[i] = *x;
        if (p->mode == PTO2_SCOPE_AUTO && t % 4 == 0 && i == 1) pto2_arg_add_inout(&a, x);
        else if (i % 4 == 2) pto2_arg_add_no_dep(&a, x);
        else pto2_arg_add_input(&a, x);
      }
      unsigned ns = t == 0 ? PTO2_MAX_SCALAR_ARGS : 1 + (t * 5) % 9;
      e->scalars[0] = t;
      for (unsigned s = 1; s < ns; s++) e->scalars[s] = UINT64_C(0x9e3779b97f4a7c15) * (t + s);
      for (unsigned s = 0; s < ns; s++) pto2_arg_add_scalar(&a, e->scalars[s]);
      if (t % 5 == 2) pto2_arg_set_block_num(&a, 3); /* every block sees them too */
      e->tensor_count = n;
      e->scalar_count = ns;
      /* The created tensors are known once the submit returns (see
       * check_created). */
      pto2_task_id id = submit(rt, p->mode, t, &a);
      ASSERT_TRUE(pto2_task_id_is_valid(id));
      unsigned out = 0;
      for (unsigned i = 0; i < n; i++) {
        if (!e->created[i]) continue;
        const pto2_tensor *c = pto2_arg_output(&a, out++);
        ASSERT_TRUE(c != 0);
        e->tensors[i] = *c;
        if (ncreated < 8) created[ncreated++] = *c;
      }
    }
  }
}

static int expected_invocations(const plan *p) {
  int n = 0;
  for (unsigned t = 0; t < p->tasks; t++) {
    int lanes = t % 4 == 3 ? 3 : 1;
    int blocks = t % 5 == 2 ? 3 : 1;
    n += lanes * blocks;
  }
  return n;
}

static void run_plan(pto2_runtime *rt, pto2_scope_mode mode) {
  plan p = {mode, 40};
  atomic_store(&invocations, 0);
  atomic_store(&mismatches, 0);
  check_created = mode != PTO2_SCOPE_AUTO;
  pto2_run_stats st;
  ASSERT_EQ_INT(pto2_run(rt, args_orch, &p, &st), 0);
  ASSERT_EQ_INT(atomic_load(&invocations), expected_invocations(&p));
  if (atomic_load(&mismatches)) TEST_FAIL("mode %d: %s", (int)mode, first_mismatch);
}

/* set_tensor_data waits for a slow reader that has its tensor third, after
 * tensors of other ranks. */
static float target[8], seen0;

static int slow_read(const pto2_kernel_ctx *k) {
  struct timespec ts = {0, 40 * 1000000L};
  nanosleep(&ts, 0);
  seen0 = ((const float *)k->tensors[2].data)[0];
  return 0;
}

static void set_waits_orch(pto2_runtime *rt, void *arg) {
  (void)arg;
  const uint32_t shape1[1] = {8};
  pto2_tensor a3 = tensor_of_rank(3, 1), a5 = tensor_of_rank(5, 2);
  pto2_tensor t = pto2_tensor_external(target, shape1, 1, PTO2_FLOAT32);
  target[0] = 1.0f;
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_input(&a, &a3);
  pto2_arg_add_input(&a, &a5);
  pto2_arg_add_input(&a, &t);
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_SLOW_READ, &a)));
  const uint32_t idx[1] = {0};
  ASSERT_EQ_INT(pto2_set_tensor_data(rt, &t, idx, pto2_u64_from_f32(2.0f)), 0);
  ASSERT_TRUE(seen0 == 1.0f); /* the reader ran before the write */
  ASSERT_TRUE(target[0] == 2.0f);
}

int main(void) {
  const uint32_t workers[] = {1, PTO2_WORKERS_NONE};
  for (unsigned w = 0; w < 2; w++) {
    pto2_config c = {0};
    c.worker_threads = workers[w];
    c.block_dim = 4;
    c.log_level = PTO2_LOG_ERROR;
    pto2_runtime *rt;
    ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
    ASSERT_EQ_INT(pto2_kernel_register(rt, K_CHECK_AIC, PTO2_CORE_AIC, "check_aic", check_kernel, 0), 0);
    ASSERT_EQ_INT(pto2_kernel_register(rt, K_CHECK_AIV, PTO2_CORE_AIV, "check_aiv", check_kernel, 0), 0);
    ASSERT_EQ_INT(pto2_kernel_register(rt, K_SLOW_READ, PTO2_CORE_AIV, "slow_read", slow_read, 0), 0);
    run_plan(rt, PTO2_SCOPE_GRAPH);
    run_plan(rt, PTO2_SCOPE_MANUAL);
    run_plan(rt, PTO2_SCOPE_AUTO);
    pto2_run_stats st;
    ASSERT_EQ_INT(pto2_run(rt, set_waits_orch, 0, &st), 0);
    pto2_runtime_destroy(rt);
  }
  TEST_PASS("test_kernel_args");
}
