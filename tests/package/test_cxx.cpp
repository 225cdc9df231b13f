// C++: pto2.hpp (RAII runtime and scope, run with any callable, typed
// arguments), and a C++ exception thrown through pto2_run() itself.
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "pto2/pto2.hpp"
#include "test.h"

namespace {

const std::uint32_t N = 64;

// x += scalar (float bits)
int add_scalar(const pto2_kernel_ctx *k) {
  float *x = static_cast<float *>(k->tensors[0].data);
  float s = pto2_f32_from_u64(k->scalars[0]);
  for (std::uint32_t i = 0; i < k->tensors[0].shapes[0]; i++) x[i] += s;
  return 0;
}

int throwing_kernel(const pto2_kernel_ctx *) { throw std::runtime_error("kernel threw"); }
int throwing_int_kernel(const pto2_kernel_ctx *) { throw 42; }

void submit_adds(pto2_runtime *rt, pto2_tensor &x, int count) {
  for (int i = 0; i < count; i++) {
    pto2::args a;
    a.inout(x).scalar(1.0f);
    pto2_submit_aiv(rt, 0, a.get());
  }
}

struct raw_job {
  std::vector<float> *x;
  int submits;
  bool do_throw;
};

// A plain orchestration function given to the C pto2_run(): it throws.
void raw_orchestrate(pto2_runtime *rt, void *p) {
  raw_job *j = static_cast<raw_job *>(p);
  pto2_tensor x = pto2::external(j->x->data(), {N}, PTO2_FLOAT32);
  pto2_scope_begin(rt, PTO2_SCOPE_AUTO);  // left open by the exception
  submit_adds(rt, x, j->submits);
  if (j->do_throw) throw std::runtime_error("orchestration failed");
  pto2_scope_end(rt);
}

pto2_config small_config() {
  pto2_config cfg;
  std::memset(&cfg, 0, sizeof cfg);
  cfg.block_dim = 1;
  cfg.worker_threads = 1;
  cfg.log_level = PTO2_LOG_SILENT;
  return cfg;
}

void check_all(const std::vector<float> &x, float want) {
  for (std::uint32_t i = 0; i < N; i++) ASSERT_NEAR(x[i], want, 0);
}

}  // namespace

