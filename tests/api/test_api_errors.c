/*
 * API misuse at submit fails the run with the documented code and a message
 * naming the cause, and the same runtime then runs a good program:
 *  - argument-builder errors (exact texts): a tensor after a
 *    scalar, a 17th tensor, a 129th scalar by every scalar builder, a bad
 *    copy_scalars_from range, a bad block_num; the first error wins and
 *    pto2_arg_reset() clears it but keeps block_num (PTO2_E_INVALID_ARGS);
 *  - invalid tensors: a view that does not fit, a reshape of a
 *    non-contiguous view, a zeroed struct, a bad create-info;
 *  - kernels: an unregistered id, an id out of range, an AIV kernel on the
 *    AIC lane and the reverse, a mixed task with no lane
 *    (PTO2_E_UNKNOWN_KERNEL / PTO2_E_INVALID_ARGS);
 *  - 17 distinct producers, found by the TensorMap or by creator retention
 *    plus the TensorMap (PTO2_E_DEPENDENCY_OVERFLOW), while 16 are fine.
 * After the failing call the run is sticky: later submits return an
 * invalid id and pto2_is_fatal() is true; the failing task never runs.
 */
#include <stdatomic.h>

#include "pto2/pto2.h"
#include "test.h"

enum { K_AIC = 0, K_AIV = 1, K_SUM = 2, K_READER = 3, K_UNREGISTERED = 5 };

static atomic_int producer_runs, reader_runs;

/* Fails unless scalars[0] producers have finished. */
static int reader_kernel(const pto2_kernel_ctx *k) {
  atomic_fetch_add(&reader_runs, 1);
  return atomic_load(&producer_runs) == (int)k->scalars[0] ? 0 : 1;
}

static int count_kernel(const pto2_kernel_ctx *k) {
  (void)k;
  atomic_fetch_add(&producer_runs, 1);
  return 0;
}

/* out[i] = scalars[0] + 7 * i over the first tensor. */
static int fill_kernel(const pto2_kernel_ctx *k) {
  if (k->tensor_count < 1 || k->scalar_count < 1) return 1;
  uint32_t *p = k->tensors[0].data;
  for (uint32_t i = 0; i < k->tensors[0].shapes[0]; i++) p[i] = (uint32_t)k->scalars[0] + 7u * i;
  return 0;
}

static uint32_t buf[64];

/* ------------------------------------------------------------------------ */
/* The good program run after each failure                                   */
/* ------------------------------------------------------------------------ */

static void good_program(pto2_runtime *rt, void *arg) {
  (void)arg;
  uint32_t shape[1] = {16};
  pto2_tensor t = pto2_tensor_external(buf, shape, 1, PTO2_INT32);
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_output_existing(&a, &t);
  pto2_arg_add_scalar(&a, 1000);
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_SUM, &a)));
}

static void good_run(pto2_runtime *rt) {
  memset(buf, 0, sizeof buf);
  pto2_run_stats st;
  ASSERT_EQ_INT(pto2_run(rt, good_program, 0, &st), 0);
  ASSERT_EQ_U64(st.tasks, 1);
  ASSERT_EQ_INT(pto2_error_code(rt), 0);
  ASSERT_EQ_U64(strlen(pto2_error_message(rt)), 0);
  for (uint32_t i = 0; i < 16; i++) ASSERT_EQ_U64(buf[i], 1000u + 7u * i);
}

/* ------------------------------------------------------------------------ */
/* Failing programs                                                          */
/* ------------------------------------------------------------------------ */

