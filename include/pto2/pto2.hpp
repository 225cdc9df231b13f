/*
 * pto2.hpp — a thin C++11 layer over pto2.h.
 *
 *   pto2::runtime rt;                        // pto2_runtime_create, throws pto2::error
 *   rt.register_kernel(0, PTO2_CORE_AIV, "add", pto2::kernel<add>);
 *   pto2_run_stats st;
 *   int rc = rt.run([&](pto2::orchestrator &o) {
 *     pto2::scope s(o, PTO2_SCOPE_AUTO);     // pto2_scope_begin / _end
 *     pto2::args a;
 *     a.input(x).output_existing(y).scalar(2.0f);
 *     o.submit_aiv(0, a);
 *   }, &st);
 *
 * runtime::run() accepts any callable taking `pto2::orchestrator &` (or
 * `pto2_runtime *`).  An exception thrown by it fails the run: run() returns
 * PTO2_E_ABORTED, error_message() holds the exception's what(), and the
 * runtime stays usable.  run_or_throw() throws pto2::error for any failed run.
 * pto2::kernel<fn> adapts a kernel so that an exception becomes a failed
 * kernel (PTO2_E_KERNEL_FAILED, the exception's what() in the run's error
 * message) instead of terminating the program.
 */
#ifndef PTO2_HPP
#define PTO2_HPP

#include <cstdint>
#include <cstdio>
#include <exception>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "pto2/pto2.h"

namespace pto2 {

/* pto2_config.worker_threads: no worker thread (PTO2_WORKERS_NONE). */
constexpr std::uint32_t workers_none = PTO2_WORKERS_NONE;

/* A pto2 error code with the runtime's message. */
class error : public std::runtime_error {
 public:
  error(int code, const std::string &message)
      : std::runtime_error(std::string(pto2_err_name(code)) + ": " + message), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

/* Typed argument building; wraps a pto2_arg (tensors first, then scalars).
 * Tensors are referenced, not copied: they must outlive the submit. */
class args {
 public:
  args() { pto2_arg_init(&a_); }
  args &input(const pto2_tensor &t) { pto2_arg_add_input(&a_, &t); return *this; }
  args &inout(const pto2_tensor &t) { pto2_arg_add_inout(&a_, &t); return *this; }
  args &output_existing(const pto2_tensor &t) { pto2_arg_add_output_existing(&a_, &t); return *this; }
  args &no_dep(const pto2_tensor &t) { pto2_arg_add_no_dep(&a_, &t); return *this; }
  args &output(const pto2_create_info &ci) { pto2_arg_add_output(&a_, &ci); return *this; }
  /* Scalars travel as 64-bit patterns: unsigned values as is, int32 and
   * uint32 zero-extended (like pto2_u64_from_i32), int64 two's complement,
   * float and double as float32 bits (like pto2_u64_from_f32). */
  args &scalar(std::uint64_t bits) { pto2_arg_add_scalar(&a_, bits); return *this; }
  args &scalar(std::int64_t v) { pto2_arg_add_scalar(&a_, static_cast<std::uint64_t>(v)); return *this; }
  args &scalar(std::uint32_t v) { pto2_arg_add_scalar(&a_, v); return *this; }
  args &scalar(std::int32_t i) { pto2_arg_add_scalar(&a_, pto2_u64_from_i32(i)); return *this; }
  args &scalar(float f) { pto2_arg_add_scalar(&a_, pto2_u64_from_f32(f)); return *this; }
  args &scalar(double d) { return scalar(static_cast<float>(d)); }
  args &dep(pto2_task_id producer) { pto2_arg_add_dep(&a_, producer); return *this; }
  args &block_num(std::uint32_t n) { pto2_arg_set_block_num(&a_, n); return *this; }
  /* The i-th created output after a successful submit; NULL if none. */
  const pto2_tensor *output_tensor(unsigned i) const { return pto2_arg_output(&a_, i); }
  const char *error() const { return pto2_arg_error(&a_); }
  void reset() { pto2_arg_init(&a_); }
  pto2_arg *get() { return &a_; }

