// A C++ consumer of pto2, through pto2.hpp.
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "pto2/pto2.hpp"
#include "work.h"

static int refuse(const pto2_kernel_ctx *) { throw std::invalid_argument("shape 3x5 refused"); }

int main() {
  std::vector<float> x(ROWS * COLS), y(ROWS * COLS);
  for (int i = 0; i < ROWS * COLS; i++) x[i] = static_cast<float>(i);
  pto2_config cfg = consumer_config();
  pto2::runtime rt(cfg);
  rt.register_kernel(0, PTO2_CORE_AIV, "times2", times2);
  rt.register_kernel(1, PTO2_CORE_AIV, "plus", plus);
  rt.register_kernel(2, PTO2_CORE_AIV, "refuse", pto2::kernel<refuse>);
  pto2_run_stats st;
  rt.run_or_throw(
      [&](pto2::orchestrator &o) {
        pto2_tensor xt = pto2::external(x.data(), {ROWS, COLS}, PTO2_FLOAT32);
        pto2_tensor yt = pto2::external(y.data(), {ROWS, COLS}, PTO2_FLOAT32);
        for (std::uint32_t row = 0; row < ROWS; row += BLOCK) {
          pto2::scope s(o, PTO2_SCOPE_AUTO);
          pto2_tensor xv = pto2::view(xt, {BLOCK, COLS}, {row, 0});
          pto2_tensor yv = pto2::view(yt, {BLOCK, COLS}, {row, 0});
          pto2::args a;
          a.input(xv).output_existing(yv);
          o.submit_aiv(0, a);
          pto2::args b;
          b.inout(yv).scalar(1.0f);
          o.submit_aiv(1, b);
        }
      },
      &st);
  // An exception in the orchestration is a failed run; the runtime goes on.
  int rc = rt.run([](pto2::orchestrator &) { throw std::runtime_error("on purpose"); });
  if (rc != PTO2_E_ABORTED) return 1;
  // A kernel's exception fails the run; run_or_throw's pto2::error carries
  // its what().
  bool caught = false;
  try {
    rt.run_or_throw([](pto2::orchestrator &o) {
      pto2::args a;
      o.submit_aiv(2, a);
    });
  } catch (const pto2::error &e) {
    caught = e.code() == PTO2_E_KERNEL_FAILED &&
             std::strstr(e.what(), "kernel 'refuse' (id 2) returned 1") &&
             std::strstr(e.what(), ": threw: shape 3x5 refused");
    if (!caught) std::fprintf(stderr, "consumer (C++): unexpected error: %s\n", e.what());
  }
  if (!caught) return 1;
  return consumer_check(x.data(), y.data(), "consumer (C++)", st.tasks);
}