/* Submits `a` on the given API and checks the failure is sticky. */
static void submit_fails(pto2_runtime *rt, pto2_arg *a, int api) {
  pto2_task_id id;
  if (api == 0) {
    id = pto2_submit_aic(rt, K_AIC, a);
  } else if (api == 1) {
    id = pto2_submit_aiv(rt, K_AIV, a);
  } else {
    pto2_mixed_kernels mk = {K_AIC, K_AIV, K_AIV};
    id = pto2_submit_task(rt, mk, a);
  }
  ASSERT_TRUE(!pto2_task_id_is_valid(id));
  ASSERT_TRUE(pto2_is_fatal(rt));
  pto2_arg b;
  pto2_arg_init(&b);
  ASSERT_TRUE(!pto2_task_id_is_valid(pto2_submit_aiv(rt, K_AIV, &b)));
  ASSERT_TRUE(pto2_scope_begin(rt, PTO2_SCOPE_AUTO) != 0);
}

typedef struct builder_case {
  const char *name;
  void (*build)(pto2_arg *a, const pto2_tensor *t, const pto2_create_info *ci);
  const char *error;
} builder_case;

#define ERR_AFTER_SCALAR                                                                      \
  "add_input/add_output/add_inout called after add_scalar: all tensors must be added before " \
  "any scalars"
#define ERR_TENSORS "Too many tensor args (exceeds MAX_TENSOR_ARGS=16)"
#define ERR_SCALARS "Too many scalar args (exceeds MAX_SCALAR_ARGS=128)"
#define ERR_COPY "Source scalar range out of bounds in copy_scalars_from"

static void b_input_after_scalar(pto2_arg *a, const pto2_tensor *t, const pto2_create_info *ci) {
  (void)ci;
  pto2_arg_add_input(a, t);
  pto2_arg_add_scalar(a, 1);
  pto2_arg_add_input(a, t);
}
static void b_inout_after_scalar(pto2_arg *a, const pto2_tensor *t, const pto2_create_info *ci) {
  (void)ci;
  pto2_arg_add_scalar(a, 1);
  pto2_arg_add_inout(a, t);
}
static void b_output_after_scalar(pto2_arg *a, const pto2_tensor *t, const pto2_create_info *ci) {
  (void)t;
  pto2_arg_add_scalar(a, 1);
  pto2_arg_add_output(a, ci);
}
static void b_oe_after_scalar(pto2_arg *a, const pto2_tensor *t, const pto2_create_info *ci) {
  (void)ci;
  uint64_t v[2] = {1, 2};
  pto2_arg_add_scalars(a, v, 2);
  pto2_arg_add_output_existing(a, t);
}
static void b_nodep_after_scalar(pto2_arg *a, const pto2_tensor *t, const pto2_create_info *ci) {
  (void)ci;
  int32_t v[1] = {-1};
  pto2_arg_add_scalars_i32(a, v, 1);
  pto2_arg_add_no_dep(a, t);
}
static void b_17_tensors(pto2_arg *a, const pto2_tensor *t, const pto2_create_info *ci) {
  (void)ci;
  for (int i = 0; i < 17; i++) pto2_arg_add_input(a, t);
}
static void b_17_outputs(pto2_arg *a, const pto2_tensor *t, const pto2_create_info *ci) {
  for (int i = 0; i < 16; i++) pto2_arg_add_input(a, t);
  pto2_arg_add_output(a, ci);
}
static void b_129_scalars(pto2_arg *a, const pto2_tensor *t, const pto2_create_info *ci) {
  (void)t, (void)ci;
  for (int i = 0; i < 129; i++) pto2_arg_add_scalar(a, (uint64_t)i);
}
static void b_scalars_overflow(pto2_arg *a, const pto2_tensor *t, const pto2_create_info *ci) {
  (void)t, (void)ci;
  static uint64_t v[PTO2_MAX_SCALAR_ARGS];
  pto2_arg_add_scalar(a, 1);
  pto2_arg_add_scalars(a, v, PTO2_MAX_SCALAR_ARGS); /* all or none */
  ASSERT_EQ_U64(a->scalar_count, 1);
}
static void b_scalars_i32_overflow(pto2_arg *a, const pto2_tensor *t, const pto2_create_info *ci) {
  (void)t, (void)ci;
  static int32_t v[PTO2_MAX_SCALAR_ARGS];
  pto2_arg_add_scalars_i32(a, v, 100);
  pto2_arg_add_scalars_i32(a, v, 29);
  ASSERT_EQ_U64(a->scalar_count, 100);
}
static void b_copy_overflow(pto2_arg *a, const pto2_tensor *t, const pto2_create_info *ci) {
  (void)t, (void)ci;
  static pto2_arg src;
  pto2_arg_init(&src);
  for (int i = 0; i < 100; i++) pto2_arg_add_scalar(&src, (uint64_t)i);
  pto2_arg_copy_scalars_from(a, &src, 0, 100);
  pto2_arg_copy_scalars_from(a, &src, 50, 50);
}
static void b_copy_range(pto2_arg *a, const pto2_tensor *t, const pto2_create_info *ci) {
  (void)t, (void)ci;
  static pto2_arg src;
  pto2_arg_init(&src);
  pto2_arg_add_scalar(&src, 1);
  pto2_arg_add_scalar(&src, 2);
  pto2_arg_copy_scalars_from(a, &src, 1, 2);
}
static void b_copy_offset(pto2_arg *a, const pto2_tensor *t, const pto2_create_info *ci) {
  (void)t, (void)ci;
  static pto2_arg src;
  pto2_arg_init(&src);
  pto2_arg_add_scalar(&src, 1);
  pto2_arg_copy_scalars_from(a, &src, 3, 0);
}
static void b_first_wins(pto2_arg *a, const pto2_tensor *t, const pto2_create_info *ci) {
  (void)ci;
  for (int i = 0; i < 17; i++) pto2_arg_add_input(a, t); /* tensors first */
  pto2_arg_add_scalar(a, 1);
  pto2_arg_add_input(a, t);
  for (int i = 0; i < 200; i++) pto2_arg_add_scalar(a, 1);
}
static void b_block_num(pto2_arg *a, const pto2_tensor *t, const pto2_create_info *ci) {
  (void)t, (void)ci;
  pto2_arg_set_block_num(a, 0);
}