int main() {
  pto2::runtime rt(small_config());
  rt.register_kernel(0, PTO2_CORE_AIV, "add_scalar", add_scalar);
  rt.register_kernel(1, PTO2_CORE_AIV, "throwing", pto2::kernel<throwing_kernel>);
  rt.register_kernel(2, PTO2_CORE_AIV, "throwing_int", pto2::kernel<throwing_int_kernel>);
  std::vector<float> x(N, 0.0f);

  // 1. An exception through the C API's pto2_run: it reaches the caller,
  //    the run is failed with PTO2_E_ABORTED, and the runtime runs again.
  raw_job j = {&x, 3, true};
  bool caught = false;
  try {
    (void)pto2_run(rt.get(), raw_orchestrate, &j, nullptr);
  } catch (const std::runtime_error &e) {
    caught = std::strcmp(e.what(), "orchestration failed") == 0;
  }
  ASSERT_TRUE(caught);
  ASSERT_EQ_INT(rt.error_code(), PTO2_E_ABORTED);
  ASSERT_STR_CONTAINS(pto2_error_message(rt.get()), "exception");
  std::fill(x.begin(), x.end(), 0.0f);
  raw_job ok = {&x, 5, false};
  ASSERT_EQ_INT(pto2_run(rt.get(), raw_orchestrate, &ok, nullptr), 0);  // not PTO2_E_BUSY
  check_all(x, 5.0f);

  // 2. runtime::run with a lambda that throws: a failed run, not an exception.
  std::fill(x.begin(), x.end(), 0.0f);
  int rc = rt.run([&](pto2::orchestrator &o) {
    pto2_tensor t = pto2::external(x.data(), {N}, PTO2_FLOAT32);
    pto2::scope s(o);
    ASSERT_TRUE(s.open());
    submit_adds(o.get(), t, 2);
    throw std::logic_error("bad shape 7");
  });
  ASSERT_EQ_INT(rc, PTO2_E_ABORTED);
  ASSERT_STR_CONTAINS(pto2_error_message(rt.get()), "bad shape 7");

  // 2b. orchestrator::fail: the run fails with the caller's own code.
  rc = rt.run([&](pto2::orchestrator &o) {
    ASSERT_EQ_INT(o.fail(PTO2_E_INVALID_ARGS, "shape 7 does not fit"), PTO2_E_INVALID_ARGS);
    ASSERT_TRUE(o.is_fatal());
  });
  ASSERT_EQ_INT(rc, PTO2_E_INVALID_ARGS);
  ASSERT_STR_CONTAINS(pto2_error_message(rt.get()), "shape 7 does not fit");

  // 3. The runtime is usable: a lambda taking pto2_runtime *, with stats.
  std::fill(x.begin(), x.end(), 0.0f);
  pto2_run_stats st;
  rc = rt.run(
      [&](pto2_runtime *r) {
        pto2_tensor t = pto2::external(x.data(), {N}, PTO2_FLOAT32);
        submit_adds(r, t, 4);
      },
      &st);
  ASSERT_EQ_INT(rc, 0);
  ASSERT_EQ_U64(st.tasks, 4);
  check_all(x, 4.0f);

  // 4. A throwing kernel adapted by pto2::kernel<> fails the run; run_or_throw
  //    turns that into pto2::error with the code and the exception's what().
  int code = 0;
  try {
    rt.run_or_throw([&](pto2::orchestrator &o) {
      pto2_tensor t = pto2::external(x.data(), {N}, PTO2_FLOAT32);
      pto2::args a;
      a.inout(t);
      o.submit_aiv(1, a);
    });
  } catch (const pto2::error &e) {
    code = e.code();
    ASSERT_STR_CONTAINS(e.what(), "PTO2_E_KERNEL_FAILED");
    ASSERT_STR_CONTAINS(e.what(), "kernel 'throwing' (id 1) returned 1 in task ");
    ASSERT_STR_CONTAINS(e.what(), ": threw: kernel threw");
  }
  ASSERT_EQ_INT(code, PTO2_E_KERNEL_FAILED);
  std::string msg = rt.error_message();
  ASSERT_STR_CONTAINS(msg.c_str(), ": threw: kernel threw");
  rc = rt.run([&](pto2::orchestrator &o) {
    pto2_tensor t = pto2::external(x.data(), {N}, PTO2_FLOAT32);
    pto2::args a;
    a.inout(t);
    o.submit_aiv(2, a);
  });
  ASSERT_EQ_INT(rc, PTO2_E_KERNEL_FAILED);
  msg = rt.error_message();
  ASSERT_STR_CONTAINS(msg.c_str(), ": threw a non-std::exception");

  // 5. Typed arguments: a builder error is reported by the submit.
  rc = rt.run([&](pto2::orchestrator &o) {
    pto2_tensor t = pto2::external(x.data(), {N}, PTO2_FLOAT32);
    pto2::args a;
    a.scalar(std::int32_t(1)).input(t);  // tensor after scalar
    ASSERT_TRUE(a.error() != nullptr);
    ASSERT_TRUE(!pto2_task_id_is_valid(o.submit_aiv(0, a)));
  });
  ASSERT_EQ_INT(rc, PTO2_E_INVALID_ARGS);

  // 6. Scalar overloads: every integer and floating type picks one bit pattern.
  {
    pto2::args a;
    a.scalar(2.0).scalar(2.0f).scalar(-1).scalar(7u).scalar(std::int64_t(-1)).scalar(std::uint64_t(9));
    pto2_arg *p = a.get();
    ASSERT_EQ_U64(p->scalar_count, 6);
    ASSERT_EQ_U64(p->scalars[0], 0x40000000u);  // float32 bits of 2.0
    ASSERT_EQ_U64(p->scalars[1], 0x40000000u);
    ASSERT_EQ_U64(p->scalars[2], 0xFFFFFFFFu);  // int32 zero-extended
    ASSERT_EQ_U64(p->scalars[3], 7);
    ASSERT_EQ_U64(p->scalars[4], UINT64_MAX);
    ASSERT_EQ_U64(p->scalars[5], 9);
  }

  // 7. Still usable; a moved-from runtime is empty and harmless.
  std::fill(x.begin(), x.end(), 0.0f);
  pto2::runtime moved(std::move(rt));
  rc = moved.run([&](pto2::orchestrator &o) {
    pto2_tensor t = pto2::external(x.data(), {N}, PTO2_FLOAT32);
    pto2::args a;
    a.inout(t).scalar(3.0f);
    ASSERT_TRUE(pto2_task_id_is_valid(o.submit_aiv(0, a)));
  });
  ASSERT_EQ_INT(rc, 0);
  check_all(x, 3.0f);
  ASSERT_TRUE(rt.get() == nullptr);

  // 8. pto2::workers_none: no worker thread, the caller runs the tasks.
  pto2_config solo_cfg = small_config();
  solo_cfg.block_dim = 2;
  solo_cfg.worker_threads = pto2::workers_none;
  pto2::runtime solo(solo_cfg);
  ASSERT_EQ_U64(solo.config().worker_threads, 0);
  solo.register_kernel(0, PTO2_CORE_AIV, "add_scalar", add_scalar);
  std::fill(x.begin(), x.end(), 0.0f);
  ASSERT_EQ_INT(solo.run([&](pto2_runtime *r) {
    pto2_tensor t = pto2::external(x.data(), {N}, PTO2_FLOAT32);
    submit_adds(r, t, 6);
  }), 0);
  check_all(x, 6.0f);
  std::printf("test_cxx: 1 passed, 0 failed\n");
  return 0;
}
