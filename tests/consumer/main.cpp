// A C++ consumer of pto2, through pto2.hpp.
#include <vector>

#include "pto2/pto2.hpp"
#include "work.h"

int main() {
  std::vector<float> x(ROWS * COLS), y(ROWS * COLS);
  for (int i = 0; i < ROWS * COLS; i++) x[i] = static_cast<float>(i);
  pto2_config cfg = consumer_config();
  pto2::runtime rt(cfg);
  rt.register_kernel(0, PTO2_CORE_AIV, "times2", times2);
  rt.register_kernel(1, PTO2_CORE_AIV, "plus", plus);
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
  return consumer_check(x.data(), y.data(), "consumer (C++)", st.tasks);
}