static const builder_case builder_cases[] = {
    {"input after scalar", b_input_after_scalar, ERR_AFTER_SCALAR},
    {"inout after scalar", b_inout_after_scalar, ERR_AFTER_SCALAR},
    {"output after scalar", b_output_after_scalar, ERR_AFTER_SCALAR},
    {"output_existing after scalars", b_oe_after_scalar, ERR_AFTER_SCALAR},
    {"no_dep after scalars_i32", b_nodep_after_scalar, ERR_AFTER_SCALAR},
    {"17 tensors", b_17_tensors, ERR_TENSORS},
    {"17th arg an output", b_17_outputs, ERR_TENSORS},
    {"129 scalars", b_129_scalars, ERR_SCALARS},
    {"add_scalars overflow", b_scalars_overflow, ERR_SCALARS},
    {"add_scalars_i32 overflow", b_scalars_i32_overflow, ERR_SCALARS},
    {"copy_scalars_from overflow", b_copy_overflow, ERR_SCALARS},
    {"copy_scalars_from past the end", b_copy_range, ERR_COPY},
    {"copy_scalars_from offset past the end", b_copy_offset, ERR_COPY},
    {"first error wins", b_first_wins, ERR_TENSORS},
    {"block_num 0", b_block_num, "block_num"},
};
enum { NBUILDER = sizeof builder_cases / sizeof builder_cases[0] };

typedef struct builder_run {
  const builder_case *c;
  int api;
} builder_run;

static void builder_program(pto2_runtime *rt, void *arg) {
  const builder_run *br = arg;
  uint32_t shape[1] = {8};
  pto2_tensor t = pto2_tensor_external(buf, shape, 1, PTO2_INT32);
  pto2_create_info ci = pto2_create_info_make(shape, 1, PTO2_INT32);
  pto2_arg a;
  pto2_arg_init(&a);
  br->c->build(&a, &t, &ci);
  const char *err = pto2_arg_error(&a);
  ASSERT_TRUE(err != NULL);
  if (strcmp(br->c->error, "block_num") != 0 && strcmp(err, br->c->error) != 0)
    TEST_FAIL("%s: builder error \"%s\", expected \"%s\"", br->c->name, err, br->c->error);
  submit_fails(rt, &a, br->api);
}