 private:
  pto2_arg a_;
};

/* The orchestration side of a run: valid only inside runtime::run(). */
class orchestrator {
 public:
  explicit orchestrator(pto2_runtime *rt) : rt_(rt) {}
  pto2_runtime *get() const { return rt_; }
  pto2_task_id submit_aiv(std::int32_t kernel, args &a) { return pto2_submit_aiv(rt_, kernel, a.get()); }
  pto2_task_id submit_aic(std::int32_t kernel, args &a) { return pto2_submit_aic(rt_, kernel, a.get()); }
  pto2_task_id submit(pto2_mixed_kernels mk, args &a) { return pto2_submit_task(rt_, mk, a.get()); }
  pto2_task_id submit_aiv_manual(std::int32_t kernel, args &a) {
    return pto2_submit_aiv_manual(rt_, kernel, a.get());
  }
  pto2_task_id submit_aic_manual(std::int32_t kernel, args &a) {
    return pto2_submit_aic_manual(rt_, kernel, a.get());
  }
  pto2_task_id submit_manual(pto2_mixed_kernels mk, args &a) {
    return pto2_submit_task_manual(rt_, mk, a.get());
  }
  int add_dependency(pto2_task_id producer, pto2_task_id consumer) {
    return pto2_add_dependency(rt_, producer, consumer);
  }
  bool is_fatal() const { return pto2_is_fatal(rt_); }
  int abort(const char *message) { return pto2_abort_run(rt_, message); }
  /* Fails the run with a PTO2_E_* code of the caller's (pto2_fail_run). */
  int fail(int code, const char *message) { return pto2_fail_run(rt_, code, message); }

 private:
  pto2_runtime *rt_;
};

/* RAII scope: pto2_scope_begin in the constructor, pto2_scope_end in the
 * destructor (also when an exception leaves the block).  open() is false if
 * the scope could not be opened (the run has already failed). */
class scope {
 public:
  scope(orchestrator &o, pto2_scope_mode mode = PTO2_SCOPE_AUTO) : scope(o.get(), mode) {}
  scope(pto2_runtime *rt, pto2_scope_mode mode = PTO2_SCOPE_AUTO)
      : rt_(rt), open_(pto2_scope_begin(rt, mode) == 0) {}
  ~scope() {
    if (open_) (void)pto2_scope_end(rt_);
  }
  scope(const scope &) = delete;
  scope &operator=(const scope &) = delete;
  bool open() const { return open_; }

 private:
  pto2_runtime *rt_;
  bool open_;
};

namespace detail {
template <class F>
struct run_ctx {
  F *fn;
};
template <class F>
auto call(pto2_runtime *rt, F &f) -> decltype(f(std::declval<orchestrator &>()), void()) {
  orchestrator o(rt);
  f(o);
}
template <class F>
auto call(pto2_runtime *rt, F &f) -> decltype(f(static_cast<pto2_runtime *>(nullptr)), void()) {
  f(rt);
}
/* The C-callable trampoline: no exception leaves it. */
template <class F>
void trampoline(pto2_runtime *rt, void *p) {
  run_ctx<F> *ctx = static_cast<run_ctx<F> *>(p);
  try {
    call(rt, *ctx->fn);
  } catch (const std::exception &e) {
    (void)pto2_abort_run(rt, (std::string("orchestration threw: ") + e.what()).c_str());
  } catch (...) {
    (void)pto2_abort_run(rt, "orchestration threw a non-std::exception");
  }
}
}  // namespace detail

/* Adapts `int fn(const pto2_kernel_ctx *)` that may throw: an exception
 * fails the kernel (status 1) instead of terminating the program, and the
 * run's error message ends with "threw: " and its what()
 * (pto2_kernel_set_error; no allocation on this path). */
template <int (*Fn)(const pto2_kernel_ctx *)>
int kernel(const pto2_kernel_ctx *ctx) noexcept {
  try {
    return Fn(ctx);
  } catch (const std::exception &e) {
    char msg[256];
    std::snprintf(msg, sizeof msg, "threw: %s", e.what());
    pto2_kernel_set_error(ctx, msg);
    return 1;
  } catch (...) {
    pto2_kernel_set_error(ctx, "threw a non-std::exception");
    return 1;
  }
}

/* RAII runtime: pto2_runtime_create / pto2_runtime_destroy.  Move-only. */
class runtime {
 public:
  explicit runtime(const pto2_config *cfg = nullptr) {
    int rc = pto2_runtime_create(cfg, &rt_);
    if (rc) throw error(rc, "pto2_runtime_create failed");
  }
  explicit runtime(const pto2_config &cfg) : runtime(&cfg) {}
  ~runtime() { pto2_runtime_destroy(rt_); }
  runtime(runtime &&o) noexcept : rt_(o.rt_) { o.rt_ = nullptr; }
  runtime &operator=(runtime &&o) noexcept {
    std::swap(rt_, o.rt_);
    return *this;
  }
  runtime(const runtime &) = delete;
  runtime &operator=(const runtime &) = delete;