/* pto2_arg_reset() clears the error and keeps block_num. */
static void reset_program(pto2_runtime *rt, void *arg) {
  (void)arg;
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_set_block_num(&a, 3);
  for (int i = 0; i < 129; i++) pto2_arg_add_scalar(&a, 1);
  ASSERT_TRUE(pto2_arg_error(&a) != NULL);
  pto2_arg_reset(&a);
  ASSERT_TRUE(pto2_arg_error(&a) == NULL);
  ASSERT_EQ_U64(a.block_num, 3);
  ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_AIV, &a)));
}

/* --- invalid tensors ------------------------------------------------------ */

static void bad_view_program(pto2_runtime *rt, void *arg) {
  int which = *(const int *)arg;
  uint32_t shape[2] = {4, 8};
  pto2_tensor t = pto2_tensor_external(buf, shape, 2, PTO2_INT32);
  pto2_tensor bad;
  pto2_create_info ci = pto2_create_info_make(shape, 2, PTO2_INT32);
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_arg_add_input(&a, &t);
  switch (which) {
    case 0: { /* rows 3..4 of 4 */
      bad = pto2_tensor_view2(&t, 2, 8, 3, 0);
      pto2_arg_add_input(&a, &bad);
      break;
    }
    case 1: { /* columns past the end */
      bad = pto2_tensor_view2(&t, 1, 9, 0, 0);
      pto2_arg_add_inout(&a, &bad);
      break;
    }
    case 2: { /* a zero extent */
      bad = pto2_tensor_view2(&t, 0, 8, 0, 0);
      pto2_arg_add_output_existing(&a, &bad);
      break;
    }
    case 3: { /* reshape of a non-contiguous view */
      pto2_tensor v = pto2_tensor_view2(&t, 4, 4, 0, 0);
      uint32_t flat[1] = {16};
      bad = pto2_tensor_reshape(&v, flat, 1);
      pto2_arg_add_inout(&a, &bad);
      break;
    }
    case 4: { /* reshape to a different element count */
      uint32_t flat[1] = {31};
      bad = pto2_tensor_reshape(&t, flat, 1);
      pto2_arg_add_input(&a, &bad);
      break;
    }
    case 5: { /* a view of an invalid tensor */
      pto2_tensor v = pto2_tensor_view2(&t, 5, 8, 0, 0);
      bad = pto2_tensor_view2(&v, 1, 1, 0, 0);
      pto2_arg_add_no_dep(&a, &bad);
      break;
    }
    case 6: { /* a zeroed struct */
      memset(&bad, 0, sizeof bad);
      pto2_arg_add_input(&a, &bad);
      break;
    }
    default: { /* a create-info with no dimensions */
      ci.ndims = 0;
      pto2_arg_add_output(&a, &ci);
      bad = t;
    }
  }
  if (which < 7) {
    ASSERT_TRUE(!pto2_tensor_is_valid(&bad));
    ASSERT_EQ_U64(bad.ndims, 0);
    ASSERT_EQ_U64(pto2_tensor_numel(&bad), 0);
  }
  ASSERT_TRUE(pto2_arg_error(&a) == NULL); /* found at submit, not by the builder */
  submit_fails(rt, &a, which % 3);
}

/* --- kernels -------------------------------------------------------------- */

static void bad_kernel_program(pto2_runtime *rt, void *arg) {
  int which = *(const int *)arg;
  pto2_arg a;
  pto2_arg_init(&a);
  pto2_task_id id;
  pto2_mixed_kernels mk = {PTO2_NO_KERNEL, PTO2_NO_KERNEL, PTO2_NO_KERNEL};
  switch (which) {
    case 0: id = pto2_submit_aiv(rt, K_UNREGISTERED, &a); break;
    case 1: id = pto2_submit_aic(rt, PTO2_MAX_KERNELS, &a); break;
    case 2: id = pto2_submit_aiv(rt, -7, &a); break;
    case 3: id = pto2_submit_aic(rt, K_AIV, &a); break;
    case 4: id = pto2_submit_aiv(rt, K_AIC, &a); break;
    case 5:
      mk.aic = K_AIC;
      mk.aiv1 = K_UNREGISTERED;
      id = pto2_submit_task(rt, mk, &a);
      break;
    case 6:
      mk.aiv0 = K_AIV;
      mk.aiv1 = K_AIC;
      id = pto2_submit_task(rt, mk, &a);
      break;
    default: id = pto2_submit_task(rt, mk, &a); /* no lane at all */
  }
  ASSERT_TRUE(!pto2_task_id_is_valid(id));
  ASSERT_TRUE(pto2_is_fatal(rt));
}

/* --- too many producers ------------------------------------------------- */

typedef struct fanin_case {
  int writers;       /* tasks writing one element each of buf (TensorMap) */
  int intermediates; /* created tensors passed as INPUT (creator retention) */
} fanin_case;

static void fanin_program(pto2_runtime *rt, void *arg) {
  const fanin_case *fc = arg;
  uint32_t shape[1] = {64}, one[1] = {1};
  pto2_tensor t = pto2_tensor_external(buf, shape, 1, PTO2_INT32);
  /* Every task stays in the root scope, so no writer retires before the
   * reader is submitted and the TensorMap still holds every entry. */
  for (int i = 0; i < fc->writers; i++) {
    uint32_t at[1] = {(uint32_t)i};
    pto2_tensor v = pto2_tensor_view(&t, one, at);
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_output_existing(&a, &v);
    ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aiv(rt, K_AIV, &a)));
  }
  pto2_tensor created[PTO2_MAX_TENSOR_ARGS];
  pto2_create_info ci = pto2_create_info_make(one, 1, PTO2_INT32);
  for (int i = 0; i < fc->intermediates; i++) {
    pto2_arg a;
    pto2_arg_init(&a);
    pto2_arg_add_output(&a, &ci);
    ASSERT_TRUE(pto2_task_id_is_valid(pto2_submit_aic(rt, K_AIC, &a)));
    created[i] = *pto2_arg_output(&a, 0);
  }
  pto2_arg a;
  pto2_arg_init(&a);
  uint32_t n[1] = {(uint32_t)(fc->writers ? fc->writers : 1)}, at0[1] = {0};
  pto2_tensor all = pto2_tensor_view(&t, n, at0);
  if (fc->writers) pto2_arg_add_input(&a, &all);
  for (int i = 0; i < fc->intermediates; i++) pto2_arg_add_input(&a, &created[i]);
  pto2_arg_add_scalar(&a, (uint64_t)(fc->writers + fc->intermediates));
  pto2_task_id id = pto2_submit_aiv(rt, K_READER, &a);
  if (fc->writers + fc->intermediates <= PTO2_MAX_FANIN) {
    ASSERT_TRUE(pto2_task_id_is_valid(id));
  } else {
    ASSERT_TRUE(!pto2_task_id_is_valid(id));
    ASSERT_TRUE(pto2_is_fatal(rt));
  }
}

/* ------------------------------------------------------------------------ */

static void expect_failure(pto2_runtime *rt, pto2_orchestration_fn fn, void *arg, int code,
                           const char *message, const char *what) {
  int rc = pto2_run(rt, fn, arg, 0);
  if (rc != code)
    TEST_FAIL("%s: pto2_run returned %d (%s), expected %d (%s); message: %s", what, rc,
              pto2_err_name(rc), code, pto2_err_name(code), pto2_error_message(rt));
  ASSERT_EQ_INT(pto2_error_code(rt), code);
  const char *msg = pto2_error_message(rt);
  if (!msg || !strstr(msg, message))
    TEST_FAIL("%s: message \"%s\" does not contain \"%s\"", what, msg ? msg : "(null)", message);
  good_run(rt);
}