  pto2_runtime *get() const { return rt_; }

  /* Throws pto2::error on failure. */
  void register_kernel(std::int32_t id, pto2_core_type type, const char *name,
                       pto2_kernel_fn fn, void *user = nullptr) {
    int rc = pto2_kernel_register(rt_, id, type, name, fn, user);
    if (rc) throw error(rc, error_message());
  }

  /* Runs `f` as the orchestration function; returns 0 or the run's error
   * code (PTO2_E_ABORTED if `f` threw).  Never throws for a failed run. */
  template <class F>
  int run(F &&f, pto2_run_stats *stats = nullptr) {
    typedef typename std::remove_reference<F>::type Fn;
    detail::run_ctx<Fn> ctx;
    ctx.fn = &f;
    return pto2_run(rt_, &detail::trampoline<Fn>, &ctx, stats);
  }
  /* As run(), but a failed run throws pto2::error with the runtime's message. */
  template <class F>
  void run_or_throw(F &&f, pto2_run_stats *stats = nullptr) {
    int rc = run(std::forward<F>(f), stats);
    if (rc) throw error(rc, error_message());
  }

  int error_code() const { return pto2_error_code(rt_); }
  std::string error_message() const { return pto2_error_message(rt_); }
  pto2_config config() const {
    pto2_config c;
    pto2_runtime_get_config(rt_, &c);
    return c;
  }
  void trace_enable(std::uint32_t max_events) {
    int rc = pto2_trace_enable(rt_, max_events);
    if (rc) throw error(rc, error_message());
  }
  void trace_disable() { pto2_trace_disable(rt_); }
  void trace_write(const char *path) const {
    int rc = pto2_trace_write(rt_, path);
    if (rc) throw error(rc, error_message());
  }

 private:
  pto2_runtime *rt_ = nullptr;
};

/* Tensor helpers with C++ spelling. */
inline pto2_tensor external(void *addr, std::initializer_list<std::uint32_t> shape, pto2_dtype dtype) {
  return pto2_tensor_external(addr, shape.begin(), static_cast<std::uint32_t>(shape.size()), dtype);
}
inline pto2_tensor view(const pto2_tensor &t, std::initializer_list<std::uint32_t> shape,
                        std::initializer_list<std::uint32_t> offsets) {
  if (shape.size() != t.ndims || offsets.size() != t.ndims) {
    pto2_tensor bad = pto2_tensor();
    bad.owner = pto2_task_id_invalid();
    return bad; /* invalid (ndims 0): submitting it fails with a message */
  }
  return pto2_tensor_view(&t, shape.begin(), offsets.begin());
}

}  // namespace pto2

#endif /* PTO2_HPP */