int main(void) {
  pto2_config c = {0};
  c.worker_threads = 1;
  c.log_level = PTO2_LOG_SILENT;
  pto2_runtime *rt;
  ASSERT_EQ_INT(pto2_runtime_create(&c, &rt), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_AIC, PTO2_CORE_AIC, "count_aic", count_kernel, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_AIV, PTO2_CORE_AIV, "count_aiv", count_kernel, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_SUM, PTO2_CORE_AIV, "fill", fill_kernel, 0), 0);
  ASSERT_EQ_INT(pto2_kernel_register(rt, K_READER, PTO2_CORE_AIV, "reader", reader_kernel, 0), 0);
  good_run(rt);
  int checks = 0;

  for (int i = 0; i < (int)NBUILDER; i++)
    for (int api = 0; api < 3; api++) {
      builder_run br = {&builder_cases[i], api};
      expect_failure(rt, builder_program, &br, PTO2_E_INVALID_ARGS, builder_cases[i].error,
                     builder_cases[i].name);
      checks++;
    }
  ASSERT_EQ_INT(pto2_run(rt, reset_program, 0, 0), 0);
  checks++;

  for (int which = 0; which < 8; which++) {
    char what[64];
    snprintf(what, sizeof what, "invalid tensor %d", which);
    expect_failure(rt, bad_view_program, &which, PTO2_E_INVALID_ARGS, "arg 1", what);
    checks++;
  }

  static const int kernel_codes[] = {
      PTO2_E_UNKNOWN_KERNEL, PTO2_E_UNKNOWN_KERNEL, PTO2_E_UNKNOWN_KERNEL, PTO2_E_UNKNOWN_KERNEL,
      PTO2_E_UNKNOWN_KERNEL, PTO2_E_UNKNOWN_KERNEL, PTO2_E_UNKNOWN_KERNEL, PTO2_E_INVALID_ARGS};
  static const char *kernel_msgs[] = {"5",         "64", "-7",        "count_aiv",
                                      "count_aic", "5",  "count_aic", "no kernel"};
  for (int which = 0; which < 8; which++) {
    char what[64];
    snprintf(what, sizeof what, "bad kernel %d", which);
    expect_failure(rt, bad_kernel_program, &which, kernel_codes[which], kernel_msgs[which], what);
    checks++;
  }

  /* 16 producers are fine: the reader runs after all of them. */
  static const fanin_case ok_cases[] = {{16, 0}, {0, 16}, {8, 8}, {1, 15}};
  for (unsigned i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++) {
    pto2_run_stats st;
    atomic_store(&reader_runs, 0);
    atomic_store(&producer_runs, 0);
    ASSERT_EQ_INT(pto2_run(rt, fanin_program, (void *)&ok_cases[i], &st), 0);
    ASSERT_EQ_U64(st.edges, 16);
    ASSERT_EQ_U64(st.tasks, 17);
    ASSERT_EQ_U64(atomic_load(&reader_runs), 1);
    checks++;
  }
  static const fanin_case bad_cases[] = {{17, 0}, {40, 0}, {2, 15}, {9, 8}};
  for (unsigned i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    char what[64];
    snprintf(what, sizeof what, "%d writers + %d creators", bad_cases[i].writers,
             bad_cases[i].intermediates);
    atomic_store(&reader_runs, 0);
    expect_failure(rt, fanin_program, (void *)&bad_cases[i], PTO2_E_DEPENDENCY_OVERFLOW,
                   "Dependency Overflow", what);
    ASSERT_EQ_U64(atomic_load(&reader_runs), 0); /* the reader was never submitted */
    checks++;
  }

  pto2_runtime_destroy(rt);
  printf("test_api_errors: %d passed, 0 failed\n", checks);
  return 0;
}
